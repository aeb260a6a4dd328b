package process

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// KillAll kills every container, and its supervisor, that a runtime with
// this state directory started and that still runs, and removes their
// cgroups: containers outlive their agent by design, so whoever tears a
// node down for good (a test, a benchmark) calls this. It reports how many
// running containers it killed.
func KillAll(dir string) int {
	entries, _ := os.ReadDir(dir)
	killed := 0
	for _, e := range entries {
		cdir := filepath.Join(dir, e.Name())
		var sp spec
		if !e.IsDir() || readJSON(cdir, configFile, &sp) != nil {
			continue
		}
		var st state
		// The start time tells the supervisor from a process that reused its pid.
		if readJSON(cdir, stateFile, &st) == nil && st.SupervisorPID > 0 && processStart(st.SupervisorPID) == st.SupervisorStart {
			if st.PID > 0 {
				_ = syscall.Kill(-st.PID, syscall.SIGKILL)
			}
			_ = syscall.Kill(st.SupervisorPID, syscall.SIGKILL)
			killed++
		}
		if sp.Cgroup != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = sp.Cgroup.Delete(ctx)
			cancel()
		}
	}
	return killed
}

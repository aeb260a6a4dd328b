package process

import (
	"os"
	"path/filepath"
	"syscall"
)

// KillAll kills every container, and its supervisor, that a runtime with
// this state directory started and that still runs: containers outlive
// their agent by design, so whoever tears a node down for good (a test, a
// benchmark) calls this. It reports how many containers it killed.
func KillAll(dir string) int {
	entries, _ := os.ReadDir(dir)
	killed := 0
	for _, e := range entries {
		var st state
		if !e.IsDir() || readJSON(filepath.Join(dir, e.Name()), stateFile, &st) != nil {
			continue
		}
		// The start time tells the supervisor from a process that reused its pid.
		if st.SupervisorPID <= 0 || processStart(st.SupervisorPID) != st.SupervisorStart {
			continue
		}
		if st.PID > 0 {
			_ = syscall.Kill(-st.PID, syscall.SIGKILL)
		}
		_ = syscall.Kill(st.SupervisorPID, syscall.SIGKILL)
		killed++
	}
	return killed
}

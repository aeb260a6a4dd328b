package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestBuiltInSupervisor: podyard alone is a whole node. The harness builds
// no podyard-supervisor, so a container's supervisor is the copy built into
// podyard that the agent wrote to its data dir, not `podyard supervise`.
func TestBuiltInSupervisor(t *testing.T) {
	s, _ := SharedCluster(t)
	if dir := filepath.Dir(podyardBin); os.Getenv("PODYARD_BIN") == "" {
		if _, err := os.Stat(filepath.Join(dir, "podyard-supervisor")); err == nil {
			t.Fatalf("%s holds podyard-supervisor: the test would not show the built-in one at work", dir)
		}
	}
	ns := s.Namespace(t)
	work := t.TempDir()
	pod := shPod("supervised", "echo $PPID > ppid; exec sleep 3600")
	pod.Spec.Containers[0].WorkingDir = work
	createPod(t, s, ns, pod)
	waitPod(t, s, ns, "supervised", "Ready", podReady)
	supervisor := readPID(t, filepath.Join(work, "ppid"))
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", supervisor))
	if err != nil {
		t.Fatal(err)
	}
	bin, err := filepath.EvalSymlinks(filepath.Join(s.DataDir, "agent", "bin"))
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile("^" + regexp.QuoteMeta(bin) + "/podyard-supervisor-[0-9a-f]{12}$")
	if !want.MatchString(exe) {
		t.Errorf("the container's supervisor runs %s, want %s", exe, want)
	}
}

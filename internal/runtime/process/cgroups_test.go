package process

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/podyard/podyard/internal/runtime"
	"github.com/podyard/podyard/internal/runtime/cgroups"
)

// These tests need root (cgroups); they run in CI, which is root.

// testCgroupRoot is a cgroup root of the test's own, removed at its end.
func testCgroupRoot(t *testing.T, podPidsLimit int64) *cgroups.Manager {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("cgroups need root")
	}
	root := "/podyard-test-" + rand.String(8)
	m, err := cgroups.New(root, podPidsLimit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The containers' groups are gone by now (Remove, or the test's
		// runtime cleanup); what is left are the pod and root directories.
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + root)
		pods, _ := filepath.Glob("/sys/fs/cgroup/*" + root + "/pod*")
		for _, d := range append(pods, dirs...) {
			syscall.Rmdir(d)
		}
	})
	return m
}

func newContainedRuntime(t *testing.T, dir string, m *cgroups.Manager) *Runtime {
	t.Helper()
	r, err := New(context.Background(), Config{Dir: dir, Supervisor: []string{os.Args[0], "supervise"}, Cgroups: m})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { KillAll(dir) })
	return r
}

// cgroupOf is pid's cgroup: on v1 in controller's hierarchy.
func cgroupOf(t *testing.T, pid int, controller string) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if cgroupsV2() && parts[0] == "0" {
			return parts[2]
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == controller {
				return parts[2]
			}
		}
	}
	t.Fatalf("pid %d is in no %s cgroup:\n%s", pid, controller, data)
	return ""
}

// TestCgroupLimits: the container runs in a cgroup of its own, under its
// pod's, with the CPU and memory limits of its spec and the pod's pids limit.
func TestCgroupLimits(t *testing.T) {
	m := testCgroupRoot(t, 64)
	dir := t.TempDir()
	r := newContainedRuntime(t, dir, m)
	cfg := config(t, "c", "sh", "-c", "echo $$ > pid; exec sleep 60")
	cfg.WorkingDir = dir
	cfg.Resources = runtime.Resources{CPUShares: 256, CPUPeriod: 100000, CPUQuota: 50000, MemoryLimit: 64 << 20}
	st, err := r.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	pid := waitFile(t, filepath.Join(dir, "pid"))
	mem := cgroupOf(t, pid, "memory")
	if !strings.HasSuffix(mem, "/poduid1/c_0") {
		t.Fatalf("container's memory cgroup is %q, want .../poduid1/c_0", mem)
	}
	if cgroupsV2() {
		assertFile(t, "/sys/fs/cgroup"+mem+"/memory.max", "67108864")
		assertFile(t, "/sys/fs/cgroup"+mem+"/cpu.max", "50000 100000")
		assertFile(t, "/sys/fs/cgroup"+filepath.Dir(mem)+"/pids.max", "64")
	} else {
		assertFile(t, "/sys/fs/cgroup/memory"+mem+"/memory.limit_in_bytes", "67108864")
		cpu := cgroupOf(t, pid, "cpu")
		assertFile(t, "/sys/fs/cgroup/cpu"+cpu+"/cpu.cfs_quota_us", "50000")
		assertFile(t, "/sys/fs/cgroup/cpu"+cpu+"/cpu.shares", "256")
		pids := cgroupOf(t, pid, "pids")
		assertFile(t, "/sys/fs/cgroup/pids"+filepath.Dir(pids)+"/pids.max", "64")
	}
	// An exec joins the container's cgroup, so its limits hold for it too.
	var out buffer
	if err := r.Exec(context.Background(), st.ID, []string{"cat", "/proc/self/cgroup"}, runtime.ExecOptions{}, nil, &out, nil, false, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), mem) {
		t.Errorf("exec ran outside the container's cgroup %s:\n%s", mem, out.String())
	}
	if err := r.Stop(context.Background(), st.ID, 0); err != nil {
		t.Fatal(err)
	}
	if err := r.Remove(context.Background(), st.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cgroupDir(mem, "memory")); !os.IsNotExist(err) {
		t.Errorf("container cgroup %s not removed: %v", mem, err)
	}
	if _, err := os.Stat(cgroupDir(filepath.Dir(mem), "memory")); !os.IsNotExist(err) {
		t.Errorf("pod cgroup %s not removed with its last container: %v", filepath.Dir(mem), err)
	}
}

func cgroupsV2() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

func cgroupDir(path, controller string) string {
	if cgroupsV2() {
		return "/sys/fs/cgroup" + path
	}
	return "/sys/fs/cgroup/" + controller + path
}

func assertFile(t *testing.T, path, want string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(data)); got != want {
		t.Errorf("%s = %q, want %q", path, got, want)
	}
}

// TestCgroupOOMKilled: a container past its memory limit is killed by the
// kernel and reported OOMKilled with exit code 137, as the kubelet does.
func TestCgroupOOMKilled(t *testing.T) {
	m := testCgroupRoot(t, 0)
	r := newContainedRuntime(t, t.TempDir(), m)
	// tail keeps all of a line that never ends: it grows until the limit.
	cfg := config(t, "c", "tail", "/dev/zero")
	cfg.Resources.MemoryLimit = 16 << 20
	st, err := r.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := waitExited(t, r, st.ID); got.ExitCode != 137 || got.Reason != "OOMKilled" {
		t.Fatalf("want exit 137, reason OOMKilled; got %+v", got)
	}
}

// TestCgroupPidsLimit: the pod's pids limit stops a fork bomb.
func TestCgroupPidsLimit(t *testing.T) {
	m := testCgroupRoot(t, 8)
	r := newContainedRuntime(t, t.TempDir(), m)
	cfg := config(t, "c", "sh", "-c", "for i in $(seq 20); do sleep 30 & done; wait")
	st, err := r.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitLog(t, cfg.LogPath, "fork")
	if err := r.Stop(context.Background(), st.ID, 0); err != nil {
		t.Fatal(err)
	}
}

// withDaemon is a container script that starts a daemon out of its process
// group (setsid), which writes its pid to file, and then sleeps.
func withDaemon(file string) []string {
	return []string{"sh", "-c", "setsid sh -c 'echo $$ > " + file + "; exec sleep 300' & exec sleep 300"}
}

// killSupervisor kills the supervisor of container id in dir and returns
// the container's state as it recorded it.
func killSupervisor(t *testing.T, dir, id string) state {
	t.Helper()
	var st state
	if err := readJSON(filepath.Join(dir, id), stateFile, &st); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(st.SupervisorPID, syscall.SIGKILL)
	return st
}

// TestCgroupEndsEscapedProcesses: processes that left the container's
// process group (a daemon started with setsid) end with the container,
// whether it is stopped or its main process exits.
func TestCgroupEndsEscapedProcesses(t *testing.T) {
	m := testCgroupRoot(t, 0)
	dir := t.TempDir()
	r := newContainedRuntime(t, dir, m)

	stopped := config(t, "stopped", withDaemon("daemon1")...)
	stopped.WorkingDir = dir
	st, err := r.Start(context.Background(), stopped)
	if err != nil {
		t.Fatal(err)
	}
	daemon := waitFile(t, filepath.Join(dir, "daemon1"))
	if err := r.Stop(context.Background(), st.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	waitGone(t, daemon)

	// The daemon holds the container's output pipe: without the cgroup
	// the supervisor would wait for it, and the container would never end.
	exits := config(t, "exits", "sh", "-c", "setsid sh -c 'echo $$ > daemon2; exec sleep 300' & sleep 0.2; exit 3")
	exits.WorkingDir = dir
	st, err = r.Start(context.Background(), exits)
	if err != nil {
		t.Fatal(err)
	}
	daemon = waitFile(t, filepath.Join(dir, "daemon2"))
	if got := waitExited(t, r, st.ID); got.ExitCode != 3 || got.Reason != "Error" {
		t.Errorf("want exit 3, got %+v", got)
	}
	waitGone(t, daemon)
}

// TestCgroupSupervisorKilled: when a supervisor dies, what its container
// left is killed, by the running agent or, when none ran at the time, by
// the next one.
func TestCgroupSupervisorKilled(t *testing.T) {
	m := testCgroupRoot(t, 0)
	dir := t.TempDir()
	r := newContainedRuntime(t, dir, m)
	cfg := config(t, "c", withDaemon("daemon")...)
	cfg.WorkingDir = dir
	st, err := r.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	daemon := waitFile(t, filepath.Join(dir, "daemon"))
	state := killSupervisor(t, dir, st.ID)
	if got := waitExited(t, r, st.ID); got.ExitCode != 137 {
		t.Errorf("lost container: %+v", got)
	}
	waitGone(t, daemon)
	waitGone(t, state.PID)
}

func TestCgroupSupervisorKilledWhileNoAgent(t *testing.T) {
	m := testCgroupRoot(t, 0)
	dir := t.TempDir()
	// An agent starts the container and exits.
	containers := filepath.Join(dir, "containers")
	out, err := exec.Command(os.Args[0], "start-and-exit", containers, m.Root(), dir).Output()
	if err != nil {
		t.Fatalf("start-and-exit: %v", err)
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { KillAll(containers) })
	daemon := waitFile(t, filepath.Join(dir, "daemon"))
	state := killSupervisor(t, containers, id)
	waitGone(t, state.SupervisorPID)
	if processStart(daemon) == 0 {
		t.Fatal("the daemon died with its supervisor: nothing to test")
	}
	// The next agent finds the container without its supervisor.
	r := newContainedRuntime(t, containers, m)
	c, err := r.get(id)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.snapshot(); got.State != runtime.Exited || got.ExitCode != 137 {
		t.Errorf("lost container: %+v", got)
	}
	waitGone(t, daemon)
	waitGone(t, state.PID)
}

// startAndExit is an agent that starts one container and exits:
// `start-and-exit CONTAINERS CGROUPROOT WORKDIR`.
func startAndExit(args []string) error {
	m, err := cgroups.New(args[1], 0)
	if err != nil {
		return err
	}
	r, err := New(context.Background(), Config{Dir: args[0], Supervisor: []string{os.Args[0], "supervise"}, Cgroups: m})
	if err != nil {
		return err
	}
	st, err := r.Start(context.Background(), runtime.ContainerConfig{
		PodUID: "uid1", Name: "c", Env: []string{"PATH=/usr/bin:/bin"}, WorkingDir: args[2],
		Command: withDaemon("daemon"),
		LogPath: filepath.Join(args[2], "c.log"),
	})
	if err != nil {
		return err
	}
	fmt.Println(st.ID)
	return nil
}

// maybeCgroups is a test cgroup root as root, else nil.
func maybeCgroups(t *testing.T) *cgroups.Manager {
	if os.Geteuid() != 0 {
		return nil
	}
	return testCgroupRoot(t, 0)
}

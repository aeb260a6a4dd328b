package cgroups

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/util/rand"

	podruntime "github.com/podyard/podyard/internal/runtime"
)

// managers are the hierarchies this machine can test: its own mode and,
// on a hybrid host, cgroup v2's mount without controllers, which still
// has everything but limits (placement at fork, cgroup.kill, removal).
func managers(t *testing.T) map[string]*Manager {
	if os.Geteuid() != 0 {
		t.Skip("cgroups need root")
	}
	root := "/podyard-test-" + rand.String(8)
	out := map[string]*Manager{}
	m, err := New(root, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.unified != "" {
		out["v2"] = m
	} else {
		out["v1"] = m
		var st unix.Statfs_t
		if unix.Statfs("/sys/fs/cgroup/unified", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			out["v2 (hybrid, no controllers)"] = &Manager{root: root, unified: "/sys/fs/cgroup/unified"}
		}
	}
	t.Cleanup(func() {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + root)
		dirs2, _ := filepath.Glob("/sys/fs/cgroup" + root)
		for _, d := range append(dirs, dirs2...) {
			syscall.Rmdir(d)
		}
	})
	return out
}

// TestGroupLifecycle: a child forked through Start begins in the group
// (so does all it starts, wherever it goes), Kill ends them all, and
// Delete removes the group and its pod's.
func TestGroupLifecycle(t *testing.T) {
	for name, m := range managers(t) {
		t.Run(name, func(t *testing.T) {
			g, err := m.Create("uid1", "c", 0, podruntime.Resources{})
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("sh", "-c", "setsid sleep 300 & echo $!; exec sleep 300")
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Start(cmd, cmd.Start); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			daemon, _ := strconv.Atoi(strings.TrimSpace(line))
			for _, pid := range []int{cmd.Process.Pid, daemon} {
				if got := groupOf(t, pid, g.Unified != ""); got != g.Path {
					t.Errorf("process %d is in %q, want %q", pid, got, g.Path)
				}
			}
			if got := groupOf(t, os.Getpid(), g.Unified != ""); got == g.Path {
				t.Errorf("the caller moved into the group")
			}
			if empty, err := g.Empty(); err != nil || empty {
				t.Errorf("Empty = %v, %v with two processes in it", empty, err)
			}

			if err := g.Kill(); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
				t.Errorf("main process: %v, want killed", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := g.Delete(ctx); err != nil {
				t.Fatal(err)
			}
			if unix.Kill(daemon, 0) == nil && !zombie(daemon) {
				t.Errorf("the daemon %d outlived its group", daemon)
			}
			for _, dir := range []string{g.Path, path.Dir(g.Path)} {
				if _, err := os.Stat(hostDir(g, dir)); !os.IsNotExist(err) {
					t.Errorf("%s not removed: %v", hostDir(g, dir), err)
				}
			}
		})
	}
}

func groupOf(t *testing.T, pid int, unified bool) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if unified && parts[0] == "0" || !unified && parts[1] == "freezer" {
			return parts[2]
		}
	}
	t.Fatalf("no cgroup in:\n%s", data)
	return ""
}

func hostDir(g Group, p string) string {
	if g.Unified != "" {
		return filepath.Join(g.Unified, p)
	}
	return filepath.Join("/sys/fs/cgroup/freezer", p)
}

func zombie(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err != nil || strings.Contains(string(data), ") Z ")
}

// BenchmarkContainerCgroup is what cgroups add to a container's life:
// create with limits, fork `true` into it, delete; against a plain fork.
func BenchmarkContainerCgroup(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("cgroups need root")
	}
	m, err := New("/podyard-bench-"+rand.String(8), 1024)
	if err != nil {
		b.Fatal(err)
	}
	limits := podruntime.Resources{CPUShares: 256, CPUPeriod: 100000, CPUQuota: 50000, MemoryLimit: 64 << 20}
	b.Run("baseline fork true", func(b *testing.B) {
		for b.Loop() {
			if err := exec.Command("true").Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("create, fork true into it, delete", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			g, err := m.Create("bench", "c", i, limits)
			if err != nil {
				b.Fatal(err)
			}
			cmd := exec.Command("true")
			if err := g.Start(cmd, cmd.Start); err != nil {
				b.Fatal(err)
			}
			cmd.Wait()
			if _, err := g.OOMKills(); err != nil {
				b.Fatal(err)
			}
			if err := g.Delete(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	})
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + m.root)
	for _, d := range dirs {
		syscall.Rmdir(d)
	}
}

// TestFreezerPathIn: Kill spares a process whose main thread is elsewhere
// (the agent's thread forking an exec into the group), on the freezer
// line of /proc/PID/cgroup.
func TestFreezerPathIn(t *testing.T) {
	const g = "/podyard/poduid/c_0"
	for _, tc := range []struct {
		content   string
		in, found bool
	}{
		{"12:freezer:/podyard/poduid/c_0\n11:memory:/podyard/poduid/c_0\n", true, true},
		{"12:freezer:/podyard/poduid/c_0/sub\n", true, true},
		{"12:freezer:/\n11:memory:/podyard/poduid/c_0\n", false, true}, // the agent, one thread visiting
		{"12:freezer:/podyard/poduid/c_01\n", false, true},
		{"5:cpu,freezer:/podyard/poduid/c_0\n", true, true},
		{"0::/podyard/poduid/c_0\n", false, false}, // no freezer line
	} {
		in, found := freezerPathIn(tc.content, g)
		if in != tc.in || found != tc.found {
			t.Errorf("%q: in %v found %v, want %v %v", tc.content, in, found, tc.in, tc.found)
		}
	}
}

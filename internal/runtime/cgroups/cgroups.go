// Package cgroups gives each container of the process runtime a cgroup of
// its own, on cgroup v1 (a hierarchy per controller) and v2 alike, through
// containerd's cgroups library: the limits of the pod spec, the count of
// OOM kills, and the end of every process a container started, also those
// that left its process group or outlived its supervisor.
//
// Layout, like the kubelet's: ROOT/pod<UID> holds a pod's pids limit and
// ROOT/pod<UID>/<container>_<attempt> each container attempt's limits.
package cgroups

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	podruntime "github.com/podyard/podyard/internal/runtime"
)

// ErrUnsupported says containers cannot be put in cgroups here.
var ErrUnsupported = errors.New("cgroups unavailable")

// v1Controllers are the cgroup v1 hierarchies a container joins: its
// limits, and the freezer that stops it whole before it is killed.
var v1Controllers = []cgroup1.Name{cgroup1.Memory, cgroup1.Cpu, cgroup1.Pids, cgroup1.Freezer}

// unifiedMount is where cgroup v2 is mounted on a host that uses it.
const unifiedMount = "/sys/fs/cgroup"

// Manager creates the cgroups of containers under one root.
type Manager struct {
	root         string
	unified      string // the cgroup v2 mount point; empty on v1
	podPidsLimit int64
}

// New checks that this process may manage cgroups under root (an absolute
// cgroup path such as /podyard) and returns a manager whose pods may hold
// podPidsLimit processes at most (<= 0: no limit).
func New(root string, podPidsLimit int64) (*Manager, error) {
	if !path.IsAbs(root) || path.Clean(root) != root || root == "/" {
		return nil, fmt.Errorf("cgroup root %q: want an absolute path below /, such as /podyard", root)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: not running as root", ErrUnsupported)
	}
	m := &Manager{root: root, podPidsLimit: podPidsLimit}
	switch cgroups.Mode() {
	case cgroups.Unified:
		m.unified = unifiedMount
	case cgroups.Legacy, cgroups.Hybrid:
		subsystems, err := v1Hierarchy(v1Controllers...)()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
		}
		if len(subsystems) != len(v1Controllers) {
			return nil, fmt.Errorf("%w: want the cgroup v1 controllers %v mounted", ErrUnsupported, v1Controllers)
		}
	default:
		return nil, fmt.Errorf("%w: no cgroup file system is mounted", ErrUnsupported)
	}
	return m, nil
}

// Root is the cgroup the manager's pods are under.
func (m *Manager) Root() string { return m.root }

// Group is a container's cgroup. It is recorded with the container, so that
// its supervisor and a restarted agent find it.
type Group struct {
	Path    string // the same in every hierarchy, e.g. /podyard/pod<UID>/web_0
	Unified string `json:",omitempty"` // cgroup v2: where it is mounted; empty on v1
}

// Create makes the cgroup of a container attempt with its limits, and its
// pod's cgroup when it is the pod's first.
func (m *Manager) Create(podUID, name string, attempt int, r podruntime.Resources) (Group, error) {
	pod := path.Join(m.root, "pod"+podUID)
	g := Group{Path: path.Join(pod, fmt.Sprintf("%s_%d", name, attempt)), Unified: m.unified}
	podLimits := &specs.LinuxResources{}
	if m.podPidsLimit > 0 {
		limit := m.podPidsLimit
		podLimits.Pids = &specs.LinuxPids{Limit: &limit}
	}
	limits := linuxResources(r)
	if m.unified != "" {
		if _, err := cgroup2.NewManager(m.unified, pod, cgroup2.ToResources(podLimits)); err != nil {
			return Group{}, fmt.Errorf("cgroup %s: %w", pod, err)
		}
		if _, err := cgroup2.NewManager(m.unified, g.Path, cgroup2.ToResources(limits)); err != nil {
			return Group{}, fmt.Errorf("cgroup %s: %w", g.Path, err)
		}
		return g, nil
	}
	if _, err := cgroup1.New(cgroup1.StaticPath(pod), podLimits, cgroup1.WithHierarchy(v1Hierarchy(v1Controllers...))); err != nil {
		return Group{}, fmt.Errorf("cgroup %s: %w", pod, err)
	}
	if _, err := cgroup1.New(cgroup1.StaticPath(g.Path), limits, cgroup1.WithHierarchy(v1Hierarchy(v1Controllers...))); err != nil {
		return Group{}, fmt.Errorf("cgroup %s: %w", g.Path, err)
	}
	return g, nil
}

// linuxResources is r in the OCI form the library takes.
func linuxResources(r podruntime.Resources) *specs.LinuxResources {
	out := &specs.LinuxResources{}
	if r.CPUShares > 0 || r.CPUQuota > 0 {
		cpu := &specs.LinuxCPU{}
		if r.CPUShares > 0 {
			shares := uint64(r.CPUShares)
			cpu.Shares = &shares
		}
		if r.CPUQuota > 0 {
			quota, period := r.CPUQuota, uint64(r.CPUPeriod)
			cpu.Quota, cpu.Period = &quota, &period
		}
		out.CPU = cpu
	}
	if r.MemoryLimit > 0 {
		limit := r.MemoryLimit
		out.Memory = &specs.LinuxMemory{Limit: &limit}
	}
	return out
}

// v1Hierarchy is the mounted cgroup v1 hierarchies of the controllers named.
func v1Hierarchy(names ...cgroup1.Name) cgroup1.Hierarchy {
	return func() ([]cgroup1.Subsystem, error) {
		all, err := cgroup1.Default()
		if err != nil {
			return nil, err
		}
		var out []cgroup1.Subsystem
		for _, s := range all {
			if slices.Contains(names, s.Name()) {
				out = append(out, s)
			}
		}
		return out, nil
	}
}

// Start runs start (which forks cmd) so that cmd's process begins inside
// g. On v2 the kernel places it (CLONE_INTO_CGROUP). On v1 an OS thread of
// the caller joins g, forks, and goes back to where it was: cgroup v1 moves
// single threads, so the rest of the caller never leaves its own cgroups.
func (g Group) Start(cmd *exec.Cmd, start func() error) error {
	if g.Unified != "" {
		dir, err := os.Open(path.Join(g.Unified, g.Path))
		if err != nil {
			return fmt.Errorf("cgroup %s: %w", g.Path, err)
		}
		defer dir.Close()
		if cmd.SysProcAttr == nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{}
		}
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, int(dir.Fd())
		return start()
	}
	cg, err := g.load()
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		tid := unix.Gettid()
		home, err := cgroup1.Load(cgroup1.PidPath(tid), cgroup1.WithHierarchy(v1Hierarchy(v1Controllers...)))
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("cgroup of thread %d: %w", tid, err)
			return
		}
		if err = cg.AddTask(cgroup1.Process{Pid: tid}); err != nil {
			err = fmt.Errorf("join cgroup %s: %w", g.Path, err)
		} else {
			err = start()
		}
		// Back before returning: a thread that ended later instead would
		// still be in g when the caller kills g's processes, and with it
		// the caller. One that cannot go back stays locked: the runtime
		// ends it with this goroutine (or, the main thread, parks it).
		if home.AddTask(cgroup1.Process{Pid: tid}) == nil {
			runtime.UnlockOSThread()
		}
		done <- err
	}()
	return <-done
}

func (g Group) load() (cgroup1.Cgroup, error) {
	cg, err := cgroup1.Load(cgroup1.StaticPath(g.Path), cgroup1.WithHierarchy(v1Hierarchy(v1Controllers...)))
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", g.Path, err)
	}
	return cg, nil
}

func (g Group) load2() (*cgroup2.Manager, error) {
	m, err := cgroup2.Load(g.Path, cgroup2.WithMountpoint(g.Unified))
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", g.Path, err)
	}
	return m, nil
}

// Kill sends SIGKILL to every process in g at once (frozen first on v1,
// so that none forks away meanwhile). A group that is gone has nothing to kill.
func (g Group) Kill() error {
	if g.Unified != "" {
		m, err := g.load2()
		if err != nil {
			return err
		}
		if _, err := os.Stat(path.Join(g.Unified, g.Path)); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err := m.Kill(); err != nil {
			return fmt.Errorf("kill cgroup %s: %w", g.Path, err)
		}
		return nil
	}
	cg, err := g.load()
	if errors.Is(err, cgroup1.ErrCgroupDeleted) {
		return nil
	}
	if err != nil {
		return err
	}
	if procs, err := cg.Processes(cgroup1.Freezer, true); err == nil && len(procs) == 0 {
		return nil // nothing to freeze for (freezing waits for the state to settle)
	}
	if err := cg.Freeze(); err != nil {
		return fmt.Errorf("freeze cgroup %s: %w", g.Path, err)
	}
	procs, err := cg.Processes(cgroup1.Freezer, true)
	for _, p := range procs {
		// A process is listed while one of its threads forks into g: the
		// agent's, starting an exec as the container stops (Start). That
		// thread goes back; SIGKILL to it would end the whole agent (and,
		// under `podyard up`, the server), so only processes whose main
		// thread is in g are killed.
		if p.Pid != os.Getpid() && leaderIn(p.Pid, g.Path) {
			unix.Kill(p.Pid, unix.SIGKILL)
		}
	}
	if thawErr := cg.Thaw(); err == nil {
		err = thawErr
	}
	if err != nil {
		return fmt.Errorf("kill cgroup %s: %w", g.Path, err)
	}
	return nil
}

// leaderIn tells whether the main thread of process pid is in the v1
// cgroup path (or below it), as /proc/PID/cgroup says for the freezer
// hierarchy; a process that is gone, or unreadable, is taken to be in it.
func leaderIn(pid int, path string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return true
	}
	in, found := freezerPathIn(string(b), path)
	return in || !found
}

// freezerPathIn reads /proc/PID/cgroup content: whether its freezer
// cgroup is path or below it, and whether it has a freezer line at all.
func freezerPathIn(procCgroup, path string) (in, found bool) {
	for _, line := range strings.Split(procCgroup, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || !slices.Contains(strings.Split(parts[1], ","), "freezer") {
			continue
		}
		p := parts[2]
		return p == path || strings.HasPrefix(p, strings.TrimSuffix(path, "/")+"/"), true
	}
	return false, false
}

// Empty reports whether no process is left in g.
func (g Group) Empty() (bool, error) {
	var procs []uint64
	if g.Unified != "" {
		m, err := g.load2()
		if err != nil {
			return false, err
		}
		procs, err = m.Procs(true)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return false, fmt.Errorf("cgroup %s: %w", g.Path, err)
		}
		return len(procs) == 0, nil
	}
	cg, err := g.load()
	if errors.Is(err, cgroup1.ErrCgroupDeleted) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	processes, err := cg.Processes(cgroup1.Freezer, true)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("cgroup %s: %w", g.Path, err)
	}
	return len(processes) == 0, nil
}

// OOMKills is how many processes of g the kernel killed for want of memory.
func (g Group) OOMKills() (uint64, error) {
	if g.Unified != "" {
		m, err := g.load2()
		if err != nil {
			return 0, err
		}
		stats, err := m.StatFiltered(cgroup2.StatMemoryEvents)
		if err != nil {
			return 0, fmt.Errorf("cgroup %s: %w", g.Path, err)
		}
		return stats.GetMemoryEvents().GetOomKill(), nil
	}
	cg, err := cgroup1.Load(cgroup1.StaticPath(g.Path), cgroup1.WithHierarchy(v1Hierarchy(cgroup1.Memory)))
	if err != nil {
		return 0, fmt.Errorf("cgroup %s: %w", g.Path, err)
	}
	stats, err := cg.Stat()
	if err != nil {
		return 0, fmt.Errorf("cgroup %s: %w", g.Path, err)
	}
	return stats.GetMemoryOomControl().GetOomKill(), nil
}

// Delete kills what is left in g, waits until it is empty, removes it, and
// removes its pod's cgroup too when no other container is in it.
func (g Group) Delete(ctx context.Context) error {
	for {
		if err := g.Kill(); err != nil {
			return err
		}
		empty, err := g.Empty()
		if err != nil {
			return err
		}
		if empty {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cgroup %s still has processes: %w", g.Path, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	if g.Unified != "" {
		m, err := g.load2()
		if err != nil {
			return err
		}
		if err := m.Delete(); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove cgroup %s: %w", g.Path, err)
		}
	} else {
		cg, err := g.load()
		if errors.Is(err, cgroup1.ErrCgroupDeleted) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := cg.Delete(); err != nil {
			return fmt.Errorf("remove cgroup %s: %w", g.Path, err)
		}
	}
	g.removePod()
	return nil
}

// removePod removes the pod's cgroup if it holds no other container: an
// rmdir in each hierarchy, which the kernel refuses while it has children.
// (The library's Delete would retry for 150 ms before giving up.)
func (g Group) removePod() {
	pod := path.Dir(g.Path)
	if g.Unified != "" {
		unix.Rmdir(path.Join(g.Unified, pod))
		return
	}
	subsystems, _ := v1Hierarchy(v1Controllers...)()
	for _, s := range subsystems {
		if p, ok := s.(interface{ Path(string) string }); ok {
			unix.Rmdir(p.Path(pod))
		}
	}
}

// Update sets g's limits to r in place (an in-place pod resize): the
// processes keep running. Zero values leave a setting as it is.
func (g Group) Update(r podruntime.Resources) error {
	limits := linuxResources(r)
	if g.Unified != "" {
		m, err := g.load2()
		if err != nil {
			return err
		}
		if err := m.Update(cgroup2.ToResources(limits)); err != nil {
			return fmt.Errorf("update cgroup %s: %w", g.Path, err)
		}
		return nil
	}
	cg, err := g.load()
	if err != nil {
		return err
	}
	if err := cg.Update(limits); err != nil {
		return fmt.Errorf("update cgroup %s: %w", g.Path, err)
	}
	return nil
}

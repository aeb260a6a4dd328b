// Package process runs each container as a host process under a small
// supervisor (`podyard supervise`). Images are not pulled: the command runs
// from the host's file system, with the container's env, working
// directory and, when running as root, its volumes bind-mounted at their
// mount paths in a private mount namespace. Containers share the host's
// network. Each supervisor outlives the agent, so an agent restart takes
// its containers back instead of starting them again.
package process

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podyard/podyard/internal/runtime"
	"github.com/podyard/podyard/internal/runtime/cgroups"
)

// Config of the process runtime.
type Config struct {
	Dir         string   // container state lives in Dir/<id>
	Supervisor  []string // argv that runs Supervise(dir) with dir appended: e.g. [/proc/self/exe, supervise]
	LogMaxSize  int64    // rotate a container's log at this size (default 10 MiB)
	LogMaxFiles int      // log files kept per container (default 5)
	// Cgroups puts each container in a cgroup of its own: its limits, and
	// nothing it starts outlives it. Nil (not root): the process group is
	// all that holds a container together, and limits are not enforced.
	Cgroups *cgroups.Manager
	Log     *slog.Logger
}

// Runtime is the process runtime.
type Runtime struct {
	cfg    Config
	exited chan runtime.ContainerStatus

	mu         sync.Mutex
	containers map[string]*container
}

type container struct {
	id   string
	dir  string
	spec spec
	pid  int // the container's process and process group
	done chan struct{}

	mu     sync.Mutex
	status runtime.ContainerStatus
}

// New takes back the containers a previous agent left under cfg.Dir.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.LogMaxSize == 0 {
		cfg.LogMaxSize = 10 << 20
	}
	if cfg.LogMaxFiles == 0 {
		cfg.LogMaxFiles = 5
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("process runtime: %w", err)
	}
	r := &Runtime{cfg: cfg, exited: make(chan runtime.ContainerStatus, 4096), containers: map[string]*container{}}
	if err := r.recover(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// ID names a container attempt; it is also its directory's name.
func ID(podUID, name string, attempt int) string {
	return fmt.Sprintf("%s_%s_%d", podUID, name, attempt)
}

func (r *Runtime) Exited() <-chan runtime.ContainerStatus { return r.exited }

// Start runs a supervisor for cfg and waits for its start report.
func (r *Runtime) Start(ctx context.Context, cfg runtime.ContainerConfig) (_ runtime.ContainerStatus, err error) {
	id := ID(cfg.PodUID, cfg.Name, cfg.Attempt)
	dir := filepath.Join(r.cfg.Dir, id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return runtime.ContainerStatus{}, fmt.Errorf("start %s: %w", id, err)
	}
	sp := spec{
		ContainerConfig: cfg,
		LogMaxSize:      r.cfg.LogMaxSize,
		LogMaxFiles:     r.cfg.LogMaxFiles,
		MountNamespace:  len(cfg.Mounts) > 0 && os.Geteuid() == 0,
	}
	if r.cfg.Cgroups != nil {
		g, err := r.cfg.Cgroups.Create(cfg.PodUID, cfg.Name, cfg.Attempt, cfg.Resources)
		if err != nil {
			return runtime.ContainerStatus{}, fmt.Errorf("start %s: %w", id, err)
		}
		sp.Cgroup = &g
		defer func() {
			if err != nil { // no container is recorded to remove it later
				g.Delete(ctx)
			}
		}()
	}
	if err := os.MkdirAll(filepath.Dir(cfg.LogPath), 0o755); err != nil {
		return runtime.ContainerStatus{}, fmt.Errorf("start %s: log directory: %w", id, err)
	}
	if err := writeJSON(dir, configFile, sp); err != nil {
		return runtime.ContainerStatus{}, fmt.Errorf("start %s: %w", id, err)
	}
	stderr, err := os.Create(filepath.Join(dir, logFile))
	if err != nil {
		return runtime.ContainerStatus{}, fmt.Errorf("start %s: %w", id, err)
	}
	defer stderr.Close()
	argv := append(append([]string{}, r.cfg.Supervisor...), dir)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = stderr
	// Its own session: signals to the agent's process group (Ctrl-C, a
	// service manager stopping the agent) do not reach the container.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if sp.MountNamespace {
		cmd.SysProcAttr.Unshareflags = syscall.CLONE_NEWNS
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return runtime.ContainerStatus{}, fmt.Errorf("start %s: %w", id, err)
	}
	if err := cmd.Start(); err != nil {
		return runtime.ContainerStatus{}, fmt.Errorf("start %s: supervisor: %w", id, err)
	}
	var res startResult
	line, readErr := bufio.NewReader(out).ReadBytes('\n')
	if readErr == nil {
		readErr = json.Unmarshal(line, &res)
	}
	// Reap it when it ends (its exit is learnt from the socket); only after
	// the read, because Wait closes the pipe once the supervisor exits,
	// which a container as short as `true` does before the line is read.
	go cmd.Wait()
	c := &container{id: id, dir: dir, spec: sp, done: make(chan struct{})}
	c.status = runtime.ContainerStatus{ID: id, PodUID: cfg.PodUID, Name: cfg.Name, Attempt: cfg.Attempt, Resources: cfg.Resources}
	if readErr != nil || res.Error != "" {
		// It never ran: the exit record says why.
		var ex exit
		if err := readJSON(dir, exitFile, &ex); err != nil {
			msg := res.Error
			if msg == "" {
				msg = fmt.Sprintf("supervisor failed: %v (see %s)", readErr, filepath.Join(dir, logFile))
			}
			ex = exit{ExitCode: 128, Reason: "StartError", Message: msg, StartedAt: time.Now(), FinishedAt: time.Now()}
			writeJSON(dir, exitFile, ex)
		}
		c.setExited(ex)
		close(c.done)
		r.add(c)
		return c.snapshot(), nil
	}
	c.pid = res.PID
	c.status.State = runtime.Running
	c.status.StartedAt = res.StartedAt
	r.add(c)
	// It ran: that is what Start reports, even when it has ended by the
	// time watch connects; how it ended comes through Exited.
	started := c.snapshot()
	if err := r.watch(c); err != nil {
		return started, err
	}
	return started, nil
}

func (r *Runtime) add(c *container) {
	r.mu.Lock()
	r.containers[c.id] = c
	r.mu.Unlock()
}

func (r *Runtime) get(id string) (*container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return nil, fmt.Errorf("container %s: %w", id, os.ErrNotExist)
	}
	return c, nil
}

// watch holds a connection to the supervisor; its end means the container
// ended, and the exit record says how.
func (r *Runtime) watch(c *container) error {
	var conn net.Conn
	err := withSocket(c.dir, func(addr string) (err error) {
		conn, err = net.Dial("unix", addr)
		return err
	})
	if err != nil {
		// A container that ended at once may have taken its supervisor
		// with it already: the exit record tells (else it is lost).
		r.finished(c)
		return nil
	}
	if _, err := conn.Write([]byte{helloWatch}); err != nil {
		conn.Close()
		r.finished(c)
		return nil
	}
	go func() {
		io.Copy(io.Discard, conn)
		conn.Close()
		r.finished(c)
	}()
	return nil
}

// finished reads the exit record of a container whose supervisor is gone.
func (r *Runtime) finished(c *container) {
	var ex exit
	if err := readJSON(c.dir, exitFile, &ex); err != nil {
		r.lost(c, fmt.Sprintf("supervisor ended without an exit record: %v", err))
		return
	}
	c.setExited(ex)
	close(c.done)
	r.exited <- c.snapshot()
}

// lost ends a container whose supervisor died: its processes go too,
// because nothing would record their output or exit any more.
func (r *Runtime) lost(c *container, why string) {
	c.kill()
	ex := exit{ExitCode: 137, Reason: "Error", Message: why, StartedAt: c.snapshot().StartedAt, FinishedAt: time.Now()}
	writeJSON(c.dir, exitFile, ex)
	r.cfg.Log.Warn("container lost its supervisor", "container", c.id, "reason", why)
	c.setExited(ex)
	close(c.done)
	r.exited <- c.snapshot()
}

// kill sends SIGKILL to the container's process group and everything in
// its cgroup.
func (c *container) kill() {
	if c.pid > 0 {
		unix.Kill(-c.pid, unix.SIGKILL)
	}
	if g := c.spec.Cgroup; g != nil {
		g.Kill()
	}
}

func (c *container) setExited(ex exit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status.State = runtime.Exited
	c.status.ExitCode = ex.ExitCode
	c.status.Reason = ex.Reason
	c.status.Message = ex.Message
	c.status.StartedAt = ex.StartedAt
	c.status.FinishedAt = ex.FinishedAt
}

func (c *container) snapshot() runtime.ContainerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// recover rebuilds the table from the container directories.
func (r *Runtime) recover(ctx context.Context) error {
	entries, err := os.ReadDir(r.cfg.Dir)
	if err != nil {
		return fmt.Errorf("process runtime: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(r.cfg.Dir, e.Name())
		var sp spec
		if err := readJSON(dir, configFile, &sp); err != nil {
			r.cfg.Log.Warn("skipping unreadable container directory", "dir", dir, "err", err)
			continue
		}
		c := &container{id: e.Name(), dir: dir, spec: sp, done: make(chan struct{})}
		c.status = runtime.ContainerStatus{ID: c.id, PodUID: sp.PodUID, Name: sp.Name, Attempt: sp.Attempt, Resources: sp.Resources}
		r.add(c)
		var ex exit
		if err := readJSON(dir, exitFile, &ex); err == nil {
			c.setExited(ex)
			close(c.done)
			continue
		}
		var st state
		if err := readJSON(dir, stateFile, &st); err != nil {
			r.lost(c, "supervisor never reported a start")
			continue
		}
		c.pid = st.PID
		c.status.State = runtime.Running
		c.status.StartedAt = st.StartedAt
		if processStart(st.SupervisorPID) != st.SupervisorStart {
			r.lost(c, "supervisor is gone")
			continue
		}
		if err := r.watch(c); err != nil {
			return err
		}
	}
	return nil
}

// List reports every known container, sorted by id.
func (r *Runtime) List(ctx context.Context) ([]runtime.ContainerStatus, error) {
	r.mu.Lock()
	out := make([]runtime.ContainerStatus, 0, len(r.containers))
	for _, c := range r.containers {
		out = append(out, c.snapshot())
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Stop signals the container's process group: SIGTERM, then SIGKILL to
// the group and everything in the container's cgroup when grace runs out.
func (r *Runtime) Stop(ctx context.Context, id string, grace time.Duration) error {
	c, err := r.get(id)
	if err != nil {
		return err
	}
	select {
	case <-c.done:
		return nil
	default:
	}
	if grace > 0 {
		unix.Kill(-c.pid, unix.SIGTERM)
		timer := time.NewTimer(grace)
		defer timer.Stop()
		select {
		case <-c.done:
			return nil
		case <-timer.C:
		case <-ctx.Done():
			return fmt.Errorf("stop %s: %w", id, ctx.Err())
		}
	}
	c.kill()
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop %s: %w", id, ctx.Err())
	}
}

// Remove deletes an exited container's state, its cgroup and the mount
// points its supervisor created on the host.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	c, err := r.get(id)
	if err != nil {
		return nil
	}
	select {
	case <-c.done:
	default:
		return fmt.Errorf("remove %s: still running", id)
	}
	if g := c.spec.Cgroup; g != nil {
		if err := g.Delete(ctx); err != nil {
			return fmt.Errorf("remove %s: %w", id, err)
		}
	}
	var st state
	if readJSON(c.dir, stateFile, &st) == nil {
		for i := len(st.CreatedMounts) - 1; i >= 0; i-- {
			os.Remove(st.CreatedMounts[i]) // only if empty: it was made empty
		}
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("remove %s: %w", id, err)
	}
	r.mu.Lock()
	delete(r.containers, id)
	r.mu.Unlock()
	return nil
}

// running returns a running container or a clear error.
func (r *Runtime) running(id string) (*container, error) {
	c, err := r.get(id)
	if err != nil {
		return nil, err
	}
	select {
	case <-c.done:
		return nil, fmt.Errorf("container %s is not running", c.spec.Name)
	default:
		return c, nil
	}
}

// UpdateResources sets a running container's resources in place: its
// cgroup's limits (as root), and the record in its config, so its status
// and a restarted agent see what it runs with. Without cgroups the new
// values are only recorded.
func (r *Runtime) UpdateResources(ctx context.Context, id string, res runtime.Resources) error {
	c, err := r.running(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if g := c.spec.Cgroup; g != nil {
		if err := g.Update(res); err != nil {
			return fmt.Errorf("resize %s: %w", id, err)
		}
	}
	sp := c.spec
	sp.Resources = res
	if err := writeJSON(c.dir, configFile, sp); err != nil {
		return fmt.Errorf("resize %s: %w", id, err)
	}
	c.spec.Resources = res
	c.status.Resources = res
	return nil
}

// Running reports whether a container's process still runs.
func (r *Runtime) Running(id string) bool {
	_, err := r.running(id)
	return err == nil
}

// Exec runs cmd with the container's env and working directory, in its
// mount namespace when it has one and in its cgroup when it has one. The
// process is killed with its group when ctx ends (the client went away),
// so nothing is left behind.
//
// opts: Env is added to the container's (a key in both: opts wins);
// WorkingDir replaces the container's; User (name or uid[:group|gid],
// looked up in the container's /etc/passwd and /etc/group, which for the
// process runtime are the host's unless a volume covers them) runs it as
// that user, which needs the agent to run as root, and HOME is the user's
// only when neither env sets it (runc's rule). Privileged changes nothing:
// a process container already runs with the agent's privileges (every
// capability, the host's devices and users), which is what privileged
// grants elsewhere; the exec still stays in the container's cgroup, so it
// counts against its limits and ends with it.
func (r *Runtime) Exec(ctx context.Context, id string, cmdline []string, opts runtime.ExecOptions, stdin io.Reader, stdout, stderr io.WriteCloser, tty bool, resize <-chan runtime.TerminalSize) error {
	c, err := r.running(id)
	if err != nil {
		return err
	}
	if len(cmdline) == 0 {
		return errors.New("no command specified")
	}
	env := MergeEnv(c.spec.Env, opts.Env)
	wd := c.spec.WorkingDir
	if opts.WorkingDir != "" {
		wd = opts.WorkingDir
	}
	var cred *syscall.Credential
	if opts.User != "" {
		root, err := c.openRoot()
		if err != nil {
			return fmt.Errorf("exec as %q: %w", opts.User, err)
		}
		u, err := lookupUser(root, opts.User)
		unix.Close(root)
		if err != nil {
			return fmt.Errorf("exec: %w", err)
		}
		if os.Geteuid() != 0 && int(u.uid) != os.Geteuid() {
			return fmt.Errorf("exec as user %q (uid %d): the agent must run as root to run a command as another user", opts.User, u.uid)
		}
		cred = &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: u.groups}
		if u.home != "" && !hasEnv(env, "HOME") {
			env = append(env, "HOME="+u.home)
		}
	}
	path, err := lookPath(cmdline[0], env, wd)
	if err != nil {
		return err
	}
	argv := append([]string{path}, cmdline[1:]...)
	if c.spec.MountNamespace {
		ns := []string{"nsenter", fmt.Sprintf("--mount=/proc/%d/ns/mnt", c.pid)}
		if wd != "" {
			ns = append(ns, "--wd="+wd)
		}
		if cred != nil {
			// nsenter enters as root, then becomes the user (without
			// supplementary groups: it drops them).
			ns = append(ns, fmt.Sprintf("--setuid=%d", cred.Uid), fmt.Sprintf("--setgid=%d", cred.Gid))
			cred = nil
		}
		argv = append(append(ns, "--"), argv...)
		if argv[0], err = exec.LookPath("nsenter"); err != nil {
			return fmt.Errorf("exec in a mount namespace needs nsenter: %w", err)
		}
	}
	cmd := &exec.Cmd{Path: argv[0], Args: argv, Env: env, Dir: wd}
	if c.spec.MountNamespace {
		cmd.Dir = ""
	}
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	return runInteractive(ctx, c.spec.Cgroup, cmd, stdin, stdout, stderr, tty, resize)
}

// MergeEnv is base with extra's variables added; a key in both takes
// extra's value, in base's place.
func MergeEnv(base, extra []string) []string {
	out := append([]string{}, base...)
	index := map[string]int{}
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		index[k] = i
	}
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := index[k]; ok {
			out[i] = kv
			continue
		}
		index[k] = len(out)
		out = append(out, kv)
	}
	return out
}

func hasEnv(env []string, key string) bool {
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			return true
		}
	}
	return false
}

// Attach connects to the supervisor's attach socket.
func (r *Runtime) Attach(ctx context.Context, id string, stdin io.Reader, stdout, stderr io.WriteCloser, tty bool, resize <-chan runtime.TerminalSize) error {
	c, err := r.running(id)
	if err != nil {
		return err
	}
	if stdin != nil && !c.spec.Stdin {
		return fmt.Errorf("container %s does not take stdin (spec.containers[].stdin is false)", c.spec.Name)
	}
	var d net.Dialer
	var conn net.Conn
	err = withSocket(c.dir, func(addr string) (err error) {
		conn, err = d.DialContext(ctx, "unix", addr)
		return err
	})
	if err != nil {
		return fmt.Errorf("attach %s: %w", c.spec.Name, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte{helloAttach}); err != nil {
		return fmt.Errorf("attach %s: %w", c.spec.Name, err)
	}
	var writeMu sync.Mutex
	send := func(typ byte, p []byte) error {
		writeMu.Lock()
		defer writeMu.Unlock()
		return writeFrame(conn, typ, p)
	}
	if stdin != nil {
		go func() {
			buf := make([]byte, 32*1024)
			for {
				n, err := stdin.Read(buf)
				if n > 0 && send(frameStdin, buf[:n]) != nil {
					return
				}
				if err != nil {
					send(frameStdinClose, nil)
					return
				}
			}
		}()
	}
	go func() {
		for size := range resize {
			if data, err := json.Marshal(size); err == nil {
				send(frameResize, data)
			}
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
		case <-c.done:
			// The supervisor sends the container's last output, then
			// hangs up; this only bounds the wait for that.
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
		conn.Close()
	}()
	for {
		typ, payload, err := readFrame(conn)
		if err != nil {
			return nil // the container ended or the client left
		}
		switch {
		case typ == frameStdout && stdout != nil:
			stdout.Write(payload)
		case typ == frameStderr && stderr != nil:
			stderr.Write(payload)
		case typ == frameStderr && stdout != nil && tty:
			stdout.Write(payload)
		}
	}
}

// PortForward connects to the port on the host's loopback: process
// containers share the host's network.
func (r *Runtime) PortForward(ctx context.Context, podUID string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", fmt.Sprint(port)))
	if err != nil {
		return fmt.Errorf("port %d of pod %s: %w", port, podUID, err)
	}
	defer conn.Close()
	errc := make(chan error, 2)
	go func() {
		_, err := io.Copy(conn, stream)
		if tcp, ok := conn.(*net.TCPConn); ok {
			tcp.CloseWrite()
		}
		errc <- err
	}()
	go func() {
		_, err := io.Copy(stream, conn)
		errc <- err
	}()
	select {
	case err := <-errc:
		if err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "closed") {
			return fmt.Errorf("port %d of pod %s: %w", port, podUID, err)
		}
		<-errc
		return nil
	case <-ctx.Done():
		return nil
	}
}

var _ runtime.Runtime = (*Runtime)(nil)

package process

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/podyard/podyard/internal/runtime/crilog"
)

// Supervise is the body of `podyard supervise DIR`: it runs the container
// described in DIR as its child, writes the child's output to the CRI log,
// serves attach and exit-watch connections on DIR's socket, and records
// how the child ended. It outlives the agent that started it, so a
// restarted agent finds the container running and takes it back.
func Supervise(dir string) error {
	var sp spec
	if err := readJSON(dir, configFile, &sp); err != nil {
		return reportStart(fmt.Errorf("read spec: %w", err))
	}
	s := &supervisor{dir: dir, spec: sp, clients: map[*client]struct{}{}}
	return s.run()
}

type supervisor struct {
	dir  string
	spec spec

	mu              sync.Mutex
	clients         map[*client]struct{}
	stdin           io.WriteCloser // nil when the container has no stdin
	tty             *os.File       // the pty's controlling side when TTY
	stdinClosedOnce bool
}

// reportStart prints the start result line the runtime waits for.
func reportStart(err error) error {
	res := startResult{Error: err.Error()}
	json.NewEncoder(os.Stdout).Encode(res)
	return err
}

func (s *supervisor) run() error {
	var ln net.Listener
	err := withSocket(s.dir, func(addr string) (err error) {
		ln, err = net.Listen("unix", addr)
		if err == nil && strings.HasPrefix(addr, "/proc/self/fd/") {
			// The descriptor is gone by Close: Remove deletes the file.
			ln.(*net.UnixListener).SetUnlinkOnClose(false)
		}
		return err
	})
	if err != nil {
		return reportStart(fmt.Errorf("listen: %w", err))
	}
	created, err := s.mount()
	if err != nil {
		return s.startFailed(err)
	}
	cmd, err := s.command()
	if err != nil {
		return s.startFailed(err)
	}

	writer, err := crilog.NewWriter(s.spec.LogPath, s.spec.LogMaxSize, s.spec.LogMaxFiles)
	if err != nil {
		return s.startFailed(err)
	}
	var copies sync.WaitGroup
	if s.spec.TTY {
		err = startIn(s.spec.Cgroup, cmd, func() (err error) {
			s.tty, err = pty.Start(cmd)
			return err
		})
		if err != nil {
			return s.startFailed(startError(cmd, err))
		}
		if s.spec.Stdin {
			s.stdin = s.tty
		}
		copies.Go(func() { writer.Copy("stdout", s.tee(frameStdout, s.tty)) })
	} else {
		var stdin io.WriteCloser
		if s.spec.Stdin {
			if stdin, err = cmd.StdinPipe(); err != nil {
				return s.startFailed(err)
			}
		}
		// Own pipes rather than StdoutPipe: Wait would close those while
		// the last output is still being read.
		stdout, stdoutW, err := os.Pipe()
		if err != nil {
			return s.startFailed(err)
		}
		stderr, stderrW, err := os.Pipe()
		if err != nil {
			return s.startFailed(err)
		}
		cmd.Stdout, cmd.Stderr = stdoutW, stderrW
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		err = startIn(s.spec.Cgroup, cmd, cmd.Start)
		stdoutW.Close()
		stderrW.Close()
		if err != nil {
			return s.startFailed(startError(cmd, err))
		}
		s.stdin = stdin
		copies.Go(func() { writer.Copy("stdout", s.tee(frameStdout, stdout)) })
		copies.Go(func() { writer.Copy("stderr", s.tee(frameStderr, stderr)) })
	}
	started := time.Now()
	st := state{
		PID:             cmd.Process.Pid,
		SupervisorPID:   os.Getpid(),
		SupervisorStart: processStart(os.Getpid()),
		StartedAt:       started,
		CreatedMounts:   created,
	}
	if err := writeJSON(s.dir, stateFile, st); err != nil {
		cmd.Process.Kill()
		return s.startFailed(err)
	}
	json.NewEncoder(os.Stdout).Encode(startResult{PID: cmd.Process.Pid, StartedAt: started})
	os.Stdout.Close()

	go s.serve(ln)
	waitErr := cmd.Wait()
	// A container ends with its main process: whatever it left in its
	// process group goes too, and with a cgroup whatever it left anywhere
	// (a daemon that holds the output pipes would keep the copies going).
	unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
	oomKilled := s.endCgroup()
	copies.Wait() // a terminal's copy ends when no process holds it any more
	s.detachAll()
	s.mu.Lock()
	if s.tty != nil {
		s.tty.Close()
		s.tty, s.stdin = nil, nil
	}
	s.mu.Unlock()
	writer.Close()

	code := exitCode(cmd.ProcessState, waitErr)
	reason := exitReason(code)
	if oomKilled {
		reason = reasonOOMKilled
	}
	return writeJSON(s.dir, exitFile, exit{
		ExitCode: code, Reason: reason, StartedAt: started, FinishedAt: time.Now(),
	})
}

// endCgroup kills what the container left in its cgroup and reports
// whether the kernel killed any of its processes for want of memory.
func (s *supervisor) endCgroup() (oomKilled bool) {
	g := s.spec.Cgroup
	if g == nil {
		return false
	}
	if err := g.Kill(); err != nil {
		fmt.Fprintln(os.Stderr, "podyard supervise:", err)
	}
	kills, err := g.OOMKills()
	if err != nil {
		fmt.Fprintln(os.Stderr, "podyard supervise:", err)
	}
	return kills > 0
}

// startFailed records a container that never ran, the way runc reports it.
func (s *supervisor) startFailed(err error) error {
	now := time.Now()
	writeJSON(s.dir, exitFile, exit{ExitCode: 128, Reason: "StartError", Message: err.Error(), StartedAt: now, FinishedAt: now})
	return reportStart(err)
}

func startError(cmd *exec.Cmd, err error) error {
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("exec: %q: executable file not found in $PATH", cmd.Args[0])
	}
	return fmt.Errorf("exec %q: %w", cmd.Args[0], err)
}

// command builds the child from the spec; the executable is looked up in
// the container's PATH, not the agent's.
func (s *supervisor) command() (*exec.Cmd, error) {
	if len(s.spec.Command) == 0 {
		return nil, errors.New("no command specified")
	}
	path, err := lookPath(s.spec.Command[0], s.spec.Env, s.spec.WorkingDir)
	if err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{Path: path, Args: s.spec.Command, Env: s.spec.Env, Dir: s.spec.WorkingDir}
	return cmd, nil
}

// lookPath resolves name like a container runtime: a name with a slash as
// is (relative to dir), else the first executable in env's PATH.
func lookPath(name string, env []string, dir string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		if isExecutable(p) {
			return p, nil
		}
		return "", fmt.Errorf("exec: %q: no such file or directory", name)
	}
	pathVar := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathVar = v
		}
	}
	for _, d := range filepath.SplitList(pathVar) {
		if p := filepath.Join(d, name); isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", name)
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

func exitCode(ps *os.ProcessState, err error) int {
	if ps == nil {
		return 128
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// mount bind-mounts the volumes at their container paths inside the
// supervisor's private mount namespace (the child inherits it). It returns
// the mount points it had to create on the host, for Remove to delete.
func (s *supervisor) mount() ([]string, error) {
	if !s.spec.MountNamespace || len(s.spec.Mounts) == 0 {
		return nil, nil
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, fmt.Errorf("make mounts private: %w", err)
	}
	var created []string
	for _, m := range s.spec.Mounts {
		src, err := os.Stat(m.HostPath)
		if err != nil {
			return created, fmt.Errorf("volume source %s: %w", m.HostPath, err)
		}
		made, err := mountPoint(m.ContainerPath, src.IsDir())
		if err != nil {
			return created, err
		}
		created = append(created, made...)
		if err := unix.Mount(m.HostPath, m.ContainerPath, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return created, fmt.Errorf("bind %s at %s: %w", m.HostPath, m.ContainerPath, err)
		}
		if m.ReadOnly {
			if err := unix.Mount("", m.ContainerPath, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_REC, ""); err != nil {
				return created, fmt.Errorf("make %s read-only: %w", m.ContainerPath, err)
			}
		}
	}
	return created, nil
}

// mountPoint makes sure target exists as a directory (or a file, for a
// file source) and returns what it created, outermost first.
func mountPoint(target string, dir bool) ([]string, error) {
	var created []string
	parent := filepath.Dir(target)
	var missing []string
	for p := parent; p != "/" && p != "."; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil {
			break
		}
		missing = append([]string{p}, missing...)
	}
	for _, p := range missing {
		if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return created, fmt.Errorf("mount point %s: %w", p, err)
		}
		created = append(created, p)
	}
	if _, err := os.Lstat(target); err == nil {
		return created, nil
	}
	if dir {
		if err := os.Mkdir(target, 0o755); err != nil {
			return created, fmt.Errorf("mount point %s: %w", target, err)
		}
	} else {
		f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return created, fmt.Errorf("mount point %s: %w", target, err)
		}
		f.Close()
	}
	return append(created, target), nil
}

// client is an attached connection; output is queued to it and dropped
// when it does not keep up, so a slow client never stalls the container.
type client struct {
	out     chan []byte
	closing sync.Once
	sent    chan struct{} // closed when the queue has been written out
}

// finish ends the client's queue; its writer sends what is queued, then stops.
func (c *client) finish() { c.closing.Do(func() { close(c.out) }) }

// detach takes c off the output fan-out; tee sends under s.mu, so nothing
// is sent to c once this returns.
func (s *supervisor) detach(c *client) {
	s.mu.Lock()
	delete(s.clients, c)
	s.mu.Unlock()
	c.finish()
}

// detachAll hands every attached client the container's last output before
// the supervisor exits (exiting would drop what is still queued).
func (s *supervisor) detachAll() {
	s.mu.Lock()
	clients := s.clients
	s.clients = map[*client]struct{}{}
	s.mu.Unlock()
	for c := range clients {
		c.finish()
	}
	for c := range clients {
		select {
		case <-c.sent:
		case <-time.After(time.Second): // a client that does not read
		}
	}
}

// tee passes the child's output through to the log while copying it to
// every attached client.
func (s *supervisor) tee(typ byte, r io.Reader) io.Reader {
	return readFunc(func(p []byte) (int, error) {
		n, err := r.Read(p)
		if n > 0 {
			frame := make([]byte, 5+n)
			frame[0] = typ
			frame[1], frame[2], frame[3], frame[4] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
			copy(frame[5:], p[:n])
			s.mu.Lock()
			for c := range s.clients {
				select {
				case c.out <- frame:
				default:
				}
			}
			s.mu.Unlock()
		}
		if err != nil && errors.Is(err, syscall.EIO) && s.spec.TTY {
			err = io.EOF // a terminal whose last process left
		}
		return n, err
	})
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }

func (s *supervisor) serve(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go s.handle(conn)
	}
}

func (s *supervisor) handle(conn net.Conn) {
	defer conn.Close()
	var hello [1]byte
	if _, err := io.ReadFull(conn, hello[:]); err != nil {
		return
	}
	if hello[0] == helloWatch {
		io.Copy(io.Discard, conn) // held open until the supervisor exits
		return
	}
	c := &client{out: make(chan []byte, 1024), sent: make(chan struct{})}
	s.mu.Lock()
	s.clients[c] = struct{}{}
	s.mu.Unlock()
	go func() {
		defer close(c.sent)
		for frame := range c.out {
			if _, err := conn.Write(frame); err != nil {
				for range c.out { // drain: the client left
				}
				return
			}
		}
	}()
	s.readInput(conn)
	s.detach(c)
	<-c.sent
}

// readInput takes stdin and resize frames from an attached client until it
// hangs up.
func (s *supervisor) readInput(conn net.Conn) {
	for {
		typ, payload, err := readFrame(conn)
		if err != nil {
			s.closeStdinOnce()
			return
		}
		switch typ {
		case frameStdin:
			s.mu.Lock()
			in := s.stdin
			s.mu.Unlock()
			if in != nil {
				in.Write(payload)
			}
		case frameStdinClose:
			s.closeStdinOnce()
		case frameResize:
			var size struct{ Width, Height uint16 }
			if json.Unmarshal(payload, &size) == nil {
				s.mu.Lock()
				if s.tty != nil {
					pty.Setsize(s.tty, &pty.Winsize{Cols: size.Width, Rows: size.Height})
				}
				s.mu.Unlock()
			}
		}
	}
}

// closeStdinOnce ends the child's stdin after the first attach when the
// spec says stdinOnce (a terminal stays open: closing it would hang up).
func (s *supervisor) closeStdinOnce() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.spec.StdinOnce || s.stdin == nil || s.tty != nil || s.stdinClosedOnce {
		return
	}
	s.stdinClosedOnce = true
	s.stdin.Close()
}

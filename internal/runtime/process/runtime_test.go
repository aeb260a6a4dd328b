package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	utilexec "k8s.io/utils/exec"

	"github.com/podyard/podyard/internal/runtime"
)

// The test binary doubles as the supervisor, as the podyard binary does.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "supervise" {
		if err := Supervise(os.Args[2]); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	if len(os.Args) == 5 && os.Args[1] == "start-and-exit" {
		if err := startAndExit(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func newRuntime(t *testing.T, dir string) *Runtime {
	t.Helper()
	r, err := New(context.Background(), Config{Dir: dir, Supervisor: []string{os.Args[0], "supervise"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		list, _ := r.List(context.Background())
		for _, c := range list {
			if c.State == runtime.Running {
				r.Stop(context.Background(), c.ID, 0)
			}
		}
	})
	return r
}

func config(t *testing.T, name string, cmd ...string) runtime.ContainerConfig {
	return runtime.ContainerConfig{
		PodUID: "uid1", PodNamespace: "ns", PodName: "p", Name: name,
		Command: cmd, Env: []string{"PATH=/usr/bin:/bin", "FOO=bar"},
		WorkingDir: "/", LogPath: filepath.Join(t.TempDir(), "0.log"),
	}
}

func waitExited(t *testing.T, r *Runtime, id string) runtime.ContainerStatus {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case got := <-r.Exited():
			if got.ID == id {
				return got
			}
		case <-timeout:
			t.Fatalf("container %s did not exit", id)
		}
	}
}

func TestExitCodeAndLog(t *testing.T) {
	r := newRuntime(t, t.TempDir())
	cfg := config(t, "c", "sh", "-c", "echo out $FOO; echo err >&2; exit 3")
	st, err := r.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != runtime.Running || st.StartedAt.IsZero() {
		t.Fatalf("after start: %+v", st)
	}
	st = waitExited(t, r, st.ID)
	if st.ExitCode != 3 || st.Reason != "Error" || st.FinishedAt.Before(st.StartedAt) {
		t.Errorf("exit: %+v", st)
	}
	data, _ := os.ReadFile(cfg.LogPath)
	if !strings.Contains(string(data), " stdout F out bar\n") || !strings.Contains(string(data), " stderr F err\n") {
		t.Errorf("log:\n%s", data)
	}
	if err := r.Remove(context.Background(), st.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := r.List(context.Background()); len(list) != 0 {
		t.Errorf("after remove: %v", list)
	}
}

func TestMissingCommandIsStartError(t *testing.T) {
	r := newRuntime(t, t.TempDir())
	st, err := r.Start(context.Background(), config(t, "c", "no-such-command-here"))
	if err != nil {
		t.Fatal(err)
	}
	if st.State != runtime.Exited || st.Reason != "StartError" || st.ExitCode != 128 ||
		!strings.Contains(st.Message, `"no-such-command-here": executable file not found in $PATH`) {
		t.Errorf("got %+v", st)
	}
}

func TestRestartedAgentTakesContainersBack(t *testing.T) {
	dir := t.TempDir()
	first := newRuntime(t, dir)
	running, err := first.Start(context.Background(), config(t, "sleeper", "sleep", "300"))
	if err != nil {
		t.Fatal(err)
	}
	done, err := first.Start(context.Background(), config(t, "quick", "true"))
	if err != nil {
		t.Fatal(err)
	}
	waitExited(t, first, done.ID)

	second := newRuntime(t, dir) // what a restarted agent builds
	list, _ := second.List(context.Background())
	if len(list) != 2 {
		t.Fatalf("want both containers back, got %+v", list)
	}
	for _, c := range list {
		switch c.Name {
		case "sleeper":
			if c.State != runtime.Running || !c.StartedAt.Equal(running.StartedAt) {
				t.Errorf("sleeper: %+v", c)
			}
		case "quick":
			if c.State != runtime.Exited || c.ExitCode != 0 || c.Reason != "Completed" {
				t.Errorf("quick: %+v", c)
			}
		}
	}
	if err := second.Stop(context.Background(), running.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	c, _ := second.get(running.ID)
	if st := c.snapshot(); st.ExitCode != 143 {
		t.Errorf("stopped with SIGTERM: want exit code 143, got %+v", st)
	}
}

func TestStopEscalatesToKill(t *testing.T) {
	r := newRuntime(t, t.TempDir())
	cfg := config(t, "c", "sh", "-c", "trap '' TERM; echo ready; while true; do sleep 0.1; done")
	st, err := r.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitLog(t, cfg.LogPath, "ready") // the trap is set
	if err := r.Stop(context.Background(), st.ID, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	c, _ := r.get(st.ID)
	if got := c.snapshot(); got.ExitCode != 137 {
		t.Errorf("want SIGKILL (137) after the grace period, got %+v", got)
	}
}

func waitLog(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if data, _ := os.ReadFile(path); strings.Contains(string(data), want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%q never logged", want)
}

func TestExec(t *testing.T) {
	r := newRuntime(t, t.TempDir())
	st, err := r.Start(context.Background(), config(t, "c", "sleep", "300"))
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut buffer
	err = r.Exec(context.Background(), st.ID, []string{"sh", "-c", "echo $FOO; pwd; read x; echo got $x >&2; exit 7"},
		runtime.ExecOptions{}, strings.NewReader("line\n"), &out, &errOut, false, nil)
	var exitErr utilexec.CodeExitError
	if !errors.As(err, &exitErr) || exitErr.Code != 7 {
		t.Fatalf("want exit code 7, got %v", err)
	}
	if out.String() != "bar\n/\n" || errOut.String() != "got line\n" {
		t.Errorf("stdout %q stderr %q", out.String(), errOut.String())
	}

	err = r.Exec(context.Background(), st.ID, []string{"no-such-command-here"}, runtime.ExecOptions{}, nil, &out, &errOut, false, nil)
	if err == nil || !strings.Contains(err.Error(), "executable file not found") {
		t.Errorf("missing command: %v", err)
	}

	// A client that goes away takes its process with it.
	ctx, cancel := context.WithCancel(context.Background())
	pidFile := filepath.Join(t.TempDir(), "pid")
	execDone := make(chan error, 1)
	go func() {
		execDone <- r.Exec(ctx, st.ID, []string{"sh", "-c", "echo $$ > " + pidFile + "; exec sleep 300"}, runtime.ExecOptions{}, nil, &out, &errOut, false, nil)
	}()
	pid := waitFile(t, pidFile)
	cancel()
	if err := <-execDone; err == nil {
		t.Error("an exec whose client left must not report success")
	}
	waitGone(t, pid)
}

func TestExecTTY(t *testing.T) {
	r := newRuntime(t, t.TempDir())
	st, err := r.Start(context.Background(), config(t, "c", "sleep", "300"))
	if err != nil {
		t.Fatal(err)
	}
	var out buffer
	resize := make(chan runtime.TerminalSize, 1)
	resize <- runtime.TerminalSize{Width: 123, Height: 45}
	close(resize)
	err = r.Exec(context.Background(), st.ID, []string{"sh", "-c", "sleep 0.2; stty size; test -t 0"}, runtime.ExecOptions{}, nil, &out, nil, true, resize)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "45 123") {
		t.Errorf("terminal size: %q", out.String())
	}
}

func TestAttach(t *testing.T) {
	r := newRuntime(t, t.TempDir())
	cfg := config(t, "c", "sh", "-c", "while read l; do echo echo: $l; done")
	cfg.Stdin = true
	st, err := r.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	inR, inW := io.Pipe()
	var out buffer
	attached := make(chan error, 1)
	go func() { attached <- r.Attach(context.Background(), st.ID, inR, &out, nil, false, nil) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "echo: hello") && time.Now().Before(deadline) {
		fmt.Fprintln(inW, "hello") // repeated until the attach is connected
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "echo: hello") {
		t.Fatalf("attach output: %q", out.String())
	}
	inW.Close() // not stdinOnce: the container keeps running
	if !r.Running(st.ID) {
		t.Fatal("container stopped when the attach ended")
	}
	r.Stop(context.Background(), st.ID, time.Second)
	if err := <-attached; err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(cfg.LogPath)
	if !strings.Contains(string(data), "echo: hello") {
		t.Errorf("attached output is logged too:\n%s", data)
	}
}

func TestPortForward(t *testing.T) {
	r := newRuntime(t, t.TempDir())
	err := r.PortForward(context.Background(), "uid1", 1, &nopStream{})
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("a port nothing listens on: %v", err)
	}
}

type nopStream struct{ bytes.Buffer }

func (nopStream) Close() error { return nil }

// buffer is a goroutine-safe output sink.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}
func (b *buffer) Close() error { return nil }
func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func waitFile(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var pid int
		if data, err := os.ReadFile(path); err == nil {
			if _, err := fmt.Sscan(string(data), &pid); err == nil {
				return pid
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never written", path)
	return 0
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if processStart(pid) == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("process %d still runs", pid)
}

// TestDeepDataDir: a data dir too deep for a unix socket address still
// works (the supervisor socket is reached through a directory descriptor).
func TestDeepDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
	r := newRuntime(t, dir)
	cfg := config(t, "c", "sh", "-c", "read l; echo got $l; exit 5")
	cfg.Stdin, cfg.StdinOnce = true, true
	st, err := r.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(filepath.Join(dir, st.ID, socketFile)) <= maxSocketPath {
		t.Fatal("the test's data dir is not deep enough")
	}
	var out buffer
	if err := r.Attach(context.Background(), st.ID, strings.NewReader("line\n"), &out, nil, false, nil); err != nil {
		t.Fatal(err)
	}
	if got := waitExited(t, r, st.ID); got.ExitCode != 5 {
		t.Errorf("exit %+v", got)
	}
	if !strings.Contains(out.String(), "got line") {
		t.Errorf("attach output %q", out.String())
	}
}

func TestKillAll(t *testing.T) {
	dir := t.TempDir()
	r := newRuntime(t, dir)
	st, err := r.Start(context.Background(), config(t, "c", "sleep", "60"))
	if err != nil {
		t.Fatal(err)
	}
	if n := KillAll(dir); n != 1 {
		t.Fatalf("KillAll killed %d containers, want 1", n)
	}
	waitExited(t, r, st.ID)
	// The supervisor's exit (not only its container's) takes a moment to
	// show in /proc; from then on there is nothing left to kill.
	deadline := time.Now().Add(10 * time.Second)
	for KillAll(dir) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("KillAll still finds a live supervisor 10 s after killing it")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWatchAfterSupervisorExited: a container that ended before the
// runtime connected (its supervisor already gone) is reported with its
// recorded exit, not as lost.
func TestWatchAfterSupervisorExited(t *testing.T) {
	dir := t.TempDir()
	r := newRuntime(t, dir)
	cdir := filepath.Join(dir, "uid1_c_0")
	if err := os.MkdirAll(cdir, 0o700); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := writeJSON(cdir, exitFile, exit{ExitCode: 2, Reason: "Error", StartedAt: now, FinishedAt: now}); err != nil {
		t.Fatal(err)
	}
	c := &container{id: "uid1_c_0", dir: cdir, done: make(chan struct{})}
	c.status = runtime.ContainerStatus{ID: c.id, State: runtime.Running}
	if err := r.watch(c); err != nil {
		t.Fatal(err)
	}
	if got := waitExited(t, r, c.id); got.ExitCode != 2 || got.Reason != "Error" {
		t.Fatalf("exit %+v, want code 2 from the exit record", got)
	}
}

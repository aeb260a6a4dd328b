package process

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	utilexec "k8s.io/utils/exec"

	"github.com/podyard/podyard/internal/runtime"
	"github.com/podyard/podyard/internal/runtime/cgroups"
)

// runInteractive runs cmd wired to a remote client's streams, on a
// terminal when tty, in the container's cgroup g (if any) so that its
// limits hold and it ends with the container. The whole process group is
// killed when ctx ends, and a non-zero exit comes back as a CodeExitError
// so the code reaches kubectl.
func runInteractive(ctx context.Context, g *cgroups.Group, cmd *exec.Cmd, stdin io.Reader, stdout, stderr io.WriteCloser, tty bool, resize <-chan runtime.TerminalSize) error {
	// Output still in flight when the process ends is copied for at most
	// this long, so a background child holding stdout cannot hang the exec.
	cmd.WaitDelay = 2 * time.Second
	var term *os.File
	if tty {
		err := startIn(g, cmd, func() (err error) {
			term, err = pty.Start(cmd)
			return err
		})
		if err != nil {
			return startError(cmd, err)
		}
		defer term.Close()
		if stdin != nil {
			go io.Copy(term, stdin)
		}
		copied := make(chan struct{})
		go func() {
			defer close(copied)
			if stdout != nil {
				io.Copy(stdout, term)
			} else {
				io.Copy(io.Discard, term)
			}
		}()
		resized := make(chan struct{})
		stopResize := make(chan struct{})
		go func() {
			defer close(resized)
			for {
				select {
				case size, ok := <-resize:
					if !ok {
						return
					}
					pty.Setsize(term, &pty.Winsize{Cols: size.Width, Rows: size.Height})
				case <-stopResize:
					return
				}
			}
		}()
		defer func() { // before the terminal is closed
			close(stopResize)
			<-resized
		}()
		defer func() {
			select { // the terminal's output ends with its last process
			case <-copied:
			case <-time.After(cmd.WaitDelay):
			}
		}()
	} else {
		if cmd.SysProcAttr == nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{}
		}
		cmd.SysProcAttr.Setpgid = true
		if stdin != nil {
			in, err := cmd.StdinPipe()
			if err != nil {
				return err
			}
			// Not waited for: a client may keep stdin open after the
			// command ended.
			go func() {
				io.Copy(in, stdin)
				in.Close()
			}()
		}
		if stdout != nil {
			cmd.Stdout = stdout
		}
		if stderr != nil {
			cmd.Stderr = stderr
		}
		if err := startIn(g, cmd, cmd.Start); err != nil {
			return startError(cmd, err)
		}
	}
	stop := context.AfterFunc(ctx, func() { unix.Kill(-cmd.Process.Pid, unix.SIGKILL) })
	defer stop()
	err := cmd.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("exec %q: client went away: %w", cmd.Args[0], ctx.Err())
	}
	if code := exitCode(cmd.ProcessState, err); code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: code}
	}
	if err != nil && cmd.ProcessState == nil {
		return fmt.Errorf("exec %q: %w", cmd.Args[0], err)
	}
	return nil
}

// Package benchutil is what Podyard's load tools share: starting podyard
// on a fresh data dir and printing figures.
package benchutil

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/podyard/podyard/internal/runtime/process"
)

// Podyard is a podyard process a load tool started.
type Podyard struct {
	DataDir    string
	Kubeconfig string
	PID        int
	cmd        *exec.Cmd
}

var readyLine = regexp.MustCompile(`ready at https://`)

// Start runs `podyard <command> <args>` on a fresh data dir and a free
// port and waits for its ready line.
func Start(ctx context.Context, bin string, env []string, command string, args ...string) (*Podyard, error) {
	dir, err := os.MkdirTemp("", "podyard-bench")
	if err != nil {
		return nil, err
	}
	argv := append([]string{command, "--data-dir", dir, "--listen", "127.0.0.1:0", "--log-level", "warn"}, args...)
	cmd := exec.CommandContext(ctx, bin, argv...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &Podyard{DataDir: dir, Kubeconfig: filepath.Join(dir, "kubeconfig"), PID: cmd.Process.Pid, cmd: cmd}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if readyLine.MatchString(sc.Text()) {
			go func() {
				for sc.Scan() {
				}
			}()
			return p, nil
		}
	}
	p.Stop()
	p.Remove()
	return nil, fmt.Errorf("podyard exited before it was ready")
}

// Stop ends podyard with SIGTERM; Remove then deletes its data dir.
func (p *Podyard) Stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
}

// Remove deletes the data dir of a stopped podyard.
func (p *Podyard) Remove() { os.RemoveAll(p.DataDir) }

// StopCluster ends a `podyard up`: the server, then the containers its
// node still runs (they outlive their agent by design), then its data.
func (p *Podyard) StopCluster() {
	p.Stop()
	process.KillAll(filepath.Join(p.DataDir, "agent", "containers"))
	p.Remove()
}

// Row prints one measurement: its median, its p99 (when > 0) and how many
// samples it has.
func Row(name string, median, p99 float64, samples int, unit string) {
	p := "-"
	if p99 > 0 {
		p = fmt.Sprintf("%.1f %s", p99, unit)
	}
	fmt.Printf("%-48s %12s %12s %10d\n", name, fmt.Sprintf("%.1f %s", median, unit), p, samples)
}

// Header prints the column titles Row fills.
func Header() {
	fmt.Printf("%-48s %12s %12s %10s\n", "measurement", "median", "p99", "samples")
}

// Median is the 50th percentile.
func Median(v []float64) float64 { return Pct(v, 50) }

// Pct is the nearest-rank percentile.
func Pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// CPU is the processor time podyard has used so far (user + system).
func (p *Podyard) CPU() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th of them, in clock ticks (100 Hz on Linux).
	rest := string(b[bytes.LastIndexByte(b, ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", p.PID, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", p.PID, err)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// WaitIdle waits until podyard uses less than share of one core over a
// window of 2 s (what a cluster does once it has settled), or timeout. It
// returns how long it waited and whether it settled.
func (p *Podyard) WaitIdle(ctx context.Context, share float64, timeout time.Duration) (time.Duration, bool, error) {
	const window = 2 * time.Second
	start := time.Now()
	for time.Since(start) < timeout {
		before, err := p.CPU()
		if err != nil {
			return time.Since(start), false, err
		}
		select {
		case <-ctx.Done():
			return time.Since(start), false, ctx.Err()
		case <-time.After(window):
		}
		after, err := p.CPU()
		if err != nil {
			return time.Since(start), false, err
		}
		if float64(after-before) < share*float64(window) {
			return time.Since(start), true, nil
		}
	}
	return time.Since(start), false, nil
}

// CreateRate calls create for n names (prefix-0 ... prefix-{n-1}) from
// the given number of concurrent clients and returns the calls per second;
// the first error ends it.
func CreateRate(ctx context.Context, create func(context.Context, string) error, prefix string, clients, n int) (float64, error) {
	var next atomic.Int64
	errs := make(chan error, clients)
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if err := create(ctx, prefix+"-"+strconv.FormatInt(i, 10)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		return 0, fmt.Errorf("create: %w", err)
	default:
	}
	return float64(n) / elapsed.Seconds(), nil
}

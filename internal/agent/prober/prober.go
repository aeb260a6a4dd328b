// Package prober runs a container's probes and lifecycle hooks: exec,
// httpGet, tcpSocket (and sleep for hooks), with the kubelet's thresholds.
package prober

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Exec runs cmd in the container, writing its output; a non-zero exit is an error.
type Exec func(ctx context.Context, cmd []string, stdout, stderr io.Writer) error

// Result is a probe's verdict.
type Result int

const (
	Unknown Result = iota
	Success
	Failure
)

// Kind is what a probe decides.
type Kind string

const (
	Liveness  Kind = "Liveness"
	Readiness Kind = "Readiness"
	Startup   Kind = "Startup"
)

// Thresholds turns single probe results into a verdict: a verdict changes
// after successThreshold successes or failureThreshold failures in a row.
type Thresholds struct {
	Success, Failure int32

	verdict Result
	last    Result
	streak  int32
}

// Observe records one result and returns the verdict and whether it changed.
func (t *Thresholds) Observe(r Result) (Result, bool) {
	if r == t.last {
		t.streak++
	} else {
		t.last, t.streak = r, 1
	}
	need := max(t.Failure, 1)
	if r == Success {
		need = max(t.Success, 1)
	}
	if t.streak >= need && t.verdict != r {
		t.verdict = r
		return r, true
	}
	return t.verdict, false
}

// Worker probes one container periodically.
type Worker struct {
	kind     Kind
	probe    *corev1.Probe
	c        *corev1.Container
	podIP    string
	exec     Exec
	onChange func(Result, string)
	onResult func(Result, string)
}

// NewWorker returns a worker that calls onChange with each new verdict and
// the last failure's message.
func NewWorker(kind Kind, probe *corev1.Probe, c *corev1.Container, podIP string, exec Exec, onChange func(Result, string)) *Worker {
	return &Worker{kind: kind, probe: probe, c: c, podIP: podIP, exec: exec, onChange: onChange}
}

// OnEachResult makes the worker call f with every probe's result and
// message (before onChange), for reporting; it returns w.
func (w *Worker) OnEachResult(f func(Result, string)) *Worker {
	w.onResult = f
	return w
}

// Run probes until ctx ends, a startup probe succeeds, or a liveness or
// startup probe fails (the container is then restarted, with a new worker).
func (w *Worker) Run(ctx context.Context) {
	p := w.probe
	period := seconds(p.PeriodSeconds, 10)
	t := Thresholds{Success: p.SuccessThreshold, Failure: p.FailureThreshold}
	if t.Failure == 0 {
		t.Failure = 3
	}
	if p.InitialDelaySeconds > 0 {
		if !sleep(ctx, time.Duration(p.InitialDelaySeconds)*time.Second) {
			return
		}
	}
	for {
		res, msg := Probe(ctx, &p.ProbeHandler, seconds(p.TimeoutSeconds, 1), w.c, w.podIP, w.exec)
		if ctx.Err() != nil {
			return
		}
		if w.onResult != nil {
			w.onResult(res, msg)
		}
		if verdict, changed := t.Observe(res); changed {
			w.onChange(verdict, msg)
			if w.kind == Startup && verdict == Success || w.kind != Readiness && verdict == Failure {
				return
			}
		}
		if !sleep(ctx, period) {
			return
		}
	}
}

func seconds(s, def int32) time.Duration {
	if s <= 0 {
		s = def
	}
	return time.Duration(s) * time.Second
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Probe runs one probe and returns its result and, on failure, why.
func Probe(ctx context.Context, h *corev1.ProbeHandler, timeout time.Duration, c *corev1.Container, podIP string, exec Exec) (Result, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var err error
	switch {
	case h.Exec != nil:
		err = runExec(ctx, h.Exec.Command, exec)
	case h.HTTPGet != nil:
		err = httpGet(ctx, h.HTTPGet, c, podIP)
	case h.TCPSocket != nil:
		err = tcpSocket(ctx, h.TCPSocket.Host, h.TCPSocket.Port, c, podIP)
	case h.GRPC != nil:
		err = fmt.Errorf("grpc probes are not supported")
	default:
		err = fmt.Errorf("probe names no handler")
	}
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return Failure, fmt.Sprintf("timeout: probe did not answer within %s", timeout)
		}
		return Failure, err.Error()
	}
	return Success, ""
}

// RunHook runs a postStart or preStop handler until it ends or ctx does.
func RunHook(ctx context.Context, h *corev1.LifecycleHandler, c *corev1.Container, podIP string, exec Exec) error {
	switch {
	case h.Exec != nil:
		return runExec(ctx, h.Exec.Command, exec)
	case h.HTTPGet != nil:
		return httpGet(ctx, h.HTTPGet, c, podIP)
	case h.TCPSocket != nil:
		return tcpSocket(ctx, h.TCPSocket.Host, h.TCPSocket.Port, c, podIP)
	case h.Sleep != nil:
		sleep(ctx, time.Duration(h.Sleep.Seconds)*time.Second)
		return nil
	}
	return fmt.Errorf("lifecycle hook names no handler")
}

// maxOutput bounds the output kept for a failure message.
const maxOutput = 10 << 10

func runExec(ctx context.Context, cmd []string, exec Exec) error {
	var out limitedBuffer
	if err := exec(ctx, cmd, &out, &out); err != nil {
		if msg := strings.TrimSpace(out.String()); msg != "" {
			return fmt.Errorf("command %q: %w: %s", cmd, err, msg)
		}
		return fmt.Errorf("command %q: %w", cmd, err)
	}
	return nil
}

type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxOutput - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// insecureTransport is how the kubelet probes https: without verifying the
// container's certificate.
var insecureTransport = &http.Transport{
	TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
	DisableKeepAlives: true,
}

var plainTransport = &http.Transport{DisableKeepAlives: true}

func httpGet(ctx context.Context, g *corev1.HTTPGetAction, c *corev1.Container, podIP string) error {
	port, err := resolvePort(g.Port, c)
	if err != nil {
		return err
	}
	host := g.Host
	if host == "" {
		host = podIP
	}
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := g.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port))}
	u, err = u.Parse(path)
	if err != nil {
		return fmt.Errorf("probe path %q: %w", g.Path, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "kube-probe/podyard")
	req.Header.Set("Accept", "*/*")
	for _, h := range g.HTTPHeaders {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	transport := plainTransport
	if scheme == "https" {
		transport = insecureTransport
	}
	resp, err := transport.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("Get %q: %w", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxOutput))
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("HTTP probe failed with statuscode: %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

func tcpSocket(ctx context.Context, host string, p intstr.IntOrString, c *corev1.Container, podIP string) error {
	port, err := resolvePort(p, c)
	if err != nil {
		return err
	}
	if host == "" {
		host = podIP
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return conn.Close()
}

// resolvePort is a number, or the container port of that name.
func resolvePort(p intstr.IntOrString, c *corev1.Container) (int, error) {
	if p.Type == intstr.Int {
		if p.IntVal <= 0 || p.IntVal > 65535 {
			return 0, fmt.Errorf("invalid port %d", p.IntVal)
		}
		return int(p.IntVal), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil && n > 0 && n <= 65535 {
		return n, nil
	}
	return 0, fmt.Errorf("container %q has no port named %q", c.Name, p.StrVal)
}

package nodeclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// What the API server itself (not a client's stream) does in a container
// through its node's agent: an exec with options, a signal to processes by
// name, a file written. The agent's paths for the last two are Podyard's
// own, under /podyard/, on the same mTLS-only server as exec.

// MaxFileBytes bounds a file written through the agent.
const MaxFileBytes = 8 << 20

// AgentError is an agent's refusal or failure, with its HTTP status.
type AgentError struct {
	StatusCode int
	Message    string
}

func (e *AgentError) Error() string {
	return fmt.Sprintf("node agent: %s (HTTP %d)", e.Message, e.StatusCode)
}

// containerURL is the agent's URL of action for a container of pod.
func (c *Connector) containerURL(ctx context.Context, pod *corev1.Pod, action, container string) (*url.URL, http.RoundTripper, error) {
	if pod.Spec.NodeName == "" {
		return nil, nil, fmt.Errorf("pod %s/%s is not bound to a node", pod.Namespace, pod.Name)
	}
	base, transport, err := c.Location(ctx, pod.Spec.NodeName)
	if err != nil {
		return nil, nil, err
	}
	loc := *base
	loc.Path = path.Join("/", action, pod.Namespace, pod.Name, string(pod.UID), container)
	return &loc, transport, nil
}

// Exec runs cmd (no TTY) in container of pod on its node with opts, its
// output to stdout and stderr (either may be nil), and stdin when not nil.
// It returns nil when the command exited 0, a k8s.io/utils/exec
// CodeExitError with its code, ErrAgentLost, or another error.
func (c *Connector) Exec(ctx context.Context, pod *corev1.Pod, container string, cmd []string, opts ExecOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(cmd) == 0 {
		return fmt.Errorf("exec in %s/%s: no command", pod.Name, container)
	}
	loc, transport, err := c.containerURL(ctx, pod, "exec", container)
	if err != nil {
		return fmt.Errorf("exec in %s/%s: %w", pod.Name, container, err)
	}
	s := Streams{Stdin: stdin != nil, Stdout: stdout != nil, Stderr: stderr != nil}
	q := opts.Query(s.Query(nil))
	q["command"] = cmd
	loc.RawQuery = q.Encode()
	return RunOnAgent(ctx, loc, transport, Session{Streams: s, Stdin: stdin, Stdout: stdout, Stderr: stderr})
}

// SignalResult is the agent's answer to a signal.
type SignalResult struct {
	Signaled int `json:"signaled"`
}

// Signal sends signal sig to the processes named process (as killall
// matches names) in container of pod, and returns how many got it.
// Agent path: POST /podyard/signal/{ns}/{pod}/{uid}/{container}?process=P&signal=N.
func (c *Connector) Signal(ctx context.Context, pod *corev1.Pod, container, process string, sig int) (int, error) {
	loc, transport, err := c.containerURL(ctx, pod, "podyard/signal", container)
	if err != nil {
		return 0, fmt.Errorf("signal %s/%s: %w", pod.Name, container, err)
	}
	loc.RawQuery = url.Values{"process": {process}, "signal": {strconv.Itoa(sig)}}.Encode()
	body, err := call(ctx, transport, http.MethodPost, loc, nil)
	if err != nil {
		return 0, fmt.Errorf("signal %s/%s: %w", pod.Name, container, err)
	}
	var res SignalResult
	if err := json.Unmarshal(body, &res); err != nil {
		return 0, fmt.Errorf("signal %s/%s: node agent answered %q: %w", pod.Name, container, body, err)
	}
	return res.Signaled, nil
}

// WriteFile writes data (at most MaxFileBytes) to path as container of pod
// sees it, with mode, owned by user when not empty.
// Agent path: PUT /podyard/file/{ns}/{pod}/{uid}/{container}?path=&mode=0644&user=, the body the content.
func (c *Connector) WriteFile(ctx context.Context, pod *corev1.Pod, container, filePath string, data []byte, mode os.FileMode, user string) error {
	if len(data) > MaxFileBytes {
		return fmt.Errorf("write %s in %s/%s: %d bytes, at most %d", filePath, pod.Name, container, len(data), MaxFileBytes)
	}
	loc, transport, err := c.containerURL(ctx, pod, "podyard/file", container)
	if err != nil {
		return fmt.Errorf("write %s in %s/%s: %w", filePath, pod.Name, container, err)
	}
	q := url.Values{"path": {filePath}, "mode": {fmt.Sprintf("%#o", mode.Perm())}}
	if user != "" {
		q.Set("user", user)
	}
	loc.RawQuery = q.Encode()
	if _, err := call(ctx, transport, http.MethodPut, loc, data); err != nil {
		return fmt.Errorf("write %s in %s/%s: %w", filePath, pod.Name, container, err)
	}
	return nil
}

// call makes one plain request to the agent and returns its answer's
// body, or an AgentError.
func call(ctx context.Context, transport http.RoundTripper, method string, loc *url.URL, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, loc.String(), rd)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("node agent: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("node agent: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, &AgentError{StatusCode: resp.StatusCode, Message: strings.TrimSpace(string(data))}
	}
	return data, nil
}

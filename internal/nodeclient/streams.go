package nodeclient

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Streams are the streams an exec or attach asks for.
type Streams struct {
	Stdin, Stdout, Stderr, TTY bool
}

// ParseStreams reads the stream parameters in either form a client of the
// node path may use: the kubelet's input/output/error/tty=1 or the pod
// API's stdin/stdout/stderr/tty=true.
func ParseStreams(q url.Values) Streams {
	flag := func(names ...string) bool {
		for _, n := range names {
			if b, err := strconv.ParseBool(q.Get(n)); err == nil && b {
				return true
			}
		}
		return false
	}
	return Streams{
		Stdin:  flag(corev1.ExecStdinParam, "stdin"),
		Stdout: flag(corev1.ExecStdoutParam, "stdout"),
		Stderr: flag(corev1.ExecStderrParam, "stderr"),
		TTY:    flag(corev1.ExecTTYParam),
	}
}

// Query sets the agent's (the kubelet's) form of the stream parameters on
// q, replacing either form. It also drops the exec options (ExecOptions),
// so that a client's own query (nodes/proxy passes one on) never carries
// them to the agent: only ExecOptions.Query, called after, sets them.
func (s Streams) Query(q url.Values) url.Values {
	if q == nil {
		q = url.Values{}
	}
	StripExecOptions(q)
	for _, k := range []string{"stdin", "stdout", "stderr"} {
		q.Del(k)
	}
	for k, v := range map[string]bool{corev1.ExecStdinParam: s.Stdin, corev1.ExecStdoutParam: s.Stdout, corev1.ExecStderrParam: s.Stderr, corev1.ExecTTYParam: s.TTY} {
		if v {
			q.Set(k, "1")
		} else {
			q.Del(k)
		}
	}
	return q
}

// The exec options' parameters on the agent's exec path. They are
// Podyard's own: the kubelet has none.
const (
	execEnvParam        = "env"
	execUserParam       = "user"
	execWorkingDirParam = "workingDir"
	execPrivilegedParam = "privileged"
	execTimeoutParam    = "timeout"
)

// ExecOptions change how the agent runs an exec: only the API server sets
// them (for BCS commands), on /exec/{ns}/{pod}/{uid}/{container}, which
// only it reaches (mTLS). A client of pods/exec or nodes/proxy cannot: the
// stream parameters' Query drops them from a client's query.
type ExecOptions struct {
	Env        []string // KEY=VALUE, added to the container's (same key: this wins)
	User       string   // name or uid, optionally :group or :gid, as the container sees its users
	WorkingDir string   // absolute; instead of the container's
	Privileged bool
	// Timeout, when set, ends the command (its whole process group) after
	// that long: closing the session does not (its context is not ended by
	// a hijacked connection's close), so a caller that gives up needs this.
	Timeout time.Duration
}

// Query sets the options on q (the agent's exec URL's query), replacing
// any there.
func (o ExecOptions) Query(q url.Values) url.Values {
	if q == nil {
		q = url.Values{}
	}
	StripExecOptions(q)
	if len(o.Env) > 0 {
		q[execEnvParam] = append([]string{}, o.Env...)
	}
	if o.User != "" {
		q.Set(execUserParam, o.User)
	}
	if o.WorkingDir != "" {
		q.Set(execWorkingDirParam, o.WorkingDir)
	}
	if o.Privileged {
		q.Set(execPrivilegedParam, "1")
	}
	if o.Timeout > 0 {
		q.Set(execTimeoutParam, o.Timeout.String())
	}
	return q
}

// StripExecOptions deletes the exec options' parameters from q and
// returns it.
func StripExecOptions(q url.Values) url.Values {
	for _, k := range []string{execEnvParam, execUserParam, execWorkingDirParam, execPrivilegedParam, execTimeoutParam} {
		q.Del(k)
	}
	return q
}

// ParseExecOptions reads the exec options the API server set on the
// agent's exec path; an invalid one is an error (a 400).
func ParseExecOptions(q url.Values) (ExecOptions, error) {
	o := ExecOptions{Env: q[execEnvParam], User: q.Get(execUserParam), WorkingDir: q.Get(execWorkingDirParam)}
	for _, kv := range o.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.ContainsRune(k, 0) || strings.ContainsRune(kv, 0) {
			return ExecOptions{}, fmt.Errorf("env %q: want KEY=VALUE", kv)
		}
	}
	if strings.ContainsRune(o.User, 0) || strings.HasPrefix(o.User, ":") || strings.HasSuffix(o.User, ":") || strings.Count(o.User, ":") > 1 {
		return ExecOptions{}, fmt.Errorf("user %q: want NAME or UID, optionally :GROUP or :GID", o.User)
	}
	if o.WorkingDir != "" && (!path.IsAbs(o.WorkingDir) || strings.ContainsRune(o.WorkingDir, 0)) {
		return ExecOptions{}, fmt.Errorf("workingDir %q: want an absolute path", o.WorkingDir)
	}
	if v := q.Get(execPrivilegedParam); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return ExecOptions{}, fmt.Errorf("privileged %q: want 1 or 0", v)
		}
		o.Privileged = b
	}
	if v := q.Get(execTimeoutParam); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return ExecOptions{}, fmt.Errorf("timeout %q: want a positive duration", v)
		}
		o.Timeout = d
	}
	return o, nil
}

package nodeclient

import (
	"net/url"
	"strconv"

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
// q, replacing either form.
func (s Streams) Query(q url.Values) url.Values {
	if q == nil {
		q = url.Values{}
	}
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

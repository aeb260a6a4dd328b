// Package logread reads the CRI-format logs package crilog writes, for
// pods/log: tail, since, limit, timestamps, and follow while the container runs.
package logread

import (
	"context"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-client/pkg/logs"
)

// Options turns pods/log parameters into the reader's options; now anchors
// sinceSeconds.
func Options(o *corev1.PodLogOptions, now time.Time) *logs.LogOptions {
	out := &logs.LogOptions{
		TailLines:  o.TailLines,
		LimitBytes: o.LimitBytes,
		Follow:     o.Follow,
		Timestamp:  o.Timestamps,
	}
	switch {
	case o.SinceTime != nil:
		out.Since = o.SinceTime.Time
	case o.SinceSeconds != nil:
		out.Since = now.Add(-time.Duration(*o.SinceSeconds) * time.Second)
	}
	return out
}

// Read copies the log at path to w with the kubelet's reader. While
// following, running reports whether the container can still write; the
// read ends when it cannot and the file is drained. stream selects
// "Stdout", "Stderr" or both ("" or "All").
func Read(ctx context.Context, path string, opts *logs.LogOptions, stream string, running func() bool, w io.Writer) error {
	stdout, stderr := w, w
	switch stream {
	case corev1.LogStreamStdout:
		stderr = io.Discard
	case corev1.LogStreamStderr:
		stdout = io.Discard
	}
	return logs.ReadLogs(ctx, path, "container", opts, liveness{running: running}, stdout, stderr)
}

// liveness answers the one question the kubelet's reader asks a runtime: is
// the container still running, so there may be more to follow? The rest of
// the interface is embedded (nil) and never called.
type liveness struct {
	internalapi.RuntimeService
	running func() bool
}

func (l liveness) ContainerStatus(context.Context, string, bool) (*runtimeapi.ContainerStatusResponse, error) {
	state := runtimeapi.ContainerState_CONTAINER_EXITED
	if l.running != nil && l.running() {
		state = runtimeapi.ContainerState_CONTAINER_RUNNING
	}
	return &runtimeapi.ContainerStatusResponse{Status: &runtimeapi.ContainerStatus{State: state}}, nil
}

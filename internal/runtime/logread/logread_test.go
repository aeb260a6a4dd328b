package logread

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/podyard/podyard/internal/runtime/crilog"
)

func TestWriteThenReadBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	w, err := crilog.NewWriter(path, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", crilog.MaxLineSize+10)
	if err := w.Copy("stdout", strings.NewReader("one\ntwo\n"+long+"\nno newline")); err != nil {
		t.Fatal(err)
	}
	if err := w.Copy("stderr", strings.NewReader("oops\n")); err != nil {
		t.Fatal(err)
	}
	w.Close()

	raw, _ := os.ReadFile(path)
	if got := strings.Count(string(raw), " stdout P "); got != 1 {
		t.Errorf("want the long line cut once into a partial record, got %d in\n%s", got, raw)
	}

	tests := []struct {
		name   string
		opts   corev1.PodLogOptions
		stream string
		want   string
	}{
		{"all", corev1.PodLogOptions{}, "", "one\ntwo\n" + long + "\nno newline\noops\n"},
		{"tail", corev1.PodLogOptions{TailLines: ptr.To[int64](2)}, "", "no newline\noops\n"},
		{"limit bytes", corev1.PodLogOptions{LimitBytes: ptr.To[int64](6)}, "", "one\ntw"},
		{"stderr only", corev1.PodLogOptions{}, corev1.LogStreamStderr, "oops\n"},
		{"since the future", corev1.PodLogOptions{SinceSeconds: ptr.To[int64](1)}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			now := time.Now()
			if tc.name == "since the future" {
				now = now.Add(time.Hour)
			}
			if err := Read(context.Background(), path, Options(&tc.opts, now), tc.stream, nil, &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("got %q, want %q", trim(out.String()), trim(tc.want))
			}
		})
	}

	var out bytes.Buffer
	if err := Read(context.Background(), path, Options(&corev1.PodLogOptions{Timestamps: true, TailLines: ptr.To[int64](1)}, time.Now()), "", nil, &out); err != nil {
		t.Fatal(err)
	}
	if ts, rest, _ := strings.Cut(out.String(), " "); rest != "oops\n" || len(ts) != len(crilog.TimeFormat)-5 {
		t.Errorf("timestamps: got %q", out.String())
	}
}

func TestFollowEndsWhenContainerStops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	w, err := crilog.NewWriter(path, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	copied := make(chan error, 1)
	go func() { copied <- w.Copy("stdout", pr) }()

	running := make(chan struct{})
	isRunning := func() bool {
		select {
		case <-running:
			return false
		default:
			return true
		}
	}
	outR, outW := io.Pipe()
	read := make(chan error, 1)
	go func() {
		read <- Read(context.Background(), path, Options(&corev1.PodLogOptions{Follow: true}, time.Now()), "", isRunning, outW)
		outW.Close()
	}()
	lines := make(chan string)
	go func() {
		buf := make([]byte, 64)
		for {
			n, err := outR.Read(buf)
			if n > 0 {
				lines <- string(buf[:n])
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	pw.Write([]byte("hello\n"))
	if got := <-lines; got != "hello\n" {
		t.Fatalf("follow: got %q", got)
	}
	pw.Write([]byte("bye\n"))
	if got := <-lines; got != "bye\n" {
		t.Fatalf("follow: got %q", got)
	}
	pw.Close()
	<-copied
	close(running)
	select {
	case err := <-read:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follow did not end after the container stopped")
	}
}

func trim(s string) string {
	if len(s) > 80 {
		return s[:40] + "..." + s[len(s)-30:]
	}
	return s
}

package prober

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestThresholds(t *testing.T) {
	tests := []struct {
		name             string
		success, failure int32
		results          []Result
		want             []Result // verdict after each result
		changes          int
	}{
		{"first success counts", 1, 3, []Result{Success}, []Result{Success}, 1},
		{"three failures to fail", 1, 3, []Result{Success, Failure, Failure, Failure}, []Result{Success, Success, Success, Failure}, 2},
		{"streak broken", 1, 2, []Result{Failure, Success, Failure, Success}, []Result{Unknown, Success, Success, Success}, 1},
		{"two successes to recover", 2, 1, []Result{Failure, Success, Success}, []Result{Failure, Failure, Success}, 2},
		{"zero thresholds mean one", 0, 0, []Result{Failure}, []Result{Failure}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := Thresholds{Success: tt.success, Failure: tt.failure}
			changes := 0
			for i, r := range tt.results {
				got, changed := th.Observe(r)
				if changed {
					changes++
				}
				if got != tt.want[i] {
					t.Errorf("after result %d: verdict %v, want %v", i, got, tt.want[i])
				}
			}
			if changes != tt.changes {
				t.Errorf("changes = %d, want %d", changes, tt.changes)
			}
		})
	}
}

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			http.Error(w, "not well", http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("X-Probe") != "yes" && r.URL.Path == "/hdr" {
			http.Error(w, "header missing", http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	host, portStr, _ := net.SplitHostPort(u.Host)
	port, _ := strconv.Atoi(portStr)
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()

	c := &corev1.Container{Name: "c", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(port)}}}
	exec := func(ctx context.Context, cmd []string, stdout, stderr io.Writer) error {
		switch cmd[0] {
		case "ok":
			return nil
		case "slow":
			<-ctx.Done()
			return ctx.Err()
		}
		io.WriteString(stderr, "it broke")
		return errors.New("command terminated with exit code 1")
	}
	tests := []struct {
		name   string
		h      corev1.ProbeHandler
		want   Result
		msgHas string
	}{
		{"exec ok", corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"ok"}}}, Success, ""},
		{"exec fails with output", corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"fail"}}}, Failure, "it broke"},
		{"exec timeout", corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"slow"}}}, Failure, "timeout"},
		{"http ok by port name", corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString("http")}}, Success, ""},
		{"http header", corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/hdr", Port: intstr.FromInt32(int32(port)), HTTPHeaders: []corev1.HTTPHeader{{Name: "X-Probe", Value: "yes"}}}}, Success, ""},
		{"http 503", corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/bad", Port: intstr.FromInt32(int32(port))}}, Failure, "statuscode: 503"},
		{"http unknown port name", corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("nope")}}, Failure, `no port named "nope"`},
		{"tcp ok", corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(int32(port))}}, Success, ""},
		{"tcp refused", corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(int32(closedPort))}}, Failure, "refused"},
		{"grpc", corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 1}}, Failure, "not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, msg := Probe(context.Background(), &tt.h, 300*time.Millisecond, c, host, exec)
			if got != tt.want || !strings.Contains(msg, tt.msgHas) {
				t.Fatalf("Probe = %v %q, want %v containing %q", got, msg, tt.want, tt.msgHas)
			}
		})
	}
}

func TestWorkerLivenessStopsAfterFailure(t *testing.T) {
	calls := 0
	exec := func(ctx context.Context, cmd []string, stdout, stderr io.Writer) error {
		calls++
		return errors.New("exit code 1")
	}
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"x"}}}, PeriodSeconds: 1, FailureThreshold: 1}
	var verdicts []Result
	w := NewWorker(Liveness, probe, &corev1.Container{}, "127.0.0.1", exec, func(r Result, _ string) { verdicts = append(verdicts, r) })
	done := make(chan struct{})
	go func() { w.Run(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("liveness worker did not stop after its failure verdict")
	}
	if calls != 1 || len(verdicts) != 1 || verdicts[0] != Failure {
		t.Fatalf("calls %d, verdicts %v", calls, verdicts)
	}
}

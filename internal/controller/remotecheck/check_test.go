package remotecheck

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/agent/probeinfo"
	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

func TestSchedule(t *testing.T) {
	start := time.Unix(1000, 0)
	tests := []struct {
		name              string
		hc                v1alpha1.HealthCheck
		first             time.Time
		interval, timeout time.Duration
	}{
		{"defaults floor at a second", v1alpha1.HealthCheck{}, start, time.Second, time.Second},
		{"grace beyond delay", v1alpha1.HealthCheck{DelaySeconds: 10, GracePeriodSeconds: 300, IntervalSeconds: 60, TimeoutSeconds: 20}, start.Add(300 * time.Second), time.Minute, 20 * time.Second},
		{"delay beyond grace", v1alpha1.HealthCheck{DelaySeconds: 10, GracePeriodSeconds: 3, IntervalSeconds: 2, TimeoutSeconds: 1}, start.Add(10 * time.Second), 2 * time.Second, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FirstRun(tt.hc, start); !got.Equal(tt.first) {
				t.Errorf("first run %v, want %v", got, tt.first)
			}
			if got := Interval(tt.hc); got != tt.interval {
				t.Errorf("interval %v, want %v", got, tt.interval)
			}
			if got := Timeout(tt.hc); got != tt.timeout {
				t.Errorf("timeout %v, want %v", got, tt.timeout)
			}
		})
	}
}

func TestKill(t *testing.T) {
	failed := func(n int) probeinfo.State {
		s := probeinfo.NewState()
		for range n {
			s = s.Observe(false, "x")
		}
		return s
	}
	tests := []struct {
		name     string
		failures int32
		st       probeinfo.State
		want     bool
	}{
		{"not run", 2, probeinfo.NewState(), false},
		{"one of two", 2, failed(1), false},
		{"two of two", 2, failed(2), true},
		{"more", 2, failed(5), true},
		{"recovered", 1, failed(3).Observe(true, ""), false},
		{"zero never kills", 0, failed(100), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Kill(v1alpha1.HealthCheck{ConsecutiveFailures: tt.failures}, tt.st); got != tt.want {
				t.Errorf("Kill = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStarted(t *testing.T) {
	at := metav1.NewTime(time.Unix(50, 0))
	running := func(mut func(p *corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1", ContainerStatuses: []corev1.ContainerStatus{
			{Name: "web", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: at}}},
			{Name: "done", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}},
		}}}
		if mut != nil {
			mut(p)
		}
		return p
	}
	tests := []struct {
		name      string
		pod       *corev1.Pod
		container string
		ok        bool
	}{
		{"running", running(nil), "web", true},
		{"container ended", running(nil), "done", false},
		{"unknown container", running(nil), "x", false},
		{"pending", running(func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }), "web", false},
		{"no IP", running(func(p *corev1.Pod) { p.Status.PodIP = "" }), "web", false},
		{"deleting", running(func(p *corev1.Pod) { p.DeletionTimestamp = &at }), "web", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Started(tt.pod, tt.container)
			if ok != tt.ok || ok && !got.Equal(at.Time) {
				t.Errorf("Started = %v %v", got, ok)
			}
		})
	}
}

func TestHandler(t *testing.T) {
	tests := []struct {
		name           string
		hc             v1alpha1.HealthCheck
		endpoint, kind string
		wantErr        bool
		check          func(t *testing.T, h corev1.ProbeHandler)
	}{
		{"http with headers", v1alpha1.HealthCheck{Type: "REMOTE_HTTP", HTTP: &v1alpha1.HTTPHealthCheck{Port: 8080, Path: "/h", Headers: map[string]string{"b": "2", "a": "1"}}},
			"10.0.0.1:8080", "http", false, func(t *testing.T, h corev1.ProbeHandler) {
				g := h.HTTPGet
				if g == nil || g.Host != "10.0.0.1" || g.Port.IntVal != 8080 || g.Path != "/h" || g.Scheme != corev1.URISchemeHTTP || len(g.HTTPHeaders) != 2 || g.HTTPHeaders[0].Name != "a" {
					t.Errorf("http get %+v", g)
				}
			}},
		{"https", v1alpha1.HealthCheck{Type: "REMOTE_HTTP", HTTP: &v1alpha1.HTTPHealthCheck{Port: 443, Scheme: "HTTPS"}},
			"10.0.0.1:443", "https", false, func(t *testing.T, h corev1.ProbeHandler) {
				if h.HTTPGet.Scheme != corev1.URISchemeHTTPS {
					t.Errorf("scheme %v", h.HTTPGet.Scheme)
				}
			}},
		{"tcp", v1alpha1.HealthCheck{Type: "REMOTE_TCP", TCP: &v1alpha1.TCPHealthCheck{Port: 9}},
			"10.0.0.1:9", "tcp", false, func(t *testing.T, h corev1.ProbeHandler) {
				if h.TCPSocket == nil || h.TCPSocket.Host != "10.0.0.1" || h.TCPSocket.Port.IntVal != 9 {
					t.Errorf("tcp %+v", h.TCPSocket)
				}
			}},
		{"unresolved port", v1alpha1.HealthCheck{Type: "REMOTE_TCP", TCP: &v1alpha1.TCPHealthCheck{PortName: "gone"}}, "10.0.0.1:0", "tcp", true, nil},
		{"local check", v1alpha1.HealthCheck{Type: "TCP", TCP: &v1alpha1.TCPHealthCheck{Port: 9}}, "", "", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, endpoint, kind, err := Handler(tt.hc, "10.0.0.1")
			if (err != nil) != tt.wantErr || endpoint != tt.endpoint || kind != tt.kind {
				t.Fatalf("Handler = %q %q %v", endpoint, kind, err)
			}
			if tt.check != nil {
				tt.check(t, h)
			}
		})
	}
	if got := Message("1.2.3.4:80", "http", true, ""); got != "check endpoint 1.2.3.4:80 http ok" {
		t.Errorf("ok message %q", got)
	}
	if got := Message("1.2.3.4:80", "tcp", false, "connection refused"); got != "check endpoint 1.2.3.4:80 failed: connection refused" {
		t.Errorf("failure message %q", got)
	}
}

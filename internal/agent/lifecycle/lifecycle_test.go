package lifecycle

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podyard/podyard/internal/runtime"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func running() *Record {
	return &Record{Current: &runtime.ContainerStatus{State: runtime.Running, StartedAt: t0}, Ready: true, Started: true}
}

func exited(code int) *Record {
	return &Record{Current: &runtime.ContainerStatus{State: runtime.Exited, ExitCode: code, StartedAt: t0, FinishedAt: t0.Add(time.Second)}}
}

func pod(policy corev1.RestartPolicy, init []string, containers ...string) *corev1.Pod {
	p := &corev1.Pod{Spec: corev1.PodSpec{RestartPolicy: policy}}
	for _, n := range init {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: n})
	}
	for _, n := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: n})
	}
	return p
}

func names(cs []*corev1.Container) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func TestShouldRestart(t *testing.T) {
	tests := []struct {
		policy corev1.RestartPolicy
		code   int
		want   bool
	}{
		{corev1.RestartPolicyAlways, 0, true},
		{corev1.RestartPolicyAlways, 1, true},
		{corev1.RestartPolicyOnFailure, 0, false},
		{corev1.RestartPolicyOnFailure, 2, true},
		{corev1.RestartPolicyNever, 2, false},
	}
	for _, tc := range tests {
		if got := ShouldRestart(tc.policy, tc.code); got != tc.want {
			t.Errorf("%s exit %d: got %v", tc.policy, tc.code, got)
		}
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		name       string
		current    time.Duration
		ran        time.Duration
		wait, next time.Duration
	}{
		{"first crash restarts at once", 0, time.Second, 0, 10 * time.Second},
		{"second crash waits the initial period", 10 * time.Second, time.Second, 10 * time.Second, 20 * time.Second},
		{"capped", 4 * time.Minute, time.Second, 4 * time.Minute, MaxBackoff},
		{"a long run starts over", 4 * time.Minute, 11 * time.Minute, 0, 10 * time.Second},
	}
	for _, tc := range tests {
		wait, next := Backoff(tc.current, 10*time.Second, t0, t0.Add(tc.ran))
		if wait != tc.wait || next != tc.next {
			t.Errorf("%s: got wait %s next %s, want %s %s", tc.name, wait, next, tc.wait, tc.next)
		}
	}
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name      string
		pod       *corev1.Pod
		records   map[string]*Record
		wantStart []string
		wantInit  bool
		wantWake  bool
		wantFail  bool
	}{
		{"new pod starts its first init container only", pod("Always", []string{"i1", "i2"}, "a"), nil, []string{"i1"}, true, false, false},
		{"init containers run in order", pod("Always", []string{"i1", "i2"}, "a"), map[string]*Record{"i1": exited(0)}, []string{"i2"}, true, false, false},
		{"a running init container blocks", pod("Always", []string{"i1"}, "a"), map[string]*Record{"i1": running()}, nil, false, false, false},
		{"after init, all containers start", pod("Always", []string{"i1"}, "a", "b"), map[string]*Record{"i1": exited(0)}, []string{"a", "b"}, false, false, false},
		{"failed init under Never fails the pod", pod("Never", []string{"i1"}, "a"), map[string]*Record{"i1": exited(1)}, nil, false, false, true},
		{"failed init under OnFailure restarts", pod("OnFailure", []string{"i1"}, "a"), map[string]*Record{"i1": exited(1)}, []string{"i1"}, true, false, false},
		{"crash waits for its back-off", pod("Always", nil, "a"), map[string]*Record{"a": func() *Record { r := exited(1); r.BackoffUntil = t0.Add(time.Minute); return r }()}, nil, false, true, false},
		{"back-off over: restart", pod("Always", nil, "a"), map[string]*Record{"a": func() *Record { r := exited(1); r.BackoffUntil = t0.Add(-time.Second); return r }()}, []string{"a"}, false, false, false},
		{"completed under OnFailure stays", pod("OnFailure", nil, "a"), map[string]*Record{"a": exited(0)}, nil, false, false, false},
		{"running stays", pod("Always", nil, "a"), map[string]*Record{"a": running()}, nil, false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next := Plan(tc.pod, tc.records, t0)
			if got := names(next.Start); len(got) != len(tc.wantStart) || (len(got) > 0 && got[0] != tc.wantStart[0]) || (len(got) > 1 && got[1] != tc.wantStart[1]) {
				t.Errorf("start %v, want %v", got, tc.wantStart)
			}
			if next.Init != tc.wantInit || !next.WakeAt.IsZero() != tc.wantWake || next.Failed != tc.wantFail {
				t.Errorf("got %+v", next)
			}
		})
	}
}

func TestPhase(t *testing.T) {
	tests := []struct {
		name    string
		pod     *corev1.Pod
		records map[string]*Record
		want    corev1.PodPhase
	}{
		{"nothing started", pod("Always", nil, "a"), nil, corev1.PodPending},
		{"initialising", pod("Always", []string{"i"}, "a"), map[string]*Record{"i": running()}, corev1.PodPending},
		{"running", pod("Always", nil, "a", "b"), map[string]*Record{"a": running(), "b": exited(0)}, corev1.PodRunning},
		{"all done under Always: restarting", pod("Always", nil, "a"), map[string]*Record{"a": exited(0)}, corev1.PodRunning},
		{"all succeeded", pod("OnFailure", nil, "a", "b"), map[string]*Record{"a": exited(0), "b": exited(0)}, corev1.PodSucceeded},
		{"one failed under Never", pod("Never", nil, "a", "b"), map[string]*Record{"a": exited(0), "b": exited(2)}, corev1.PodFailed},
		{"one failed under OnFailure: restarting", pod("OnFailure", nil, "a"), map[string]*Record{"a": exited(2)}, corev1.PodRunning},
	}
	for _, tc := range tests {
		if got := Phase(tc.pod, tc.records, false); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestStatus(t *testing.T) {
	p := pod("Always", nil, "a")
	p.Name, p.Namespace, p.UID = "web", "default", "u1"
	crashed := exited(1)
	crashed.Restarts = 2
	crashed.BackoffUntil = t0.Add(20 * time.Second)
	crashed.Previous = &runtime.ContainerStatus{State: runtime.Exited, ExitCode: 1}
	st := Status(p, map[string]*Record{"a": crashed}, false, "10.0.0.1", t0)
	cs := st.ContainerStatuses[0]
	if cs.State.Waiting == nil || cs.State.Waiting.Reason != "CrashLoopBackOff" || cs.RestartCount != 2 ||
		cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 1 {
		t.Errorf("crash-looping container: %+v", cs)
	}
	if st.Phase != corev1.PodRunning || st.PodIP != "10.0.0.1" || st.StartTime == nil {
		t.Errorf("pod: %+v", st)
	}
	for _, c := range st.Conditions {
		if c.Type == corev1.PodReady && c.Status != corev1.ConditionFalse {
			t.Errorf("a crash-looping pod is not ready: %+v", c)
		}
	}

	st = Status(p, map[string]*Record{"a": running()}, false, "10.0.0.1", t0.Add(time.Minute))
	for _, c := range st.Conditions {
		if c.Type == corev1.PodReady && (c.Status != corev1.ConditionTrue || !c.LastTransitionTime.Time.Equal(t0.Add(time.Minute))) {
			t.Errorf("ready: %+v", c)
		}
	}
}

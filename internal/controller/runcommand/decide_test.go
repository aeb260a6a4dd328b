package runcommand

import (
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/podyard/v1alpha1"
	"github.com/podyard/podyard/internal/runcommand/runner"
)

func TestDecide(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	timeouts := Timeouts{Start: 30 * time.Second, Default: 10 * time.Minute, Retention: time.Hour}
	command := func(change func(*v1alpha1.RunCommand)) *v1alpha1.RunCommand {
		rc := &v1alpha1.RunCommand{ObjectMeta: metav1.ObjectMeta{Name: "c", CreationTimestamp: metav1.NewTime(t0)}}
		rc.Status.State, rc.Status.TokenHash = v1alpha1.Pending, "h"
		if change != nil {
			change(rc)
		}
		return rc
	}
	pod := func(phase corev1.PodPhase, state corev1.ContainerState) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{Name: "command", State: state}}}}
	}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(t0.Add(time.Second))}}
	exited := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, StartedAt: metav1.NewTime(t0.Add(time.Second)), FinishedAt: metav1.NewTime(t0.Add(2 * time.Second))}}
	unschedulable := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Message: "0/1 nodes are available: 1 Insufficient cpu."}}}}
	finished := func(rc *v1alpha1.RunCommand) {
		rc.Status.State = v1alpha1.Succeeded
		rc.Status.FinishedAt = &metav1.Time{Time: t0.Add(time.Minute)}
	}
	tests := []struct {
		name        string
		rc          *v1alpha1.RunCommand
		pod         *corev1.Pod
		now         time.Time
		state       v1alpha1.RunCommandState // "" when the status stays
		reason      string
		message     string
		logs, stop  bool
		delete      bool
		recheckWant time.Time
	}{
		{name: "pending pod waits for the start timeout", rc: command(nil), pod: pod(corev1.PodPending, corev1.ContainerState{}), now: t0.Add(time.Second), recheckWant: t0.Add(30 * time.Second)},
		{name: "pod runs", rc: command(nil), pod: pod(corev1.PodRunning, running), now: t0.Add(2 * time.Second), state: v1alpha1.Running, recheckWant: t0.Add(10 * time.Minute)},
		{name: "already running", rc: command(func(rc *v1alpha1.RunCommand) { rc.Status.State = v1alpha1.Running }), pod: pod(corev1.PodRunning, running), now: t0.Add(3 * time.Second), recheckWant: t0.Add(10 * time.Minute)},
		{name: "exit code", rc: command(nil), pod: pod(corev1.PodFailed, exited), now: t0.Add(3 * time.Second), state: v1alpha1.Succeeded, logs: true},
		{name: "not started in time", rc: command(nil), pod: unschedulable, now: t0.Add(31 * time.Second), state: v1alpha1.Failed, reason: v1alpha1.ReasonPodNotStarted, message: "Insufficient cpu", logs: true, stop: true},
		{name: "no pod in time", rc: command(nil), now: t0.Add(31 * time.Second), state: v1alpha1.Failed, reason: v1alpha1.ReasonPodNotStarted, message: "not created"},
		{name: "timeout of its own", rc: command(func(rc *v1alpha1.RunCommand) { rc.Spec.TimeoutSeconds = new(int64(5)) }), pod: pod(corev1.PodRunning, running), now: t0.Add(5 * time.Second), state: v1alpha1.Failed, reason: v1alpha1.ReasonTimeout, message: "5s", logs: true, stop: true},
		{name: "default timeout", rc: command(nil), pod: pod(corev1.PodRunning, running), now: t0.Add(10 * time.Minute), state: v1alpha1.Failed, reason: v1alpha1.ReasonTimeout, message: "10m0s", logs: true, stop: true},
		{name: "canceled", rc: command(func(rc *v1alpha1.RunCommand) { rc.Spec.Canceled = true }), pod: pod(corev1.PodRunning, running), now: t0.Add(4 * time.Second), state: v1alpha1.Failed, reason: v1alpha1.ReasonCanceled, logs: true, stop: true},
		{name: "pod failed without an exit", rc: command(nil), pod: &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted"}}, now: t0.Add(4 * time.Second), state: v1alpha1.Failed, reason: v1alpha1.ReasonPodFailed, message: "Evicted", logs: true, stop: true},
		{name: "finished result kept", rc: command(finished), pod: pod(corev1.PodSucceeded, exited), now: t0.Add(30 * time.Minute), recheckWant: t0.Add(time.Minute + time.Hour)},
		{name: "finished result expires", rc: command(finished), now: t0.Add(2 * time.Hour), delete: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step := Decide(tt.rc, tt.pod, nil, tt.now, timeouts)
			if tt.state == "" {
				if step.Status != nil {
					t.Errorf("status changed to %+v", step.Status)
				}
			} else if step.Status == nil || step.Status.State != tt.state || step.Status.Reason != tt.reason || !strings.Contains(step.Status.Message, tt.message) {
				t.Errorf("status %+v, want %s %s %q", step.Status, tt.state, tt.reason, tt.message)
			}
			if step.CollectLogs != tt.logs || step.StopPod != tt.stop || step.Delete != tt.delete {
				t.Errorf("step %+v", step)
			}
			if !step.Recheck.Equal(tt.recheckWant) {
				t.Errorf("recheck %v, want %v", step.Recheck, tt.recheckWant)
			}
		})
	}
	if step := Decide(command(nil), nil, errors.New("pods is forbidden"), t0.Add(time.Second), timeouts); step.Status == nil ||
		step.Status.Reason != v1alpha1.ReasonPodNotStarted || !strings.Contains(step.Status.Message, "could not be created: pods is forbidden") {
		t.Errorf("a refused pod: %+v", step.Status)
	}
	// The exit's times are the container's.
	step := Decide(command(nil), pod(corev1.PodFailed, exited), nil, t0.Add(time.Minute), timeouts)
	if *step.Status.ExitCode != 3 || !step.Status.StartedAt.Time.Equal(t0.Add(time.Second)) || !step.Status.FinishedAt.Time.Equal(t0.Add(2*time.Second)) {
		t.Errorf("exit status %+v", step.Status)
	}
}

func TestPodFor(t *testing.T) {
	rc := &v1alpha1.RunCommand{ObjectMeta: metav1.ObjectMeta{Name: "abc", Namespace: "podyard-command", UID: "u1"}}
	p := PodFor(rc, PodSettings{Runner: []string{"/usr/bin/podyard-runcommand"}, Podyard: "/usr/bin/podyard", ServerURL: "https://127.0.0.1:6443", CAPEM: []byte("PEM")})
	c := p.Spec.Containers[0]
	if p.Name != "command-abc" || p.Labels["podyard.io/run-command"] != "abc" || p.Spec.RestartPolicy != corev1.RestartPolicyNever ||
		len(p.OwnerReferences) != 1 || p.OwnerReferences[0].UID != "u1" {
		t.Errorf("pod %+v", p.ObjectMeta)
	}
	if strings.Join(c.Command, " ") != "/usr/bin/podyard-runcommand" {
		t.Errorf("command %v", c.Command)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if env[runner.EnvCommand].Value != "podyard-command/abc" || env[runner.EnvServer].Value != "https://127.0.0.1:6443" || env[runner.EnvCA].Value != "PEM" ||
		env[runner.EnvKubectl].Value != "/usr/bin/podyard" || env[runner.EnvToken].ValueFrom == nil || env[runner.EnvToken].ValueFrom.SecretKeyRef.Name != "command-abc" {
		t.Errorf("env %+v", c.Env)
	}
}

func TestTailBuffer(t *testing.T) {
	var b tailBuffer
	b.Write([]byte("first\n"))
	if s, cut := b.String(); s != "first\n" || cut {
		t.Fatalf("%q %v", s, cut)
	}
	b.Write([]byte(strings.Repeat("x", MaxLogBytes)))
	s, cut := b.String()
	if !cut || !strings.HasPrefix(s, "[podyard: output cut") || strings.Contains(s, "first") || !strings.HasSuffix(s, strings.Repeat("x", MaxLogBytes)) {
		t.Fatalf("cut output: %d bytes, cut=%v", len(s), cut)
	}
}

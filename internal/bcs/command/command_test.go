package command

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilexec "k8s.io/utils/exec"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
)

func TestID(t *testing.T) {
	for _, tc := range []struct{ target, kind, want string }{
		{"application", "Application", "Application-test-testApp-1547437542873435715"},
		{"deployment", "Deployment", "deployment-test-testapp-1547437542873435715"},
	} {
		if got := ID(tc.target, tc.kind, "test", "testApp", 1547437542873435715); got != tc.want {
			t.Errorf("ID(%s) = %s, want %s", tc.target, got, tc.want)
		}
	}
}

func TestCheckTarget(t *testing.T) {
	ref := v1alpha1.TargetRef{Kind: "Application", Namespace: "ns", Name: "web"}
	for _, tc := range []struct {
		name, target, ns, app string
		ref                   v1alpha1.TargetRef
		wantErr               string
	}{
		{"agrees", "application", "ns", "web", ref, ""},
		{"kind case", "application", "ns", "web", v1alpha1.TargetRef{Kind: "application", Namespace: "ns", Name: "web"}, "kind"},
		{"deployment route", "deployment", "ns", "web", ref, "kind"},
		{"deployment", "deployment", "ns", "web", v1alpha1.TargetRef{Kind: "Deployment", Namespace: "ns", Name: "web"}, ""},
		{"namespace", "application", "other", "web", ref, "namespace"},
		{"name", "application", "ns", "db", ref, "name"},
		{"missing ref", "application", "ns", "web", v1alpha1.TargetRef{}, "kind"},
	} {
		err := CheckTarget(tc.target, tc.ns, tc.app, tc.ref)
		if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.wantErr)
		}
	}
}

func taskGroupPod(index int, images ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name:        fmt.Sprintf("web-%d-1", index),
		Annotations: map[string]string{application.AnnotationTaskGroupID: application.TaskGroupID(index, "web", "ns", "10001", 1000+int64(index))},
	}}
	for i, img := range images {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d", i), Image: img})
	}
	return p
}

func TestTargets(t *testing.T) {
	pods := []*corev1.Pod{taskGroupPod(0, "nginx:1", "redis:7"), taskGroupPod(1, "nginx:1", "redis:7"), taskGroupPod(2, "busybox")}
	tg1 := pods[1].Annotations[application.AnnotationTaskGroupID]
	for _, tc := range []struct {
		name    string
		only    []string
		image   string
		want    []string // pod/container of each task
		wantErr string
	}{
		{"all", nil, "", []string{"web-0-1/c0", "web-0-1/c1", "web-1-1/c0", "web-1-1/c1", "web-2-1/c0"}, ""},
		{"image substring", nil, "redis", []string{"web-0-1/c1", "web-1-1/c1"}, ""},
		{"image matches none", nil, "postgres", nil, ""},
		{"taskgroups", []string{tg1}, "", []string{"web-1-1/c0", "web-1-1/c1"}, ""},
		{"taskgroups and image", []string{tg1}, "nginx", []string{"web-1-1/c0"}, ""},
		{"unknown taskgroup", []string{tg1, "9.web.ns.10001.1"}, "", nil, "9.web.ns.10001.1"},
	} {
		got, err := Targets(pods, tc.only, tc.image)
		if tc.wantErr != "" {
			var unknown *UnknownTaskGroupError
			if !errors.As(err, &unknown) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err %v, want one naming %s", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var tasks []string
		for _, tg := range got {
			for _, task := range tg.Tasks {
				tasks = append(tasks, tg.Pod+"/"+task.Container)
				if task.Status != StatusStaging || task.Message != MessageStaging {
					t.Errorf("%s: task %s is %s %q, want staging", tc.name, task.TaskID, task.Status, task.Message)
				}
			}
		}
		if fmt.Sprint(tasks) != fmt.Sprint(tc.want) {
			t.Errorf("%s: tasks %v, want %v", tc.name, tasks, tc.want)
		}
	}
	got, _ := Targets(pods[:1], nil, "")
	ref, _ := application.ParseTaskGroupID(got[0].TaskgroupID)
	if got[0].Tasks[1].TaskID != application.TaskID(ref, 1) || got[0].Tasks[1].TaskID != "1000.1.0.web.ns.10001" {
		t.Errorf("task ID %s, want the Task view's", got[0].Tasks[1].TaskID)
	}
}

func statusOf(states ...string) *v1alpha1.CommandStatus {
	s := &v1alpha1.CommandStatus{Taskgroups: []v1alpha1.TaskgroupCommandInfo{{TaskgroupID: "tg"}}}
	for i, st := range states {
		s.Taskgroups[0].Tasks = append(s.Taskgroups[0].Tasks, v1alpha1.TaskCommandInfo{TaskID: fmt.Sprint(i), Status: st})
	}
	return s
}

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		states []string
		want   v1alpha1.CommandSummary
	}{
		{nil, v1alpha1.CommandSummary{Done: true}},
		{[]string{StatusStaging, StatusFinish}, v1alpha1.CommandSummary{Staging: 1, Finish: 1}},
		{[]string{StatusRunning, StatusFailed}, v1alpha1.CommandSummary{Running: 1, Failed: 1}},
		{[]string{StatusFinish, StatusFailed, StatusFinish}, v1alpha1.CommandSummary{Finish: 2, Failed: 1, Done: true}},
	} {
		if got := Summarize(statusOf(tc.states...)); *got != tc.want {
			t.Errorf("%v: %+v, want %+v", tc.states, *got, tc.want)
		}
	}
}

func TestReserveUntil(t *testing.T) {
	created := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		spec v1alpha1.CommandSpec
		want time.Duration
	}{
		{v1alpha1.CommandSpec{}, 7 * 24 * time.Hour},
		{v1alpha1.CommandSpec{ReserveTime: 30}, 30 * time.Minute},
		{v1alpha1.CommandSpec{ReserveTime: 30, ReserveSeconds: 5}, 5 * time.Second},
	} {
		if got := ReserveUntil(created, tc.spec).Sub(created); got != tc.want {
			t.Errorf("%+v: kept %v, want %v", tc.spec, got, tc.want)
		}
	}
}

func TestRecover(t *testing.T) {
	s := statusOf(StatusStaging, StatusRunning, StatusFinish, StatusFailed, StatusStaging)
	todo := Recover(s)
	if fmt.Sprint(todo) != "[{0 0} {0 4}]" {
		t.Errorf("to run %v, want the staging tasks 0 and 4", todo)
	}
	if task := s.Taskgroups[0].Tasks[1]; task.Status != StatusFailed || task.Message != MessageRestarted {
		t.Errorf("running task after a restart: %s %q, want failed", task.Status, task.Message)
	}
	if s.Taskgroups[0].Tasks[2].Status != StatusFinish {
		t.Error("a finished task changed")
	}
}

func TestNotRunning(t *testing.T) {
	running := taskGroupPod(0, "x")
	running.Spec.NodeName = "n1"
	running.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c0", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	pending := taskGroupPod(1, "x")
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"running", running, ""},
		{"not placed", pending, "task not in running status: Staging"},
		{"gone", nil, "task not in running status: its taskgroup is gone"},
	} {
		if got := NotRunning(tc.pod, "c0"); !strings.HasPrefix(got, tc.want) || (tc.want == "") != (got == "") {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestOutcome(t *testing.T) {
	for _, tc := range []struct {
		err              error
		status, contains string
		code             int32
	}{
		{nil, StatusFinish, MessageFinish, 0},
		{utilexec.CodeExitError{Err: errors.New("exit 3"), Code: 3}, StatusFinish, MessageFinish, 3},
		{fmt.Errorf("exec: %w", ErrTimedOut), StatusFailed, "timeout of 5s", 0},
		{errors.New("node agent: connection refused"), StatusFailed, "connection refused", 0},
	} {
		status, msg, code := Outcome(tc.err, 5)
		if status != tc.status || code != tc.code || !strings.Contains(msg, tc.contains) {
			t.Errorf("%v: %s %q %d, want %s %q %d", tc.err, status, msg, code, tc.status, tc.contains, tc.code)
		}
	}
}

func TestSpill(t *testing.T) {
	for _, tc := range []struct {
		size, inline int
		want         bool
	}{
		{300, 0, false},
		{MaxInline, 0, false},
		{MaxInline + 1, 0, true},
		{1000, MaxInlineTotal - 1000, false},
		{1000, MaxInlineTotal - 999, true},
	} {
		if got := Spill(tc.size, tc.inline); got != tc.want {
			t.Errorf("Spill(%d, %d) = %v", tc.size, tc.inline, got)
		}
	}
}

func TestCapture(t *testing.T) {
	c := NewCapture(10)
	for _, p := range []string{"hello", " wor", "ld and more"} {
		if n, err := c.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	kept, dropped := c.Kept()
	if !bytes.Equal(kept, []byte("hello worl")) || dropped != 10 {
		t.Errorf("kept %q dropped %d, want %q and 10", kept, dropped, "hello worl")
	}
}

func TestTimedOut(t *testing.T) {
	exit := utilexec.CodeExitError{Err: errors.New("exit 137"), Code: 137}
	for _, tc := range []struct {
		name          string
		err           error
		timeout, took time.Duration
		want          bool
	}{
		{"ended by the agent at the timeout", errors.New("error executing command: client went away"), time.Second, 1100 * time.Millisecond, true},
		{"session deadline", context.DeadlineExceeded, time.Second, 6 * time.Second, true},
		{"no timeout", errors.New("agent lost"), 0, time.Hour, false},
		{"failed early", errors.New("agent lost"), time.Minute, time.Second, false},
		{"exit status after the timeout", exit, time.Second, 2 * time.Second, false},
		{"success", nil, time.Second, 2 * time.Second, false},
	} {
		if got := TimedOut(tc.err, tc.timeout, tc.took); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
}

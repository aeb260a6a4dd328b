package application

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/agent/probeinfo"
	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

func running() corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
}

func exited(code int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}
}

func waiting(reason, msg string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
}

// taskPod is a placed pod of one container "c" in state st (nil: no status yet).
func taskPod(policy corev1.RestartPolicy, st *corev1.ContainerState) *corev1.Pod {
	p := &corev1.Pod{
		Spec:   corev1.PodSpec{NodeName: "n1", RestartPolicy: policy, Containers: []corev1.Container{{Name: "c"}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending},
	}
	if st != nil {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", State: *st}}
	}
	return p
}

func TestTaskState(t *testing.T) {
	now := metav1.Now()
	for _, tc := range []struct {
		name   string
		pod    func() *corev1.Pod
		status string
		msg    string
	}{
		{"unscheduled", func() *corev1.Pod {
			p := taskPod(corev1.RestartPolicyNever, nil)
			p.Spec.NodeName = ""
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available"}}
			return p
		}, TaskStaging, "0/1 nodes are available"},
		{"placed, not started", func() *corev1.Pod { return taskPod(corev1.RestartPolicyNever, nil) }, TaskStarting, ""},
		{"waiting to start", func() *corev1.Pod {
			w := waiting("ContainerCreating", "")
			return taskPod(corev1.RestartPolicyNever, &w)
		}, TaskStarting, ""},
		{"running", func() *corev1.Pod { r := running(); return taskPod(corev1.RestartPolicyNever, &r) }, TaskRunning, ""},
		{"exit 0", func() *corev1.Pod { e := exited(0); return taskPod(corev1.RestartPolicyNever, &e) }, TaskFinish, "exit code 0"},
		{"exit 0, OnFailure", func() *corev1.Pod { e := exited(0); return taskPod(corev1.RestartPolicyOnFailure, &e) }, TaskFinish, "exit code 0"},
		{"exit 1, Never", func() *corev1.Pod { e := exited(1); return taskPod(corev1.RestartPolicyNever, &e) }, TaskFailed, "exit code 1"},
		{"exit 1, OnFailure", func() *corev1.Pod { e := exited(1); return taskPod(corev1.RestartPolicyOnFailure, &e) }, TaskRestarting, "exit code 1"},
		{"exit 0, Always", func() *corev1.Pod { e := exited(0); return taskPod(corev1.RestartPolicyAlways, &e) }, TaskRestarting, "exit code 0"},
		{"crash loop", func() *corev1.Pod {
			w := waiting("CrashLoopBackOff", "back-off 10s")
			p := taskPod(corev1.RestartPolicyAlways, &w)
			p.Status.ContainerStatuses[0].LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}}
			return p
		}, TaskRestarting, "exit code 2 (Error)"},
		{"image without command", func() *corev1.Pod {
			w := waiting("CreateContainerConfigError", "container c has no command: the process runtime runs no image")
			return taskPod(corev1.RestartPolicyNever, &w)
		}, TaskFailed, "CreateContainerConfigError: container c has no command: the process runtime runs no image"},
		{"pod failed before any status", func() *corev1.Pod {
			p := taskPod(corev1.RestartPolicyNever, nil)
			p.Status.Phase, p.Status.Message = corev1.PodFailed, "evicted"
			return p
		}, TaskFailed, "evicted"},
		{"deleting, running", func() *corev1.Pod {
			r := running()
			p := taskPod(corev1.RestartPolicyNever, &r)
			p.DeletionTimestamp = &now
			return p
		}, TaskKilling, "taskgroup is being deleted"},
		{"deleting, ended", func() *corev1.Pod {
			e := exited(143)
			p := taskPod(corev1.RestartPolicyNever, &e)
			p.DeletionTimestamp = &now
			return p
		}, TaskKilled, "exit code 143"},
		{"node lost", func() *corev1.Pod {
			r := running()
			p := taskPod(corev1.RestartPolicyNever, &r)
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "NodeNotReady"}}
			return p
		}, TaskLost, "node n1 is not ready"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := TaskState(tc.pod(), "c")
			if got != (State{tc.status, tc.msg}) {
				t.Errorf("got %+v, want %s %q", got, tc.status, tc.msg)
			}
		})
	}
}

func TestTaskGroupState(t *testing.T) {
	now := metav1.Now()
	pod := func(states ...corev1.ContainerState) *corev1.Pod {
		p := &corev1.Pod{Spec: corev1.PodSpec{NodeName: "n", RestartPolicy: corev1.RestartPolicyNever}}
		for i, st := range states {
			name := string(rune('a' + i))
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: name})
			p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: name, State: st})
		}
		return p
	}
	deleting := func(p *corev1.Pod) *corev1.Pod { p.DeletionTimestamp = &now; return p }
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"all running", pod(running(), running()), TaskRunning},
		{"one finished, one running", pod(exited(0), running()), TaskRunning},
		{"all finished", pod(exited(0), exited(0)), TaskFinish},
		{"one failed", pod(running(), exited(1)), TaskFailed},
		{"one starting", pod(running(), waiting("ContainerCreating", "")), TaskStarting},
		{"deleting, one still running", deleting(pod(running(), exited(0))), TaskKilling},
		{"deleting, all stopped", deleting(pod(exited(137), exited(0))), TaskKilled},
		{"no tasks", &corev1.Pod{}, TaskUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := TaskGroupState(tc.pod); got.Status != tc.want {
				t.Errorf("got %+v, want %s", got, tc.want)
			}
		})
	}
}

// Derive follows BCS's rules in their order.
func TestDerive(t *testing.T) {
	for _, tc := range []struct {
		name       string
		define     int32
		taskgroups []string
		status     string
		message    string
		running    int32
	}{
		{"error first", 2, []string{TaskError, TaskFailed}, "Error", "application has error pods", 0},
		{"failed", 2, []string{TaskRunning, TaskFailed}, "Abnormal", "application has failed pods", 1},
		{"lost", 2, []string{TaskRunning, TaskLost}, "Abnormal", "have some lost taskgroups", 1},
		{"not enough taskgroups", 3, []string{TaskRunning, TaskRunning}, "Abnormal", "have not enough resources to launch application", 2},
		{"none yet", 1, nil, "Abnormal", "have not enough resources to launch application", 0},
		{"all finish", 2, []string{TaskFinish, TaskFinish}, "Finish", "all pods are finish", 0},
		{"staging", 2, []string{TaskRunning, TaskStaging}, "Deploying", "some pods in staing or starting", 1},
		{"starting", 2, []string{TaskStarting, TaskStarting}, "Deploying", "some pods in staing or starting", 0},
		{"running", 2, []string{TaskRunning, TaskRunning}, "Running", "application is running", 2},
		{"restarting counts as running", 2, []string{TaskRunning, TaskRestarting}, "Running", "application is running", 2},
		{"finish and running", 2, []string{TaskFinish, TaskRunning}, "Abnormal", "application is abnormal", 1},
		{"zero instances", 0, nil, "Running", "application is running", 0},
		{"killing", 1, []string{TaskKilling}, "Abnormal", "application is abnormal", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, message, running := Derive(tc.define, tc.taskgroups)
			if status != tc.status || message != tc.message || running != tc.running {
				t.Errorf("got %s %q %d, want %s %q %d", status, message, running, tc.status, tc.message, tc.running)
			}
		})
	}
}

func TestApplicationStatus(t *testing.T) {
	t0 := metav1.NewTime(time.Unix(1000, 0))
	now := time.Unix(2000, 0)
	r := running()
	unschedulable := taskPod(corev1.RestartPolicyNever, nil)
	unschedulable.Spec.NodeName = ""
	unschedulable.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable}}
	app := func(status string) *v1alpha1.Application {
		return &v1alpha1.Application{
			ObjectMeta: metav1.ObjectMeta{Generation: 4},
			Spec:       v1alpha1.ApplicationSpec{Instance: 2},
			Status:     v1alpha1.ApplicationStatus{Status: status, UpdateTime: &t0},
		}
	}

	got := ApplicationStatus(app(v1alpha1.StatusStaging), []*corev1.Pod{taskPod(corev1.RestartPolicyNever, &r), taskPod(corev1.RestartPolicyNever, &r)}, now)
	if got.Status != "Running" || got.LastStatus != "Staging" || got.Instances != 2 || got.RunningInstances != 2 || !got.UpdateTime.Time.Equal(now) || got.ObservedGeneration != 4 {
		t.Errorf("running: %+v", got)
	}
	// A pod no node takes is no taskgroup yet, as BCS builds none without an offer.
	got = ApplicationStatus(app(v1alpha1.StatusRunning), []*corev1.Pod{taskPod(corev1.RestartPolicyNever, &r), unschedulable}, now)
	if got.Status != "Abnormal" || got.Message != "have not enough resources to launch application" || got.Instances != 1 || got.LastStatus != "Running" {
		t.Errorf("unschedulable: %+v", got)
	}
	// Unchanged status keeps its time.
	got = ApplicationStatus(app(v1alpha1.StatusRunning), []*corev1.Pod{taskPod(corev1.RestartPolicyNever, &r), taskPod(corev1.RestartPolicyNever, &r)}, now)
	if got.Status != "Running" || !got.UpdateTime.Equal(&t0) {
		t.Errorf("unchanged: %+v", got)
	}
	// A taskgroup whose health check failed its last run is unhealthy.
	unhealthy := taskPod(corev1.RestartPolicyNever, &r)
	failed := probeinfo.NewState().Observe(false, "connection refused")
	unhealthy.Status.Conditions = append(unhealthy.Status.Conditions,
		probeinfo.Condition(probeinfo.ConditionType(probeinfo.LivenessConditionPrefix, unhealthy.Spec.Containers[0].Name), []probeinfo.State{failed}))
	if Healthy(unhealthy) || !Healthy(taskPod(corev1.RestartPolicyNever, &r)) {
		t.Errorf("Healthy: a failing check must make a taskgroup unhealthy, no check result must not")
	}
	// An operation holds the status; the counts move.
	got = ApplicationStatus(app(v1alpha1.StatusOperating), []*corev1.Pod{taskPod(corev1.RestartPolicyNever, &r)}, now)
	if got.Status != "Operating" || got.RunningInstances != 1 || got.Instances != 1 {
		t.Errorf("operating: %+v", got)
	}
}

package application

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/agent/probeinfo"
	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

// Task and taskgroup statuses (BCS uses the same strings for both).
const (
	TaskStaging    = "Staging"
	TaskStarting   = "Starting"
	TaskRunning    = "Running"
	TaskFinish     = "Finish"
	TaskError      = "Error"
	TaskKilling    = "Killing"
	TaskKilled     = "Killed"
	TaskFailed     = "Failed"
	TaskLost       = "Lost"
	TaskRestarting = "Restarting"
	TaskUnknown    = "Unknown"
)

// State is a task's or taskgroup's BCS status and why.
type State struct {
	Status  string
	Message string
}

// failedWaiting are the reasons a container waits that mean it cannot
// start as it is; CreateContainerConfigError is what the process runtime
// reports for a task without a command (an image alone cannot run).
var failedWaiting = map[string]bool{
	"CreateContainerConfigError": true, "CreateContainerError": true, "RunContainerError": true,
	"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true, "ErrImageNeverPull": true,
}

// TaskState is the BCS status of the task of container name in pod, from
// its container status as the Mesos task states map: not placed →
// Staging, placed but not started → Starting, running → Running, ended
// with 0 → Finish, ended otherwise or unable to start → Failed, about to
// be restarted → Restarting, stopping or stopped because the taskgroup is
// deleted → Killing/Killed, on a lost node → Lost.
func TaskState(pod *corev1.Pod, name string) State {
	if lost, msg := podLost(pod); lost {
		return State{TaskLost, msg}
	}
	deleting := pod.DeletionTimestamp != nil
	cs := containerStatus(pod, name)
	if cs == nil {
		switch {
		case deleting:
			return State{TaskKilled, "taskgroup deleted before the task started"}
		case pod.Status.Phase == corev1.PodFailed:
			return State{TaskFailed, pod.Status.Message}
		case pod.Status.Phase == corev1.PodSucceeded:
			return State{TaskFinish, ""}
		case pod.Spec.NodeName == "":
			return State{TaskStaging, unscheduledMessage(pod)}
		}
		return State{TaskStarting, ""}
	}
	switch s := cs.State; {
	case s.Running != nil:
		if deleting {
			return State{TaskKilling, "taskgroup is being deleted"}
		}
		return State{TaskRunning, ""}
	case s.Terminated != nil:
		t := s.Terminated
		switch {
		case deleting:
			return State{TaskKilled, exitMessage(t)}
		case t.ExitCode == 0 && !restarts(pod.Spec.RestartPolicy, 0):
			return State{TaskFinish, exitMessage(t)}
		case restarts(pod.Spec.RestartPolicy, t.ExitCode):
			return State{TaskRestarting, exitMessage(t)}
		}
		return State{TaskFailed, exitMessage(t)}
	case s.Waiting != nil:
		w := s.Waiting
		switch {
		case deleting:
			return State{TaskKilled, "taskgroup deleted"}
		case failedWaiting[w.Reason]:
			return State{TaskFailed, fmt.Sprintf("%s: %s", w.Reason, w.Message)}
		case cs.LastTerminationState.Terminated != nil:
			return State{TaskRestarting, exitMessage(cs.LastTerminationState.Terminated)}
		}
		return State{TaskStarting, w.Message}
	}
	return State{TaskStarting, ""}
}

// taskOrder is which task status a taskgroup takes, first found wins: an
// error or failure of any task shows, then what is still in progress; a
// taskgroup is Finish only when every task is.
var taskOrder = []string{TaskLost, TaskError, TaskFailed, TaskKilled, TaskKilling, TaskRestarting, TaskStaging, TaskStarting, TaskRunning, TaskFinish}

// TaskGroupState is the BCS status of the taskgroup a Pod stands for.
func TaskGroupState(pod *corev1.Pod) State {
	if len(pod.Spec.Containers) == 0 {
		return State{TaskUnknown, "the taskgroup has no tasks"}
	}
	states := make([]State, len(pod.Spec.Containers))
	for i, c := range pod.Spec.Containers {
		states[i] = TaskState(pod, c.Name)
	}
	if pod.DeletionTimestamp != nil {
		// Killing until every task has stopped.
		for _, s := range states {
			if s.Status == TaskKilling {
				return s
			}
		}
		return State{TaskKilled, "taskgroup deleted"}
	}
	for _, want := range taskOrder {
		for _, s := range states {
			if s.Status == want {
				return s
			}
		}
	}
	return State{TaskUnknown, ""}
}

// Derive is BCS's application status from its taskgroups' statuses
// (updateApplicationStatus): the first rule that holds wins. running
// counts Running and Restarting taskgroups.
func Derive(defineInstances int32, taskgroups []string) (status, message string, running int32) {
	count := map[string]int32{}
	for _, s := range taskgroups {
		count[s]++
	}
	running = count[TaskRunning] + count[TaskRestarting]
	total := int32(len(taskgroups))
	switch {
	case count[TaskError] > 0:
		return v1alpha1.StatusError, "application has error pods", running
	case count[TaskFailed] > 0:
		return v1alpha1.StatusAbnormal, "application has failed pods", running
	case count[TaskLost] > 0:
		return v1alpha1.StatusAbnormal, "have some lost taskgroups", running
	case total < defineInstances:
		return v1alpha1.StatusAbnormal, "have not enough resources to launch application", running
	case total > 0 && count[TaskFinish] == total:
		return v1alpha1.StatusFinish, "all pods are finish", running
	case count[TaskStaging]+count[TaskStarting] > 0:
		return v1alpha1.StatusDeploying, "some pods in staing or starting", running // sic, as BCS says it
	case running == defineInstances:
		return v1alpha1.StatusRunning, "application is running", running
	}
	return v1alpha1.StatusAbnormal, "application is abnormal", running
}

// Launched tells whether a taskgroup counts as built: BCS builds one only
// on an offer that fits, so a Pod no node can take is not one.
func Launched(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return false
		}
	}
	return true
}

// MessageUpdating is the message of an application an update is
// rebuilding.
const MessageUpdating = "application in updating"

// ApplicationStatus is app's status given the Pods of its taskgroups, at
// now. While an update rebuilds some of them (AnnotationRebuild) it is
// Operating, "application in updating". While another operation holds the
// application (Operating, RollingUpdate) its status stays, as in BCS; the
// counts are still refreshed. LastStatus and UpdateTime move only when the
// status changes.
func ApplicationStatus(app *v1alpha1.Application, pods []*corev1.Pod, now time.Time) v1alpha1.ApplicationStatus {
	out := *app.Status.DeepCopy()
	var statuses []string
	for _, p := range pods {
		if Launched(p) {
			statuses = append(statuses, TaskGroupState(p).Status)
		}
	}
	status, message, running := Derive(app.Spec.Instance, statuses)
	out.Instances, out.RunningInstances = int32(len(statuses)), running
	out.ObservedGeneration = app.Generation
	if Updating(pods) {
		status, message = v1alpha1.StatusOperating, MessageUpdating
	} else if out.Status == v1alpha1.StatusOperating && out.Message == MessageUpdating {
		// The update is over: derive again, as BCS does once its
		// transaction ends.
	} else if out.Status == v1alpha1.StatusOperating || out.Status == v1alpha1.StatusRollingUpdate {
		return out
	}
	if status != out.Status {
		out.LastStatus = out.Status
		t := metav1.NewTime(now)
		out.UpdateTime = &t
	}
	out.Status, out.Message = status, message
	return out
}

// Healthy tells whether none of the taskgroup's health checks, local (the
// agent's liveness conditions) or remote, has failed its last run.
func Healthy(pod *corev1.Pod) bool {
	for _, c := range pod.Spec.Containers {
		for _, prefix := range []string{probeinfo.LivenessConditionPrefix, RemoteConditionPrefix} {
			states, _ := probeinfo.States(&pod.Status, probeinfo.ConditionType(prefix, c.Name))
			for _, s := range states {
				if !s.Healthy {
					return false
				}
			}
		}
	}
	return true
}

func containerStatus(pod *corev1.Pod, name string) *corev1.ContainerStatus {
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == name {
			return &pod.Status.ContainerStatuses[i]
		}
	}
	return nil
}

// podLost: the node lifecycle controller marks the pods of a node whose
// lease expired not Ready with reason NodeNotReady.
func podLost(pod *corev1.Pod) (bool, string) {
	if pod.Status.Phase == corev1.PodUnknown {
		return true, "the taskgroup's state is unknown"
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionFalse && c.Reason == "NodeNotReady" {
			return true, fmt.Sprintf("node %s is not ready", pod.Spec.NodeName)
		}
	}
	return false, ""
}

func unscheduledMessage(pod *corev1.Pod) string {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return c.Message
		}
	}
	return ""
}

// restarts tells whether a container that exited with code is started again.
func restarts(policy corev1.RestartPolicy, code int32) bool {
	return policy == corev1.RestartPolicyAlways || policy == corev1.RestartPolicyOnFailure && code != 0
}

func exitMessage(t *corev1.ContainerStateTerminated) string {
	msg := fmt.Sprintf("exit code %d", t.ExitCode)
	if t.Reason != "" {
		msg += " (" + t.Reason + ")"
	}
	if t.Message != "" {
		msg += ": " + t.Message
	}
	return msg
}

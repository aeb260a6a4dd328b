// Package lifecycle is the kubelet's pod lifecycle as pure functions: which
// container to start next, when a crashed one may restart, and what the
// pod's status says. The agent's pod worker does the I/O around them.
package lifecycle

import (
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/runtime"
)

// Record is what the agent knows of one container of a pod.
type Record struct {
	Current  *runtime.ContainerStatus // the latest attempt; nil before the first start
	Previous *runtime.ContainerStatus // the attempt before it
	Restarts int

	// BackoffUntil: a crashed container may not restart before this time.
	BackoffUntil time.Time
	Backoff      time.Duration // the wait of the next crash (0: restart at once)

	Ready   bool   // readiness probe (true when there is none)
	Started bool   // startup probe (true when there is none)
	Waiting string // a reason it cannot start, e.g. CreateContainerConfigError
	Message string // with Waiting
}

// Running reports whether the record's latest attempt runs.
func (r *Record) Running() bool {
	return r != nil && r.Current != nil && r.Current.State == runtime.Running
}

// Exited reports whether the latest attempt ended.
func (r *Record) Exited() bool {
	return r != nil && r.Current != nil && r.Current.State == runtime.Exited
}

// ShouldRestart applies the restart policy to an exited container.
func ShouldRestart(policy corev1.RestartPolicy, exitCode int) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	default:
		return true
	}
}

// Back-off for a crashing container, as the kubelet does it: the first
// restart is immediate, then 10 s doubling up to 5 min; a container that
// ran for twice the maximum starts over.
const (
	MaxBackoff = 5 * time.Minute
)

// Backoff returns how long a container that ran from started to finished
// waits before its restart, and the wait its next crash will have; current
// is the wait this crash was due (0 before the first crash).
func Backoff(current, initial time.Duration, started, finished time.Time) (wait, next time.Duration) {
	if current == 0 || finished.Sub(started) > 2*MaxBackoff {
		return 0, initial
	}
	return current, min(current*2, MaxBackoff)
}

// Next is the next thing the pod worker should do.
type Next struct {
	Start []*corev1.Container // start these now, in order
	Init  bool                // Start holds init containers
	// WakeAt: nothing to do before then (a back-off ends); zero: wait for an event.
	WakeAt time.Time
	// Failed: the pod can make no more progress (an init container failed
	// under restartPolicy Never).
	Failed bool
}

// Plan decides what to start, given the records by container name.
func Plan(pod *corev1.Pod, records map[string]*Record, now time.Time) Next {
	var next Next
	policy := pod.Spec.RestartPolicy
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		r := records[c.Name]
		switch {
		case r == nil || r.Current == nil:
			next.Start, next.Init = []*corev1.Container{c}, true
			return next
		case r.Running():
			return next
		case r.Current.ExitCode == 0:
			continue
		case policy == corev1.RestartPolicyNever:
			next.Failed = true
			return next
		case now.Before(r.BackoffUntil):
			next.WakeAt = r.BackoffUntil
			return next
		default:
			next.Start, next.Init = []*corev1.Container{c}, true
			return next
		}
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		r := records[c.Name]
		switch {
		case r == nil || r.Current == nil:
			next.Start = append(next.Start, c)
		case r.Exited() && ShouldRestart(policy, r.Current.ExitCode):
			if now.Before(r.BackoffUntil) {
				if next.WakeAt.IsZero() || r.BackoffUntil.Before(next.WakeAt) {
					next.WakeAt = r.BackoffUntil
				}
				continue
			}
			next.Start = append(next.Start, c)
		}
	}
	return next
}

// Phase is the pod phase the records add up to (the kubelet's getPhase).
func Phase(pod *corev1.Pod, records map[string]*Record, initFailed bool) corev1.PodPhase {
	if initFailed {
		return corev1.PodFailed
	}
	for _, c := range pod.Spec.InitContainers {
		r := records[c.Name]
		if r == nil || r.Current == nil || r.Running() || r.Current.ExitCode != 0 {
			return corev1.PodPending
		}
	}
	var waiting, running, succeeded, failed int
	for _, c := range pod.Spec.Containers {
		r := records[c.Name]
		switch {
		case r == nil || r.Current == nil:
			waiting++
		case r.Running():
			running++
		case r.Current.ExitCode == 0:
			succeeded++
		default:
			failed++
		}
	}
	switch {
	case waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case pod.Spec.RestartPolicy == corev1.RestartPolicyAlways || pod.Spec.RestartPolicy == "":
		return corev1.PodRunning // every container will be restarted
	case failed > 0 && pod.Spec.RestartPolicy == corev1.RestartPolicyNever:
		return corev1.PodFailed
	case failed > 0:
		return corev1.PodRunning // OnFailure: restarting
	default:
		return corev1.PodSucceeded
	}
}

// ContainerStatus is the status of container c from its record.
func ContainerStatus(c *corev1.Container, r *Record, pod *corev1.Pod, now time.Time) corev1.ContainerStatus {
	st := corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: "", Started: new(false)}
	if r == nil {
		st.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
		return st
	}
	st.RestartCount = int32(r.Restarts)
	if r.Previous != nil {
		st.LastTerminationState.Terminated = terminated(r.Previous)
	}
	switch {
	case r.Current == nil:
		reason, msg := r.Waiting, r.Message
		if reason == "" {
			reason = "ContainerCreating"
		}
		st.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason, Message: msg}
	case r.Running():
		st.ContainerID = "process://" + r.Current.ID
		st.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(r.Current.StartedAt)}
		st.Started = new(r.Started)
		st.Ready = r.Ready && r.Started
	default:
		st.ContainerID = "process://" + r.Current.ID
		if ShouldRestart(pod.Spec.RestartPolicy, r.Current.ExitCode) && now.Before(r.BackoffUntil) {
			st.LastTerminationState.Terminated = terminated(r.Current)
			st.State.Waiting = &corev1.ContainerStateWaiting{
				Reason: "CrashLoopBackOff",
				Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)",
					r.BackoffUntil.Sub(r.Current.FinishedAt).Round(time.Second), c.Name, pod.Name, pod.Namespace, pod.UID),
			}
		} else {
			st.State.Terminated = terminated(r.Current)
		}
	}
	return st
}

func terminated(s *runtime.ContainerStatus) *corev1.ContainerStateTerminated {
	return &corev1.ContainerStateTerminated{
		ExitCode:    int32(s.ExitCode),
		Reason:      s.Reason,
		Message:     s.Message,
		StartedAt:   metav1.NewTime(s.StartedAt),
		FinishedAt:  metav1.NewTime(s.FinishedAt),
		ContainerID: "process://" + s.ID,
	}
}

// Status is the pod status the agent reports: phase, conditions and one
// status per container, keeping the conditions other components own.
func Status(pod *corev1.Pod, records map[string]*Record, initFailed bool, hostIP string, now time.Time) corev1.PodStatus {
	st := *pod.Status.DeepCopy()
	st.Phase = Phase(pod, records, initFailed)
	st.HostIP, st.PodIP = hostIP, hostIP // process containers use the host's network
	st.HostIPs = []corev1.HostIP{{IP: hostIP}}
	st.PodIPs = []corev1.PodIP{{IP: hostIP}}
	if st.StartTime == nil {
		t := metav1.NewTime(now)
		st.StartTime = &t
	}
	st.InitContainerStatuses = statuses(pod.Spec.InitContainers, records, pod, now)
	st.ContainerStatuses = statuses(pod.Spec.Containers, records, pod, now)
	st.EphemeralContainerStatuses = nil
	for i := range pod.Spec.EphemeralContainers {
		c := corev1.Container(pod.Spec.EphemeralContainers[i].EphemeralContainerCommon)
		st.EphemeralContainerStatuses = append(st.EphemeralContainerStatuses, ContainerStatus(&c, records[c.Name], pod, now))
	}

	initialized := st.Phase != corev1.PodPending || allInitDone(pod, records)
	ready := st.Phase == corev1.PodRunning
	for _, cs := range st.ContainerStatuses {
		ready = ready && cs.Ready
	}
	sandbox := st.Phase == corev1.PodPending || st.Phase == corev1.PodRunning
	setCondition(&st, corev1.PodReadyToStartContainers, sandbox, "", now)
	setCondition(&st, corev1.PodInitialized, initialized, "ContainersNotInitialized", now)
	setCondition(&st, corev1.ContainersReady, ready, "ContainersNotReady", now)
	setCondition(&st, corev1.PodReady, ready, "ContainersNotReady", now)
	return st
}

func statuses(cs []corev1.Container, records map[string]*Record, pod *corev1.Pod, now time.Time) []corev1.ContainerStatus {
	if len(cs) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, len(cs))
	for i := range cs {
		out[i] = ContainerStatus(&cs[i], records[cs[i].Name], pod, now)
	}
	return out
}

func allInitDone(pod *corev1.Pod, records map[string]*Record) bool {
	for _, c := range pod.Spec.InitContainers {
		r := records[c.Name]
		if !r.Exited() || r.Current.ExitCode != 0 {
			return false
		}
	}
	return true
}

// setCondition sets a condition, moving its transition time only when
// its status changes.
func setCondition(st *corev1.PodStatus, typ corev1.PodConditionType, ok bool, falseReason string, now time.Time) {
	status, reason := corev1.ConditionTrue, ""
	if !ok {
		status, reason = corev1.ConditionFalse, falseReason
	}
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type != typ {
			continue
		}
		if c.Status != status {
			c.LastTransitionTime = metav1.NewTime(now)
		}
		c.Status, c.Reason = status, reason
		return
	}
	st.Conditions = append(st.Conditions, corev1.PodCondition{
		Type: typ, Status: status, Reason: reason, LastTransitionTime: metav1.NewTime(now),
	})
}

// agentConditions are the conditions Status sets.
var agentConditions = []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady}

// KeepReported overlays on st (a status read from the API, maybe older
// than the agent's last write) what the agent last reported of what it
// owns: the start time and the conditions for which owned is true (Status's
// own always). A status computed from an informer copy that lags the
// agent's own writes would otherwise carry an older start time or
// transition time back to the API, whose echo brings the newer one back:
// with a thousand pods that ping-pong kept the control plane busy.
func KeepReported(st *corev1.PodStatus, reported *corev1.PodStatus, owned func(corev1.PodConditionType) bool) {
	if reported == nil {
		return
	}
	if reported.StartTime != nil {
		st.StartTime = reported.StartTime.DeepCopy()
	}
	for _, c := range reported.Conditions {
		if !slices.Contains(agentConditions, c.Type) && (owned == nil || !owned(c.Type)) {
			continue
		}
		i := slices.IndexFunc(st.Conditions, func(x corev1.PodCondition) bool { return x.Type == c.Type })
		if i < 0 {
			st.Conditions = append(st.Conditions, c)
		} else {
			st.Conditions[i] = c
		}
	}
}

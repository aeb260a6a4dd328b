package application

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

// What a taskgroup's history and pending operations keep on its Pod, so
// that a restarted controller carries on where the last one stopped.
const (
	// AnnotationReschededTimes is how many times the taskgroup at this
	// index was rebuilt by its restart policy or the rescheduler
	// (TaskGroup.ReschededTimes).
	AnnotationReschededTimes = "bcs.podyard.io/resched-times"
	// AnnotationLastReschedTime is when that last happened, unix seconds
	// (TaskGroup.LastReschedTime).
	AnnotationLastReschedTime = "bcs.podyard.io/last-resched-time"
	// AnnotationRebuild marks a taskgroup an update rebuilds from the
	// current definition; its value is the update's time, unix
	// nanoseconds. The controller rebuilds the marked ones one at a time,
	// updatePolicy.updateDelay apart.
	AnnotationRebuild = "bcs.podyard.io/rebuild"
	// AnnotationReschedule asks for the taskgroup to be replaced by a new
	// one at its index (the rescheduler); its value is a Reschedule.
	AnnotationReschedule = "bcs.podyard.io/reschedule"
	// AnnotationHostRetainUntil is, on a replacement kept to its
	// predecessor's node by required node affinity, when that ends (unix
	// seconds): a replacement still unplaced then is made again without it.
	AnnotationHostRetainUntil = "bcs.podyard.io/host-retain-until"
)

// BCS's limits (SCHED/scheduler/transaction.go).
const (
	// reschedResetAfter: a taskgroup whose last reschedule is this old
	// starts counting again from 0.
	reschedResetAfter = 1800 * time.Second
	// maxRestartDelay is the longest delay BCS waits before a restart
	// (TRANSACTION_INNER_RESCHEDULE_LIFEPERIOD - TRANSACTION_DEFAULT_LIFEPERIOD).
	maxRestartDelay = (86400 - 480) * time.Second
	// minRestartDelayCap bounds Podyard's own floor (see restartFloor).
	minRestartDelayCap = 5 * time.Minute
)

// Reschedule is a rescheduler request kept on the taskgroup's Pod.
type Reschedule struct {
	// At is when it was asked, unix seconds: the host retain time counts
	// from then, as BCS counts it from its transaction's creation.
	At int64 `json:"at"`
	// HostRetainTime keeps the replacement to the old node for this many
	// seconds (?hostRetainTime=).
	HostRetainTime int64 `json:"hostRetainTime,omitempty"`
}

// RescheduleRequest reads a Pod's AnnotationReschedule.
func RescheduleRequest(pod *corev1.Pod) (Reschedule, bool) {
	v, ok := pod.Annotations[AnnotationReschedule]
	if !ok {
		return Reschedule{}, false
	}
	var r Reschedule
	_ = json.Unmarshal([]byte(v), &r) // a bad value still asks; it retains nothing
	return r, true
}

// String is the annotation value of r.
func (r Reschedule) String() string {
	b, _ := json.Marshal(r) // plain struct
	return string(b)
}

// History is a taskgroup's ReschededTimes and LastReschedTime (unix
// seconds), from its Pod.
func History(pod *corev1.Pod) (times int, last int64) {
	times, _ = strconv.Atoi(pod.Annotations[AnnotationReschededTimes])
	last, _ = strconv.ParseInt(pod.Annotations[AnnotationLastReschedTime], 10, 64)
	return max(times, 0), max(last, 0)
}

// Stamp is the taskgroup's creation stamp in nanoseconds: the one in its
// ID, else the Pod's creation time. Two taskgroups of one index created in
// the same second are ordered by it.
func Stamp(pod *corev1.Pod) int64 {
	if ref, err := ParseTaskGroupID(pod.Annotations[AnnotationTaskGroupID]); err == nil {
		return ref.UnixNano
	}
	return pod.CreationTimestamp.UnixNano()
}

// Lost tells whether the taskgroup's node stopped answering.
func Lost(pod *corev1.Pod) bool {
	lost, _ := podLost(pod)
	return lost
}

// Restart is what a taskgroup's restart policy says about it now.
type Restart struct {
	// Replace: build a new taskgroup at its index (new ID) with
	// ReschededTimes Times, and delete this one.
	Replace bool
	// After: not yet; ask again this much later.
	After time.Duration
	// Times is the replacement's ReschededTimes.
	Times int
}

// RestartDecision applies app's restart policy to one of its taskgroups,
// as BCS's scheduler does when a taskgroup's status changes
// (taskGroupStatusUpdated): Never replaces nothing; OnFailure replaces a
// Failed taskgroup; Always a Failed, Finish or Lost one. A taskgroup is
// never restarted in place: the replacement has a new ID, the same index,
// and ReschededTimes one more. Counting restarts from 0 again when the
// last was more than 30 minutes ago, at most maxtimes of them (0: no
// limit), each interval + times*backoff seconds after the taskgroup ended.
// Podyard waits at least 2^times seconds (at most 5 minutes) where BCS
// allowed 0, so a taskgroup that cannot start does not spin.
func RestartDecision(app *v1alpha1.Application, pod *corev1.Pod, now time.Time) Restart {
	lost := Lost(pod)
	if pod.DeletionTimestamp != nil && !lost {
		return Restart{}
	}
	if _, ok := pod.Annotations[AnnotationRebuild]; ok {
		return Restart{} // the update rebuilds it
	}
	if _, ok := pod.Annotations[AnnotationReschedule]; ok {
		return Restart{} // the rescheduler replaces it
	}
	rp := app.Spec.RestartPolicy
	status := TaskGroupState(pod).Status
	if lost {
		status = TaskLost // even once the node lifecycle deletes it
	}
	switch rp.Policy {
	case "Never":
		return Restart{}
	case "Always":
		if status != TaskFailed && status != TaskFinish && status != TaskLost {
			return Restart{}
		}
	default: // OnFailure, BCS's default
		if status != TaskFailed {
			return Restart{}
		}
	}
	times, last := History(pod)
	if last > 0 && now.Sub(time.Unix(last, 0)) >= reschedResetAfter {
		times = 0
	}
	if rp.MaxTimes > 0 && times >= int(rp.MaxTimes) {
		return Restart{}
	}
	delay := time.Duration(rp.Interval) * time.Second
	if times > 0 {
		delay += time.Duration(times) * time.Duration(rp.Backoff) * time.Second
	}
	delay = min(max(delay, restartFloor(times)), maxRestartDelay)
	if wait := EndedAt(pod).Add(delay).Sub(now); wait > 0 {
		return Restart{After: wait, Times: times + 1}
	}
	return Restart{Replace: true, Times: times + 1}
}

// restartFloor is Podyard's least delay before restart number times+1:
// 1 s, 2 s, 4 s, ... up to 5 minutes.
func restartFloor(times int) time.Duration {
	if times >= 9 {
		return minRestartDelayCap
	}
	return min(time.Second<<times, minRestartDelayCap)
}

// EndedAt is when a taskgroup ended, as far as its Pod says: its last
// container to end, else the last change of its conditions, else its
// creation.
func EndedAt(pod *corev1.Pod) time.Time {
	t := pod.CreationTimestamp.Time
	ended := false
	for _, cs := range pod.Status.ContainerStatuses {
		if term := cs.State.Terminated; term != nil && !term.FinishedAt.IsZero() {
			if !ended || term.FinishedAt.After(t) {
				t, ended = term.FinishedAt.Time, true
			}
		}
	}
	if ended {
		return t
	}
	for _, c := range pod.Status.Conditions {
		if c.LastTransitionTime.After(t) {
			t = c.LastTransitionTime.Time
		}
	}
	return t
}

// Replacement is the taskgroup that replaces old at its index: built from
// app's current definition by Pod with o (o.Index is old's), ReschededTimes
// times and LastReschedTime now. Until retainUntil (when that is after
// now) it may go to old's node alone (required node affinity), as
// hostRetainTime does.
func Replacement(app *v1alpha1.Application, old *corev1.Pod, o PodOptions, times int, now time.Time, retainUntil time.Time) *corev1.Pod {
	o.Index, _ = InstanceIndex(old)
	pod := Pod(app, o)
	pod.Annotations[AnnotationReschededTimes] = strconv.Itoa(times)
	pod.Annotations[AnnotationLastReschedTime] = strconv.FormatInt(now.Unix(), 10)
	if node := old.Spec.NodeName; node != "" && retainUntil.After(now) {
		keepTo(pod, node)
		pod.Annotations[AnnotationHostRetainUntil] = strconv.FormatInt(retainUntil.Unix(), 10)
	}
	return pod
}

// Remade is old, an unplaced replacement whose host retain time is over,
// made again without the retain: same history, new ID.
func Remade(app *v1alpha1.Application, old *corev1.Pod, o PodOptions) *corev1.Pod {
	o.Index, _ = InstanceIndex(old)
	pod := Pod(app, o)
	for _, k := range []string{AnnotationReschededTimes, AnnotationLastReschedTime} {
		if v, ok := old.Annotations[k]; ok {
			pod.Annotations[k] = v
		}
	}
	return pod
}

// RetainOver tells whether pod is a replacement kept to a node that has
// not been placed by the end of its host retain time.
func RetainOver(pod *corev1.Pod, now time.Time) bool {
	v, ok := pod.Annotations[AnnotationHostRetainUntil]
	if !ok || pod.Spec.NodeName != "" || pod.DeletionTimestamp != nil {
		return false
	}
	until, err := strconv.ParseInt(v, 10, 64)
	return err != nil || !now.Before(time.Unix(until, 0))
}

// RetainLeft is how long until pod's host retain time ends (0: none left
// or none at all).
func RetainLeft(pod *corev1.Pod, now time.Time) time.Duration {
	v, ok := pod.Annotations[AnnotationHostRetainUntil]
	if !ok || pod.Spec.NodeName != "" {
		return 0
	}
	until, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0
	}
	return max(time.Unix(until, 0).Sub(now), 0)
}

// keepTo adds a required node affinity to node to every node selector
// term of pod (terms are ORed, so the node must be in each), or one term
// with it alone.
func keepTo(pod *corev1.Pod, node string) {
	req := corev1.NodeSelectorRequirement{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}
	if pod.Spec.Affinity == nil {
		pod.Spec.Affinity = &corev1.Affinity{}
	}
	if pod.Spec.Affinity.NodeAffinity == nil {
		pod.Spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	na := pod.Spec.Affinity.NodeAffinity
	if na.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{}
	}
	terms := na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) == 0 {
		terms = []corev1.NodeSelectorTerm{{}}
	}
	for i := range terms {
		terms[i].MatchFields = append(terms[i].MatchFields, req)
	}
	na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms = terms
}

// Updating tells whether an update is rebuilding some of pods.
func Updating(pods []*corev1.Pod) bool {
	for _, p := range pods {
		if _, ok := p.Annotations[AnnotationRebuild]; ok {
			return true
		}
	}
	return false
}

// Rebuild is the update's next step.
type Rebuild struct {
	// Delete is the taskgroup to kill now; the controller makes its index
	// again from the current definition once it is gone.
	Delete *corev1.Pod
	// After: the next may go only this much later.
	After time.Duration
}

// NextRebuild paces an update: the taskgroups marked AnnotationRebuild
// are killed one at a time, oldest first, each once the one before has
// been rebuilt (its index has a taskgroup again) and
// updatePolicy.updateDelay seconds after that rebuild was made (the first
// at once). pods are app's.
func NextRebuild(app *v1alpha1.Application, pods []*corev1.Pod, now time.Time) Rebuild {
	var marked []*corev1.Pod
	var since int64 = -1 // the update's time: the oldest mark
	live := map[int]bool{}
	for _, p := range pods {
		if !controlledBy(p, app) {
			continue
		}
		i, ok := InstanceIndex(p)
		if !ok {
			continue
		}
		v, isMarked := p.Annotations[AnnotationRebuild]
		if isMarked {
			if p.DeletionTimestamp != nil && !Lost(p) {
				return Rebuild{} // one is being killed
			}
			at, _ := strconv.ParseInt(v, 10, 64)
			if since < 0 || at < since {
				since = at
			}
			if p.DeletionTimestamp == nil {
				marked = append(marked, p)
			}
		}
		if p.DeletionTimestamp == nil {
			live[i] = true
		}
	}
	if len(marked) == 0 {
		return Rebuild{}
	}
	for i := range int(app.Spec.Instance) {
		if !live[i] {
			return Rebuild{} // a rebuild has not been made yet
		}
	}
	// The newest taskgroup made since the update began is the last rebuild.
	var last int64
	for _, p := range pods {
		if s := Stamp(p); controlledBy(p, app) && s > since && s > last {
			last = s
		}
	}
	if last > 0 {
		due := time.Unix(0, last).Add(time.Duration(app.Spec.UpdatePolicy.UpdateDelay) * time.Second)
		if wait := due.Sub(now); wait > 0 {
			return Rebuild{After: wait}
		}
	}
	slices.SortStableFunc(marked, func(a, b *corev1.Pod) int { return cmp.Compare(Stamp(a), Stamp(b)) })
	return Rebuild{Delete: marked[0]}
}

// MarkRebuild is the annotation value of an update made at now.
func MarkRebuild(now time.Time) string { return fmt.Sprint(now.UnixNano()) }

package agent

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podyard/podyard/internal/agent/lifecycle"
	"github.com/podyard/podyard/internal/runtime"
)

// resizeState is what a pod worker knows of in-place resizes (the
// kubelet's InPlacePodVerticalScaling), guarded by the worker's mu.
type resizeState struct {
	// allocated is what the node gave each resizable container: its spec's
	// when first seen, a resize's once it fit. Containers start with it.
	allocated map[string]corev1.ResourceRequirements
	// applied is what each running attempt runs with (status resources).
	applied map[string]corev1.ResourceRequirements
	// pending is the PodResizePending condition of a resize that does not
	// fit; inProgress PodResizeInProgress while one is being applied.
	pending, inProgress *corev1.PodCondition
}

// containerResources are the resources an attempt of c starts with: the
// allocated ones, which are also what its status reports once it runs.
func (w *podWorker) containerResources(c *corev1.Container) runtime.Resources {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.initAllocated(c)
	alloc, ok := w.resize.allocated[c.Name]
	if !ok {
		alloc = c.Resources // an ephemeral container: nothing to resize
	}
	w.resize.applied[c.Name] = *alloc.DeepCopy()
	cc := *c
	cc.Resources = alloc
	return lifecycle.Resources(&cc)
}

// initAllocated records the spec's resources of a resizable container the
// first time it is seen. Called with w.mu held.
func (w *podWorker) initAllocated(c *corev1.Container) {
	if w.resize.allocated == nil {
		w.resize.allocated = map[string]corev1.ResourceRequirements{}
		w.resize.applied = map[string]corev1.ResourceRequirements{}
	}
	for _, rc := range lifecycle.Resizable(w.pod) {
		if rc.Name == c.Name {
			if _, ok := w.resize.allocated[c.Name]; !ok {
				w.resize.allocated[c.Name] = *c.Resources.DeepCopy()
			}
			return
		}
	}
}

// requests is what this pod's resizable containers hold on the node.
func (w *podWorker) requests() (milliCPU, memory int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gone || w.pod.Status.Phase == corev1.PodSucceeded || w.pod.Status.Phase == corev1.PodFailed {
		return 0, 0
	}
	return lifecycle.Requests(w.pod, w.resize.allocated)
}

// othersRequests is what the node's other pods hold.
func (a *Agent) othersRequests(uid types.UID) (milliCPU, memory int64) {
	a.mu.Lock()
	others := make([]*podWorker, 0, len(a.workers))
	for id, w := range a.workers {
		if id != uid {
			others = append(others, w)
		}
	}
	a.mu.Unlock()
	for _, w := range others {
		c, m := w.requests()
		milliCPU += c
		memory += m
	}
	return milliCPU, memory
}

// resizePod applies a change of the pod's container resources to what
// runs, as the kubelet does: a resize that fits the node beside its other
// pods is allocated (PodResizeInProgress), else it waits
// (PodResizePending: Infeasible, or Deferred until it fits); then each
// running container whose settings differ from its allocation is updated
// in place, without a restart. It returns when to try again (zero: no need).
func (w *podWorker) resizePod(ctx context.Context, pod *corev1.Pod) time.Time {
	now := time.Now()
	containers := lifecycle.Resizable(pod)
	w.mu.Lock()
	changed := false
	for _, c := range containers {
		w.initAllocated(c)
		if !equality.Semantic.DeepEqual(w.resize.allocated[c.Name], c.Resources) {
			changed = true
		}
	}
	w.mu.Unlock()

	if changed {
		cpu, mem := lifecycle.Requests(pod, nil)
		usedCPU, usedMem := w.a.othersRequests(w.uid)
		reason, msg := lifecycle.FitResize(cpu, mem, usedCPU, usedMem, w.a.allocatable())
		w.mu.Lock()
		if reason != "" {
			if p := w.resize.pending; p == nil || p.Reason != reason || p.Message != msg || p.ObservedGeneration != pod.Generation {
				w.resize.pending = resizeCondition(corev1.PodResizePending, reason, msg, pod.Generation, now)
				w.mu.Unlock()
				event := "ResizeDeferred"
				if reason == corev1.PodReasonInfeasible {
					event = "ResizeInfeasible"
				}
				w.a.recorder.Eventf(pod, corev1.EventTypeWarning, event, "Pod resize %s: %s", reason, msg)
				w.mu.Lock()
			}
		} else {
			w.resize.pending = nil
			for _, c := range containers {
				w.resize.allocated[c.Name] = *c.Resources.DeepCopy()
			}
			w.resize.inProgress = resizeCondition(corev1.PodResizeInProgress, "", "", pod.Generation, now)
			w.mu.Unlock()
			w.a.recorder.Eventf(pod, corev1.EventTypeNormal, "ResizeStarted", "Pod resize started: generation %d", pod.Generation)
			w.mu.Lock()
		}
		w.mu.Unlock()
	} else {
		w.mu.Lock()
		w.resize.pending = nil
		w.mu.Unlock()
	}

	// Bring every running container to its allocation.
	type update struct {
		name, id string
		want     runtime.Resources
		alloc    corev1.ResourceRequirements
	}
	var todo []update
	w.mu.Lock()
	for _, c := range containers {
		r := w.records[c.Name]
		if !r.Running() {
			continue
		}
		cc := *c
		cc.Resources = w.resize.allocated[c.Name]
		if want := lifecycle.Resources(&cc); want != r.Current.Resources {
			todo = append(todo, update{c.Name, r.Current.ID, want, *cc.Resources.DeepCopy()})
		}
	}
	if len(todo) > 0 && w.resize.inProgress == nil {
		w.resize.inProgress = resizeCondition(corev1.PodResizeInProgress, "", "", pod.Generation, now)
	}
	// A resize that waits is tried again: other pods may end meanwhile.
	var retry time.Time
	if w.resize.pending != nil {
		retry = now.Add(5 * time.Second)
	}
	if len(todo) == 0 {
		w.resize.inProgress = nil
	}
	w.mu.Unlock()
	if len(todo) == 0 {
		return retry
	}
	w.report(ctx, pod) // PodResizeInProgress while the containers change
	var failed error
	for _, u := range todo {
		if err := w.a.rt.UpdateResources(ctx, u.id, u.want); err != nil {
			failed = err
			continue
		}
		w.mu.Lock()
		if r := w.records[u.name]; r != nil && r.Current != nil && r.Current.ID == u.id {
			st := *r.Current
			st.Resources = u.want
			r.Current = &st
			w.resize.applied[u.name] = u.alloc
		}
		w.mu.Unlock()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if failed != nil {
		w.resize.inProgress = resizeCondition(corev1.PodResizeInProgress, corev1.PodReasonError, failed.Error(), pod.Generation, now)
		return earliest(retry, now.Add(2*time.Second))
	}
	w.resize.inProgress = nil
	return retry
}

func resizeCondition(typ corev1.PodConditionType, reason, msg string, generation int64, now time.Time) *corev1.PodCondition {
	t := metav1.NewTime(now)
	return &corev1.PodCondition{
		Type: typ, Status: corev1.ConditionTrue, Reason: reason, Message: msg,
		ObservedGeneration: generation, LastProbeTime: t, LastTransitionTime: t,
	}
}

// resizeStatus puts what the containers were allocated and run with into
// st, and the resize conditions, as the kubelet reports them. Called with
// w.mu held.
func (w *podWorker) resizeStatus(st *corev1.PodStatus) {
	decorate := func(statuses []corev1.ContainerStatus) {
		for i := range statuses {
			cs := &statuses[i]
			if a, ok := w.resize.allocated[cs.Name]; ok {
				cs.AllocatedResources = a.Requests.DeepCopy()
			}
			if cs.State.Running == nil {
				continue
			}
			applied, ok := w.resize.applied[cs.Name]
			if !ok {
				applied = w.resize.allocated[cs.Name] // adopted after an agent restart
			}
			cs.Resources = applied.DeepCopy()
		}
	}
	decorate(st.ContainerStatuses)
	decorate(st.InitContainerStatuses)
	conds := st.Conditions[:0]
	for _, c := range st.Conditions {
		if c.Type != corev1.PodResizePending && c.Type != corev1.PodResizeInProgress {
			conds = append(conds, c)
		}
	}
	for _, c := range []*corev1.PodCondition{w.resize.pending, w.resize.inProgress} {
		if c != nil {
			conds = append(conds, *c)
		}
	}
	st.Conditions = conds
}

package application

import (
	"cmp"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

// Plan is what the application controller does next so that an
// application has one taskgroup per instance index 0..spec.instance-1.
type Plan struct {
	// Create are the indexes with no taskgroup, lowest first.
	Create []int
	// Delete are Pods beyond spec.instance (highest index first, as BCS
	// scales down) and the older of two at one index.
	Delete []*corev1.Pod
}

// InstanceIndex is the index a taskgroup Pod stands for.
func InstanceIndex(pod *corev1.Pod) (int, bool) {
	i, err := strconv.Atoi(pod.Labels[LabelInstance])
	return i, err == nil && i >= 0
}

// PlanTaskGroups compares app's Pods with spec.instance. Pods app does not
// control, and Pods already being deleted, are left alone; but an index
// whose taskgroup is still being killed is made again only once it has
// ended (BCS rebuilds a taskgroup when the old one is over, and processes
// of a node share its ports), unless its node is lost. An ended taskgroup
// (Failed, Finish) still holds its index: replacing it is the restart
// policy's decision (RestartDecision), not this one. Of two taskgroups at
// one index the newer (by the stamp in its ID) stays.
func PlanTaskGroups(app *v1alpha1.Application, pods []*corev1.Pod) Plan {
	byIndex := map[int][]*corev1.Pod{}
	ending := map[int]bool{}
	var plan Plan
	for _, p := range pods {
		i, ok := InstanceIndex(p)
		if !ok || !controlledBy(p, app) {
			continue
		}
		if p.DeletionTimestamp != nil {
			ending[i] = ending[i] || stillRuns(p)
			continue
		}
		if i >= int(app.Spec.Instance) {
			plan.Delete = append(plan.Delete, p)
			continue
		}
		byIndex[i] = append(byIndex[i], p)
	}
	slices.SortStableFunc(plan.Delete, func(a, b *corev1.Pod) int {
		ia, _ := InstanceIndex(a)
		ib, _ := InstanceIndex(b)
		return cmp.Compare(ib, ia)
	})
	for i := range int(app.Spec.Instance) {
		at := byIndex[i]
		if len(at) == 0 {
			if !ending[i] {
				plan.Create = append(plan.Create, i)
			}
			continue
		}
		// Newest first; the rest go.
		slices.SortStableFunc(at, func(a, b *corev1.Pod) int { return cmp.Compare(Stamp(b), Stamp(a)) })
		plan.Delete = append(plan.Delete, at[1:]...)
	}
	return plan
}

// stillRuns tells whether a taskgroup being deleted may still have
// processes on a node that answers.
func stillRuns(p *corev1.Pod) bool {
	return p.Spec.NodeName != "" && !Lost(p) && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

func controlledBy(p *corev1.Pod, app *v1alpha1.Application) bool {
	for _, o := range p.OwnerReferences {
		if o.Controller != nil && *o.Controller {
			return o.UID == app.UID
		}
	}
	return false
}

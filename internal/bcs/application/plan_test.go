package application

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

func TestPlanTaskGroups(t *testing.T) {
	app := &v1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "app-uid"},
		Spec: v1alpha1.ApplicationSpec{Metadata: v1alpha1.ObjectMeta{Name: "web", Namespace: "ns"},
			Template: v1alpha1.PodTemplateSpec{Spec: v1alpha1.PodSpec{Containers: []v1alpha1.Container{{Image: "i", Command: "c"}}}}},
	}
	t0 := time.Unix(1000, 0)
	pod := func(index int, age time.Duration) *corev1.Pod {
		p := Pod(app, PodOptions{Index: index, Cluster: "1", UnixNano: t0.Add(-age).UnixNano()})
		p.CreationTimestamp = metav1.NewTime(t0.Add(-age))
		return p
	}
	deleting := pod(1, 0)
	deleting.DeletionTimestamp = &metav1.Time{Time: t0}
	killing := deleting.DeepCopy() // placed, not ended
	killing.Spec.NodeName = "n1"
	killed := killing.DeepCopy()
	killed.Status.Phase = corev1.PodFailed
	lost := killing.DeepCopy()
	lost.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "NodeNotReady"}}
	// Two at one index made in the same second: the stamp in the ID orders them.
	sameSecondOld, sameSecondNew := pod(0, time.Hour), pod(0, time.Hour-time.Millisecond)
	sameSecondNew.CreationTimestamp = sameSecondOld.CreationTimestamp
	foreign := pod(0, 0)
	foreign.OwnerReferences[0].UID = types.UID("other")
	older, newer := pod(0, time.Hour), pod(0, time.Minute)

	for _, tc := range []struct {
		name     string
		instance int32
		pods     []*corev1.Pod
		create   []int
		delete   []*corev1.Pod
	}{
		{"new application", 3, nil, []int{0, 1, 2}, nil},
		{"all there", 2, []*corev1.Pod{pod(0, 0), pod(1, 0)}, nil, nil},
		{"scale up continues the indexes", 4, []*corev1.Pod{pod(0, 0), pod(1, 0)}, []int{2, 3}, nil},
		{"a missing index is filled", 3, []*corev1.Pod{pod(0, 0), pod(2, 0)}, []int{1}, nil},
		{"an unplaced deleting pod frees its index", 2, []*corev1.Pod{pod(0, 0), deleting}, []int{1}, nil},
		{"a taskgroup being killed holds its index until it ends", 2, []*corev1.Pod{pod(0, 0), killing}, nil, nil},
		{"an ended deleting pod frees its index", 2, []*corev1.Pod{pod(0, 0), killed}, []int{1}, nil},
		{"a deleting pod on a lost node frees its index", 2, []*corev1.Pod{pod(0, 0), lost}, []int{1}, nil},
		{"same second at one index: the older stamp goes", 1, []*corev1.Pod{sameSecondNew, sameSecondOld}, nil, []*corev1.Pod{sameSecondOld}},
		{"foreign pods are not ours", 1, []*corev1.Pod{foreign}, []int{0}, nil},
		{"two at one index: the older goes", 1, []*corev1.Pod{older, newer}, nil, []*corev1.Pod{older}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app.Spec.Instance = tc.instance
			got := PlanTaskGroups(app, tc.pods)
			if !slices.Equal(got.Create, tc.create) || !slices.Equal(got.Delete, tc.delete) {
				t.Errorf("got create %v delete %v, want %v %v", got.Create, names(got.Delete), tc.create, names(tc.delete))
			}
		})
	}

	// Scale down removes the highest indexes first.
	app.Spec.Instance = 1
	p0, p1, p2 := pod(0, 0), pod(1, 0), pod(2, 0)
	got := PlanTaskGroups(app, []*corev1.Pod{p1, p0, p2})
	if len(got.Create) != 0 || !slices.Equal(got.Delete, []*corev1.Pod{p2, p1}) {
		t.Errorf("scale down: create %v delete %v", got.Create, names(got.Delete))
	}
}

func names(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

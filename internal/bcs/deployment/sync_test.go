package deployment

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/agent/probeinfo"
	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

func specOf(t *testing.T) v1alpha1.DeploymentSpec {
	t.Helper()
	d, err := ParseUpdate(seed(t))
	if err != nil {
		t.Fatal(err)
	}
	return d.ToSpec()
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(s *v1alpha1.DeploymentSpec)
		want Change
	}{
		{"same", func(*v1alpha1.DeploymentSpec) {}, ChangeNone},
		{"instance", func(s *v1alpha1.DeploymentSpec) { s.Instance = 7 }, ChangeScale},
		{"resources", func(s *v1alpha1.DeploymentSpec) { s.Template.Spec.Containers[0].Resources.Limits.CPU = "3" }, ChangeResources},
		{"resources and instance", func(s *v1alpha1.DeploymentSpec) {
			s.Instance = 4
			s.Template.Spec.Containers[0].Resources.Limits.Memory = "2048"
		}, ChangeResources},
		{"image", func(s *v1alpha1.DeploymentSpec) { s.Template.Spec.Containers[0].Image = "nginx:2" }, ChangeRolling},
		{"image and resources", func(s *v1alpha1.DeploymentSpec) {
			s.Template.Spec.Containers[0].Image = "nginx:2"
			s.Template.Spec.Containers[0].Resources.Limits.CPU = "3"
		}, ChangeRolling},
		{"strategy", func(s *v1alpha1.DeploymentSpec) { s.Strategy.RollingUpdate.MaxSurge = 3 }, ChangeRolling},
		{"a container more", func(s *v1alpha1.DeploymentSpec) {
			s.Template.Spec.Containers = append(s.Template.Spec.Containers, s.Template.Spec.Containers[0])
		}, ChangeRolling},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acted, wanted := specOf(t), specOf(t)
			tc.edit(&wanted)
			if got := Classify(acted, wanted); got != tc.want {
				t.Errorf("Classify = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	app := &v1alpha1.Application{Spec: v1alpha1.ApplicationSpec{Metadata: v1alpha1.ObjectMeta{Labels: map[string]string{"a": "1", "b": "2"}}}}
	for _, tc := range []struct {
		selector map[string]string
		want     bool
	}{
		{nil, false}, // BCS matched every application; Podyard none
		{map[string]string{"a": "1"}, true},
		{map[string]string{"a": "1", "b": "2"}, true},
		{map[string]string{"a": "2"}, false},
		{map[string]string{"c": "1"}, false},
	} {
		if got := Matches(tc.selector, app); got != tc.want {
			t.Errorf("Matches(%v) = %v, want %v", tc.selector, got, tc.want)
		}
	}
}

func TestStateOf(t *testing.T) {
	app := &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{UID: "app-uid"}, Spec: v1alpha1.ApplicationSpec{Instance: 4}}
	isController := true
	pod := func(edit func(p *corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{UID: "app-uid", Controller: &isController}}},
			Spec:       corev1.PodSpec{NodeName: "n", Containers: []corev1.Container{{Name: "task-0"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
				{Name: "task-0", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}},
		}
		edit(p)
		return p
	}
	now := metav1.Now()
	pods := []*corev1.Pod{
		pod(func(*corev1.Pod) {}),                                       // ready
		pod(func(p *corev1.Pod) { p.DeletionTimestamp = &now }),         // being killed: exists, not ready
		pod(func(p *corev1.Pod) { p.Status.ContainerStatuses = nil }),   // starting: exists
		pod(func(p *corev1.Pod) { p.OwnerReferences[0].UID = "other" }), // another application's
		pod(func(p *corev1.Pod) { // no node takes it: no taskgroup yet
			p.Spec.NodeName, p.Status.ContainerStatuses = "", nil
			p.Status.Phase = corev1.PodPending
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable}}
		}),
		pod(func(p *corev1.Pod) { // Running, its health check failing
			failed := probeinfo.NewState().Observe(false, "refused")
			p.Status.Conditions = []corev1.PodCondition{probeinfo.Condition(probeinfo.ConditionType(probeinfo.LivenessConditionPrefix, "task-0"), []probeinfo.State{failed})}
		}),
	}
	if got, want := StateOf(app, pods), (AppState{Target: 4, Instances: 4, Ready: 1}); got != want {
		t.Errorf("StateOf = %+v, want %+v", got, want)
	}
}

func TestCancelRequested(t *testing.T) {
	old, updated := specOf(t), specOf(t)
	updated.Template.Spec.Containers[0].Image = "nginx:2"
	d := &v1alpha1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 2}, Spec: updated,
		Status: v1alpha1.DeploymentStatus{Status: StatusUpdate, Definition: &updated, DefinitionBackup: &old, ObservedGeneration: 2}}
	if CancelRequested(d) {
		t.Error("an update under way is no cancel")
	}
	d.Spec, d.Generation = old, 3
	if !CancelRequested(d) {
		t.Error("the old definition back in spec is a cancel")
	}
	d.Status.DefinitionBackup = nil
	if CancelRequested(d) {
		t.Error("no update: no cancel")
	}
}

package application

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

// TestPodPlacement: a posted constraint, spelled as the documentation
// does (IntersectionItem, UnionData) or as bcs-common's JSON tags do
// (intersectionItem, unionData), reaches the taskgroup Pod whole in
// AnnotationConstraint, and its TOLERATION rules of type text become
// tolerations of the NoSchedule taints agent settings make.
func TestPodPlacement(t *testing.T) {
	const rules = `{"Name":"hostname","Operate":"UNIQUE"},
		{"name":"zone","operate":"LIKE","type":3,"text":{"value":"sh-*"}},
		{"name":"dedicated","operate":"TOLERATION","type":3,"text":{"value":"gpu"}},
		{"name":"ignored","operate":"TOLERATION","type":4,"set":{"item":["x"]}},
		{"name":"no key","operate":"TOLERATION","type":3,"text":{"value":"x"}}`
	want := &v1alpha1.Constraint{IntersectionItem: []v1alpha1.ConstraintDataItem{
		{UnionData: []v1alpha1.ConstraintData{{Name: "hostname", Operate: "UNIQUE"}}},
		{UnionData: []v1alpha1.ConstraintData{
			{Name: "zone", Operate: "LIKE", Type: 3, Text: &v1alpha1.ConstraintText{Value: "sh-*"}},
			{Name: "dedicated", Operate: "TOLERATION", Type: 3, Text: &v1alpha1.ConstraintText{Value: "gpu"}},
			{Name: "ignored", Operate: "TOLERATION", Type: 4, Set: &v1alpha1.ConstraintSet{Item: []string{"x"}}},
			{Name: "no key", Operate: "TOLERATION", Type: 3, Text: &v1alpha1.ConstraintText{Value: "x"}},
		}},
	}}
	for _, spelling := range []string{
		`"constraint":{"selector":{},"IntersectionItem":[{"UnionData":[` + strings.Replace(rules, "},\n", "}]},{\"UnionData\":[", 1) + `]}]}`,
		`"constraint":{"intersectionItem":[{"unionData":[` + strings.Replace(rules, "},\n", "}]},{\"unionData\":[", 1) + `]}]}`,
	} {
		body := `{"apiVersion":"v4","kind":"application","metadata":{"name":"web","namespace":"ns"},` + spelling + `,
			"spec":{"instance":1,"template":{"spec":{"containers":[{"image":"busybox","command":"sleep"}]}}}}`
		spec, err := Parse([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", spelling, err)
		}
		if !reflect.DeepEqual(spec.Constraint, want) {
			t.Fatalf("%s: parsed %+v", spelling, spec.Constraint)
		}
		pod := Pod(&v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"}, Spec: spec}, PodOptions{Cluster: "10001", UnixNano: nano})
		var got v1alpha1.Constraint
		if err := json.Unmarshal([]byte(pod.Annotations[AnnotationConstraint]), &got); err != nil || !reflect.DeepEqual(&got, want) {
			t.Errorf("annotation %q (%v)", pod.Annotations[AnnotationConstraint], err)
		}
		wantTolerations := []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}
		if !reflect.DeepEqual(pod.Spec.Tolerations, wantTolerations) {
			t.Errorf("tolerations %+v", pod.Spec.Tolerations)
		}
	}
}

// TestPodWithoutConstraint: no constraint, or the seed's empty one, puts
// nothing on the Pod.
func TestPodWithoutConstraint(t *testing.T) {
	for _, c := range []*v1alpha1.Constraint{nil, {}, {NodeSelector: map[string]string{"a": "b"}}} {
		app := seedApp(t)
		app.Spec.Constraint = c
		pod := Pod(app, PodOptions{Cluster: "10001", UnixNano: nano})
		if _, ok := pod.Annotations[AnnotationConstraint]; ok || len(pod.Spec.Tolerations) > 0 {
			t.Errorf("%+v: annotation %q tolerations %+v", c, pod.Annotations[AnnotationConstraint], pod.Spec.Tolerations)
		}
	}
	// A user's annotation cannot pose as the constraint.
	app := seedApp(t)
	app.Spec.Template.Metadata.Annotations = map[string]string{AnnotationConstraint: `{"intersectionItem":[{}]}`}
	if pod := Pod(app, PodOptions{Cluster: "10001", UnixNano: nano}); pod.Annotations[AnnotationConstraint] != "" {
		t.Errorf("user annotation kept: %q", pod.Annotations[AnnotationConstraint])
	}
}

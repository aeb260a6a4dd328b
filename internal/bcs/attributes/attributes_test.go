package attributes

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestOf(t *testing.T) {
	set := Set{Strings: map[string]string{"zone": "sz", InnerIP: "1.2.3.4"}, Scalars: map[string]float64{"cores": 8}}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", Annotations: map[string]string{Annotation: Encode(set)}},
		Status:     corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.5"}}},
	}
	got, err := Of(node)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"zone": "sz", "cores": "8", Hostname: "n1", InnerIP: "10.0.0.5"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k].String() != v {
			t.Errorf("%s = %q, want %q", k, got[k].String(), v)
		}
	}
	if !got["cores"].IsScalar || got["zone"].IsScalar {
		t.Errorf("types wrong: %+v", got)
	}
	node.Annotations[Annotation] = "{"
	if _, err := Of(node); err == nil {
		t.Error("a bad annotation must be an error")
	}
}

func TestLabels(t *testing.T) {
	got := Labels(Set{Strings: map[string]string{"zone": "sz", "bad value": "x", "long": "has spaces"}, Scalars: map[string]float64{"cpu": 2.5}})
	want := map[string]string{LabelPrefix + "zone": "sz", LabelPrefix + "cpu": "2.5"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if Encode(Set{}) != "" {
		t.Error("no attributes encode to nothing")
	}
}

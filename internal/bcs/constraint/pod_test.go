package constraint

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/bcs/attributes"
)

func taskgroupPod(ns, app, uid string, c *v1alpha1.Constraint, labels map[string]string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: app + "-" + uid, UID: types.UID(uid),
		Labels: map[string]string{application.LabelApplication: app}, Annotations: map[string]string{}}}
	for k, v := range labels {
		p.Labels[k] = v
	}
	if c != nil {
		b, _ := json.Marshal(c)
		p.Annotations[application.AnnotationConstraint] = string(b)
	}
	return p
}

func attrNode(name string, strings map[string]string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name},
		Annotations: map[string]string{attributes.Annotation: attributes.Encode(attributes.Set{Strings: strings})}}}
}

func TestForPod(t *testing.T) {
	unique := all(bare(Unique, "hostname"))
	n1, n2, n3 := attrNode("n1", nil), attrNode("n2", map[string]string{"zone": "a"}), attrNode("n3", nil)
	bad := attrNode("bad", nil)
	bad.Annotations[attributes.Annotation] = "{"
	nodes := func(pods1, pods2 []*corev1.Pod) []NodePods {
		return []NodePods{{Node: n1, Pods: pods1}, {Node: n2, Pods: pods2}, {Node: n3}, {Node: bad}}
	}
	me := taskgroupPod("ns", "web", "me", unique, nil)
	cases := []struct {
		name  string
		pod   *corev1.Pod
		nodes []NodePods
		want  map[string]string // node → reason
	}{
		{"no constraint", taskgroupPod("ns", "web", "x", nil, nil), nodes(nil, nil), map[string]string{}},
		{"an empty constraint", taskgroupPod("ns", "web", "x", &v1alpha1.Constraint{}, nil), nodes(nil, nil), map[string]string{}},
		{"UNIQUE beside a sibling", me, nodes([]*corev1.Pod{taskgroupPod("ns", "web", "a", unique, nil)}, nil),
			map[string]string{"n1": "didn't match BCS constraint UNIQUE hostname", "bad": "had unreadable BCS attributes"}},
		{"same name in another namespace, another application, a plain pod, the pod itself: no sibling", me, nodes(
			[]*corev1.Pod{taskgroupPod("other", "web", "a", nil, nil), taskgroupPod("ns", "db", "b", nil, nil)},
			[]*corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "plain", Labels: map[string]string{"app": "web"}}}, me}),
			map[string]string{"bad": "had unreadable BCS attributes"}},
		{"EXCLUDE another application's label", taskgroupPod("ns", "web", "me", all(set(Exclude, "", "tier:db")), nil),
			nodes(nil, []*corev1.Pod{taskgroupPod("ns", "db", "b", nil, map[string]string{"tier": "db"})}),
			map[string]string{"n2": "didn't match BCS constraint EXCLUDE", "bad": "had unreadable BCS attributes"}},
		{"CLUSTER on an agent attribute", taskgroupPod("ns", "web", "me", all(text(Cluster, "zone", "a")), nil), nodes(nil, nil),
			map[string]string{"n1": "didn't match BCS constraint CLUSTER zone", "n3": "didn't match BCS constraint CLUSTER zone", "bad": "had unreadable BCS attributes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ForPod(tc.pod, tc.nodes)
			for _, n := range tc.nodes {
				if got := c.Check(n.Node.Name); got != tc.want[n.Node.Name] {
					t.Errorf("%s: %q, want %q", n.Node.Name, got, tc.want[n.Node.Name])
				}
			}
		})
	}

	broken := taskgroupPod("ns", "web", "x", nil, nil)
	broken.Annotations[application.AnnotationConstraint] = "{"
	if got := ForPod(broken, nodes(nil, nil)).Check("n1"); got == "" {
		t.Error("an unreadable constraint must keep the pod off every node")
	}
}

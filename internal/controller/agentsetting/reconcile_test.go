package agentsetting

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/attributes"
)

func node(mutate ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{corev1.LabelHostname: "n1"}},
		Status:     corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}}},
	}
	for _, m := range mutate {
		m(n)
	}
	return n
}

func applied(a Applied) func(*corev1.Node) {
	return func(n *corev1.Node) {
		b, _ := json.Marshal(a)
		if n.Annotations == nil {
			n.Annotations = map[string]string{}
		}
		n.Annotations[AnnotationApplied] = string(b)
	}
}

func cordoned(n *corev1.Node) { n.Spec.Unschedulable = true }

func taints(ts ...corev1.Taint) func(*corev1.Node) {
	return func(n *corev1.Node) { n.Spec.Taints = ts }
}

func noSchedule(k, v string) corev1.Taint {
	return corev1.Taint{Key: k, Value: v, Effect: corev1.TaintEffectNoSchedule}
}

func TestApply(t *testing.T) {
	adminTaint := corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoExecute}
	cases := []struct {
		name          string
		node          *corev1.Node
		spec          *v1alpha1.AgentSettingSpec
		unschedulable bool
		taints        []corev1.Taint
		attrs         string            // the attributes annotation ("" absent)
		labels        map[string]string // attribute labels expected
		applied       Applied
		changed       bool
	}{
		{name: "no setting, nothing set", node: node(), changed: false},
		{name: "disable cordons and owns it", node: node(), spec: &v1alpha1.AgentSettingSpec{Disabled: true},
			unschedulable: true, applied: Applied{Unschedulable: true}, changed: true},
		{name: "disable on an admin's cordon does not own it", node: node(cordoned), spec: &v1alpha1.AgentSettingSpec{Disabled: true},
			unschedulable: true, changed: false},
		{name: "enable uncordons what it cordoned", node: node(cordoned, applied(Applied{Unschedulable: true})),
			spec: &v1alpha1.AgentSettingSpec{}, changed: true},
		{name: "enable leaves an admin's cordon", node: node(cordoned), spec: &v1alpha1.AgentSettingSpec{},
			unschedulable: true, changed: false},
		{name: "deleted setting uncordons what it cordoned", node: node(cordoned, applied(Applied{Unschedulable: true})),
			changed: true},
		{name: "still disabled keeps ownership", node: node(cordoned, applied(Applied{Unschedulable: true})),
			spec: &v1alpha1.AgentSettingSpec{Disabled: true}, unschedulable: true, applied: Applied{Unschedulable: true}, changed: false},
		{name: "noSchedule adds taints beside an admin's", node: node(taints(adminTaint)),
			spec:   &v1alpha1.AgentSettingSpec{NoSchedule: map[string]string{"b": "2", "a": "1"}},
			taints: []corev1.Taint{adminTaint, noSchedule("a", "1"), noSchedule("b", "2")}, applied: Applied{Taints: []string{"a", "b"}}, changed: true},
		{name: "new noSchedule replaces the old", node: node(taints(adminTaint, noSchedule("a", "1")), applied(Applied{Taints: []string{"a"}})),
			spec:   &v1alpha1.AgentSettingSpec{NoSchedule: map[string]string{"c": "3"}},
			taints: []corev1.Taint{adminTaint, noSchedule("c", "3")}, applied: Applied{Taints: []string{"c"}}, changed: true},
		{name: "a NoSchedule taint of the same key is taken over", node: node(taints(noSchedule("a", "old"))),
			spec:   &v1alpha1.AgentSettingSpec{NoSchedule: map[string]string{"a": "new"}},
			taints: []corev1.Taint{noSchedule("a", "new")}, applied: Applied{Taints: []string{"a"}}, changed: true},
		{name: "deleted setting removes its taints only", node: node(taints(adminTaint, noSchedule("a", "1"), noSchedule("x", "admin")), applied(Applied{Taints: []string{"a"}})),
			taints: []corev1.Taint{adminTaint, noSchedule("x", "admin")}, changed: true},
		{name: "attributes: annotation and the labels that can be labels",
			node:    node(),
			spec:    &v1alpha1.AgentSettingSpec{Strings: map[string]string{"city": "shenzhen", "bad label": "x", "long": "has spaces"}, Scalars: map[string]float64{"cpu-score": 1.5}},
			attrs:   `{"strings":{"bad label":"x","city":"shenzhen","long":"has spaces"},"scalars":{"cpu-score":1.5}}`,
			labels:  map[string]string{attributes.LabelPrefix + "city": "shenzhen", attributes.LabelPrefix + "cpu-score": "1.5"},
			applied: Applied{Attributes: true, Labels: []string{attributes.LabelPrefix + "city", attributes.LabelPrefix + "cpu-score"}},
			changed: true},
		{name: "changed attributes drop the old labels",
			node: node(func(n *corev1.Node) {
				n.Labels[attributes.LabelPrefix+"city"] = "shenzhen"
				n.Annotations = map[string]string{attributes.Annotation: `{"strings":{"city":"shenzhen"}}`}
			}, applied(Applied{Attributes: true, Labels: []string{attributes.LabelPrefix + "city"}})),
			spec:    &v1alpha1.AgentSettingSpec{Strings: map[string]string{"zone": "a"}},
			attrs:   `{"strings":{"zone":"a"}}`,
			labels:  map[string]string{attributes.LabelPrefix + "zone": "a"},
			applied: Applied{Attributes: true, Labels: []string{attributes.LabelPrefix + "zone"}},
			changed: true},
		{name: "deleted setting removes its attributes",
			node: node(func(n *corev1.Node) {
				n.Labels[attributes.LabelPrefix+"city"] = "shenzhen"
				n.Annotations = map[string]string{attributes.Annotation: `{"strings":{"city":"shenzhen"}}`}
			}, applied(Applied{Attributes: true, Labels: []string{attributes.LabelPrefix + "city"}})),
			changed: true},
		{name: "attributes someone else wrote stay without a setting",
			node: node(func(n *corev1.Node) {
				n.Annotations = map[string]string{attributes.Annotation: `{"strings":{"city":"x"}}`}
			}),
			attrs: `{"strings":{"city":"x"}}`, changed: false},
		{name: "setting already applied is no change",
			node: node(cordoned, taints(noSchedule("a", "1")), func(n *corev1.Node) {
				n.Labels[attributes.LabelPrefix+"zone"] = "a"
				n.Annotations = map[string]string{attributes.Annotation: `{"strings":{"zone":"a"}}`}
			}, applied(Applied{Unschedulable: true, Taints: []string{"a"}, Attributes: true, Labels: []string{attributes.LabelPrefix + "zone"}})),
			spec:          &v1alpha1.AgentSettingSpec{Disabled: true, NoSchedule: map[string]string{"a": "1"}, Strings: map[string]string{"zone": "a"}},
			unschedulable: true, taints: []corev1.Taint{noSchedule("a", "1")}, attrs: `{"strings":{"zone":"a"}}`,
			labels:  map[string]string{attributes.LabelPrefix + "zone": "a"},
			applied: Applied{Unschedulable: true, Taints: []string{"a"}, Attributes: true, Labels: []string{attributes.LabelPrefix + "zone"}},
			changed: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.node.DeepCopy()
			got, changed := Apply(tc.node, tc.spec)
			if !equality.Semantic.DeepEqual(tc.node, before) {
				t.Fatal("Apply changed its input")
			}
			if changed != tc.changed {
				t.Errorf("changed = %v, want %v", changed, tc.changed)
			}
			if got.Spec.Unschedulable != tc.unschedulable {
				t.Errorf("unschedulable = %v, want %v", got.Spec.Unschedulable, tc.unschedulable)
			}
			if !equality.Semantic.DeepEqual(got.Spec.Taints, tc.taints) {
				t.Errorf("taints = %v, want %v", got.Spec.Taints, tc.taints)
			}
			if a := got.Annotations[attributes.Annotation]; a != tc.attrs {
				t.Errorf("attributes annotation = %q, want %q", a, tc.attrs)
			}
			labels := map[string]string{}
			for k, v := range got.Labels {
				if k != corev1.LabelHostname {
					labels[k] = v
				}
			}
			if tc.labels == nil {
				tc.labels = map[string]string{}
			}
			if !equality.Semantic.DeepEqual(labels, tc.labels) {
				t.Errorf("labels = %v, want %v", labels, tc.labels)
			}
			if got.Labels[corev1.LabelHostname] != "n1" {
				t.Errorf("the hostname label is gone: %v", got.Labels)
			}
			if a := AppliedOf(got); !equality.Semantic.DeepEqual(a, tc.applied) {
				t.Errorf("applied = %+v, want %+v", a, tc.applied)
			}
			// Applying again changes nothing.
			if again, changed := Apply(got, tc.spec); changed {
				t.Errorf("a second Apply changes the node: %+v", again)
			}
		})
	}
}

func TestNodeName(t *testing.T) {
	withIP := func(name, ip string) *corev1.Node {
		n := node()
		n.Name, n.Status.Addresses = name, []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}
		return n
	}
	nodes := []*corev1.Node{withIP("b", "10.0.0.1"), withIP("a", "10.0.0.1"), withIP("c", "10.0.0.2")}
	for ip, want := range map[string]string{"10.0.0.1": "a", "10.0.0.2": "c", "10.0.0.3": "", "": ""} {
		if got := NodeName(ip, nodes); got != want {
			t.Errorf("NodeName(%q) = %q, want %q", ip, got, want)
		}
	}
}

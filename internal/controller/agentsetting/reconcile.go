// Package agentsetting is the controller of BCS agent settings
// (bcs.podyard.io AgentSettings): each setting is applied to the Nodes
// whose InternalIP is its innerIP, now or when such a node registers. A
// disabled setting cordons the node, noSchedule becomes NoSchedule taints,
// strings and scalars become the node's BCS attributes (the annotation
// and labels of internal/bcs/attributes, which the scheduler's constraint
// filter reads), and status.nodeName says where it applies. What the
// controller set is recorded on the Node, so that it takes back only its
// own: an admin's cordon or taints stay. Apply is pure; controller.go is
// the loop.
package agentsetting

import (
	"encoding/json"
	"maps"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/attributes"
)

// AnnotationApplied records on a Node what its agent setting put there
// (JSON Applied).
const AnnotationApplied = "bcs.podyard.io/agent-setting-applied"

// Applied is what a setting set on a Node.
type Applied struct {
	// Unschedulable: the setting cordoned the node (it was not cordoned
	// before).
	Unschedulable bool `json:"unschedulable,omitempty"`
	// Taints are the keys of the NoSchedule taints it set.
	Taints []string `json:"taints,omitempty"`
	// Attributes: it wrote the attributes annotation.
	Attributes bool `json:"attributes,omitempty"`
	// Labels are the attribute labels it set.
	Labels []string `json:"labels,omitempty"`
}

// AppliedOf reads what a setting set on node (nothing when unreadable:
// then nothing is taken back).
func AppliedOf(node *corev1.Node) Applied {
	var a Applied
	if s := node.Annotations[AnnotationApplied]; s != "" {
		_ = json.Unmarshal([]byte(s), &a)
	}
	return a
}

// Apply is node as spec wants it (spec nil: no setting for its address),
// given what a setting set before: a copy, and whether it differs.
//
//   - disabled cordons the node; when no longer disabled the controller
//     uncordons it only if it was the one that cordoned it. A node an admin
//     cordoned stays cordoned either way.
//   - the NoSchedule taints it set before are replaced by noSchedule's
//     (a taint of the same key and effect is taken over); others stay.
//   - the attributes annotation and the attribute labels it set before are
//     replaced by strings and scalars'.
func Apply(node *corev1.Node, spec *v1alpha1.AgentSettingSpec) (*corev1.Node, bool) {
	prev := AppliedOf(node)
	out := node.DeepCopy()
	var now Applied
	if spec == nil {
		spec = &v1alpha1.AgentSettingSpec{}
	}

	switch {
	case spec.Disabled && !node.Spec.Unschedulable:
		out.Spec.Unschedulable, now.Unschedulable = true, true
	case spec.Disabled:
		now.Unschedulable = prev.Unschedulable // ours if it was ours
	case prev.Unschedulable && node.Spec.Unschedulable:
		out.Spec.Unschedulable = false
	}

	ours := map[string]bool{}
	for _, k := range prev.Taints {
		ours[k] = true
	}
	var taints []corev1.Taint
	for _, t := range node.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule && (ours[t.Key] || hasKey(spec.NoSchedule, t.Key)) {
			continue
		}
		taints = append(taints, t)
	}
	for _, k := range slices.Sorted(maps.Keys(spec.NoSchedule)) {
		taints = append(taints, corev1.Taint{Key: k, Value: spec.NoSchedule[k], Effect: corev1.TaintEffectNoSchedule})
		now.Taints = append(now.Taints, k)
	}
	out.Spec.Taints = taints

	for _, k := range prev.Labels {
		delete(out.Labels, k)
	}
	set := attributes.Set{Strings: spec.Strings, Scalars: spec.Scalars}
	if value := attributes.Encode(set); value != "" {
		out.Annotations = with(out.Annotations, attributes.Annotation, value)
		now.Attributes = true
	} else if prev.Attributes {
		delete(out.Annotations, attributes.Annotation)
	}
	labels := attributes.Labels(set)
	for k, v := range labels {
		if out.Labels == nil {
			out.Labels = map[string]string{}
		}
		out.Labels[k] = v
	}
	now.Labels = slices.Sorted(maps.Keys(labels))
	sort.Strings(now.Taints)

	if now.Unschedulable || len(now.Taints) > 0 || now.Attributes || len(now.Labels) > 0 {
		b, _ := json.Marshal(now) // strings and bools always marshal
		out.Annotations = with(out.Annotations, AnnotationApplied, string(b))
	} else {
		delete(out.Annotations, AnnotationApplied)
	}
	for _, m := range []*map[string]string{&out.Labels, &out.Annotations} {
		if len(*m) == 0 && *m != nil {
			*m = nil
		}
	}
	if len(out.Spec.Taints) == 0 {
		out.Spec.Taints = nil
	}
	changed := !equality.Semantic.DeepEqual(out.Spec, node.Spec) ||
		!mapsEqual(out.Labels, node.Labels) || !mapsEqual(out.Annotations, node.Annotations)
	return out, changed
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

func with(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

func mapsEqual(a, b map[string]string) bool {
	return len(a) == len(b) && maps.Equal(a, b)
}

// NodeName is the status.nodeName of the setting of ip: the first by name
// of the nodes with that InternalIP ("" when none has it).
func NodeName(ip string, nodes []*corev1.Node) string {
	var names []string
	for _, n := range nodes {
		if attributes.InternalIP(n) == ip && ip != "" {
			names = append(names, n.Name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return slices.Min(names)
}

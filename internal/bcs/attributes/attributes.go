// Package attributes is how a node's BCS agent attributes travel: the agent
// setting controller writes them onto the Node, the scheduler reads them
// there to evaluate BCS constraints, and the BCS cluster views show them.
// Pure: no I/O.
package attributes

import (
	"encoding/json"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

const (
	// Annotation holds a node's attributes as JSON (Set): the whole truth,
	// since label values cannot hold every text.
	Annotation = "bcs.podyard.io/attributes"
	// LabelPrefix marks the attributes also shown as labels (those whose
	// name and value are valid in a label), for kubectl get -L and
	// selectors.
	LabelPrefix = "attributes.bcs.podyard.io/"
)

// Built-in attribute names every node has.
const (
	Hostname = "hostname"
	InnerIP  = "InnerIP"
)

// Set is a node's attributes: texts (BCS value type 103) and scalars (101).
type Set struct {
	Strings map[string]string  `json:"strings,omitempty"`
	Scalars map[string]float64 `json:"scalars,omitempty"`
}

// Value is one attribute's value.
type Value struct {
	Text     string
	Scalar   float64
	IsScalar bool
}

// String is the value as text (a scalar in its shortest form).
func (v Value) String() string {
	if v.IsScalar {
		return strconv.FormatFloat(v.Scalar, 'f', -1, 64)
	}
	return v.Text
}

// Of is node's attributes as the scheduler sees them: the ones set on it,
// plus hostname (the node's hostname label, else its name) and InnerIP (its
// InternalIP), which a setting cannot override.
func Of(node *corev1.Node) (map[string]Value, error) {
	set, err := Decode(node.Annotations[Annotation])
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", node.Name, err)
	}
	out := make(map[string]Value, len(set.Strings)+len(set.Scalars)+2)
	for k, v := range set.Strings {
		out[k] = Value{Text: v}
	}
	for k, v := range set.Scalars {
		out[k] = Value{Scalar: v, IsScalar: true}
	}
	host := node.Labels[corev1.LabelHostname]
	if host == "" {
		host = node.Name
	}
	out[Hostname] = Value{Text: host}
	out[InnerIP] = Value{Text: InternalIP(node)}
	return out, nil
}

// InternalIP is the node's InternalIP address ("" when it has none): its
// BCS InnerIP, the key of its agent setting.
func InternalIP(node *corev1.Node) string {
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	return ""
}

// Decode reads the annotation's value ("" is no attributes).
func Decode(s string) (Set, error) {
	var set Set
	if s == "" {
		return set, nil
	}
	if err := json.Unmarshal([]byte(s), &set); err != nil {
		return Set{}, fmt.Errorf("annotation %s: %w", Annotation, err)
	}
	return set, nil
}

// Encode is the annotation's value ("" for no attributes).
func Encode(set Set) string {
	if len(set.Strings) == 0 && len(set.Scalars) == 0 {
		return ""
	}
	b, _ := json.Marshal(set) // maps of strings and numbers always marshal
	return string(b)
}

// Labels are the attributes that can be labels, under LabelPrefix.
func Labels(set Set) map[string]string {
	out := map[string]string{}
	add := func(k, v string) {
		if len(validation.IsQualifiedName(LabelPrefix+k)) == 0 && len(validation.IsValidLabelValue(v)) == 0 {
			out[LabelPrefix+k] = v
		}
	}
	for k, v := range set.Strings {
		add(k, v)
	}
	for k, v := range set.Scalars {
		add(k, Value{Scalar: v, IsScalar: true}.String())
	}
	return out
}

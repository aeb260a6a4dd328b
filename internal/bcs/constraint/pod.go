package constraint

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/bcs/attributes"
)

// NodePods is a node and the pods on it: bound and unfinished, or being
// bound there.
type NodePods struct {
	Node *corev1.Node
	Pods []*corev1.Pod
}

// Checker checks the BCS constraint of one taskgroup Pod on the nodes of a
// cluster snapshot.
type Checker struct {
	eval     *Evaluator
	invalid  error            // the Pod's constraint cannot be read
	badNodes map[string]error // nodes whose attributes cannot be read
}

// Carries is whether pod carries a BCS constraint to check.
func Carries(pod *corev1.Pod) bool {
	_, ok := pod.Annotations[application.AnnotationConstraint]
	return ok
}

// FromPod is the constraint a taskgroup Pod carries (nil when none).
func FromPod(pod *corev1.Pod) (*v1alpha1.Constraint, error) {
	s, ok := pod.Annotations[application.AnnotationConstraint]
	if !ok {
		return nil, nil
	}
	var c v1alpha1.Constraint
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return nil, fmt.Errorf("annotation %s: %w", application.AnnotationConstraint, err)
	}
	if len(c.IntersectionItem) == 0 {
		return nil, nil
	}
	return &c, nil
}

// ForPod prepares the checks of pod's constraint over nodes; nil when pod
// has none. The application's other taskgroups are the Pods with its
// application label in its namespace; the other applications' are the
// other Pods with an application label.
func ForPod(pod *corev1.Pod, nodes []NodePods) *Checker {
	c, err := FromPod(pod)
	if err != nil {
		return &Checker{invalid: err}
	}
	if c == nil {
		return nil
	}
	cl := Snapshot{Attributes: make(map[string]map[string]attributes.Value, len(nodes))}
	ch := &Checker{}
	for _, n := range nodes {
		attrs, err := attributes.Of(n.Node)
		if err != nil {
			if ch.badNodes == nil {
				ch.badNodes = map[string]error{}
			}
			ch.badNodes[n.Node.Name] = err
		}
		cl.Attributes[n.Node.Name] = attrs
		for _, p := range n.Pods {
			app, ok := p.Labels[application.LabelApplication]
			if !ok || p.UID == pod.UID {
				continue
			}
			cl.Taskgroups = append(cl.Taskgroups, Taskgroup{App: p.Namespace + "/" + app, Node: n.Node.Name, Labels: p.Labels})
		}
	}
	ch.eval = NewEvaluator(c, pod.Namespace+"/"+pod.Labels[application.LabelApplication], cl)
	return ch
}

// Check is why the Pod cannot go to node, worded to follow "node(s) "
// ("didn't match BCS constraint UNIQUE hostname"); "" when it can. A nil
// Checker lets every node pass.
func (c *Checker) Check(node string) string {
	switch {
	case c == nil:
		return ""
	case c.invalid != nil:
		return "didn't match BCS constraint: " + c.invalid.Error()
	case c.badNodes[node] != nil:
		return "had unreadable BCS attributes"
	}
	if item := c.eval.Check(node); item != nil {
		return "didn't match BCS constraint " + Describe(item)
	}
	return ""
}

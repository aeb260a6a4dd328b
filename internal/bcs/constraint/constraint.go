// Package constraint evaluates BCS placement constraints as BCS's Mesos
// scheduler does (bcs-scheduler's strategy.ConstraintsFit): an
// application's constraint is a list of intersection items that must all
// hold on a node, each a union of rules of which one must hold. Rules look
// at the node's attributes (hostname, InnerIP and its agent settings, see
// internal/bcs/attributes) and at the taskgroups already placed: those of
// the same application (UNIQUE, GROUPBY, MAXPER) or of others (EXCLUDE).
// Pure: no I/O.
package constraint

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/attributes"
)

// Operators.
const (
	Unique     = "UNIQUE"     // no other taskgroup of the application on a node with the same value
	Cluster    = "CLUSTER"    // the value is the text, or one of the set
	GroupBy    = "GROUPBY"    // the value is one of the set, taskgroups spread evenly over the set
	Like       = "LIKE"       // the value matches the text (or one of the set): glob or regular expression
	Unlike     = "UNLIKE"     // the value matches neither
	MaxPer     = "MAXPER"     // at most text's number of taskgroups of the application per value
	Exclude    = "EXCLUDE"    // no taskgroup of another application with a label "k:v" of the set on the host
	Greater    = "GREATER"    // the (scalar) value is greater than the scalar
	Toleration = "TOLERATION" // tolerates the agent's noSchedule k=v (name=k, text v); always holds here
)

// Value types of a rule (BCS's ConstraintValue_Type).
const (
	TypeScalar = 1
	TypeRanges = 2
	TypeText   = 3
	TypeSet    = 4
)

// Taskgroup is a taskgroup placed on a node (or being placed there).
type Taskgroup struct {
	// App identifies its application ("namespace/name").
	App string
	// Node is the name of the node it is on.
	Node string
	// Labels are its labels, which EXCLUDE matches as "k:v".
	Labels map[string]string
}

// Snapshot is what rules look at besides the candidate node.
type Snapshot struct {
	// Attributes are every node's attributes, by node name.
	Attributes map[string]map[string]attributes.Value
	// Taskgroups are the taskgroups placed and not finished, the one being
	// placed excluded.
	Taskgroups []Taskgroup
}

// Evaluator checks one application's constraint against the nodes of a
// cluster.
type Evaluator struct {
	constraint *v1alpha1.Constraint
	app        string
	attrs      map[string]map[string]attributes.Value
	siblings   []string    // nodes of the application's other taskgroups, one per taskgroup
	others     []Taskgroup // other applications' taskgroups
}

// NewEvaluator prepares the checks of constraint (nil: none) for a
// taskgroup of app in the snapshot.
func NewEvaluator(constraint *v1alpha1.Constraint, app string, cluster Snapshot) *Evaluator {
	e := &Evaluator{constraint: constraint, app: app, attrs: cluster.Attributes}
	for _, tg := range cluster.Taskgroups {
		if tg.App == app {
			e.siblings = append(e.siblings, tg.Node)
		} else {
			e.others = append(e.others, tg)
		}
	}
	return e
}

// Check returns the first intersection item node does not satisfy, or nil
// when the node fits. A node missing from the cluster's attributes has
// none but hostname (its name).
func (e *Evaluator) Check(node string) *v1alpha1.ConstraintDataItem {
	if e.constraint == nil {
		return nil
	}
	attrs := e.attrs[node]
	if attrs == nil {
		attrs = map[string]attributes.Value{attributes.Hostname: {Text: node}}
	}
	for i := range e.constraint.IntersectionItem {
		item := &e.constraint.IntersectionItem[i]
		if !e.union(item, attrs) {
			return item
		}
	}
	return nil
}

// union holds when one of the item's rules holds.
func (e *Evaluator) union(item *v1alpha1.ConstraintDataItem, attrs map[string]attributes.Value) bool {
	for i := range item.UnionData {
		if e.rule(&item.UnionData[i], attrs) {
			return true
		}
	}
	return false
}

// rule is one rule on a node with attrs. As in BCS: TOLERATION always holds
// (taints are checked apart), EXCLUDE looks at the host alone, and every
// other rule fails on a node without the attribute.
func (e *Evaluator) rule(d *v1alpha1.ConstraintData, attrs map[string]attributes.Value) bool {
	switch d.Operate {
	case Toleration:
		return true
	case Exclude:
		return e.exclude(d, attrs[attributes.Hostname])
	}
	v, ok := attrs[d.Name]
	if !ok {
		return false
	}
	switch d.Operate {
	case Unique:
		return e.count(d.Name, v) == 0
	case Cluster:
		return cluster(d, v)
	case GroupBy:
		return e.groupBy(d, v)
	case MaxPer:
		return e.maxPer(d, v)
	case Like:
		return like(d, v)
	case Unlike:
		return unlike(d, v)
	case Greater:
		return d.Type == TypeScalar && d.Scalar != nil && v.IsScalar && v.Scalar > d.Scalar.Value
	}
	return false
}

// count is how many of the application's other taskgroups are on a node
// whose attribute name has value v.
func (e *Evaluator) count(name string, v attributes.Value) int {
	n := 0
	for _, node := range e.siblings {
		if w, ok := e.attrs[node][name]; ok && same(v, w) {
			n++
		}
	}
	return n
}

// same compares attributes as BCS does: scalars by number, texts by text,
// a scalar and a text never.
func same(a, b attributes.Value) bool {
	if a.IsScalar != b.IsScalar {
		return false
	}
	if a.IsScalar {
		return a.Scalar == b.Scalar
	}
	return a.Text == b.Text
}

// cluster: a text value equal to the text, or to an item of the set. BCS
// lets every other pairing (a scalar attribute, another value type) pass.
func cluster(d *v1alpha1.ConstraintData, v attributes.Value) bool {
	if v.IsScalar {
		return true
	}
	switch d.Type {
	case TypeText:
		return d.Text != nil && d.Text.Value == v.Text
	case TypeSet:
		return d.Set != nil && contains(d.Set.Item, v.Text)
	}
	return true
}

// groupBy: a text value in the set, and fewer of the application's
// taskgroups on it than its even share, ceil((others + 1) / len(set)).
func (e *Evaluator) groupBy(d *v1alpha1.ConstraintData, v attributes.Value) bool {
	if d.Type != TypeSet || d.Set == nil || len(d.Set.Item) == 0 || v.IsScalar || !contains(d.Set.Item, v.Text) {
		return false
	}
	limit := int(math.Ceil(float64(len(e.siblings)+1) / float64(len(d.Set.Item))))
	return e.count(d.Name, v) < limit
}

// maxPer: fewer of the application's taskgroups on the value than the
// text's number.
func (e *Evaluator) maxPer(d *v1alpha1.ConstraintData, v attributes.Value) bool {
	if d.Type != TypeText || d.Text == nil {
		return false
	}
	limit, err := strconv.Atoi(d.Text.Value)
	if err != nil {
		return false
	}
	return e.count(d.Name, v) < limit
}

// like: a text value matching the text or one of the set. BCS lets a
// scalar attribute, or a rule of another value type, pass.
func like(d *v1alpha1.ConstraintData, v attributes.Value) bool {
	if v.IsScalar {
		return true
	}
	switch d.Type {
	case TypeText:
		return d.Text != nil && Match(d.Text.Value, v.Text)
	case TypeSet:
		return d.Set != nil && matchAny(d.Set.Item, v.Text)
	}
	return true
}

// unlike: a text value matching neither the text nor any of the set; it
// passes where like does for want of a comparison. As everywhere here, a
// rule without the value its type names fails.
func unlike(d *v1alpha1.ConstraintData, v attributes.Value) bool {
	if v.IsScalar {
		return true
	}
	switch d.Type {
	case TypeText:
		return d.Text != nil && !Match(d.Text.Value, v.Text)
	case TypeSet:
		return d.Set != nil && !matchAny(d.Set.Item, v.Text)
	}
	return true
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if Match(p, s) {
			return true
		}
	}
	return false
}

// Match is BCS's LIKE test: s matches pattern as a shell glob (fnmatch
// without flags: '*' crosses '/') or contains a match of it as a regular
// expression (unanchored).
func Match(pattern, s string) bool {
	if glob(pattern, s) {
		return true
	}
	re, err := regexp.Compile(pattern)
	return err == nil && re.MatchString(s)
}

// exclude: no taskgroup of another application carrying a label "k:v" of
// the set is on a node with this hostname.
func (e *Evaluator) exclude(d *v1alpha1.ConstraintData, host attributes.Value) bool {
	if d.Type != TypeSet || d.Set == nil {
		return false
	}
	for _, tg := range e.others {
		if h, ok := e.attrs[tg.Node][attributes.Hostname]; !ok || h.Text != host.Text {
			continue
		}
		for k, v := range tg.Labels {
			if contains(d.Set.Item, k+":"+v) {
				return false
			}
		}
	}
	return true
}

func contains(items []string, s string) bool {
	for _, it := range items {
		if it == s {
			return true
		}
	}
	return false
}

// Describe names an intersection item for a scheduling message: its rules
// as "OPERATE name", joined by " or ".
func Describe(item *v1alpha1.ConstraintDataItem) string {
	parts := make([]string, 0, len(item.UnionData))
	for _, d := range item.UnionData {
		parts = append(parts, strings.TrimSpace(d.Operate+" "+d.Name))
	}
	return strings.Join(parts, " or ")
}

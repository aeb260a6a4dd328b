package constraint

import (
	"fmt"
	"testing"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/attributes"
)

func text(op, name, v string) v1alpha1.ConstraintData {
	return v1alpha1.ConstraintData{Operate: op, Name: name, Type: TypeText, Text: &v1alpha1.ConstraintText{Value: v}}
}

func set(op, name string, items ...string) v1alpha1.ConstraintData {
	return v1alpha1.ConstraintData{Operate: op, Name: name, Type: TypeSet, Set: &v1alpha1.ConstraintSet{Item: items}}
}

func scalar(op, name string, v float64) v1alpha1.ConstraintData {
	return v1alpha1.ConstraintData{Operate: op, Name: name, Type: TypeScalar, Scalar: &v1alpha1.ConstraintScalar{Value: v}}
}

func bare(op, name string) v1alpha1.ConstraintData {
	return v1alpha1.ConstraintData{Operate: op, Name: name}
}

// all is an intersection of one-rule items; or makes one item of a union.
func all(rules ...v1alpha1.ConstraintData) *v1alpha1.Constraint {
	c := &v1alpha1.Constraint{}
	for _, r := range rules {
		c.IntersectionItem = append(c.IntersectionItem, v1alpha1.ConstraintDataItem{UnionData: []v1alpha1.ConstraintData{r}})
	}
	return c
}

func or(rules ...v1alpha1.ConstraintData) v1alpha1.ConstraintDataItem {
	return v1alpha1.ConstraintDataItem{UnionData: rules}
}

func txt(s string) attributes.Value  { return attributes.Value{Text: s} }
func num(f float64) attributes.Value { return attributes.Value{Scalar: f, IsScalar: true} }
func host(n, ip string) map[string]attributes.Value {
	return map[string]attributes.Value{attributes.Hostname: txt(n), attributes.InnerIP: txt(ip)}
}

// testSnapshot: three nodes; n3 has no zone and its cores are text. The
// application web (being placed) has one taskgroup on n1; db (labels
// tier:db) one on n2; cache one on n3.
func testSnapshot() Snapshot {
	n1, n2, n3 := host("n1", "10.0.0.1"), host("n2", "10.0.0.2"), host("n3", "10.0.0.3")
	n1["zone"], n1["rack"], n1["cores"] = txt("sh-1"), txt("a"), num(8)
	n2["zone"], n2["rack"], n2["cores"] = txt("sz/1"), txt("b"), num(4)
	n3["rack"], n3["cores"] = txt("a"), txt("16")
	return Snapshot{
		Attributes: map[string]map[string]attributes.Value{"n1": n1, "n2": n2, "n3": n3},
		Taskgroups: []Taskgroup{
			{App: "ns/web", Node: "n1", Labels: map[string]string{"app": "web"}},
			{App: "ns/db", Node: "n2", Labels: map[string]string{"tier": "db", "app": "db"}},
			{App: "other/cache", Node: "n3", Labels: map[string]string{"tier": "cache"}},
		},
	}
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name       string
		constraint *v1alpha1.Constraint
		want       string // nodes n1 n2 n3 that fit, as "yyn"
	}{
		{"none", nil, "yyy"},
		{"empty", &v1alpha1.Constraint{}, "yyy"},

		{"UNIQUE hostname: not beside web's taskgroup", all(bare(Unique, "hostname")), "nyy"},
		{"UNIQUE rack: n3 shares n1's rack", all(bare(Unique, "rack")), "nyn"},
		{"UNIQUE InnerIP", all(bare(Unique, "InnerIP")), "nyy"},
		{"UNIQUE zone: missing on n3", all(bare(Unique, "zone")), "nyn"},
		{"UNIQUE cores: n3's text 16 is not n1's scalar", all(bare(Unique, "cores")), "nyy"},

		{"CLUSTER text", all(text(Cluster, "zone", "sh-1")), "ynn"},
		{"CLUSTER set", all(set(Cluster, "rack", "a", "c")), "yny"},
		{"CLUSTER hostname", all(set(Cluster, "hostname", "n2")), "nyn"},
		{"CLUSTER is exact, not a pattern", all(text(Cluster, "zone", "sh-*")), "nnn"},
		{"CLUSTER on a scalar attribute passes (as in BCS)", all(text(Cluster, "cores", "99")), "yyn"},
		{"CLUSTER of another value type passes", all(scalar(Cluster, "rack", 1)), "yyy"},
		{"CLUSTER without a value type passes (as in BCS)", all(bare(Cluster, "rack")), "yyy"},
		{"CLUSTER text missing its value", all(v1alpha1.ConstraintData{Operate: Cluster, Name: "rack", Type: TypeText}), "nnn"},

		{"LIKE glob", all(text(Like, "zone", "sh-*")), "ynn"},
		{"LIKE glob star crosses /", all(text(Like, "zone", "s*1")), "yyn"},
		{"LIKE regexp, unanchored", all(text(Like, "zone", `z/\d`)), "nyn"},
		{"LIKE set", all(set(Like, "hostname", "n[13]", "nomatch")), "yny"},
		{"LIKE on a missing attribute", all(text(Like, "zone", ".*")), "yyn"},
		{"LIKE on a scalar passes (as in BCS)", all(text(Like, "cores", "nothing")), "yyn"},
		{"UNLIKE glob", all(text(Unlike, "zone", "sh-*")), "nyn"},
		{"UNLIKE set", all(set(Unlike, "InnerIP", `10\.0\.0\.[12]`)), "nny"},
		{"UNLIKE n*: the expression n* is in every text", all(text(Unlike, "hostname", "n*")), "nnn"},
		{"UNLIKE on a missing attribute fails", all(text(Unlike, "zone", "x")), "yyn"},

		{"MAXPER 1 hostname", all(text(MaxPer, "hostname", "1")), "nyy"},
		{"MAXPER 2 hostname", all(text(MaxPer, "hostname", "2")), "yyy"},
		{"MAXPER 1 rack", all(text(MaxPer, "rack", "1")), "nyn"},
		{"MAXPER 0", all(text(MaxPer, "rack", "0")), "nnn"},
		{"MAXPER not a number", all(text(MaxPer, "rack", "two")), "nnn"},
		{"MAXPER of set type", all(set(MaxPer, "rack", "2")), "nnn"},

		{"GROUPBY 2 racks: share 1 each, a is taken", all(set(GroupBy, "rack", "a", "b")), "nyn"},
		{"GROUPBY 1 rack: share 2", all(set(GroupBy, "rack", "a")), "yny"},
		{"GROUPBY value outside the set", all(set(GroupBy, "zone", "sz/1")), "nyn"},
		{"GROUPBY of text type", all(text(GroupBy, "rack", "a")), "nnn"},
		{"GROUPBY empty set", all(set(GroupBy, "rack")), "nnn"},
		{"GROUPBY scalar attribute", all(set(GroupBy, "cores", "8")), "nnn"},

		{"GREATER", all(scalar(Greater, "cores", 4)), "ynn"},
		{"GREATER is strict", all(scalar(Greater, "cores", 8)), "nnn"},
		{"GREATER text attribute", all(scalar(Greater, "cores", 1)), "yyn"},
		{"GREATER of text type", all(text(Greater, "cores", "1")), "nnn"},
		{"GREATER missing", all(scalar(Greater, "memory", 1)), "nnn"},

		{"EXCLUDE tier:db keeps off n2", all(set(Exclude, "", "tier:db")), "yny"},
		{"EXCLUDE sees other namespaces", all(set(Exclude, "whatever", "tier:cache", "tier:db")), "ynn"},
		{"EXCLUDE ignores the application itself", all(set(Exclude, "", "app:web")), "yyy"},
		{"EXCLUDE needs k:v", all(set(Exclude, "", "tier=db")), "yyy"},
		{"EXCLUDE of text type", all(text(Exclude, "", "tier:db")), "nnn"},

		{"TOLERATION alone holds everywhere", all(text(Toleration, "dedicated", "gpu")), "yyy"},
		{"TOLERATION in a union makes it hold", &v1alpha1.Constraint{IntersectionItem: []v1alpha1.ConstraintDataItem{
			or(text(Cluster, "zone", "nowhere"), text(Toleration, "k", "v"))}}, "yyy"},

		{"union: either zone", &v1alpha1.Constraint{IntersectionItem: []v1alpha1.ConstraintDataItem{
			or(text(Cluster, "zone", "sh-1"), text(Cluster, "zone", "sz/1"))}}, "yyn"},
		{"union: a missing attribute leaves the other rule", &v1alpha1.Constraint{IntersectionItem: []v1alpha1.ConstraintDataItem{
			or(text(Like, "zone", "sz/*"), text(Cluster, "hostname", "n3"))}}, "nyy"},
		{"LIKE: sz* is also the expression s, z*", all(text(Like, "zone", "sz*")), "yyn"},
		{"intersection: rack a and unique host", all(text(Cluster, "rack", "a"), bare(Unique, "hostname")), "nny"},
		{"intersection of unions", &v1alpha1.Constraint{IntersectionItem: []v1alpha1.ConstraintDataItem{
			or(text(Cluster, "rack", "a"), text(Cluster, "rack", "b")),
			or(scalar(Greater, "cores", 5), text(Cluster, "hostname", "n2")),
		}}, "yyn"},
		{"an empty union holds nowhere", &v1alpha1.Constraint{IntersectionItem: []v1alpha1.ConstraintDataItem{{}}}, "nnn"},
		{"an unknown operator holds nowhere", all(text("SOMETIMES", "rack", "a")), "nnn"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEvaluator(tc.constraint, "ns/web", testSnapshot())
			got := ""
			for _, n := range []string{"n1", "n2", "n3"} {
				if e.Check(n) == nil {
					got += "y"
				} else {
					got += "n"
				}
			}
			if got != tc.want {
				t.Errorf("fits %s, want %s", got, tc.want)
			}
		})
	}
}

// TestCheckFirstFailing: the item reported is the first that fails, named
// by its rules.
func TestCheckFirstFailing(t *testing.T) {
	c := &v1alpha1.Constraint{IntersectionItem: []v1alpha1.ConstraintDataItem{
		or(text(Cluster, "rack", "a")),
		or(bare(Unique, "hostname"), text(Like, "zone", "none")),
		or(scalar(Greater, "cores", 100)),
	}}
	e := NewEvaluator(c, "ns/web", testSnapshot())
	for node, want := range map[string]string{"n1": "UNIQUE hostname or LIKE zone", "n2": "CLUSTER rack", "n3": "GREATER cores"} {
		item := e.Check(node)
		if item == nil || Describe(item) != want {
			t.Errorf("%s: got %v, want %q", node, item, want)
		}
	}
	// A node the snapshot lacks has a hostname and nothing else.
	if item := NewEvaluator(all(text(Cluster, "hostname", "n9")), "ns/web", testSnapshot()).Check("n9"); item != nil {
		t.Errorf("unknown node: %v", item)
	}
}

// TestGroupBySpreads: placing taskgroups one by one under GROUPBY over
// three zones fills them evenly, as BCS does, whatever the order nodes are
// tried in.
func TestGroupBySpreads(t *testing.T) {
	snap := Snapshot{Attributes: map[string]map[string]attributes.Value{}}
	nodes := []string{"a1", "a2", "b1", "c1", "c2", "c3"}
	for _, n := range nodes {
		attrs := host(n, "")
		attrs["zone"] = txt(n[:1])
		snap.Attributes[n] = attrs
	}
	c := all(set(GroupBy, "zone", "a", "b", "c"))
	for i := 0; i < 7; i++ {
		placed := false
		for _, n := range nodes {
			if NewEvaluator(c, "ns/app", snap).Check(n) == nil {
				snap.Taskgroups = append(snap.Taskgroups, Taskgroup{App: "ns/app", Node: n})
				placed = true
				break
			}
		}
		if !placed {
			t.Fatalf("taskgroup %d placed nowhere", i)
		}
	}
	per := map[string]int{}
	for _, tg := range snap.Taskgroups {
		per[tg.Node[:1]]++
	}
	if got := fmt.Sprint(per); got != "map[a:3 b:2 c:2]" {
		t.Errorf("per zone %s, want map[a:3 b:2 c:2]", got)
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "a/b", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"a?c", "abc", true},
		{"a?c", "ac", true}, // the expression a?c is in ac
		{"a?c", "ab", false},
		{"*.example.com", "host.example.com", true},
		{"[a-c]x", "bx", true},
		{"[!a-c]x", "bx", true}, // the expression's class holds ! and a-c
		{"[!a-c]x", "dx", true},
		{"[^a-c]x", "dx", true},
		{"[]]", "]", true},
		{`\*`, "*", true},
		{`\*`, "a", false},
		{"[ab", "[ab", true},
		{"sh-*", "sh-1", true},
		{"sh", "ssh-1", true},  // a regular expression, unanchored
		{"^sh$", "ssh", false}, // anchored on request
		{"(", "x", false},      // neither a glob match nor a valid expression
		{"a.c", "abc", true},   // '.' is any character to the expression
		{"*a*b*c*", "xaxbxc", true},
		{"**", "anything", true},
		{"10.0.0.*", "10.0.0.7", true},
		{"中*", "中文", true},
		{"?文", "中文", true},
	}
	for _, tc := range cases {
		if got := Match(tc.pattern, tc.s); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
	globs := []struct {
		pattern, s string
		want       bool
	}{
		{"sh", "ssh-1", false}, // the glob alone is anchored
		{"a?c", "ac", false},
		{"[!a-c]x", "bx", false},
		{"[!a-c]x", "dx", true},
		{"a*", "a", true},
		{"*c", "abc", true},
		{"a*b*", "aXbY", true},
		{"a*b", "aXbY", false},
		{"[a-]", "-", true},
		{`[\]]`, "]", true},
		{`ab\`, `ab\`, true},
	}
	for _, tc := range globs {
		if got := glob(tc.pattern, tc.s); got != tc.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

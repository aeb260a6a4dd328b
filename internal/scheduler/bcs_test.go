package scheduler

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/bcs/attributes"
)

// taskgroups are the Pods of an application posted with constraint (the
// JSON of its "constraint") and labels, built as the controller builds
// them.
func taskgroups(t *testing.T, app string, instances int, labels, constraint string) []*corev1.Pod {
	t.Helper()
	body := fmt.Sprintf(`{"apiVersion":"v4","kind":"application","metadata":{"name":%q,"namespace":"ns","labels":{%s}},"constraint":%s,
		"spec":{"instance":%d,"template":{"spec":{"containers":[{"image":"busybox","command":"sleep","resources":{"limits":{"cpu":"0.01","memory":"1"}}}]}}}}`,
		app, labels, constraint, instances)
	spec, err := application.Parse([]byte(body))
	if err != nil {
		t.Fatalf("%s: %v", app, err)
	}
	a := &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: "ns", UID: types.UID(app)}, Spec: spec}
	var pods []*corev1.Pod
	for i := range instances {
		p := application.Pod(a, application.PodOptions{Index: i, Cluster: "10001", UnixNano: int64(i)})
		p.UID = types.UID(p.Name)
		pods = append(pods, p)
	}
	return pods
}

func withAttributes(strings map[string]string, scalars map[string]float64) func(*corev1.Node) {
	return func(n *corev1.Node) {
		n.Annotations = map[string]string{attributes.Annotation: attributes.Encode(attributes.Set{Strings: strings, Scalars: scalars})}
	}
}

// placeAll places pods one after the other, as the loop does, each seeing
// the ones before it; the result is each pod's node or its FitError.
func placeAll(t *testing.T, pods []*corev1.Pod, nodes []NodeInfo) []string {
	t.Helper()
	var out []string
	for _, p := range pods {
		name, err := Place(p, nodes)
		var fit *FitError
		switch {
		case errors.As(err, &fit):
			out = append(out, fit.Error())
			continue
		case err != nil:
			t.Fatal(err)
		}
		out = append(out, name)
		for i := range nodes {
			if nodes[i].Node.Name == name {
				bound := p.DeepCopy()
				bound.Spec.NodeName = name
				nodes[i].Pods = append(nodes[i].Pods, bound)
			}
		}
	}
	return out
}

func TestPlaceBCSConstraints(t *testing.T) {
	zones := func() []NodeInfo {
		return []NodeInfo{
			{Node: node("a1", withAttributes(map[string]string{"zone": "sh-a"}, map[string]float64{"cores": 8}))},
			{Node: node("a2", withAttributes(map[string]string{"zone": "sh-a"}, map[string]float64{"cores": 4}))},
			{Node: node("b1", withAttributes(map[string]string{"zone": "sz-b"}, nil))},
		}
	}
	gpu := func(n *corev1.Node) {
		n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}
	}
	tests := []struct {
		name  string
		pods  func(t *testing.T) []*corev1.Pod
		nodes []NodeInfo
		want  []string
	}{
		{"UNIQUE hostname: one per node, the third nowhere", func(t *testing.T) []*corev1.Pod {
			return taskgroups(t, "web", 3, "", `{"IntersectionItem":[{"UnionData":[{"name":"hostname","operate":"UNIQUE"}]}]}`)
		}, []NodeInfo{{Node: node("n1")}, {Node: node("n2")}}, []string{"n1", "n2",
			"0/2 nodes are available: 2 node(s) didn't match BCS constraint UNIQUE hostname."}},
		{"UNIQUE zone", func(t *testing.T) []*corev1.Pod {
			return taskgroups(t, "web", 3, "", `{"intersectionItem":[{"unionData":[{"name":"zone","operate":"UNIQUE"}]}]}`)
		}, zones(), []string{"a1", "b1", "0/3 nodes are available: 3 node(s) didn't match BCS constraint UNIQUE zone."}},
		{"CLUSTER zone", func(t *testing.T) []*corev1.Pod {
			return taskgroups(t, "web", 2, "", `{"intersectionItem":[{"unionData":[{"name":"zone","operate":"CLUSTER","type":3,"text":{"value":"sz-b"}}]}]}`)
		}, zones(), []string{"b1", "b1"}},
		{"LIKE zone", func(t *testing.T) []*corev1.Pod {
			return taskgroups(t, "web", 3, "", `{"intersectionItem":[{"unionData":[{"name":"zone","operate":"LIKE","type":3,"text":{"value":"sh-*"}}]}]}`)
		}, zones(), []string{"a1", "a2", "a1"}},
		{"UNLIKE hostname set", func(t *testing.T) []*corev1.Pod {
			return taskgroups(t, "web", 1, "", `{"intersectionItem":[{"unionData":[{"name":"hostname","operate":"UNLIKE","type":4,"set":{"item":["a[0-9]","x"]}}]}]}`)
		}, zones(), []string{"b1"}},
		{"MAXPER 2 per zone", func(t *testing.T) []*corev1.Pod {
			return taskgroups(t, "web", 5, "", `{"intersectionItem":[{"unionData":[{"name":"zone","operate":"MAXPER","type":3,"text":{"value":"2"}}]}]}`)
		}, zones(), []string{"a1", "a2", "b1", "b1", "0/3 nodes are available: 3 node(s) didn't match BCS constraint MAXPER zone."}},
		{"GROUPBY zone spreads evenly over the set", func(t *testing.T) []*corev1.Pod {
			return taskgroups(t, "web", 4, "", `{"intersectionItem":[{"unionData":[{"name":"zone","operate":"GROUPBY","type":4,"set":{"item":["sh-a","sz-b"]}}]}]}`)
		}, zones(), []string{"a1", "b1", "a2", "b1"}},
		{"GREATER cores", func(t *testing.T) []*corev1.Pod {
			return taskgroups(t, "web", 1, "", `{"intersectionItem":[{"unionData":[{"name":"cores","operate":"GREATER","type":1,"scalar":{"value":4}}]}]}`)
		}, zones(), []string{"a1"}},
		{"a union: cores above 16 or zone sz-b", func(t *testing.T) []*corev1.Pod {
			return taskgroups(t, "web", 1, "", `{"intersectionItem":[{"unionData":[{"name":"cores","operate":"GREATER","type":1,"scalar":{"value":16}},
				{"name":"zone","operate":"CLUSTER","type":3,"text":{"value":"sz-b"}}]}]}`)
		}, zones(), []string{"b1"}},
		{"EXCLUDE another application's label", func(t *testing.T) []*corev1.Pod {
			db := taskgroups(t, "db", 1, `"tier":"db"`, `{"intersectionItem":[{"unionData":[{"name":"hostname","operate":"CLUSTER","type":3,"text":{"value":"n1"}}]}]}`)
			web := taskgroups(t, "web", 2, "", `{"intersectionItem":[{"unionData":[{"name":"","operate":"EXCLUDE","type":4,"set":{"item":["tier:db"]}}]}]}`)
			return append(db, web...)
		}, []NodeInfo{{Node: node("n1")}, {Node: node("n2")}}, []string{"n1", "n2", "n2"}},
		{"a NoSchedule node takes only the TOLERATION application", func(t *testing.T) []*corev1.Pod {
			const onN2 = `{"name":"hostname","operate":"CLUSTER","type":3,"text":{"value":"n2"}}`
			plain := taskgroups(t, "plain", 1, "", `{"intersectionItem":[{"unionData":[`+onN2+`]}]}`)
			tolerant := taskgroups(t, "tolerant", 1, "", `{"intersectionItem":[{"unionData":[`+onN2+`]},
				{"unionData":[{"name":"dedicated","operate":"TOLERATION","type":3,"text":{"value":"gpu"}}]}]}`)
			other := taskgroups(t, "other", 1, "", `{"intersectionItem":[{"unionData":[`+onN2+`]},
				{"unionData":[{"name":"dedicated","operate":"TOLERATION","type":3,"text":{"value":"db"}}]}]}`)
			return slices.Concat(plain, tolerant, other)
		}, []NodeInfo{{Node: node("n1")}, {Node: node("n2", gpu)}}, []string{
			"0/2 nodes are available: 1 node(s) didn't match BCS constraint CLUSTER hostname, 1 node(s) had untolerated taint {dedicated: gpu}.",
			"n2",
			"0/2 nodes are available: 1 node(s) didn't match BCS constraint CLUSTER hostname, 1 node(s) had untolerated taint {dedicated: gpu}.",
		}},
		{"a missing attribute", func(t *testing.T) []*corev1.Pod {
			return taskgroups(t, "web", 1, "", `{"intersectionItem":[{"unionData":[{"name":"rack","operate":"CLUSTER","type":3,"text":{"value":"r1"}}]}]}`)
		}, zones(), []string{"0/3 nodes are available: 3 node(s) didn't match BCS constraint CLUSTER rack."}},
		{"unreadable node attributes", func(t *testing.T) []*corev1.Pod {
			return taskgroups(t, "web", 1, "", `{"intersectionItem":[{"unionData":[{"name":"hostname","operate":"UNIQUE"}]}]}`)
		}, []NodeInfo{{Node: node("n1", func(n *corev1.Node) { n.Annotations = map[string]string{attributes.Annotation: "{"} })}, {Node: node("n2")}},
			[]string{"n2"}},
		{"no constraint: placed as any pod", func(t *testing.T) []*corev1.Pod {
			return taskgroups(t, "web", 3, "", `{"selector":{},"IntersectionItem":[]}`)
		}, []NodeInfo{{Node: node("n1")}, {Node: node("n2")}}, []string{"n1", "n2", "n1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := placeAll(t, tt.pods(t), tt.nodes); !slices.Equal(got, tt.want) {
				t.Errorf("placed\n  %q\nwant\n  %q", got, tt.want)
			}
		})
	}
}

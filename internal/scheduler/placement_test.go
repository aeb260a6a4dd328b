package scheduler

import (
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func node(name string, mod ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("2"),
				corev1.ResourceMemory: resource.MustParse("4Gi"),
				corev1.ResourcePods:   resource.MustParse("10"),
			},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
	for _, m := range mod {
		m(n)
	}
	return n
}

func pod(name string, mod ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name)},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}},
	}
	for _, m := range mod {
		m(p)
	}
	return p
}

func requests(cpu, mem string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{}
		if cpu != "" {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = resource.MustParse(mem)
		}
	}
}

func hostPortPod(port int32, ip string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: port, HostPort: port, HostIP: ip}}
	}
}

func TestFilter(t *testing.T) {
	notReady := func(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionUnknown }
	cordoned := func(n *corev1.Node) { n.Spec.Unschedulable = true }
	tainted := func(n *corev1.Node) {
		n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}}
	}
	preferTaint := func(n *corev1.Node) {
		n.Spec.Taints = []corev1.Taint{{Key: "soft", Effect: corev1.TaintEffectPreferNoSchedule}}
	}
	tolerateDB := func(p *corev1.Pod) {
		p.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "db", Effect: corev1.TaintEffectNoSchedule}}
	}
	selector := func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }
	ssd := func(n *corev1.Node) { n.Labels["disk"] = "ssd" }
	affinity := func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a", "b"}}},
			}}},
		}}
	}
	zoneB := func(n *corev1.Node) { n.Labels["zone"] = "b" }
	twoPods := func(n *corev1.Node) { n.Status.Allocatable[corev1.ResourcePods] = resource.MustParse("2") }

	tests := []struct {
		name     string
		pod      *corev1.Pod
		node     *corev1.Node
		existing []*corev1.Pod
		want     []string
	}{
		{"fits", pod("p"), node("n"), nil, nil},
		{"not ready", pod("p"), node("n", notReady), nil, []string{ReasonNotReady}},
		{"cordoned", pod("p"), node("n", cordoned), nil, []string{ReasonUnschedulable}},
		{"cordoned but tolerated", pod("p", func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists}}
		}), node("n", cordoned), nil, nil},
		{"taint", pod("p"), node("n", tainted), nil, []string{"node(s) had untolerated taint {dedicated: db}"}},
		{"taint tolerated", pod("p", tolerateDB), node("n", tainted), nil, nil},
		{"PreferNoSchedule does not filter", pod("p"), node("n", preferTaint), nil, nil},
		{"nodeSelector miss", pod("p", selector), node("n"), nil, []string{ReasonAffinity}},
		{"nodeSelector hit", pod("p", selector), node("n", ssd), nil, nil},
		{"affinity miss", pod("p", affinity), node("n"), nil, []string{ReasonAffinity}},
		{"affinity hit", pod("p", affinity), node("n", zoneB), nil, nil},
		{"cpu", pod("p", requests("1500m", "")), node("n"), []*corev1.Pod{pod("q", requests("1", ""))}, []string{"Insufficient cpu"}},
		{"cpu and memory", pod("p", requests("3", "5Gi")), node("n"), nil, []string{"Insufficient cpu", "Insufficient memory"}},
		{"exactly full fits", pod("p", requests("1", "")), node("n"), []*corev1.Pod{pod("q", requests("1", ""))}, nil},
		{"unknown extended resource", pod("p", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{"example.com/gpu": resource.MustParse("1")}
		}), node("n"), nil, []string{"Insufficient example.com/gpu"}},
		{"init container counted as max", pod("p", requests("1", ""), func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "i", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("3")}}}}
		}), node("n"), nil, []string{"Insufficient cpu"}},
		{"too many pods", pod("p"), node("n", twoPods), []*corev1.Pod{pod("a"), pod("b")}, []string{ReasonTooManyPods}},
		{"host port taken", pod("p", hostPortPod(80, "")), node("n"), []*corev1.Pod{pod("q", hostPortPod(80, "10.0.0.1"))}, []string{ReasonPorts}},
		{"host port other ip", pod("p", hostPortPod(80, "10.0.0.2")), node("n"), []*corev1.Pod{pod("q", hostPortPod(80, "10.0.0.1"))}, nil},
		{"host port other port", pod("p", hostPortPod(81, "")), node("n"), []*corev1.Pod{pod("q", hostPortPod(80, ""))}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Filter(tt.pod, NodeInfo{Node: tt.node, Pods: tt.existing})
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Filter = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPlace(t *testing.T) {
	owner := func(uid string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			yes := true
			p.OwnerReferences = []metav1.OwnerReference{{UID: types.UID(uid), Controller: &yes}}
		}
	}
	tests := []struct {
		name    string
		pod     *corev1.Pod
		nodes   []NodeInfo
		want    string
		wantErr string
	}{
		{"no nodes", pod("p"), nil, "", "no nodes available to schedule pods"},
		{"least allocated wins", pod("p", requests("500m", "")), []NodeInfo{
			{Node: node("a"), Pods: []*corev1.Pod{pod("x", requests("1", ""))}},
			{Node: node("b")},
		}, "b", ""},
		{"spread beats a small load difference", pod("p", owner("rs")), []NodeInfo{
			{Node: node("a"), Pods: []*corev1.Pod{pod("s1", owner("rs")), pod("s2", owner("rs"))}},
			{Node: node("b"), Pods: []*corev1.Pod{pod("o1"), pod("o2"), pod("o3")}},
		}, "b", ""},
		{"ties go to the first name", pod("p"), []NodeInfo{{Node: node("b")}, {Node: node("a")}}, "a", ""},
		{"nothing fits", pod("p", requests("3", "")), []NodeInfo{
			{Node: node("a")},
			{Node: node("b", func(n *corev1.Node) { n.Spec.Unschedulable = true })},
			{Node: node("c")},
		}, "", "0/3 nodes are available: 1 node(s) were unschedulable, 3 Insufficient cpu."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Place(tt.pod, tt.nodes)
			if got != tt.want || fmt.Sprint(err) != fmt.Sprint(errOrNil(tt.wantErr)) {
				t.Fatalf("Place = %q, %v; want %q, %q", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func errOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

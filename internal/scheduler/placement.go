// Package scheduler places pods on nodes. Placement (this file) is pure:
// filters say whether a pod fits a node and why not (a BCS taskgroup's
// constraint among them, internal/bcs/constraint), scores rank the nodes
// that fit. The loop that feeds it and binds is in scheduler.go.
package scheduler

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	resourcehelper "k8s.io/component-helpers/resource"
	schedhelper "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"

	"github.com/podyard/podyard/internal/bcs/constraint"
)

// NodeInfo is a node and the pods that hold its resources.
type NodeInfo struct {
	Node *corev1.Node
	Pods []*corev1.Pod
}

// The reasons a node is filtered out, worded as kube-scheduler words them.
const (
	ReasonNotReady      = "node(s) were not ready"
	ReasonUnschedulable = "node(s) were unschedulable"
	ReasonAffinity      = "node(s) didn't match Pod's node affinity/selector"
	ReasonPorts         = "node(s) didn't have free ports for the requested pod ports"
	ReasonTooManyPods   = "Too many pods"
)

// FitError says why a pod fits no node.
type FitError struct {
	NumNodes int
	Reasons  map[string]int // reason → number of nodes it excluded
}

// Error is kube-scheduler's message: "0/3 nodes are available: 1 Insufficient
// cpu, 2 node(s) didn't match Pod's node affinity/selector."
func (e *FitError) Error() string {
	if e.NumNodes == 0 {
		return "no nodes available to schedule pods"
	}
	var parts []string
	for reason, n := range e.Reasons {
		parts = append(parts, fmt.Sprintf("%d %s", n, reason))
	}
	sort.Strings(parts)
	return fmt.Sprintf("0/%d nodes are available: %s.", e.NumNodes, strings.Join(parts, ", "))
}

// Place picks the best node for pod among nodes, or says why none fits.
// A BCS taskgroup's constraint is a filter too: it looks at the other
// taskgroups on every node, so it is prepared once per decision.
func Place(pod *corev1.Pod, nodes []NodeInfo) (string, error) {
	fit := &FitError{NumNodes: len(nodes), Reasons: map[string]int{}}
	best, bestScore := "", int64(-1)
	bcs := bcsConstraint(pod, nodes)
	for _, ni := range nodes {
		reasons := Filter(pod, ni)
		if r := bcs.Check(ni.Node.Name); r != "" {
			reasons = append(reasons, "node(s) "+r)
		}
		if len(reasons) > 0 {
			for _, r := range reasons {
				fit.Reasons[r]++
			}
			continue
		}
		// Ties go to the first name in order, so placement is repeatable.
		s := Score(pod, ni, nodes)
		if s > bestScore || s == bestScore && ni.Node.Name < best {
			best, bestScore = ni.Node.Name, s
		}
	}
	if best == "" {
		return "", fit
	}
	return best, nil
}

// Filter returns why pod cannot run on the node; none when it can.
func Filter(pod *corev1.Pod, ni NodeInfo) []string {
	node := ni.Node
	var reasons []string
	if !Ready(node) {
		reasons = append(reasons, ReasonNotReady)
	}
	if node.Spec.Unschedulable && !tolerates(pod, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}) {
		reasons = append(reasons, ReasonUnschedulable)
	}
	if ok, _ := nodeaffinity.GetRequiredNodeAffinity(pod).Match(node); !ok {
		reasons = append(reasons, ReasonAffinity)
	}
	if taint, untolerated := schedhelper.FindMatchingUntoleratedTaint(klog.Background(), node.Spec.Taints, pod.Spec.Tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	}, false); untolerated {
		reasons = append(reasons, fmt.Sprintf("node(s) had untolerated taint {%s: %s}", taint.Key, taint.Value))
	}
	if portsConflict(pod, ni.Pods) {
		reasons = append(reasons, ReasonPorts)
	}
	if max, ok := node.Status.Allocatable[corev1.ResourcePods]; ok && int64(len(ni.Pods))+1 > max.Value() {
		reasons = append(reasons, ReasonTooManyPods)
	}
	reasons = append(reasons, insufficient(pod, ni)...)
	return reasons
}

// bcsConstraint prepares the check of the BCS constraint pod carries; nil
// (every node passes) when it carries none.
func bcsConstraint(pod *corev1.Pod, nodes []NodeInfo) *constraint.Checker {
	if !constraint.Carries(pod) {
		return nil
	}
	snapshot := make([]constraint.NodePods, len(nodes))
	for i, ni := range nodes {
		snapshot[i] = constraint.NodePods{Node: ni.Node, Pods: ni.Pods}
	}
	return constraint.ForPod(pod, snapshot)
}

// Ready is whether the node's Ready condition is True.
func Ready(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func tolerates(pod *corev1.Pod, taint corev1.Taint) bool {
	return schedhelper.TolerationsTolerateTaint(klog.Background(), pod.Spec.Tolerations, &taint, false)
}

type hostPort struct {
	ip       string
	protocol corev1.Protocol
	port     int32
}

func hostPorts(pod *corev1.Pod) []hostPort {
	var out []hostPort
	for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
		for _, p := range c.Ports {
			if p.HostPort <= 0 {
				continue
			}
			proto := p.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			ip := p.HostIP
			if ip == "" {
				ip = "0.0.0.0"
			}
			out = append(out, hostPort{ip, proto, p.HostPort})
		}
	}
	return out
}

// portsConflict is whether pod wants a host port one of pods holds; the
// wildcard address conflicts with every address.
func portsConflict(pod *corev1.Pod, pods []*corev1.Pod) bool {
	want := hostPorts(pod)
	if len(want) == 0 {
		return false
	}
	for _, other := range pods {
		for _, held := range hostPorts(other) {
			for _, w := range want {
				if w.port == held.port && w.protocol == held.protocol &&
					(w.ip == held.ip || w.ip == "0.0.0.0" || held.ip == "0.0.0.0") {
					return true
				}
			}
		}
	}
	return false
}

// Requests is what a pod asks of a node: its containers' requests (init
// containers counted as the kubelet runs them) and overhead.
func Requests(pod *corev1.Pod) corev1.ResourceList {
	return resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
}

func requested(pods []*corev1.Pod) corev1.ResourceList {
	sum := corev1.ResourceList{}
	for _, p := range pods {
		for name, q := range Requests(p) {
			cur := sum[name]
			cur.Add(q)
			sum[name] = cur
		}
	}
	return sum
}

func insufficient(pod *corev1.Pod, ni NodeInfo) []string {
	want := Requests(pod)
	if len(want) == 0 {
		return nil
	}
	used := requested(ni.Pods)
	var reasons []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		q := want[name]
		if q.IsZero() {
			continue
		}
		alloc, ok := ni.Node.Status.Allocatable[name]
		if !ok {
			reasons = append(reasons, fmt.Sprintf("Insufficient %s", name))
			continue
		}
		free := alloc.DeepCopy()
		free.Sub(used[name])
		if free.Cmp(q) < 0 {
			reasons = append(reasons, fmt.Sprintf("Insufficient %s", name))
		}
	}
	return reasons
}

// Defaults used for scoring pods that request nothing, as kube-scheduler
// does, so such pods still spread by load.
const (
	defaultMilliCPU = 100
	defaultMemory   = 200 << 20
)

// Score ranks a node that fits: least allocated (CPU and memory, after the
// pod) and spread of the pod's workload (its controller's pods, else pods
// with the same labels) over all nodes. Higher is better; at most 200.
func Score(pod *corev1.Pod, ni NodeInfo, all []NodeInfo) int64 {
	return leastAllocated(pod, ni) + spread(pod, ni, all)
}

func leastAllocated(pod *corev1.Pod, ni NodeInfo) int64 {
	cpu, mem := nonZero(pod)
	for _, p := range ni.Pods {
		c, m := nonZero(p)
		cpu, mem = cpu+c, mem+m
	}
	alloc := ni.Node.Status.Allocatable
	score := func(used, capacity int64) int64 {
		if capacity <= 0 || used >= capacity {
			return 0
		}
		return (capacity - used) * 100 / capacity
	}
	return (score(cpu, alloc.Cpu().MilliValue()) + score(mem, alloc.Memory().Value())) / 2
}

func nonZero(pod *corev1.Pod) (milliCPU, memory int64) {
	req := Requests(pod)
	milliCPU, memory = defaultMilliCPU, defaultMemory
	if q, ok := req[corev1.ResourceCPU]; ok && !q.IsZero() {
		milliCPU = q.MilliValue()
	}
	if q, ok := req[corev1.ResourceMemory]; ok && !q.IsZero() {
		memory = q.Value()
	}
	return milliCPU, memory
}

// spread is 100 on the node with the fewest of the pod's siblings, 0 on
// the one with the most.
func spread(pod *corev1.Pod, ni NodeInfo, all []NodeInfo) int64 {
	counts := make(map[string]int, len(all))
	most := 0
	for _, n := range all {
		c := 0
		for _, p := range n.Pods {
			if siblings(pod, p) {
				c++
			}
		}
		counts[n.Node.Name] = c
		most = max(most, c)
	}
	if most == 0 {
		return 100
	}
	return int64(most-counts[ni.Node.Name]) * 100 / int64(most)
}

func siblings(a, b *corev1.Pod) bool {
	if a.Namespace != b.Namespace || a.UID == b.UID {
		return false
	}
	if owner := controllerUID(a); owner != "" {
		return owner == controllerUID(b)
	}
	if len(a.Labels) == 0 || len(a.Labels) != len(b.Labels) {
		return false
	}
	for k, v := range a.Labels {
		if b.Labels[k] != v {
			return false
		}
	}
	return true
}

func controllerUID(p *corev1.Pod) types.UID {
	for _, ref := range p.OwnerReferences {
		if ref.Controller != nil && *ref.Controller {
			return ref.UID
		}
	}
	return ""
}

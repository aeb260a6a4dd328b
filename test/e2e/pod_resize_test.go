package e2e

import (
	"context"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestPodResize: `kubectl patch pod --subresource resize` changes a running
// pod's cpu and memory in place (InPlacePodVerticalScaling): the spec and
// the container's status resources show the new values, the container is
// not restarted and, as root, its cgroup has the new limits; a resize that
// would change the QoS class is 422, one of a missing pod 404.
func TestPodResize(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods(ns)

	rl := func(cpu, mem string) corev1.ResourceList {
		return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
	}
	pod := shPod("resized", "exec sleep 3600")
	pod.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: rl("100m", "32Mi"), Limits: rl("200m", "64Mi")}
	createPod(t, s, ns, pod)
	before := waitPod(t, s, ns, "resized", "running with its resources in the status", func(p *corev1.Pod) bool {
		return running(p) && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Running != nil &&
			p.Status.ContainerStatuses[0].Resources != nil
	})
	startedAt := before.Status.ContainerStatuses[0].State.Running.StartedAt

	// GET .../resize answers the pod.
	var got corev1.Pod
	if err := s.Client.CoreV1().RESTClient().Get().Namespace(ns).Resource("pods").Name("resized").SubResource("resize").Do(ctx).Into(&got); err != nil || got.Name != "resized" {
		t.Fatalf("get resize: %v %q", err, got.Name)
	}

	s.Kubectl("patch", "pod", "resized", "-n", ns, "--subresource", "resize", "--patch",
		`{"spec":{"containers":[{"name":"main","resources":{"limits":{"cpu":"400m","memory":"128Mi"}}}]}}`)
	after := waitPod(t, s, ns, "resized", "the new limits in the container's status", func(p *corev1.Pod) bool {
		r := p.Status.ContainerStatuses[0].Resources
		if r == nil || r.Limits.Cpu().String() != "400m" || r.Limits.Memory().String() != "128Mi" {
			return false
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodResizeInProgress || c.Type == corev1.PodResizePending {
				return false
			}
		}
		return true
	})
	c := after.Spec.Containers[0]
	if c.Resources.Limits.Cpu().String() != "400m" || c.Resources.Limits.Memory().String() != "128Mi" || c.Resources.Requests.Cpu().String() != "100m" {
		t.Errorf("spec resources after the resize: %+v", c.Resources)
	}
	if after.Generation != before.Generation+1 {
		t.Errorf("generation %d, want %d", after.Generation, before.Generation+1)
	}
	cs := after.Status.ContainerStatuses[0]
	if cs.RestartCount != 0 || cs.State.Running == nil || !cs.State.Running.StartedAt.Equal(&startedAt) {
		t.Errorf("the container restarted: restartCount %d, state %+v (started %v before)", cs.RestartCount, cs.State, startedAt)
	}
	if cs.AllocatedResources.Cpu().String() != "100m" || cs.AllocatedResources.Memory().String() != "32Mi" {
		t.Errorf("allocatedResources %v", cs.AllocatedResources)
	}
	if after.Status.QOSClass != corev1.PodQOSBurstable {
		t.Errorf("QoS class %s", after.Status.QOSClass)
	}

	if os.Geteuid() == 0 {
		limits := s.Kubectl("exec", "resized", "-n", ns, "--", "sh", "-c",
			`if [ -f /sys/fs/cgroup/cgroup.controllers ]; then d=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup); cat $d/cpu.max $d/memory.max; `+
				`else cat /sys/fs/cgroup/cpu$(grep -E '^[0-9]+:([^:]*,)?cpu(,[^:]*)?:' /proc/self/cgroup | cut -d: -f3)/cpu.cfs_quota_us `+
				`/sys/fs/cgroup/memory$(grep -E '^[0-9]+:([^:]*,)?memory(,[^:]*)?:' /proc/self/cgroup | cut -d: -f3)/memory.limit_in_bytes; fi`)
		fields := strings.Fields(limits)
		if q := fields[0]; q != "40000" || fields[len(fields)-1] != "134217728" {
			t.Errorf("cgroup after the resize: want a cpu quota of 40000 µs and a memory limit of 134217728, got %q", limits)
		}
	}

	// More cpu than the node has: accepted by the API, but the node leaves
	// it pending (Infeasible) and the container runs on as it was.
	s.Kubectl("patch", "pod", "resized", "-n", ns, "--subresource", "resize", "--patch",
		`{"spec":{"containers":[{"name":"main","resources":{"requests":{"cpu":"4000"},"limits":{"cpu":"8000"}}}]}}`)
	pending := waitPod(t, s, ns, "resized", "PodResizePending", func(p *corev1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodResizePending && c.Status == corev1.ConditionTrue {
				return true
			}
		}
		return false
	})
	for _, c := range pending.Status.Conditions {
		if c.Type == corev1.PodResizePending && (c.Reason != corev1.PodReasonInfeasible || !strings.HasPrefix(c.Message, "Node didn't have enough capacity: cpu, requested: 4000000, capacity: ") || c.ObservedGeneration != pending.Generation) {
			t.Errorf("PodResizePending: %+v", c)
		}
	}
	if r := pending.Status.ContainerStatuses[0].Resources; r == nil || r.Limits.Cpu().String() != "400m" {
		t.Errorf("a pending resize shows in the status resources: %+v", r)
	}
	// Back to what it runs with: nothing pending any more.
	s.Kubectl("patch", "pod", "resized", "-n", ns, "--subresource", "resize", "--patch",
		`{"spec":{"containers":[{"name":"main","resources":{"requests":{"cpu":"100m"},"limits":{"cpu":"400m"}}}]}}`)
	waitPod(t, s, ns, "resized", "no PodResizePending", func(p *corev1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodResizePending {
				return false
			}
		}
		return true
	})

	// Requests equal to the limits would make it Guaranteed: refused.
	_, errOut, err := s.KubectlResult("", "patch", "pod", "resized", "-n", ns, "--subresource", "resize", "--patch",
		`{"spec":{"containers":[{"name":"main","resources":{"requests":{"cpu":"400m","memory":"128Mi"}}}]}}`)
	if err == nil || !strings.Contains(errOut, "Pod QOS Class may not change as a result of resizing") {
		t.Errorf("QoS-changing resize: err %v, stderr %s", err, errOut)
	}
	patch := []byte(`{"spec":{"containers":[{"name":"main","resources":{"requests":{"cpu":"400m","memory":"128Mi"}}}]}}`)
	_, err = pods.Patch(ctx, "resized", types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "resize")
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `spec: Invalid value: "Guaranteed": Pod QOS Class may not change as a result of resizing`) {
		t.Errorf("QoS-changing resize: want 422, got %v", err)
	}
	// Only cpu and memory may change through resize.
	other := []byte(`{"spec":{"containers":[{"name":"main","resources":{"limits":{"ephemeral-storage":"1Gi"}}}]}}`)
	if _, err := pods.Patch(ctx, "resized", types.StrategicMergePatchType, other, metav1.PatchOptions{}, "resize"); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "only cpu and memory resources are mutable") {
		t.Errorf("ephemeral-storage resize: want 422, got %v", err)
	}

	// A missing pod.
	if _, err := pods.Patch(ctx, "missing", types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "resize"); !apierrors.IsNotFound(err) {
		t.Errorf("resize of a missing pod: want 404, got %v", err)
	}
	if _, errOut, err := s.KubectlResult("", "patch", "pod", "missing", "-n", ns, "--subresource", "resize", "--patch", string(patch)); err == nil || !strings.Contains(errOut, "NotFound") && !strings.Contains(errOut, "not found") {
		t.Errorf("kubectl resize of a missing pod: err %v, stderr %s", err, errOut)
	}

	// Nothing restarted on the way.
	final, err := pods.Get(ctx, "resized", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cs := final.Status.ContainerStatuses[0]; cs.RestartCount != 0 || cs.State.Running == nil || !cs.State.Running.StartedAt.Equal(&startedAt) {
		t.Errorf("the container restarted: %+v", cs)
	}
}

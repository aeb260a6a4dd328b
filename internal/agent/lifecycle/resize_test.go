package lifecycle

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestFitResize(t *testing.T) {
	alloc := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("4Gi")}
	cases := []struct {
		name                       string
		cpu, mem, usedCPU, usedMem int64
		reason, message            string
	}{
		{"fits", 1000, 1 << 30, 2000, 2 << 30, "", ""},
		{"fits exactly", 2000, 2 << 30, 2000, 2 << 30, "", ""},
		{"cpu beyond the node", 5000, 1 << 30, 0, 0, corev1.PodReasonInfeasible, "Node didn't have enough capacity: cpu, requested: 5000, capacity: 4000"},
		{"memory beyond the node", 1000, 5 << 30, 0, 0, corev1.PodReasonInfeasible, "Node didn't have enough capacity: memory, requested: 5368709120, capacity: 4294967296"},
		{"cpu taken by others", 3000, 1 << 30, 2000, 0, corev1.PodReasonDeferred, "Node didn't have enough resource: cpu, requested: 3000, used: 2000, capacity: 4000"},
		{"memory taken by others", 1000, 3 << 30, 0, 2 << 30, corev1.PodReasonDeferred, "Node didn't have enough resource: memory, requested: 3221225472, used: 2147483648, capacity: 4294967296"},
	}
	for _, tc := range cases {
		reason, msg := FitResize(tc.cpu, tc.mem, tc.usedCPU, tc.usedMem, alloc)
		if reason != tc.reason || msg != tc.message {
			t.Errorf("%s: %q %q, want %q %q", tc.name, reason, msg, tc.reason, tc.message)
		}
	}
}

func TestRequests(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	req := func(cpu, mem string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}
	}
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init", Resources: req("1", "1Gi")}, {Name: "side", RestartPolicy: &always, Resources: req("100m", "10Mi")}},
		Containers:     []corev1.Container{{Name: "a", Resources: req("200m", "20Mi")}, {Name: "b", Resources: req("300m", "30Mi")}},
	}}
	if cpu, mem := Requests(pod, nil); cpu != 600 || mem != 60<<20 {
		t.Errorf("spec: %d %d", cpu, mem)
	}
	allocated := map[string]corev1.ResourceRequirements{"b": req("1", "1Mi")}
	if cpu, mem := Requests(pod, allocated); cpu != 1300 || mem != 31<<20 {
		t.Errorf("allocated: %d %d", cpu, mem)
	}
}

package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// resizeQOS is a small QoS computation for the tests: Guaranteed when
// every container has equal cpu and memory requests and limits,
// BestEffort when none has any, else Burstable.
func resizeQOS(spec *corev1.PodSpec) corev1.PodQOSClass {
	any, all := false, true
	for _, c := range spec.Containers {
		if len(c.Resources.Requests)+len(c.Resources.Limits) > 0 {
			any = true
		}
		for _, n := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			l, ok := c.Resources.Limits[n]
			r, rok := c.Resources.Requests[n]
			if !ok || (rok && r.Cmp(l) != 0) {
				all = false
			}
		}
	}
	switch {
	case !any:
		return corev1.PodQOSBestEffort
	case all:
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

func TestValidatePodResize(t *testing.T) {
	rl := func(kv ...string) corev1.ResourceList {
		out := corev1.ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		return out
	}
	base := func() *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", ResourceVersion: "1"},
			Spec: corev1.PodSpec{
				NodeName:      "n1",
				RestartPolicy: corev1.RestartPolicyAlways,
				Containers: []corev1.Container{{
					Name: "c", Image: "busybox", Command: []string{"sleep", "1000"},
					TerminationMessagePolicy: corev1.TerminationMessageReadFile, ImagePullPolicy: corev1.PullIfNotPresent,
					Resources: corev1.ResourceRequirements{Requests: rl("cpu", "100m", "memory", "64Mi"), Limits: rl("cpu", "200m", "memory", "128Mi")},
				}},
				DNSPolicy: corev1.DNSClusterFirst,
			},
			Status: corev1.PodStatus{
				Phase: corev1.PodRunning, QOSClass: corev1.PodQOSBurstable,
				ContainerStatuses: []corev1.ContainerStatus{{Name: "c", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
					Resources: &corev1.ResourceRequirements{}}},
			},
		}
	}
	cases := []struct {
		name   string
		change func(p, old *corev1.Pod)
		want   []string // substrings of the errors, in order; none: valid
	}{
		{"raise limits", func(p, _ *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits = rl("cpu", "500m", "memory", "256Mi")
		}, nil},
		{"lower requests", func(p, _ *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests = rl("cpu", "50m", "memory", "32Mi")
		}, nil},
		{"nothing changes", func(p, _ *corev1.Pod) {}, nil},
		{"QoS becomes Guaranteed", func(p, _ *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests = rl("cpu", "200m", "memory", "128Mi")
		}, []string{`spec: Invalid value: "Guaranteed": Pod QOS Class may not change as a result of resizing`}},
		{"request above limit", func(p, _ *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests = rl("cpu", "300m", "memory", "64Mi")
		}, []string{"spec.containers[0].resources.requests[cpu]: Invalid value: \"300m\": must be less than or equal to cpu limit of 200m"}},
		{"limit removed", func(p, _ *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits = rl("cpu", "200m")
		}, []string{"spec.containers[0].resources.limits: Forbidden: resource limits cannot be removed"}},
		{"request removed", func(p, _ *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests = rl("memory", "64Mi")
		}, []string{"spec.containers[0].resources.requests: Forbidden: resource requests cannot be removed"}},
		{"other resource", func(p, _ *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits["ephemeral-storage"] = resource.MustParse("1Gi")
		}, []string{"spec: Forbidden: only cpu and memory resources are mutable"}},
		{"image changes", func(p, _ *corev1.Pod) {
			p.Spec.Containers[0].Image = "nginx"
		}, []string{"spec: Forbidden: only cpu and memory resources are mutable"}},
		{"container added", func(p, _ *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, *p.Spec.Containers[0].DeepCopy())
			p.Spec.Containers[1].Name = "d"
		}, []string{"spec.containers: Forbidden: containers may not be added or removed on resize"}},
		{"container renamed", func(p, _ *corev1.Pod) {
			p.Spec.Containers[0].Name = "d"
		}, []string{"spec.containers[0].name: Forbidden: containers may not be renamed or reordered on resize"}},
		{"node without resize support", func(p, old *corev1.Pod) {
			old.Status.ContainerStatuses[0].Resources = nil
			p.Spec.Containers[0].Resources.Limits = rl("cpu", "500m", "memory", "256Mi")
		}, []string{"spec: Forbidden: Pod running on node without support for resize"}},
		{"static pod", func(p, old *corev1.Pod) {
			old.Annotations = map[string]string{mirrorPodAnnotation: "x"}
			p.Annotations = old.Annotations
		}, []string{"Forbidden: static pods cannot be resized"}},
		{"pod-level resources", func(p, old *corev1.Pod) {
			old.Spec.Resources = &corev1.ResourceRequirements{Limits: rl("cpu", "1")}
			p.Spec.Resources = old.Spec.Resources
		}, []string{"resize of pods with pod-level resources is forbidden"}},
		{"non-sidecar init container", func(p, old *corev1.Pod) {
			ic := corev1.Container{Name: "i", Image: "busybox", Command: []string{"true"}, TerminationMessagePolicy: corev1.TerminationMessageReadFile, ImagePullPolicy: corev1.PullIfNotPresent,
				Resources: corev1.ResourceRequirements{Limits: rl("cpu", "100m")}}
			old.Spec.InitContainers = []corev1.Container{ic}
			p.Spec.InitContainers = []corev1.Container{*ic.DeepCopy()}
			p.Spec.InitContainers[0].Resources.Limits = rl("cpu", "200m")
		}, []string{"spec: Forbidden: resources for non-sidecar init containers are immutable"}},
		{"sidecar may resize", func(p, old *corev1.Pod) {
			always := corev1.ContainerRestartPolicyAlways
			ic := corev1.Container{Name: "i", Image: "busybox", Command: []string{"sleep", "9"}, RestartPolicy: &always, TerminationMessagePolicy: corev1.TerminationMessageReadFile, ImagePullPolicy: corev1.PullIfNotPresent,
				Resources: corev1.ResourceRequirements{Requests: rl("cpu", "50m"), Limits: rl("cpu", "100m")}}
			old.Spec.InitContainers = []corev1.Container{ic}
			p.Spec.InitContainers = []corev1.Container{*ic.DeepCopy()}
			p.Spec.InitContainers[0].Resources.Limits = rl("cpu", "200m")
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := base()
			p := base()
			tc.change(p, old)
			errs := ValidatePodResize(p, old, resizeQOS)
			if len(tc.want) == 0 {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				return
			}
			if len(errs) != len(tc.want) {
				t.Fatalf("got %d errors %v, want %d %q", len(errs), errs, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(errs[i].Error(), w) {
					t.Errorf("error %d: %q, want it to contain %q", i, errs[i].Error(), w)
				}
			}
		})
	}
}

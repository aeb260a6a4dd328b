package pod

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestResizeStrategy(t *testing.T) {
	rl := func(cpu, mem string) corev1.ResourceList {
		return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
	}
	old := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", ResourceVersion: "5", Generation: 2, Labels: map[string]string{"a": "b"}},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{
			Name: "c", Image: "x", Command: []string{"sleep", "1"},
			Resources: corev1.ResourceRequirements{Requests: rl("100m", "64Mi"), Limits: rl("200m", "128Mi")},
		}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, QOSClass: corev1.PodQOSBurstable},
	}
	cases := []struct {
		name    string
		change  func(p *corev1.Pod)
		wantGen int64
		check   func(t *testing.T, p *corev1.Pod)
	}{
		{"resources taken, generation bumped", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits = rl("500m", "256Mi")
			p.Spec.Containers[0].ResizePolicy = []corev1.ContainerResizePolicy{{ResourceName: corev1.ResourceCPU, RestartPolicy: corev1.NotRequired}}
		}, 3, func(t *testing.T, p *corev1.Pod) {
			if got := p.Spec.Containers[0].Resources.Limits.Cpu().String(); got != "500m" {
				t.Errorf("cpu limit %s", got)
			}
			if len(p.Spec.Containers[0].ResizePolicy) != 1 {
				t.Errorf("resize policy not taken")
			}
		}},
		{"other changes dropped", func(p *corev1.Pod) {
			p.Spec.Containers[0].Image = "y"
			p.Labels = map[string]string{"c": "d"}
			p.Status.Phase = corev1.PodFailed
			p.Spec.NodeName = "n2"
		}, 2, func(t *testing.T, p *corev1.Pod) {
			if p.Spec.Containers[0].Image != "x" || p.Labels["a"] != "b" || p.Status.Phase != corev1.PodRunning || p.Spec.NodeName != "n1" {
				t.Errorf("kept a change that is not a resize: %+v", p)
			}
		}},
		{"renamed container left for validation", func(p *corev1.Pod) {
			p.Spec.Containers[0].Name = "d"
		}, 2, func(t *testing.T, p *corev1.Pod) {
			if p.Spec.Containers[0].Name != "d" {
				t.Errorf("rename dropped; validation must see it")
			}
		}},
	}
	s := resizeStrategy{newStrategy(nil)}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := old.DeepCopy()
			p.ResourceVersion = "6"
			tc.change(p)
			s.PrepareForUpdate(context.Background(), p, old)
			if p.Generation != tc.wantGen {
				t.Errorf("generation %d, want %d", p.Generation, tc.wantGen)
			}
			if p.ResourceVersion != "6" {
				t.Errorf("resourceVersion %s, want the request's", p.ResourceVersion)
			}
			tc.check(t, p)
		})
	}
	// QoS change refused through the strategy's validation (the real QoS).
	p := old.DeepCopy()
	p.Spec.Containers[0].Resources.Requests = rl("200m", "128Mi")
	s.PrepareForUpdate(context.Background(), p, old)
	if errs := s.ValidateUpdate(context.Background(), p, old); len(errs) == 0 {
		t.Errorf("QoS change to Guaranteed accepted")
	}
}

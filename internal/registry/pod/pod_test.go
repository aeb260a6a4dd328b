package pod

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestGracePeriod(t *testing.T) {
	cases := []struct {
		name      string
		node      string
		phase     corev1.PodPhase
		spec, req *int64
		want      int64
	}{
		{"bound, nothing set", "n1", corev1.PodRunning, nil, nil, 0},
		{"bound, from spec", "n1", corev1.PodRunning, ptr.To[int64](30), nil, 30},
		{"bound, request wins", "n1", corev1.PodRunning, ptr.To[int64](30), ptr.To[int64](5), 5},
		{"bound, request 0", "n1", corev1.PodRunning, ptr.To[int64](30), ptr.To[int64](0), 0},
		{"bound, negative request means 1", "n1", corev1.PodRunning, ptr.To[int64](30), ptr.To[int64](-3), 1},
		{"unbound goes at once", "", corev1.PodPending, ptr.To[int64](30), ptr.To[int64](10), 0},
		{"succeeded goes at once", "n1", corev1.PodSucceeded, ptr.To[int64](30), nil, 0},
		{"failed goes at once", "n1", corev1.PodFailed, ptr.To[int64](30), nil, 0},
	}
	for _, tc := range cases {
		p := &corev1.Pod{Spec: corev1.PodSpec{NodeName: tc.node, TerminationGracePeriodSeconds: tc.spec}, Status: corev1.PodStatus{Phase: tc.phase}}
		if got := GracePeriod(p, tc.req); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestQOSClass(t *testing.T) {
	res := func(req, lim string) corev1.ResourceRequirements {
		r := corev1.ResourceRequirements{}
		if req != "" {
			r.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(req), corev1.ResourceMemory: resource.MustParse(req + "Mi")}
		}
		if lim != "" {
			r.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(lim), corev1.ResourceMemory: resource.MustParse(lim + "Mi")}
		}
		return r
	}
	cases := []struct {
		name       string
		containers []corev1.ResourceRequirements
		want       corev1.PodQOSClass
	}{
		{"nothing set", []corev1.ResourceRequirements{{}}, corev1.PodQOSBestEffort},
		{"limits equal requests", []corev1.ResourceRequirements{res("1", "1")}, corev1.PodQOSGuaranteed},
		{"limits only (requests default to them)", []corev1.ResourceRequirements{res("", "1")}, corev1.PodQOSGuaranteed},
		{"requests below limits", []corev1.ResourceRequirements{res("1", "2")}, corev1.PodQOSBurstable},
		{"requests only", []corev1.ResourceRequirements{res("1", "")}, corev1.PodQOSBurstable},
		{"one guaranteed, one best effort", []corev1.ResourceRequirements{res("1", "1"), {}}, corev1.PodQOSBurstable},
	}
	for _, tc := range cases {
		spec := &corev1.PodSpec{}
		for _, r := range tc.containers {
			spec.Containers = append(spec.Containers, corev1.Container{Resources: r})
		}
		if got := QOSClass(spec); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestLogContainer(t *testing.T) {
	one := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}
	two := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{
		Containers:          []corev1.Container{{Name: "a"}, {Name: "b"}},
		InitContainers:      []corev1.Container{{Name: "init"}},
		EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg"}}},
	}}
	cases := []struct {
		pod       *corev1.Pod
		container string
		want      string
		wantErr   bool
	}{
		{one, "", "app", false},
		{one, "app", "app", false},
		{one, "nope", "", true},
		{two, "", "", true},
		{two, "b", "b", false},
		{two, "init", "init", false},
		{two, "dbg", "dbg", false},
	}
	for _, tc := range cases {
		got, err := LogContainer(tc.pod, tc.container)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("LogContainer(%v, %q) = %q, %v", len(tc.pod.Spec.Containers), tc.container, got, err)
		}
	}
	if _, err := LogContainer(two, ""); err == nil || err.Error() != "a container name must be specified for pod p, choose one of: [a b] or one of the init containers: [init] or one of the ephemeral containers: [dbg]" {
		t.Errorf("message for an ambiguous pod: %v", err)
	}
}

func TestValidateLogOptions(t *testing.T) {
	since := metav1.Now()
	stream := corev1.LogStreamStderr
	cases := []struct {
		name  string
		opts  corev1.PodLogOptions
		valid bool
	}{
		{"empty", corev1.PodLogOptions{}, true},
		{"tail 10", corev1.PodLogOptions{TailLines: ptr.To[int64](10)}, true},
		{"tail -1", corev1.PodLogOptions{TailLines: ptr.To[int64](-1)}, false},
		{"limitBytes 0", corev1.PodLogOptions{LimitBytes: ptr.To[int64](0)}, false},
		{"sinceSeconds 0", corev1.PodLogOptions{SinceSeconds: ptr.To[int64](0)}, false},
		{"both since", corev1.PodLogOptions{SinceSeconds: ptr.To[int64](5), SinceTime: &since}, false},
		{"stream stderr", corev1.PodLogOptions{Stream: &stream}, true},
		{"stream with tail", corev1.PodLogOptions{Stream: &stream, TailLines: ptr.To[int64](1)}, false},
		{"unknown stream", corev1.PodLogOptions{Stream: ptr.To("Both")}, false},
	}
	for _, tc := range cases {
		if errs := ValidateLogOptions(&tc.opts); (len(errs) == 0) != tc.valid {
			t.Errorf("%s: %v", tc.name, errs)
		}
	}
}

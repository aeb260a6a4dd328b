package application

import (
	"math"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/podyard/podyard/internal/agent/probeinfo"
	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

func TestProbesOfChecks(t *testing.T) {
	ports := []v1alpha1.ContainerPort{{Name: "web", ContainerPort: 8080}}
	tcp := func(port int32, name string) *v1alpha1.TCPHealthCheck {
		return &v1alpha1.TCPHealthCheck{Port: port, PortName: name}
	}
	tests := []struct {
		name   string
		checks []v1alpha1.HealthCheck
		live   *corev1.Probe
		extra  []corev1.Probe
	}{
		{"none", nil, nil, nil},
		{"remote only", []v1alpha1.HealthCheck{{Type: "REMOTE_TCP", TCP: tcp(1, "")}}, nil, nil},
		// Grace was a startup probe, which killed the task at its end after
		// one failure, whatever consecutiveFailures said: no failure counts
		// within grace, then consecutiveFailures do.
		{"first local is liveness, first after max(delay, grace), no startup probe",
			[]v1alpha1.HealthCheck{{Type: "TCP", TCP: tcp(0, "web"), DelaySeconds: 10, IntervalSeconds: 5, TimeoutSeconds: 2, GracePeriodSeconds: 12, ConsecutiveFailures: 4}},
			&corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}}, InitialDelaySeconds: 12, PeriodSeconds: 5, TimeoutSeconds: 2, FailureThreshold: 4, SuccessThreshold: 1},
			nil},
		{"grace shorter than delay; failures 0 never kill, grace or not",
			[]v1alpha1.HealthCheck{{Type: "TCP", TCP: tcp(0, "web"), DelaySeconds: 10, IntervalSeconds: 5, TimeoutSeconds: 2, GracePeriodSeconds: 3}},
			&corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}}, InitialDelaySeconds: 10, PeriodSeconds: 5, TimeoutSeconds: 2, FailureThreshold: math.MaxInt32, SuccessThreshold: 1},
			nil},
		{"further locals are extra probes waiting max(delay, grace); failures 0 never kill",
			[]v1alpha1.HealthCheck{
				{Type: "TCP", TCP: tcp(9, ""), IntervalSeconds: 1, TimeoutSeconds: 1, ConsecutiveFailures: 1},
				{Type: "REMOTE_HTTP", HTTP: &v1alpha1.HTTPHealthCheck{Port: 9}},
				{Type: "COMMAND", Command: &v1alpha1.CommandHealthCheck{Value: "false"}, DelaySeconds: 3, GracePeriodSeconds: 7, IntervalSeconds: 2, TimeoutSeconds: 1},
				{Type: "TCP", TCP: tcp(0, "missing")}, // no port: not run
				{Type: "HTTP", HTTP: &v1alpha1.HTTPHealthCheck{PortName: "web", Path: "/x"}, DelaySeconds: 9, GracePeriodSeconds: 2, IntervalSeconds: 3, TimeoutSeconds: 1, ConsecutiveFailures: 2},
			},
			&corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(9)}}, PeriodSeconds: 1, TimeoutSeconds: 1, FailureThreshold: 1, SuccessThreshold: 1},
			[]corev1.Probe{
				{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/bin/sh", "-c", "false"}}}, InitialDelaySeconds: 7, PeriodSeconds: 2, TimeoutSeconds: 1, FailureThreshold: math.MaxInt32, SuccessThreshold: 1},
				{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/x", Port: intstr.FromInt32(8080), Scheme: corev1.URISchemeHTTP}}, InitialDelaySeconds: 9, PeriodSeconds: 3, TimeoutSeconds: 1, FailureThreshold: 2, SuccessThreshold: 1},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live, extra := probes(v1alpha1.Container{Ports: ports, HealthChecks: tt.checks})
			if !equalProbe(live, tt.live) {
				t.Errorf("liveness %v, want %v", live, tt.live)
			}
			if len(extra) != len(tt.extra) {
				t.Fatalf("extra %v, want %v", extra, tt.extra)
			}
			for i := range extra {
				if !equalProbe(&extra[i], &tt.extra[i]) {
					t.Errorf("extra %d = %v, want %v", i, &extra[i], &tt.extra[i])
				}
			}
		})
	}
}

func equalProbe(a, b *corev1.Probe) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.String() == b.String()
}

func TestRemoteChecksAndAnnotations(t *testing.T) {
	spec := v1alpha1.ApplicationSpec{}
	spec.Template.Spec.Containers = []v1alpha1.Container{
		{Name: "web", Ports: []v1alpha1.ContainerPort{{Name: "http", ContainerPort: 8080}}, HealthChecks: []v1alpha1.HealthCheck{
			{Type: "HTTP", HTTP: &v1alpha1.HTTPHealthCheck{PortName: "http"}},
			{Type: "REMOTE_HTTP", HTTP: &v1alpha1.HTTPHealthCheck{PortName: "http", Path: "/h", Headers: map[string]string{"k": "v"}}, ConsecutiveFailures: 2},
			{Type: "REMOTE_TCP", TCP: &v1alpha1.TCPHealthCheck{Port: 9000}},
			{Type: "REMOTE_TCP", TCP: &v1alpha1.TCPHealthCheck{PortName: "nope"}},
		}},
		{Name: "Side_car"},
	}
	remote := RemoteChecks(spec.Template.Spec.Containers[0])
	if len(remote) != 3 || remote[0].HTTP.Port != 8080 || remote[0].HTTP.Path != "/h" || remote[1].TCP.Port != 9000 || remote[2].TCP.Port != 0 {
		t.Fatalf("remote checks %+v", remote)
	}
	if spec.Template.Spec.Containers[0].HealthChecks[1].HTTP.Port != 0 {
		t.Error("RemoteChecks changed the definition")
	}
	annotations := map[string]string{probeinfo.AnnotationExtraLivenessProbes: "from the template", "x": "y"}
	setCheckAnnotations(annotations, spec)
	if _, ok := annotations[probeinfo.AnnotationExtraLivenessProbes]; ok || annotations["x"] != "y" {
		t.Errorf("annotations %v", annotations)
	}
	pod := &corev1.Pod{}
	pod.Annotations = annotations
	got, err := PodRemoteChecks(pod)
	if err != nil || len(got) != 1 || len(got["web"]) != 3 || got["web"][0].HTTP.Headers["k"] != "v" || got["web"][0].ConsecutiveFailures != 2 {
		t.Errorf("decoded %+v %v", got, err)
	}
	pod.Annotations = map[string]string{AnnotationRemoteChecks: "{"}
	if _, err := PodRemoteChecks(pod); err == nil {
		t.Error("bad JSON decoded")
	}
}

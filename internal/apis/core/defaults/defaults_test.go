package defaults

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestPodDefaults(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		Containers: []corev1.Container{{
			Name:  "web",
			Image: "nginx:1.27",
			Ports: []corev1.ContainerPort{{ContainerPort: 80}},
			Resources: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
			},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}}},
			Env:            []corev1.EnvVar{{Name: "N", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
		}},
		InitContainers: []corev1.Container{{Name: "init", Image: "busybox"}},
		Volumes: []corev1.Volume{
			{Name: "scratch"},
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}}},
		},
	}}
	Pod(pod)
	s, c := pod.Spec, pod.Spec.Containers[0]
	checks := []struct {
		what      string
		got, want any
	}{
		{"restartPolicy", s.RestartPolicy, corev1.RestartPolicyAlways},
		{"dnsPolicy", s.DNSPolicy, corev1.DNSClusterFirst},
		{"terminationGracePeriodSeconds", *s.TerminationGracePeriodSeconds, int64(30)},
		{"schedulerName", s.SchedulerName, "default-scheduler"},
		{"enableServiceLinks", *s.EnableServiceLinks, true},
		{"securityContext set", s.SecurityContext != nil, true},
		{"port protocol", c.Ports[0].Protocol, corev1.ProtocolTCP},
		{"tagged image pull policy", c.ImagePullPolicy, corev1.PullIfNotPresent},
		{"untagged image pull policy", s.InitContainers[0].ImagePullPolicy, corev1.PullAlways},
		{"terminationMessagePath", c.TerminationMessagePath, "/dev/termination-log"},
		{"terminationMessagePolicy", c.TerminationMessagePolicy, corev1.TerminationMessageReadFile},
		{"explicit request kept", c.Resources.Requests.Cpu().String(), "100m"},
		{"request from limit", c.Resources.Requests.Memory().String(), "1Gi"},
		{"probe period", c.ReadinessProbe.PeriodSeconds, int32(10)},
		{"probe timeout", c.ReadinessProbe.TimeoutSeconds, int32(1)},
		{"probe failure threshold", c.ReadinessProbe.FailureThreshold, int32(3)},
		{"httpGet path", c.ReadinessProbe.HTTPGet.Path, "/"},
		{"httpGet scheme", c.ReadinessProbe.HTTPGet.Scheme, corev1.URISchemeHTTP},
		{"fieldRef apiVersion", c.Env[0].ValueFrom.FieldRef.APIVersion, "v1"},
		{"sourceless volume is emptyDir", s.Volumes[0].EmptyDir != nil, true},
		{"configMap defaultMode", *s.Volumes[1].ConfigMap.DefaultMode, int32(0o644)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestPodDefaultsKeepWhatIsSet(t *testing.T) {
	grace := int64(5)
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		RestartPolicy:                 corev1.RestartPolicyNever,
		TerminationGracePeriodSeconds: &grace,
		Containers:                    []corev1.Container{{Name: "a", Image: "x:latest", ImagePullPolicy: corev1.PullNever, Ports: []corev1.ContainerPort{{ContainerPort: 53, Protocol: corev1.ProtocolUDP}}}},
	}}
	Pod(pod)
	if pod.Spec.RestartPolicy != corev1.RestartPolicyNever || *pod.Spec.TerminationGracePeriodSeconds != 5 ||
		pod.Spec.Containers[0].ImagePullPolicy != corev1.PullNever || pod.Spec.Containers[0].Ports[0].Protocol != corev1.ProtocolUDP {
		t.Errorf("defaults overwrote set fields: %+v", pod.Spec)
	}
}

func TestPullPolicyFor(t *testing.T) {
	for image, want := range map[string]corev1.PullPolicy{
		"nginx":                      corev1.PullAlways,
		"nginx:latest":               corev1.PullAlways,
		"nginx:1.27":                 corev1.PullIfNotPresent,
		"registry:5000/app":          corev1.PullAlways,
		"registry:5000/app:v1":       corev1.PullIfNotPresent,
		"app@sha256:0123456789abcde": corev1.PullIfNotPresent,
	} {
		if got := pullPolicyFor(image); got != want {
			t.Errorf("pullPolicyFor(%q) = %s, want %s", image, got, want)
		}
	}
}

func TestServiceDefaults(t *testing.T) {
	s := &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
	Service(s)
	if s.Spec.Type != corev1.ServiceTypeClusterIP || s.Spec.SessionAffinity != corev1.ServiceAffinityNone ||
		s.Spec.Ports[0].Protocol != corev1.ProtocolTCP || s.Spec.Ports[0].TargetPort.IntValue() != 80 {
		t.Errorf("service defaults: %+v", s.Spec)
	}
}

func TestSecretAndNamespaceDefaults(t *testing.T) {
	s := &corev1.Secret{}
	Secret(s)
	if s.Type != corev1.SecretTypeOpaque {
		t.Errorf("secret type %q", s.Type)
	}
	ns := &corev1.Namespace{}
	Namespace(ns)
	if ns.Status.Phase != corev1.NamespaceActive {
		t.Errorf("namespace phase %q", ns.Status.Phase)
	}
}

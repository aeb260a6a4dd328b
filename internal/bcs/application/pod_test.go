package application

import (
	"math"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/podyard/podyard/internal/agent/probeinfo"
	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/apis/core/defaults"
	corevalidation "github.com/podyard/podyard/internal/apis/core/validation"
)

func seedApp(t *testing.T) *v1alpha1.Application {
	t.Helper()
	spec, err := Parse(seed(t))
	if err != nil {
		t.Fatal(err)
	}
	return &v1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "app-test", Namespace: "defaultgroup-0123456789", UID: "uid-1", Generation: 3},
		Spec:       spec,
	}
}

const nano = 1527839061316356269

func TestPodOfSeed(t *testing.T) {
	app := seedApp(t)
	pod := Pod(app, PodOptions{Index: 1, Cluster: "10001", UnixNano: nano})

	if pod.Name != "app-test-1-1527839061316356269" || pod.Namespace != app.Namespace {
		t.Errorf("pod %s/%s", pod.Namespace, pod.Name)
	}
	wantLabels := map[string]string{"podname": "app-test", LabelApplication: "app-test", LabelInstance: "1"}
	for k, v := range wantLabels {
		if pod.Labels[k] != v {
			t.Errorf("label %s=%q, want %q", k, pod.Labels[k], v)
		}
	}
	if id := pod.Annotations[AnnotationTaskGroupID]; id != "1.app-test.defaultGroup.10001.1527839061316356269" {
		t.Errorf("taskgroup id %q", id)
	}
	if g := pod.Annotations[AnnotationGeneration]; g != "3" {
		t.Errorf("generation %q", g)
	}
	if len(pod.OwnerReferences) != 1 {
		t.Fatalf("owners %+v", pod.OwnerReferences)
	}
	o := pod.OwnerReferences[0]
	if o.APIVersion != "bcs.podyard.io/v1alpha1" || o.Kind != "Application" || o.Name != "app-test" || o.UID != "uid-1" || !*o.Controller || !*o.BlockOwnerDeletion {
		t.Errorf("owner %+v", o)
	}
	if pod.Spec.RestartPolicy != corev1.RestartPolicyNever || *pod.Spec.TerminationGracePeriodSeconds != 5 || pod.Spec.HostNetwork {
		t.Errorf("restart %s grace %d hostNetwork %v", pod.Spec.RestartPolicy, *pod.Spec.TerminationGracePeriodSeconds, pod.Spec.HostNetwork)
	}
	c := pod.Spec.Containers[0]
	if c.Name != "task-0" || c.Image != "dockerhub:8443/bcs/game/gamesvr:v1.1.1" || c.Command != nil || c.ImagePullPolicy != corev1.PullAlways {
		t.Errorf("container %s image %s command %v pull %s", c.Name, c.Image, c.Command, c.ImagePullPolicy)
	}
	if len(c.Ports) != 1 || c.Ports[0] != (corev1.ContainerPort{Name: "test-port", ContainerPort: 9999, Protocol: corev1.ProtocolTCP}) {
		t.Errorf("ports %+v", c.Ports)
	}
	want := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("100Mi")}
	for name, q := range want {
		if r, l := c.Resources.Requests[name], c.Resources.Limits[name]; r.Cmp(q) != 0 || l.Cmp(q) != 0 {
			t.Errorf("%s: request %s limit %s, want %s", name, r.String(), l.String(), q.String())
		}
	}
	// Only the HTTP check runs on the node: first after max(delay, grace),
	// killing after consecutiveFailures; no startup probe (it killed the
	// task after one failure at the end of its grace).
	lp := c.LivenessProbe
	if lp == nil || lp.HTTPGet == nil || lp.HTTPGet.Path != "/dd" || lp.HTTPGet.Port != intstr.FromInt32(9999) ||
		lp.PeriodSeconds != 10 || lp.TimeoutSeconds != 5 || lp.FailureThreshold != 10 || lp.InitialDelaySeconds != 10 {
		t.Errorf("liveness %+v", lp)
	}
	if c.StartupProbe != nil {
		t.Errorf("startup %+v", c.StartupProbe)
	}

	// What the API server will check of it.
	defaults.Pod(pod)
	if errs := corevalidation.ValidatePodCreate(pod); len(errs) > 0 {
		t.Errorf("pod invalid: %v", errs.ToAggregate())
	}
}

func TestPodTranslation(t *testing.T) {
	base := func() *v1alpha1.Application {
		return &v1alpha1.Application{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "u"},
			Spec: v1alpha1.ApplicationSpec{
				Metadata: v1alpha1.ObjectMeta{Name: "web", Namespace: "ns", Labels: map[string]string{"app": "web", "bad key!": "x", "team": "a b"}},
				Instance: 1, RestartPolicy: v1alpha1.RestartPolicy{Policy: "OnFailure"},
				Template: v1alpha1.PodTemplateSpec{
					Metadata: v1alpha1.ObjectMeta{Labels: map[string]string{"app": "tmpl"}, Annotations: map[string]string{"note": "n"}},
					Spec: v1alpha1.PodSpec{Containers: []v1alpha1.Container{{
						Name: "main", Image: "img", Command: "/bin/server", Args: []string{"-p", "80"},
						Env:       []v1alpha1.EnvVar{{Name: "A", Value: "1"}},
						Resources: v1alpha1.ResourceRequirements{Requests: v1alpha1.ResourceList{CPU: "0.25", Memory: "64", Storage: "64"}},
					}}},
				},
			},
		}
	}
	for _, tc := range []struct {
		name   string
		change func(*v1alpha1.Application)
		check  func(t *testing.T, p *corev1.Pod)
	}{
		{"command, args, env, labels", nil, func(t *testing.T, p *corev1.Pod) {
			c := p.Spec.Containers[0]
			if c.Name != "main" || strings.Join(c.Command, " ") != "/bin/server" || strings.Join(c.Args, " ") != "-p 80" || c.Env[0] != (corev1.EnvVar{Name: "A", Value: "1"}) {
				t.Errorf("container %+v", c)
			}
			// The template's label wins over the application's; invalid ones stay out.
			if p.Labels["app"] != "tmpl" || p.Labels["team"] != "" || p.Labels["bad key!"] != "" || p.Annotations["note"] != "n" {
				t.Errorf("labels %v annotations %v", p.Labels, p.Annotations)
			}
			if p.Spec.RestartPolicy != corev1.RestartPolicyNever || p.Spec.TerminationGracePeriodSeconds != nil { // the controller replaces, not the agent
				t.Errorf("restart %s grace %v", p.Spec.RestartPolicy, p.Spec.TerminationGracePeriodSeconds)
			}
		}},
		{"requests without limits are the limits", nil, func(t *testing.T, p *corev1.Pod) {
			r := p.Spec.Containers[0].Resources
			if r.Requests.Cpu().MilliValue() != 250 || r.Limits.Cpu().MilliValue() != 250 || r.Limits.Memory().Value() != 64<<20 {
				t.Errorf("resources %+v", r)
			}
			if _, ok := r.Requests[corev1.ResourceEphemeralStorage]; ok {
				t.Errorf("storage requested: %+v", r)
			}
		}},
		{"request above limit is cut", func(a *v1alpha1.Application) {
			a.Spec.Template.Spec.Containers[0].Resources.Limits = v1alpha1.ResourceList{CPU: "0.1"}
		}, func(t *testing.T, p *corev1.Pod) {
			r := p.Spec.Containers[0].Resources
			if r.Requests.Cpu().MilliValue() != 100 || r.Limits.Cpu().MilliValue() != 100 || !r.Limits.Memory().IsZero() {
				t.Errorf("resources %+v", r)
			}
		}},
		{"restart Always, kill grace, privileged, host network", func(a *v1alpha1.Application) {
			a.Spec.RestartPolicy.Policy = "Always"
			a.Spec.KillPolicy.GracePeriod = 7
			a.Spec.Template.Spec.NetworkMode = "HOST"
			a.Spec.Template.Spec.Containers[0].Privileged = true
			a.Spec.Template.Spec.Containers[0].Ports = []v1alpha1.ContainerPort{{Name: "Not_A_Port_Name", ContainerPort: 8080, Protocol: "udp"}, {Name: "dyn"}}
		}, func(t *testing.T, p *corev1.Pod) {
			c := p.Spec.Containers[0]
			if p.Spec.RestartPolicy != corev1.RestartPolicyNever || *p.Spec.TerminationGracePeriodSeconds != 7 || !p.Spec.HostNetwork || !*c.SecurityContext.Privileged {
				t.Errorf("pod spec %+v", p.Spec)
			}
			if len(c.Ports) != 1 || c.Ports[0] != (corev1.ContainerPort{ContainerPort: 8080, HostPort: 8080, Protocol: corev1.ProtocolUDP}) {
				t.Errorf("ports %+v", c.Ports)
			}
		}},
		{"TCP and COMMAND checks, no grace", func(a *v1alpha1.Application) {
			c := &a.Spec.Template.Spec.Containers[0]
			c.Ports = []v1alpha1.ContainerPort{{Name: "p", ContainerPort: 81}}
			c.HealthChecks = []v1alpha1.HealthCheck{
				{Type: "REMOTE_TCP", TCP: &v1alpha1.TCPHealthCheck{PortName: "p"}},
				{Type: "TCP", TCP: &v1alpha1.TCPHealthCheck{PortName: "p"}, DelaySeconds: 4, IntervalSeconds: 6, TimeoutSeconds: 2},
				{Type: "COMMAND", Command: &v1alpha1.CommandHealthCheck{Value: "true"}},
			}
		}, func(t *testing.T, p *corev1.Pod) {
			c := p.Spec.Containers[0]
			lp := c.LivenessProbe
			// consecutiveFailures 0: BCS never kills, so the threshold is out of reach.
			if lp == nil || lp.TCPSocket == nil || lp.TCPSocket.Port != intstr.FromInt32(81) || lp.InitialDelaySeconds != 4 || lp.PeriodSeconds != 6 || lp.FailureThreshold != math.MaxInt32 || c.StartupProbe != nil {
				t.Errorf("liveness %+v startup %+v", lp, c.StartupProbe)
			}
			// The COMMAND check is an extra liveness probe, REMOTE_TCP a remote check.
			extra, err := probeinfo.ExtraLivenessProbes(p)
			if err != nil || len(extra) != 1 || len(extra[c.Name]) != 1 || extra[c.Name][0].Exec == nil {
				t.Errorf("extra liveness probes %+v %v", extra, err)
			}
			remote, err := PodRemoteChecks(p)
			if err != nil || len(remote[c.Name]) != 1 || remote[c.Name][0].TCP.Port != 81 {
				t.Errorf("remote checks %+v %v", remote, err)
			}
		}},
		{"COMMAND check", func(a *v1alpha1.Application) {
			a.Spec.Template.Spec.Containers[0].HealthChecks = []v1alpha1.HealthCheck{{Type: "COMMAND", Command: &v1alpha1.CommandHealthCheck{Value: "test -f /tmp/ok"}, IntervalSeconds: 10, GracePeriodSeconds: 25}}
		}, func(t *testing.T, p *corev1.Pod) {
			c := p.Spec.Containers[0]
			if c.LivenessProbe == nil || strings.Join(c.LivenessProbe.Exec.Command, " ") != "/bin/sh -c test -f /tmp/ok" || c.LivenessProbe.InitialDelaySeconds != 25 || c.StartupProbe != nil {
				t.Errorf("probes %+v %+v", c.LivenessProbe, c.StartupProbe)
			}
		}},
		{"volumes, configmaps and secrets", func(a *v1alpha1.Application) {
			c := &a.Spec.Template.Spec.Containers[0]
			c.Volumes = []v1alpha1.VolumeUnit{{Name: "data", Volume: v1alpha1.Volume{HostPath: "/srv", MountPath: "/data", ReadOnly: true}}}
			c.ConfigMaps = []v1alpha1.ConfigMap{{Name: "Cfg_1", Items: []v1alpha1.KeyToPath{
				{Type: "env", DataKey: "item-one", KeyOrPath: "ITEM"}, {Type: "file", DataKey: "item-two", KeyOrPath: "/etc/app/two.conf"}}}}
			c.Secrets = []v1alpha1.Secret{{SecretName: "sec", Items: []v1alpha1.KeyToPath{{Type: "env", DataKey: "pw", KeyOrPath: "PW"}}}}
		}, func(t *testing.T, p *corev1.Pod) {
			c := p.Spec.Containers[0]
			if len(p.Spec.Volumes) != 2 || p.Spec.Volumes[0].HostPath.Path != "/srv" || p.Spec.Volumes[1].ConfigMap.Name != "mapped-Cfg_1" {
				t.Errorf("volumes %+v", p.Spec.Volumes)
			}
			if len(c.Env) != 3 || c.Env[1].ValueFrom.ConfigMapKeyRef.Key != "item-one" || c.Env[1].Name != "ITEM" || c.Env[2].ValueFrom.SecretKeyRef.Name != "s-sec" {
				t.Errorf("env %+v", c.Env)
			}
			if len(c.VolumeMounts) != 2 || !reflect.DeepEqual(c.VolumeMounts[1], corev1.VolumeMount{Name: "main-configmap-0", MountPath: "/etc/app/two.conf", SubPath: "item-two"}) {
				t.Errorf("mounts %+v", c.VolumeMounts)
			}
		}},
		{"container names", func(a *v1alpha1.Application) {
			c := a.Spec.Template.Spec.Containers[0]
			a.Spec.Template.Spec.Containers = []v1alpha1.Container{c, c, c, c, c}
			a.Spec.Template.Spec.Containers[2].Name = "Bad_Name"
			a.Spec.Template.Spec.Containers[3].Name = "task-4"
			a.Spec.Template.Spec.Containers[4].Name = ""
		}, func(t *testing.T, p *corev1.Pod) {
			var names []string
			for _, c := range p.Spec.Containers {
				names = append(names, c.Name)
			}
			if strings.Join(names, ",") != "main,task-1,task-2,task-3,task-4" {
				t.Errorf("names %v", names)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := base()
			if tc.change != nil {
				tc.change(app)
			}
			pod := Pod(app, PodOptions{Cluster: "10001", UnixNano: nano,
				ConfigMapName: func(s string) string { return "mapped-" + s },
				SecretName:    func(s string) string { return "s-" + s }})
			tc.check(t, pod)
			defaults.Pod(pod)
			if errs := corevalidation.ValidatePodCreate(pod); len(errs) > 0 {
				t.Errorf("pod invalid: %v", errs.ToAggregate())
			}
		})
	}
}

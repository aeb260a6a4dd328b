package validation

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

func valid() *v1alpha1.Application {
	return &v1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "app-test", Namespace: "ns"},
		Spec: v1alpha1.ApplicationSpec{
			Metadata: v1alpha1.ObjectMeta{Name: "test_deployment", Namespace: "defaultGroup"},
			Instance: 2,
			Template: v1alpha1.PodTemplateSpec{Spec: v1alpha1.PodSpec{Containers: []v1alpha1.Container{{
				Image: "img", Command: "/bin/app",
				Ports:        []v1alpha1.ContainerPort{{Name: "test-port", ContainerPort: 9999, Protocol: "HTTP"}},
				HealthChecks: []v1alpha1.HealthCheck{{Type: "HTTP", HTTP: &v1alpha1.HTTPHealthCheck{PortName: "test-port", Scheme: "http"}}},
				Resources:    v1alpha1.ResourceRequirements{Limits: v1alpha1.ResourceList{CPU: "0.5", Memory: "100"}},
			}}}},
			RestartPolicy: v1alpha1.RestartPolicy{Policy: "Never"},
			Constraint: &v1alpha1.Constraint{IntersectionItem: []v1alpha1.ConstraintDataItem{{UnionData: []v1alpha1.ConstraintData{
				{Name: "hostname", Operate: "UNIQUE"}}}}},
		},
	}
}

func TestValidateApplication(t *testing.T) {
	container := func(a *v1alpha1.Application) *v1alpha1.Container { return &a.Spec.Template.Spec.Containers[0] }
	for _, tc := range []struct {
		name   string
		change func(*v1alpha1.Application)
		field  string // "" when valid
	}{
		{"valid", func(*v1alpha1.Application) {}, ""},
		{"zero instances", func(a *v1alpha1.Application) { a.Spec.Instance = 0 }, ""},
		{"negative instances", func(a *v1alpha1.Application) { a.Spec.Instance = -1 }, "spec.instance"},
		{"object name not a DNS label", func(a *v1alpha1.Application) { a.Name = "App_Test" }, "metadata.name"},
		{"no BCS name", func(a *v1alpha1.Application) { a.Spec.Metadata.Name = "" }, "spec.metadata.name"},
		{"dotted BCS name", func(a *v1alpha1.Application) { a.Spec.Metadata.Name = "a.b" }, "spec.metadata.name"},
		{"dotted BCS namespace", func(a *v1alpha1.Application) { a.Spec.Metadata.Namespace = "ns.x" }, "spec.metadata.namespace"},
		{"restart policy", func(a *v1alpha1.Application) { a.Spec.RestartPolicy.Policy = "Sometimes" }, "spec.restartPolicy.policy"},
		{"negative restart interval", func(a *v1alpha1.Application) { a.Spec.RestartPolicy.Interval = -1 }, "spec.restartPolicy.interval"},
		{"negative kill grace", func(a *v1alpha1.Application) { a.Spec.KillPolicy.GracePeriod = -1 }, "spec.killPolicy.gracePeriod"},
		{"no containers", func(a *v1alpha1.Application) { a.Spec.Template.Spec.Containers = nil }, "spec.template.spec.containers"},
		{"no image", func(a *v1alpha1.Application) { container(a).Image = "" }, "spec.template.spec.containers[0].image"},
		{"pull policy", func(a *v1alpha1.Application) { container(a).ImagePullPolicy = "Sometimes" }, "spec.template.spec.containers[0].imagePullPolicy"},
		{"cpu not a number", func(a *v1alpha1.Application) { container(a).Resources.Limits.CPU = "2 cores" }, "spec.template.spec.containers[0].resources.limits.cpu"},
		{"negative memory", func(a *v1alpha1.Application) { container(a).Resources.Requests.Memory = "-1" }, "spec.template.spec.containers[0].resources.requests.memory"},
		{"port out of range", func(a *v1alpha1.Application) { container(a).Ports[0].ContainerPort = 70000 }, "spec.template.spec.containers[0].ports[0].containerPort"},
		{"protocol", func(a *v1alpha1.Application) { container(a).Ports[0].Protocol = "SCTP" }, "spec.template.spec.containers[0].ports[0].protocol"},
		{"duplicate port name", func(a *v1alpha1.Application) { c := container(a); c.Ports = append(c.Ports, c.Ports[0]) }, "spec.template.spec.containers[0].ports[1].name"},
		{"check type", func(a *v1alpha1.Application) { container(a).HealthChecks[0].Type = "PING" }, "spec.template.spec.containers[0].healthChecks[0].type"},
		// The seed's deployment example: kept, never run.
		{"check without a type", func(a *v1alpha1.Application) { container(a).HealthChecks[0] = v1alpha1.HealthCheck{DelaySeconds: 10} }, ""},
		{"check without http", func(a *v1alpha1.Application) { container(a).HealthChecks[0].HTTP = nil }, "spec.template.spec.containers[0].healthChecks[0].http"},
		{"check on unknown port", func(a *v1alpha1.Application) { container(a).HealthChecks[0].HTTP.PortName = "nope" }, "spec.template.spec.containers[0].healthChecks[0].http.portName"},
		{"check without port", func(a *v1alpha1.Application) { container(a).HealthChecks[0].HTTP.PortName = "" }, "spec.template.spec.containers[0].healthChecks[0].http.port"},
		{"remote tcp check", func(a *v1alpha1.Application) {
			container(a).HealthChecks = []v1alpha1.HealthCheck{{Type: "REMOTE_TCP", TCP: &v1alpha1.TCPHealthCheck{Port: 80}}}
		}, ""},
		{"command check without command", func(a *v1alpha1.Application) {
			container(a).HealthChecks = []v1alpha1.HealthCheck{{Type: "COMMAND"}}
		}, "spec.template.spec.containers[0].healthChecks[0].command.value"},
		{"negative check interval", func(a *v1alpha1.Application) { container(a).HealthChecks[0].IntervalSeconds = -5 }, "spec.template.spec.containers[0].healthChecks[0].intervalSeconds"},
		{"env without name", func(a *v1alpha1.Application) { container(a).Env = []v1alpha1.EnvVar{{Value: "x"}} }, "spec.template.spec.containers[0].env[0].name"},
		{"volume without host path", func(a *v1alpha1.Application) {
			container(a).Volumes = []v1alpha1.VolumeUnit{{Name: "v", Volume: v1alpha1.Volume{MountPath: "/d"}}}
		}, "spec.template.spec.containers[0].volumes[0].volume.hostPath"},
		{"configmap item type", func(a *v1alpha1.Application) {
			container(a).ConfigMaps = []v1alpha1.ConfigMap{{Name: "c", Items: []v1alpha1.KeyToPath{{Type: "blob", DataKey: "k", KeyOrPath: "/f"}}}}
		}, "spec.template.spec.containers[0].configmaps[0].items[0].type"},
		{"secret without name", func(a *v1alpha1.Application) {
			container(a).Secrets = []v1alpha1.Secret{{Items: []v1alpha1.KeyToPath{{Type: "env", DataKey: "k", KeyOrPath: "K"}}}}
		}, "spec.template.spec.containers[0].secrets[0].secretName"},
		{"constraint operator", func(a *v1alpha1.Application) {
			a.Spec.Constraint.IntersectionItem[0].UnionData[0].Operate = "SOMETIMES"
		}, "spec.constraint.intersectionItem[0].unionData[0].operate"},
		{"constraint without attribute", func(a *v1alpha1.Application) { a.Spec.Constraint.IntersectionItem[0].UnionData[0].Name = "" }, "spec.constraint.intersectionItem[0].unionData[0].name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := valid()
			tc.change(app)
			errs := ValidateApplication(app)
			if tc.field == "" {
				if len(errs) > 0 {
					t.Errorf("refused: %v", errs.ToAggregate())
				}
				return
			}
			for _, e := range errs {
				if e.Field == tc.field {
					return
				}
			}
			t.Errorf("no error on %s: %v", tc.field, errs.ToAggregate())
		})
	}
}

func TestValidateApplicationUpdate(t *testing.T) {
	old := valid()
	old.ResourceVersion = "1"
	for _, tc := range []struct {
		name   string
		change func(*v1alpha1.Application)
		want   string
	}{
		{"scale", func(a *v1alpha1.Application) { a.Spec.Instance = 5 }, ""},
		{"new image", func(a *v1alpha1.Application) { a.Spec.Template.Spec.Containers[0].Image = "img:2" }, ""},
		{"BCS name", func(a *v1alpha1.Application) { a.Spec.Metadata.Name = "other" }, "the BCS name cannot change"},
		{"BCS namespace", func(a *v1alpha1.Application) { a.Spec.Metadata.Namespace = "other" }, "the BCS namespace cannot change"},
		{"invalid spec", func(a *v1alpha1.Application) { a.Spec.Instance = -1 }, "must be 0 or more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := old.DeepCopy()
			tc.change(app)
			err := ValidateApplicationUpdate(app, old).ToAggregate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

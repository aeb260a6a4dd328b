package application

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	apiequality "k8s.io/apimachinery/pkg/api/equality"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

// seed is the application JSON of the BCS API document, as posted.
func seed(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/seed-application.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseSeed(t *testing.T) {
	spec, err := Parse(seed(t))
	if err != nil {
		t.Fatal(err)
	}
	if spec.APIVersion != "v4" || spec.Kind != "application" || spec.Instance != 2 {
		t.Errorf("apiVersion %q kind %q instance %d", spec.APIVersion, spec.Kind, spec.Instance)
	}
	if m := spec.Metadata; m.Name != "app-test" || m.Namespace != "defaultGroup" || m.Labels["podname"] != "app-test" {
		t.Errorf("metadata %+v", m)
	}
	// The document writes "MaxRetries"; BCS reads keys case-insensitively.
	if u := spec.UpdatePolicy; u != (v1alpha1.UpdatePolicy{UpdateDelay: 10, MaxRetries: 10, MaxFailovers: 10}) {
		t.Errorf("updatePolicy %+v", u)
	}
	if r := spec.RestartPolicy; r != (v1alpha1.RestartPolicy{Policy: "Never", Interval: 5, Backoff: 10}) {
		t.Errorf("restartPolicy %+v", r)
	}
	if spec.KillPolicy.GracePeriod != 5 {
		t.Errorf("killPolicy %+v", spec.KillPolicy)
	}
	if spec.Constraint == nil || len(spec.Constraint.IntersectionItem) != 0 {
		t.Errorf("constraint %+v", spec.Constraint)
	}
	if ps := spec.Template.Spec; ps.NetworkMode != "BRIDGE" || ps.NetworkType != "BRIDGE" || len(ps.Containers) != 1 {
		t.Fatalf("template spec %+v", ps)
	}
	c := spec.Template.Spec.Containers[0]
	if c.Image != "dockerhub:8443/bcs/game/gamesvr:v1.1.1" || c.Type != "MESOS" || c.ImagePullPolicy != "Always" || c.Privileged {
		t.Errorf("container %+v", c)
	}
	if len(c.Ports) != 1 || c.Ports[0] != (v1alpha1.ContainerPort{Name: "test-port", ContainerPort: 9999, Protocol: "HTTP"}) {
		t.Errorf("ports %+v", c.Ports)
	}
	// Requests come from the limits when absent; storage takes the default.
	want := v1alpha1.ResourceRequirements{
		Limits:   v1alpha1.ResourceList{CPU: "2", Memory: "100"},
		Requests: v1alpha1.ResourceList{CPU: "2", Memory: "100", Storage: DefaultStorage},
	}
	if c.Resources != want {
		t.Errorf("resources %+v, want %+v", c.Resources, want)
	}
	if len(c.HealthChecks) != 3 {
		t.Fatalf("healthChecks %+v", c.HealthChecks)
	}
	hc := c.HealthChecks[1]
	if hc.Type != "REMOTE_HTTP" || hc.HTTP == nil || hc.HTTP.PortName != "test-port" || hc.HTTP.Path != "/dd" || hc.HTTP.Headers["key1"] != "value1" ||
		hc.DelaySeconds != 10 || hc.GracePeriodSeconds != 10 || hc.IntervalSeconds != 10 || hc.TimeoutSeconds != 5 || hc.ConsecutiveFailures != 10 {
		t.Errorf("healthChecks[1] %+v %+v", hc, hc.HTTP)
	}
	if tcp := c.HealthChecks[2].TCP; tcp == nil || tcp.PortName != "test-port" {
		t.Errorf("healthChecks[2].tcp %+v", tcp)
	}
}

func TestParseDefaults(t *testing.T) {
	spec, err := Parse([]byte(`{"metadata":{"name":"a"},"spec":{"instance":1,"template":{"spec":{"containers":[
		{"image":"i","healthChecks":[{"type":"TCP","tcp":{"port":80}}]},
		{"image":"j","resources":{"requests":{"cpu":"0.5"},"limits":{"cpu":"1","memory":"10"}}}]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Kind != "application" || spec.Metadata.Namespace != "defaultGroup" || spec.RestartPolicy.Policy != "OnFailure" {
		t.Errorf("kind %q namespace %q restart %q", spec.Kind, spec.Metadata.Namespace, spec.RestartPolicy.Policy)
	}
	c0, c1 := spec.Template.Spec.Containers[0], spec.Template.Spec.Containers[1]
	if r := c0.Resources.Requests; r != (v1alpha1.ResourceList{CPU: "1", Memory: "64", Storage: "64"}) {
		t.Errorf("default requests %+v", r)
	}
	if hc := c0.HealthChecks[0]; hc.DelaySeconds != 10 || hc.IntervalSeconds != 60 || hc.TimeoutSeconds != 20 || hc.GracePeriodSeconds != 300 {
		t.Errorf("health check defaults %+v", hc)
	}
	// Requests given keep theirs (limits are not copied over them).
	if r := c1.Resources.Requests; r != (v1alpha1.ResourceList{CPU: "0.5", Memory: "64", Storage: "64"}) {
		t.Errorf("requests %+v", r)
	}
}

func TestParseRefused(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		json       bool
		reason     string
	}{
		{"not JSON", `{"spec":`, true, ""},
		{"wrong type", `{"spec":{"instance":"two"}}`, true, ""},
		{"dotted name", `{"metadata":{"name":"a.b"},"spec":{"template":{"spec":{"containers":[{"image":"i"}]}}}}`, false, "Name can't contains contains '.'"},
		{"no template", `{"metadata":{"name":"a"},"spec":{"instance":1}}`, false, "no template"},
		{"no containers", `{"metadata":{"name":"a"},"spec":{"template":{"spec":{}}}}`, false, "no containers and processes"},
		{"processes", `{"metadata":{"name":"a"},"spec":{"template":{"spec":{"processes":[{"procName":"p"}]}}}}`, false, "processes are not supported"},
		{"restart policy", `{"metadata":{"name":"a"},"restartPolicy":{"policy":"Sometimes"},"spec":{"template":{"spec":{"containers":[{"image":"i"}]}}}}`, false, "restart policy error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.body))
			var invalid *InvalidError
			switch {
			case err == nil:
				t.Fatal("accepted")
			case tc.json && !errors.Is(err, ErrJSON):
				t.Errorf("%v: not ErrJSON", err)
			case !tc.json && (!errors.As(err, &invalid) || invalid.Reason[:len(tc.reason)] != tc.reason):
				t.Errorf("%v: want InvalidError %q", err, tc.reason)
			}
		})
	}
}

// The definition round-trips: what GET definition returns parses to the
// same spec, also after the Application went through the API as JSON.
func TestDefinitionRoundTrip(t *testing.T) {
	spec, err := Parse(seed(t))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := json.Marshal(&v1alpha1.Application{Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	var app v1alpha1.Application
	if err := json.Unmarshal(stored, &app); err != nil {
		t.Fatal(err)
	}
	def, err := json.Marshal(ToDefinition(app.Spec))
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(def)
	if err != nil {
		t.Fatal(err)
	}
	if !apiequality.Semantic.DeepEqual(spec, again) {
		t.Errorf("round trip changed the spec:\n%+v\n%+v", spec, again)
	}
	var m map[string]any
	_ = json.Unmarshal(def, &m)
	for _, k := range []string{"apiVersion", "kind", "metadata", "spec", "updatePolicy", "restartPolicy", "killPolicy", "constraint"} {
		if _, ok := m[k]; !ok {
			t.Errorf("definition lacks %q: %s", k, def)
		}
	}
	if inst := m["spec"].(map[string]any)["instance"]; inst != float64(2) {
		t.Errorf("definition spec.instance %v", inst)
	}
}

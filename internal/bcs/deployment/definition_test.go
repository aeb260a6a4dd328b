package deployment

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
)

// seed is the deployment JSON of the BCS API document (createDeployment
// and updateDeployment post the same), as posted.
func seed(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/seed-deployment.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// with is the seed with edit applied to its decoded JSON.
func with(t *testing.T, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(seed(t), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func spec(m map[string]any) map[string]any { return m["spec"].(map[string]any) }
func rolling(m map[string]any) map[string]any {
	return spec(m)["strategy"].(map[string]any)["rollingupdate"].(map[string]any)
}

func TestParseSeed(t *testing.T) {
	for name, parse := range map[string]func([]byte) (Definition, error){"Parse": Parse, "ParseUpdate": ParseUpdate} {
		t.Run(name, func(t *testing.T) {
			d, err := parse(seed(t))
			if err != nil {
				t.Fatal(err)
			}
			if d.APIVersion != "v4" || d.Kind != "deployment" || d.Spec.Instance != 2 {
				t.Errorf("apiVersion %q kind %q instance %d", d.APIVersion, d.Kind, d.Spec.Instance)
			}
			if m := d.Metadata; m.Name != "deployment-test" || m.Namespace != "defaultGroup" || m.Labels["label_deployment"] != "label_deployment" {
				t.Errorf("metadata %+v", m)
			}
			if d.Spec.Selector["podname"] != "deployment-test" {
				t.Errorf("selector %v", d.Spec.Selector)
			}
			// "MaxRetries" in the document: keys match case-insensitively.
			if u := d.UpdatePolicy; u != (v1alpha1.UpdatePolicy{UpdateDelay: 10, MaxRetries: 10, MaxFailovers: 10}) {
				t.Errorf("updatePolicy %+v", u)
			}
			if r := d.RestartPolicy; r != (v1alpha1.RestartPolicy{Policy: "Always", Interval: 5, Backoff: 10}) {
				t.Errorf("restartPolicy %+v", r)
			}
			want := Strategy{Type: StrategyRollingUpdate, RollingUpdate: &RollingUpdate{
				MaxUnavailable: 1, MaxSurge: 1, UpgradeDuration: 60, RollingOrder: CreateFirst}}
			if s := d.Spec.Strategy; s.Type != want.Type || s.RollingUpdate == nil || *s.RollingUpdate != *want.RollingUpdate {
				t.Errorf("strategy %+v %+v", s, s.RollingUpdate)
			}
			if d.Spec.Template == nil || len(d.Spec.Template.Spec.Containers) != 1 {
				t.Fatalf("template %+v", d.Spec.Template)
			}
			c := d.Spec.Template.Spec.Containers[0]
			if c.Image != "dockerhub:8443/bcs/game/gamesvr:v1.1.1" || len(c.Ports) != 1 || c.Ports[0].ContainerPort != 8899 {
				t.Errorf("container %+v", c)
			}
			// The template took the application's defaults.
			if r := c.Resources.Requests; r != (v1alpha1.ResourceList{CPU: "0.1", Memory: "1", Storage: application.DefaultStorage}) {
				t.Errorf("requests %+v", r)
			}
			if hc := c.HealthChecks[0]; hc.DelaySeconds != 10 || hc.GracePeriodSeconds != 12 || hc.IntervalSeconds != 10 || hc.TimeoutSeconds != 10 {
				t.Errorf("health check %+v", hc)
			}
		})
	}
}

// The wire names are BCS's, typo included.
func TestDefinitionWireNames(t *testing.T) {
	d, err := Parse(seed(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"maxUnavilable":1`, `"maxSurge":1`, `"upgradeDuration":60`, `"rollingManually":false`,
		`"rollingOrder":"CreateFirst"`, `"rollingupdate":{`, `"strategy":{"type":"RollingUpdate"`, `"instance":2`, `"restartPolicy":{`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("definition lacks %s: %s", k, b)
		}
	}
	again, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if *again.Spec.Strategy.RollingUpdate != *d.Spec.Strategy.RollingUpdate || again.Spec.Instance != d.Spec.Instance {
		t.Errorf("round trip: %+v", again.Spec.Strategy.RollingUpdate)
	}
}

func TestParseDefaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(m map[string]any)
		want RollingUpdate
	}{
		{"as posted", func(map[string]any) {}, rollingUpdate(1, 1, 60, false, CreateFirst)},
		{"0 surge and unavailable become 1", func(m map[string]any) {
			rolling(m)["maxSurge"], rolling(m)["maxUnavilable"] = 0, -3
		}, rollingUpdate(1, 1, 60, false, CreateFirst)},
		{"absent upgradeDuration is 10", func(m map[string]any) { delete(rolling(m), "upgradeDuration") }, rollingUpdate(1, 1, 10, false, CreateFirst)},
		{"null upgradeDuration is 10", func(m map[string]any) { rolling(m)["upgradeDuration"] = nil }, rollingUpdate(1, 1, 10, false, CreateFirst)},
		// BCS could not tell 0 from absent; here 0 means no pause between steps.
		{"0 upgradeDuration stays 0", func(m map[string]any) { rolling(m)["upgradeDuration"] = 0 }, rollingUpdate(1, 1, 0, false, CreateFirst)},
		{"manual DeleteFirst", func(m map[string]any) {
			rolling(m)["rollingManually"], rolling(m)["rollingOrder"], rolling(m)["maxSurge"] = true, DeleteFirst, 3
		}, rollingUpdate(1, 3, 60, true, DeleteFirst)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse(with(t, tc.edit))
			if err != nil {
				t.Fatal(err)
			}
			if got := *d.Spec.Strategy.RollingUpdate; got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}

	// Kind, namespace and restart policy; no template is allowed (a create
	// adopts the application the selector matches).
	d, err := Parse([]byte(`{"metadata":{"name":"d"},"spec":{"instance":3,"selector":{"a":"b"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != "deployment" || d.Metadata.Namespace != "defaultGroup" || d.RestartPolicy.Policy != "OnFailure" ||
		d.Spec.Template != nil || d.Spec.Strategy.RollingUpdate != nil {
		t.Errorf("defaults %+v", d)
	}
}

func TestParseRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   []byte
		update bool
		json   bool
		reason string
	}{
		{"not JSON", []byte(`{"spec":`), false, true, ""},
		{"wrong type", []byte(`{"spec":{"strategy":{"rollingupdate":{"maxSurge":"two"}}}}`), false, true, ""},
		{"dotted name", with(t, func(m map[string]any) { m["metadata"].(map[string]any)["name"] = "a.b" }), false, false, "Name can't contains contains '.'"},
		{"negative instance", with(t, func(m map[string]any) { spec(m)["instance"] = -1 }), false, false, "instance must not be negative"},
		{"negative upgradeDuration", with(t, func(m map[string]any) { rolling(m)["upgradeDuration"] = -1 }), false, false, "upgradeDuration must not be negative"},
		{"no containers", with(t, func(m map[string]any) {
			spec(m)["template"].(map[string]any)["spec"].(map[string]any)["containers"] = []any{}
		}), false, false, "no containers and processes"},
		{"restart policy", with(t, func(m map[string]any) { m["restartPolicy"].(map[string]any)["policy"] = "Sometimes" }), false, false, "restart policy error"},
		{"update: no rolling order", with(t, func(m map[string]any) { delete(rolling(m), "rollingOrder") }), true, false, "update strategy rolling order error"},
		{"update: bad rolling order", with(t, func(m map[string]any) { rolling(m)["rollingOrder"] = "Random" }), true, false, "update strategy rolling order error"},
		{"update: no rollingupdate", with(t, func(m map[string]any) { delete(spec(m)["strategy"].(map[string]any), "rollingupdate") }), true, false, "update strategy rolling order error"},
		{"update: no template", with(t, func(m map[string]any) { delete(spec(m), "template") }), true, false, "no template"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parse := Parse
			if tc.update {
				parse = ParseUpdate
			}
			_, err := parse(tc.body)
			var invalid *InvalidError
			switch {
			case err == nil:
				t.Fatal("accepted")
			case tc.json && !errors.Is(err, ErrJSON):
				t.Errorf("%v: not ErrJSON", err)
			case !tc.json && (!errors.As(err, &invalid) || invalid.Reason != tc.reason):
				t.Errorf("%v: want InvalidError %q", err, tc.reason)
			}
		})
	}
	// A create need not name a rolling order: BCS checks it on update.
	if _, err := Parse(with(t, func(m map[string]any) { delete(rolling(m), "rollingOrder") })); err != nil {
		t.Errorf("create without rolling order: %v", err)
	}
}

func TestApplication(t *testing.T) {
	d, err := Parse(seed(t))
	if err != nil {
		t.Fatal(err)
	}
	name := NewApplicationName(d.Metadata.Name, 1700000000)
	if name != "deployment-test-v1700000000" {
		t.Errorf("name %q", name)
	}
	app := d.Application(name, 0)
	if app.Kind != "application" || app.Metadata.Name != name || app.Metadata.Namespace != "defaultGroup" || app.Instance != 0 ||
		app.RestartPolicy.Policy != "Always" || len(app.Template.Spec.Containers) != 1 || app.Selector["podname"] != "deployment-test" {
		t.Errorf("application %+v", app)
	}
	if d.Metadata.Name != "deployment-test" {
		t.Errorf("the definition changed: %q", d.Metadata.Name)
	}
}

package bcs

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

func seedDeploymentBody(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../bcs/deployment/testdata/seed-deployment.json")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestToDeployment(t *testing.T) {
	target := Target{Kind: KindDeployment, Namespace: "defaultGroup", KubeNamespace: "defaultgroup-x"}
	seed := seedDeploymentBody(t)
	for _, tc := range []struct {
		name   string
		body   string
		update bool
		code   int
	}{
		{"seed", seed, false, 0},
		{"seed as an update", seed, true, 0},
		{"not JSON", "{", false, CodeJSONDecode},
		{"an application body", strings.Replace(seed, `"kind": "deployment"`, `"kind": "application"`, 1), false, CodeRequestData},
		{"another namespace", strings.Replace(seed, `"namespace": "defaultGroup"`, `"namespace": "other"`, 1), false, CodeRequestData},
		{"update without a rolling order", strings.Replace(seed, `"rollingOrder": "CreateFirst",`, ``, 1), true, CodeParameter},
		{"dotted name", strings.Replace(seed, `"name": "deployment-test",
    "namespace"`, `"name": "a.b",
    "namespace"`, 1), false, CodeParameter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ToDeployment(target, []byte(tc.body), tc.update)
			switch {
			case tc.code == 0 && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.code != 0 && (err == nil || err.Code != tc.code):
				t.Fatalf("got %v, want code %d", err, tc.code)
			case tc.code != 0:
				return
			}
			if d.Name != "deployment-test" || d.Namespace != "defaultgroup-x" || d.Spec.Instance != 2 ||
				d.Spec.Strategy.RollingUpdate.UpgradeDuration != 60 || d.Spec.Template == nil {
				t.Errorf("deployment %+v", d)
			}
		})
	}
}

func TestWithResources(t *testing.T) {
	d, err := ToDeployment(Target{Namespace: "defaultGroup", KubeNamespace: "x"}, []byte(seedDeploymentBody(t)), false)
	if err != nil {
		t.Fatal(err)
	}
	posted := *d.Spec.DeepCopy()
	posted.Template.Spec.Containers[0].Resources.Limits.CPU = "2"
	posted.Strategy.RollingUpdate.MaxSurge = 5 // not looked at
	got, rerr := withResources(d.Spec, posted)
	if rerr != nil || got.Template.Spec.Containers[0].Resources.Limits.CPU != "2" || got.Strategy.RollingUpdate.MaxSurge != 1 {
		t.Errorf("resources only: %v %+v", rerr, got.Template.Spec.Containers[0].Resources)
	}
	posted.Template.Spec.Containers[0].Image = "other:1"
	if _, rerr := withResources(d.Spec, posted); rerr == nil || rerr.Code != CodeParameter {
		t.Errorf("an image change with args=resource: %v, want 1405231", rerr)
	}
}

func TestToDeploymentView(t *testing.T) {
	old := v1alpha1.DeploymentSpec{Metadata: v1alpha1.ObjectMeta{Name: "web"}, Instance: 3}
	updated := old
	updated.Instance = 4
	now := metav1.NewMicroTime(metav1.Now().Time)
	d := &v1alpha1.Deployment{
		Spec: updated,
		Status: v1alpha1.DeploymentStatus{
			Status: "Update", Definition: &updated, DefinitionBackup: &old,
			Application:    &v1alpha1.DeploymentApplication{Name: "web", CurrentTargetInstances: 2, CurrentRollingInstances: 3},
			ApplicationExt: &v1alpha1.DeploymentApplication{Name: "web-v1", CurrentTargetInstances: 2},
			Progress:       v1alpha1.DeploymentProgress{Phase: "START", StepStarted: &now, LastStep: &now, Steps: 2},
		},
	}
	raw, err := json.Marshal(ToDeploymentView(d))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	json.Unmarshal(raw, &v)
	app := v["application"].(map[string]any)
	if v["status"] != "Update" || v["is_in_rolling"] != true || v["curr_rolling_operation"] != "START" ||
		app["curr_target_instances"] != float64(2) || app["CurrentRollingInstances"] != float64(3) ||
		v["application_ext"].(map[string]any)["name"] != "web-v1" || v["last_rolling_time"] != float64(now.Unix()) ||
		v["raw_json"].(map[string]any)["spec"].(map[string]any)["instance"] != float64(4) ||
		v["raw_json_backup"].(map[string]any)["spec"].(map[string]any)["instance"] != float64(3) {
		t.Errorf("view: %s", raw)
	}
	d.DeletionTimestamp = &metav1.Time{Time: now.Time}
	if got := ToDeploymentView(d).Status; got != "Deleting" {
		t.Errorf("being deleted: status %s", got)
	}
}

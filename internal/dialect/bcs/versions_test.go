package bcs

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/versions"
)

func TestParseVersionPaths(t *testing.T) {
	for _, prefix := range PathPrefixes {
		r, ok := ParsePath(prefix + "namespaces/defaultGroup/applications/app-test/versions")
		if !ok || r != (Route{Namespace: "defaultGroup", Kind: KindApplication, Name: "app-test", Sub: SubVersions}) {
			t.Errorf("%s list: %+v %v", prefix, r, ok)
		}
		r, ok = ParsePath(prefix + "namespaces/defaultGroup/applications/app-test/versions/1700000000000000000/")
		if !ok || r != (Route{Namespace: "defaultGroup", Kind: KindApplication, Name: "app-test", Sub: SubVersions, Version: "1700000000000000000"}) {
			t.Errorf("%s fetch: %+v %v", prefix, r, ok)
		}
	}
	for _, p := range []string{
		"namespaces/defaultGroup/applications/app-test/versions/1/x",
		"namespaces/defaultGroup/applications/app-test/versions//",
		"namespaces/defaultGroup/configmaps/cm/versions",
		"namespaces/defaultGroup/configmaps/cm/versions/1",
	} {
		if r, ok := ParsePath(PathPrefixes[0] + p); ok {
			t.Errorf("%s: parsed as %+v", p, r)
		}
	}
}

// The version routes against fake clients: versions as the controller
// records them, a former application's ignored.
func TestVersionRoutes(t *testing.T) {
	ctx := context.Background()
	a, dyn := fakeApps(t, fake.NewSimpleClientset())
	const base = "/namespaces/defaultGroup/applications"

	if _, err := a.call(t, "GET", base+"/app-test/versions", ""); err == nil || err.Code != CodeNotFound || err.Status != 404 {
		t.Errorf("versions of a missing application: %v", err)
	}
	if _, err := a.call(t, "GET", base+"/app-test/versions/1", ""); err == nil || err.Code != CodeNotFound || err.Status != 404 {
		t.Errorf("a version of a missing application: %v", err)
	}
	if _, err := a.call(t, "POST", base, seedApplication(t)); err != nil {
		t.Fatal(err)
	}
	app, err := a.get(ctx, "app-test")
	if err != nil {
		t.Fatal(err)
	}
	app.UID = "uid-1" // the fake sets none
	u, _ := toUnstructured(app)
	if _, err := a.client().Update(ctx, u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if data, err := a.call(t, "GET", base+"/app-test/versions", ""); err != nil || data.([]string) != nil {
		t.Errorf("versions before any is recorded: %v %v, want null", data, err)
	}

	scaled := app.DeepCopy()
	scaled.Spec.Instance = 5
	former := app.DeepCopy()
	former.UID = "uid-0"
	// Out of order, IDs of different lengths: sorted as numbers.
	for _, v := range []*v1alpha1.ApplicationVersion{
		versions.For(scaled, "1700000000000000100"),
		versions.For(former, "1700000000000000050"),
		versions.For(app, "999999999999999999"),
	} {
		obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(v)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dyn.Resource(versionsResource).Namespace(a.target.KubeNamespace).Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	data, gerr := a.call(t, "GET", base+"/app-test/versions", "")
	if ids, ok := data.([]string); gerr != nil || !ok || !slices.Equal(ids, []string{"999999999999999999", "1700000000000000100"}) {
		t.Errorf("versions: %v %v", data, gerr)
	}
	data, gerr = a.call(t, "GET", base+"/app-test/versions/1700000000000000100", "")
	v, ok := data.(*VersionView)
	if gerr != nil || !ok || v.Name != "1700000000000000100" || v.ID != "app-test" || v.Instances != 5 || v.RunAs != "defaultGroup" {
		t.Fatalf("version: %+v %v", data, gerr)
	}
	if data, _ := a.call(t, "GET", base+"/app-test/versions/999999999999999999", ""); data.(*VersionView).Instances != 2 {
		t.Errorf("the first version has %d instances, want 2", data.(*VersionView).Instances)
	}
	for _, id := range []string{"1700000000000000050", "1", "x"} {
		if _, err := a.call(t, "GET", base+"/app-test/versions/"+id, ""); err == nil || err.Code != CodeNotFound || err.Status != 404 {
			t.Errorf("version %s: %v, want 1405202", id, err)
		}
	}
	if _, err := a.call(t, "PUT", base+"/app-test/versions", ""); err == nil || err.Code != CodeNotFound || err.Status != 405 {
		t.Errorf("PUT versions: %v", err)
	}
}

// TestVersionView: the seed as BCS's driver makes its Version, with the
// scheduler's keys (Go field names, LimitResoures, raw_json).
func TestVersionView(t *testing.T) {
	app, err := ToApplication(target(t, KindApplication, "defaultGroup"), []byte(seedApplication(t)))
	if err != nil {
		t.Fatal(err)
	}
	app.UID = "uid-1"
	app.Spec.Template.Metadata.Labels = map[string]string{"podname": "template", "tier": "game"}
	app.Spec.Template.Spec.Containers[0].Env = []v1alpha1.EnvVar{{Name: "A", Value: "1"}}
	app.Spec.Template.Spec.Containers[0].Volumes = []v1alpha1.VolumeUnit{{Name: "v", Volume: v1alpha1.Volume{HostPath: "/data", MountPath: "/mnt", ReadOnly: true}}}
	b, jerr := json.Marshal(ToVersionView(app, "defaultGroup", versions.For(app, "1700000000000000000")))
	if jerr != nil {
		t.Fatal(jerr)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"ID", "Name", "ObjectMeta", "PodObjectMeta", "Instances", "RunAs", "Container", "Process",
		"Labels", "KillPolicy", "RestartPolicy", "Constraints", "Uris", "Ip", "Mode", "Kind", "raw_json"} {
		if _, ok := got[key]; !ok {
			t.Errorf("no key %s in %s", key, b)
		}
	}
	if got["ID"] != "app-test" || got["Name"] != "1700000000000000000" || got["Instances"] != float64(2) || got["RunAs"] != "defaultGroup" || got["Kind"] != "application" {
		t.Errorf("version %s", b)
	}
	meta := got["ObjectMeta"].(map[string]any)
	if meta["name"] != "app-test" || meta["namespace"] != "defaultGroup" || meta["creationTimestamp"] != "0001-01-01T00:00:00Z" {
		t.Errorf("ObjectMeta %v", meta)
	}
	pod := got["PodObjectMeta"].(map[string]any)
	if labels := pod["labels"].(map[string]any); pod["name"] != "app-test" || labels["podname"] != "template" || labels["tier"] != "game" {
		t.Errorf("PodObjectMeta %v: the template's labels over the application's", pod)
	}
	if l := got["Labels"].(map[string]any); l["podname"] != "template" || l["tier"] != "game" {
		t.Errorf("Labels %v", l)
	}
	if rp := got["RestartPolicy"].(map[string]any); rp["policy"] != "Never" || rp["interval"] != float64(5) {
		t.Errorf("RestartPolicy %v", rp)
	}
	if kp := got["KillPolicy"].(map[string]any); kp["gracePeriod"] != float64(5) {
		t.Errorf("KillPolicy %v", kp)
	}
	c := got["Container"].([]any)[0].(map[string]any)
	for _, key := range []string{"Type", "Docker", "Volumes", "Resources", "LimitResoures", "DataClass", "ConfigMaps", "Secrets", "HealthChecks", "NetLimit"} {
		if _, ok := c[key]; !ok {
			t.Errorf("no key %s in the container %v", key, c)
		}
	}
	if c["Type"] != "MESOS" {
		t.Errorf("Type %v", c["Type"])
	}
	// Requests default to the limits: 2 cores, 100 MB.
	if r := c["Resources"].(map[string]any); r["Cpus"] != float64(2) || r["Mem"] != float64(100) {
		t.Errorf("Resources %v", r)
	}
	if r := c["LimitResoures"].(map[string]any); r["Cpus"] != float64(2) || r["Mem"] != float64(100) {
		t.Errorf("LimitResoures %v", r)
	}
	d := c["Docker"].(map[string]any)
	if d["Image"] != "dockerhub:8443/bcs/game/gamesvr:v1.1.1" || d["ForcePullImage"] != true || d["Network"] != "BRIDGE" || d["NetworkType"] != "BRIDGE" {
		t.Errorf("Docker %v", d)
	}
	if pm := d["PortMappings"].([]any); len(pm) != 1 || pm[0].(map[string]any)["ContainerPort"] != float64(9999) || pm[0].(map[string]any)["Name"] != "test-port" {
		t.Errorf("PortMappings %v", pm)
	}
	if env := d["Env"].(map[string]any); env["A"] != "1" {
		t.Errorf("Env %v", env)
	}
	if vols := c["Volumes"].([]any); len(vols) != 1 || vols[0].(map[string]any)["Mode"] != "R" || vols[0].(map[string]any)["ContainerPath"] != "/mnt" {
		t.Errorf("Volumes %v", vols)
	}
	if hcs := c["HealthChecks"].([]any); len(hcs) != 3 || hcs[0].(map[string]any)["type"] != "HTTP" {
		t.Errorf("HealthChecks %v", hcs)
	}
	raw := got["raw_json"].(map[string]any)
	if raw["kind"] != "application" || raw["spec"].(map[string]any)["instance"] != float64(2) {
		t.Errorf("raw_json %v", raw)
	}
}

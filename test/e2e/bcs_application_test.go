package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/dialect/bcs"
)

// ok checks a successful answer and returns its data.
func (r bcsReply) ok(t *testing.T, what string) any {
	t.Helper()
	if r.status != 200 || r.env == nil || r.env["code"] != float64(0) || r.env["result"] != true || r.env["message"] != "success" {
		t.Fatalf("%s: HTTP %d %s", what, r.status, r.body)
	}
	return r.env["data"]
}

// TestBCSApplications: the seed's application JSON in namespace
// defaultGroup over raw HTTP: every bad input with its code and nothing
// left behind, create, the BCS views, the definition, scale, delete, and
// the same object through kubectl. The server has no agent; the taskgroup
// Pods are made here as the application controller makes them, so the
// taskgroup routes are checked against whatever Pods the Application owns.
func TestBCSApplications(t *testing.T) {
	s := StartServer(t) // its own: the first create in defaultGroup makes the namespace
	c := &bcsClient{t: t, base: s.URL + "/bcsapi/v4/scheduler/mesos", token: s.Config.BearerToken,
		http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(t, s)}}}}
	const cluster = bcs.DefaultClusterID
	seedBytes, err := os.ReadFile(filepath.Join(repoRoot(), "internal/bcs/application/testdata/seed-application.json"))
	if err != nil {
		t.Fatal(err)
	}
	seed := string(seedBytes)
	ns, _ := bcs.KubeNamespace("defaultGroup")
	other, _ := bcs.KubeNamespace("otherGroup")
	base := "/namespaces/defaultGroup/applications"
	ctx := context.Background()
	dyn, err := dynamic.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	appsClient := dyn.Resource(applications).Namespace(ns)

	// ensureTaskGroups makes app-test's taskgroup Pods as the application
	// controller would when there are none (this server may run no such
	// controller) and returns a func listing the IDs of those it owns.
	ensureTaskGroups := func(t *testing.T) func() []string {
		t.Helper()
		u, err := appsClient.Get(ctx, "app-test", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		app := typed(t, u)
		owned := func() []string {
			pods, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: application.LabelApplication + "=app-test"})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for i := range pods.Items {
				if ref := metav1.GetControllerOf(&pods.Items[i]); ref != nil && ref.UID == app.UID {
					ids = append(ids, pods.Items[i].Annotations[application.AnnotationTaskGroupID])
				}
			}
			slices.Sort(ids)
			return ids
		}
		if len(owned()) == 0 {
			for i := 0; i < 2; i++ {
				p := application.Pod(app, application.PodOptions{Index: i, Cluster: "10001", UnixNano: time.Now().UnixNano()})
				if _, err := s.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		}
		return owned
	}

	t.Run("bad input", func(t *testing.T) {
		c.do("POST", base, cluster, `{"apiVersion": "v4", "kind": `).expect(t, "bad JSON", 400, bcs.CodeJSONDecode)
		c.do("POST", base, cluster, `{"spec": {"instance": "two"}}`).expect(t, "JSON of another shape", 400, bcs.CodeJSONDecode)
		c.do("POST", "/namespaces/otherGroup/applications", cluster, seed).expect(t, "URL and body namespaces differ", 400, bcs.CodeRequestData)
		c.do("POST", base, cluster, strings.Replace(seed, `"instance": 2`, `"instance": 0`, 1)).expect(t, "instance 0", 400, bcs.CodeRequestData)
		c.do("POST", base, cluster, strings.Replace(seed, `"kind": "application"`, `"kind": "deployment"`, 1)).expect(t, "another kind", 400, bcs.CodeRequestData)
		c.do("POST", base, cluster, strings.Replace(seed, `"name": "app-test"`, `"name": "app.test"`, 1)).expect(t, "name with a dot", 400, bcs.CodeParameter)
		c.do("POST", base, cluster, strings.Replace(seed, `"policy": "Never"`, `"policy": "Sometimes"`, 1)).expect(t, "bad restart policy", 400, bcs.CodeParameter)
		c.do("POST", base, "", seed).expect(t, "no cluster header", 400, bcs.CodeFilter)
		c.do("GET", base+"/app-test", cluster, "").expect(t, "get of an unknown application", 404, bcs.CodeNotFound)
		c.do("GET", base+"/app-test/taskgroups", cluster, "").expect(t, "taskgroups of an unknown application", 404, bcs.CodeNotFound)
		c.do("GET", base+"/app-test/tasks", cluster, "").expect(t, "tasks of an unknown application", 404, bcs.CodeNotFound)
		c.do("GET", "/definition/application/defaultGroup/app-test", cluster, "").expect(t, "definition of an unknown application", 404, bcs.CodeNotFound)
		c.do("PUT", base+"/app-test/scale/3", cluster, "").expect(t, "scale of an unknown application", 404, bcs.CodeNotFound)
		c.do("DELETE", base+"/app-test?enforce=1", cluster, "").expect(t, "delete of an unknown application", 404, bcs.CodeNotFound)
		if data := c.do("GET", base, cluster, "").ok(t, "list of none"); data != nil {
			t.Errorf("list of none: %v, want null as in BCS", data)
		}
		for _, n := range []string{ns, other} {
			if _, err := s.Client.CoreV1().Namespaces().Get(ctx, n, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("namespace %s after failed requests: %v, want none made", n, err)
			}
		}
	})

	t.Run("create and views", func(t *testing.T) {
		c.do("POST", base, cluster, seed).expect(t, "create", 200, 0)
		driver := *c
		driver.base = s.URL + "/v4/scheduler/mesos"
		driver.do("POST", base, cluster, seed).expect(t, "create again", 409, bcs.CodeExists)

		out := s.Kubectl("get", "applications", "-n", ns, "--no-headers")
		if f := strings.Fields(out); len(f) < 4 || f[0] != "app-test" || f[1] != "2" || !slices.Contains([]string{"Staging", "Deploying", "Running", "Abnormal"}, f[3]) {
			t.Errorf("kubectl get applications:\n%s", out)
		}

		app, ok := c.do("GET", base+"/app-test", cluster, "").ok(t, "get").(map[string]any)
		if !ok {
			t.Fatal("get: data is not an object")
		}
		for _, k := range []string{"Kind", "ID", "Name", "ObjectMeta", "DefineInstances", "Instances", "RunningInstances", "RunAs", "ClusterId",
			"Status", "SubStatus", "LastStatus", "Created", "UpdateTime", "Mode", "LastUpdateTime", "Message", "Pods"} {
			if _, found := app[k]; !found {
				t.Errorf("the application has no %s: %v", k, app)
			}
		}
		meta, _ := app["ObjectMeta"].(map[string]any)
		if app["ID"] != "app-test" || app["Name"] != "app-test" || app["Kind"] != "application" || app["RunAs"] != "defaultGroup" ||
			app["ClusterId"] != "10001" || app["DefineInstances"] != float64(2) || app["Created"].(float64) < float64(time.Now().Add(-time.Hour).Unix()) ||
			meta["name"] != "app-test" || meta["namespace"] != "defaultGroup" {
			t.Errorf("application view: %v", app)
		}
		if st := app["Status"]; !slices.Contains([]any{"Staging", "Deploying", "Running", "Abnormal"}, st) {
			t.Errorf("status %v", st)
		}
		list, _ := c.do("GET", base, cluster, "").ok(t, "list").([]any)
		if len(list) != 1 || list[0].(map[string]any)["ID"] != "app-test" {
			t.Errorf("list: %v", list)
		}

		def, _ := driver.do("GET", "/definition/application/defaultGroup/app-test", cluster, "").ok(t, "definition").(map[string]any)
		b, _ := json.Marshal(def)
		var d application.Definition
		if err := json.Unmarshal(b, &d); err != nil || d.Kind != "application" || d.Metadata.Name != "app-test" || d.Metadata.Namespace != "defaultGroup" ||
			d.Spec.Instance != 2 || d.RestartPolicy.Policy != "Never" || d.KillPolicy.GracePeriod != 5 || d.Spec.Template == nil ||
			d.Spec.Template.Spec.Containers[0].Image != "dockerhub:8443/bcs/game/gamesvr:v1.1.1" || d.Spec.Template.Spec.Containers[0].Resources.Requests.CPU != "2" {
			t.Errorf("definition: %v %s", err, b)
		}
	})

	// The taskgroup routes show the Pods the Application owns, as the
	// application controller makes them (made here when it did not).
	t.Run("taskgroups", func(t *testing.T) {
		owned := ensureTaskGroups(t)
		var tgs []any
		waitFor(t, "the taskgroups are the Pods the application owns", func() bool {
			want := owned()
			tgs, _ = c.do("GET", base+"/app-test/taskgroups", cluster, "").ok(t, "taskgroups").([]any)
			var got []string
			for _, tg := range tgs {
				got = append(got, tg.(map[string]any)["ID"].(string))
			}
			slices.Sort(got)
			return len(want) >= 2 && slices.Equal(got, want)
		})
		tg := tgs[0].(map[string]any)
		for _, k := range []string{"ID", "Name", "AppID", "RunAs", "ObjectMeta", "Status", "InstanceID", "Taskgroup", "HostName", "KillPolicy", "RestartPolicy", "LaunchResource", "Message"} {
			if _, found := tg[k]; !found {
				t.Errorf("the taskgroup has no %s: %v", k, tg)
			}
		}
		id, _ := tg["ID"].(string)
		tasks, _ := tg["Taskgroup"].([]any)
		if !strings.Contains(id, ".app-test.defaultGroup.10001.") || tg["AppID"] != "app-test" || len(tasks) != 1 {
			t.Fatalf("taskgroup: %v", tg)
		}
		task := tasks[0].(map[string]any)
		for _, k := range []string{"ID", "Name", "Hostame", "Image", "Status", "AgentIPAddress", "DataClass", "PortMappings", "HealthChecks"} {
			if _, found := task[k]; !found {
				t.Errorf("the task has no %s: %v", k, task)
			}
		}
		if ref, _ := application.ParseTaskGroupID(id); !strings.HasPrefix(task["ID"].(string), strings.Split(id, ".")[4]+".0.") || ref.App != "app-test" {
			t.Errorf("task ID %v of taskgroup %s", task["ID"], id)
		}
		all, _ := c.do("GET", base+"/app-test/tasks", cluster, "").ok(t, "tasks").([]any)
		if len(all) < 2 {
			t.Errorf("tasks: %v", all)
		}
		got, _ := c.do("GET", base+"/app-test", cluster, "").ok(t, "get").(map[string]any)
		if pods, _ := got["Pods"].([]any); len(pods) < 2 {
			t.Errorf("the application's Pods: %v", got["Pods"])
		}
	})

	t.Run("scale", func(t *testing.T) {
		c.do("PUT", base+"/app-test/scale/5", cluster, "").expect(t, "scale to 5", 200, 0)
		if out := s.Kubectl("get", "app", "app-test", "-n", ns, "-o", "jsonpath={.spec.instance}"); out != "5" {
			t.Errorf("spec.instance after scale: %q", out)
		}
		if got, _ := c.do("GET", base+"/app-test", cluster, "").ok(t, "get").(map[string]any); got["DefineInstances"] != float64(5) {
			t.Errorf("DefineInstances after scale: %v", got["DefineInstances"])
		}
		c.do("PUT", base+"/app-test/scale/two", cluster, "").expect(t, "scale to two", 400, bcs.CodeBadParameters)
		c.do("PUT", base+"/app-test/scale/-1", cluster, "").expect(t, "scale to -1", 400, bcs.CodeBadParameters)
		c.do("PUT", base+"/app-test/scale/2", cluster, "").expect(t, "scale to 2", 200, 0)
	})

	// Update rebuilds the oldest ?instances= taskgroups from the new
	// definition (they are deleted; the controller makes their indexes
	// again); rollback posts a whole definition and rebuilds all.
	t.Run("update and rollback", func(t *testing.T) {
		ids := func() []string {
			tgs, _ := c.do("GET", base+"/app-test/taskgroups", cluster, "").ok(t, "taskgroups").([]any)
			var out []string
			for _, tg := range tgs {
				out = append(out, tg.(map[string]any)["ID"].(string))
			}
			return out
		}
		before := ids()
		slices.SortFunc(before, func(a, b string) int { // oldest first: the stamp at the end
			return strings.Compare(fmt.Sprintf("%020s", a[strings.LastIndex(a, ".")+1:]), fmt.Sprintf("%020s", b[strings.LastIndex(b, ".")+1:]))
		})
		if len(before) < 2 {
			t.Fatalf("taskgroups before update: %v", before)
		}
		updated := strings.Replace(seed, "gamesvr:v1.1.1", "gamesvr:v2", 1)
		c.do("PUT", base+"?instances=9", cluster, updated).expect(t, "update of more taskgroups than defined", 400, bcs.CodeBadParameters)
		c.do("PUT", base+"?instances=1&args=resource", cluster, updated).expect(t, "args=resource changing the image", 400, bcs.CodeParameter)
		c.do("PUT", base+"?instances=1", cluster, strings.Replace(updated, `"name": "app-test"`, `"name": "app-none"`, 1)).expect(t, "update of an unknown application", 404, bcs.CodeNotFound)
		if out := s.Kubectl("get", "app", "app-test", "-n", ns, "-o", "jsonpath={.spec.template.spec.containers[0].image}"); out != "dockerhub:8443/bcs/game/gamesvr:v1.1.1" {
			t.Errorf("image after refused updates: %q", out)
		}
		c.do("PUT", base+"?instances=1", cluster, updated).expect(t, "update", 200, 0)
		if out := s.Kubectl("get", "app", "app-test", "-n", ns, "-o", "jsonpath={.spec.template.spec.containers[0].image} {.spec.instance}"); out != "dockerhub:8443/bcs/game/gamesvr:v2 2" {
			t.Errorf("after update: %q", out)
		}
		waitFor(t, "the oldest taskgroup is gone, the newer stays", func() bool {
			now := ids()
			return !slices.Contains(now, before[0]) && slices.Contains(now, before[1])
		})
		c.do("PUT", base+"/rollback", cluster, seed).expect(t, "rollback", 200, 0)
		if out := s.Kubectl("get", "app", "app-test", "-n", ns, "-o", "jsonpath={.spec.template.spec.containers[0].image}"); out != "dockerhub:8443/bcs/game/gamesvr:v1.1.1" {
			t.Errorf("image after rollback: %q", out)
		}
		waitFor(t, "every taskgroup before the rollback is gone", func() bool {
			now := ids()
			return !slices.Contains(now, before[1])
		})
		ensureTaskGroups(t) // for delete
	})

	t.Run("a BCS name that is not a Kubernetes name", func(t *testing.T) {
		body := strings.Replace(seed, `"name": "app-test"`, `"name": "test_deployment"`, 1)
		c.do("POST", base, cluster, body).expect(t, "create test_deployment", 200, 0)
		name, _ := bcs.KubeName("test_deployment")
		if out := s.Kubectl("get", "applications", "-n", ns, name, "-o", "jsonpath={.spec.metadata.name}"); out != "test_deployment" {
			t.Errorf("kubectl get application %s: %q", name, out)
		}
		got, _ := c.do("GET", base+"/test_deployment", cluster, "").ok(t, "get test_deployment").(map[string]any)
		if got["ID"] != "test_deployment" {
			t.Errorf("test_deployment: %v", got)
		}
		c.do("DELETE", base+"/test_deployment?enforce=0", cluster, "").expect(t, "delete test_deployment", 200, 0)
	})

	t.Run("delete", func(t *testing.T) {
		c.do("DELETE", base+"/app-test?enforce=1", cluster, "").expect(t, "delete", 200, 0)
		c.do("GET", base+"/app-test", cluster, "").expect(t, "get after delete", 404, bcs.CodeNotFound)
		waitFor(t, "the taskgroup Pods are gone", func() bool {
			pods, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: application.LabelApplication})
			return err == nil && len(pods.Items) == 0
		})
		if out := s.Kubectl("get", "applications", "-n", ns, "-o", "name"); strings.TrimSpace(out) != "" {
			t.Errorf("kubectl get applications after delete: %q", out)
		}
		if data := c.do("GET", base, cluster, "").ok(t, "list after delete"); data != nil {
			t.Errorf("list after delete: %v", data)
		}
	})
}

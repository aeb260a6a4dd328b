package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/dialect/bcs"
)

// deploymentBody is a BCS deployment in the seed's shape: instance
// sleepers whose env VERSION is version, rolled by strategy (the
// rollingupdate object's fields).
func deploymentBody(ns, name string, instance int, version, strategy string) string {
	return `{"apiVersion":"v4","kind":"deployment",
		"metadata":{"labels":{"label_deployment":"label_deployment"},"name":"` + name + `","namespace":"` + ns + `"},
		"restartPolicy":{"policy":"Always","interval":5,"backoff":10},
		"killPolicy":{"gracePeriod":1},
		"spec":{"instance":` + strconv.Itoa(instance) + `,"selector":{"podname":"` + name + `"},
			"template":{"metadata":{"labels":{"podname":"` + name + `"}},"spec":{"containers":[
				{"image":"busybox","command":"sh","args":["-c","exec sleep 3600"],
				 "env":[{"name":"VERSION","value":"` + version + `"}],
				 "resources":{"limits":{"cpu":"0.02","memory":"16"}}}]}},
			"strategy":{"type":"RollingUpdate","rollingupdate":{` + strategy + `}}}}`
}

// deploymentView is what GET namespaces/{ns}/deployments/{name} answers.
type deploymentView struct {
	Status         string `json:"status"`
	Message        string `json:"message"`
	Application    *deploymentAppView
	ApplicationExt *deploymentAppView `json:"application_ext"`
	RawJSON        map[string]any     `json:"raw_json"`
	RawJSONBackup  map[string]any     `json:"raw_json_backup"`
	IsInRolling    bool               `json:"is_in_rolling"`
	Strategy       struct {
		RollingUpdate struct {
			MaxUnavilable int `json:"maxUnavilable"`
		} `json:"rollingupdate"`
	} `json:"strategy"`
}

type deploymentAppView struct {
	Name          string `json:"name"`
	TargetCount   int    `json:"curr_target_instances"`
	RollingCounts int    `json:"CurrentRollingInstances"`
}

// taskGroupCounts is what exists of a namespace's taskgroups, per
// application: every Pod the API holds (terminating ones too: they may
// still hold their node), and the Running ones not being deleted.
type taskGroupCounts struct {
	exist, running map[string]int
	versions       map[string]bool // VERSION of the Running ones
}

func countTaskGroups(t *testing.T, kube kubernetes.Interface, ns string) taskGroupCounts {
	t.Helper()
	pods, err := kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := taskGroupCounts{exist: map[string]int{}, running: map[string]int{}, versions: map[string]bool{}}
	for _, p := range pods.Items {
		app := p.Labels[application.LabelApplication]
		c.exist[app]++
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && allRunning(&p) {
			c.running[app]++
			for _, e := range p.Spec.Containers[0].Env {
				if e.Name == "VERSION" {
					c.versions[e.Value] = true
				}
			}
		}
	}
	return c
}

func allRunning(p *corev1.Pod) bool {
	if len(p.Status.ContainerStatuses) != len(p.Spec.Containers) {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running == nil {
			return false
		}
	}
	return true
}

func (c taskGroupCounts) total() (exist, running int) {
	for _, n := range c.exist {
		exist += n
	}
	for _, n := range c.running {
		running += n
	}
	return exist, running
}

// boundsWatcher samples a namespace's taskgroups until stopped and records
// every sample that breaks instance+maxSurge existing or
// instance-maxUnavilable Running.
type boundsWatcher struct {
	stop    chan struct{}
	done    sync.WaitGroup
	mu      sync.Mutex
	broken  []string
	samples int
	maxSeen int
	minRun  int
}

func watchBounds(t *testing.T, kube kubernetes.Interface, ns string, instance, surge, unavailable int) *boundsWatcher {
	w := &boundsWatcher{stop: make(chan struct{}), minRun: instance}
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		for {
			select {
			case <-w.stop:
				return
			default:
			}
			pods, err := kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
			if err != nil {
				continue
			}
			exist, running := 0, 0
			for i := range pods.Items {
				p := &pods.Items[i]
				exist++
				if p.DeletionTimestamp == nil && allRunning(p) {
					running++
				}
			}
			w.mu.Lock()
			w.samples++
			w.maxSeen, w.minRun = max(w.maxSeen, exist), min(w.minRun, running)
			if exist > instance+surge || running < instance-unavailable {
				w.broken = append(w.broken, fmt.Sprintf("%d taskgroups exist, %d Running", exist, running))
			}
			w.mu.Unlock()
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return w
}

func (w *boundsWatcher) check(t *testing.T, what string) {
	t.Helper()
	close(w.stop)
	w.done.Wait()
	if len(w.broken) > 0 {
		t.Errorf("%s: the bounds broke in %d of %d samples: %v", what, len(w.broken), w.samples, w.broken[:min(len(w.broken), 5)])
	}
	t.Logf("%s: %d samples, at most %d taskgroups, at least %d Running", what, w.samples, w.maxSeen, w.minRun)
}

type deploymentClient struct {
	*bcsClient
	ns   string
	base string // /namespaces/{ns}/deployments
}

func (d deploymentClient) get(name string) deploymentView {
	d.t.Helper()
	var v deploymentView
	d.do("GET", d.base+"/"+name, bcs.DefaultClusterID, "").decode(d.t, "get deployment", &v)
	return v
}

// update PUTs body once the deployment's application is Running, as BCS
// requires of an update (its taskgroups may run before its status says so).
func (d deploymentClient) update(name, body string) bcsReply {
	d.t.Helper()
	tg := taskGroupClient{d.bcsClient, "/namespaces/" + d.ns + "/applications"}
	waitFor(d.t, "the application of "+name+" Running", func() bool {
		v := d.get(name)
		return v.Application != nil && tg.app(v.Application.Name)["Status"] == "Running"
	})
	return d.do("PUT", d.base, bcs.DefaultClusterID, body)
}

func (d deploymentClient) waitStatus(name, status string) deploymentView {
	d.t.Helper()
	var v deploymentView
	waitFor(d.t, "deployment "+name+" "+status, func() bool {
		v = d.get(name)
		return v.Status == status
	})
	return v
}

// TestBCSDeployment: a deployment made with the seed's body, rolled
// CreateFirst and DeleteFirst (manual steps, pauseupdate refused while
// paused), cancelled halfway, scaled and deleted; at every sample of the
// rolling updates the two applications together hold at most
// instance+maxSurge taskgroups and at least instance-maxUnavilable Running.
func TestBCSDeployment(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	tg := newTaskGroupClient(t, s, ns)
	d := deploymentClient{tg.bcsClient, ns, "/namespaces/" + ns + "/deployments"}
	const n = 3

	d.do("POST", d.base, bcs.DefaultClusterID, deploymentBody(ns, "web", n, "v1", `"maxUnavilable":1,"maxSurge":1,"upgradeDuration":0,"rollingOrder":"CreateFirst"`)).
		expect(t, "create", 200, 0)
	d.do("POST", d.base, bcs.DefaultClusterID, deploymentBody(ns, "web", n, "v1", `"rollingOrder":"CreateFirst"`)).
		expect(t, "create again", 409, bcs.CodeExists)
	v := d.waitStatus("web", "Running")
	if v.Application == nil || v.Application.Name != "web" || v.ApplicationExt != nil {
		t.Fatalf("created: application %+v, ext %+v; want web and none", v.Application, v.ApplicationExt)
	}
	waitFor(t, "3 taskgroups of web Running", func() bool {
		ids, running := byIndex(tg.taskgroups("web"))
		return running && len(ids) == n
	})
	if out := s.Kubectl("get", "bcsdeploy", "-n", ns); !strings.Contains(out, "web") || !strings.Contains(out, "Running") {
		t.Errorf("kubectl get bcsdeploy:\n%s", out)
	}

	// CreateFirst, upgradeDuration 0.
	w := watchBounds(t, s.Client, ns, n, 1, 1)
	d.update("web", deploymentBody(ns, "web", n, "v2", `"maxUnavilable":1,"maxSurge":1,"upgradeDuration":0,"rollingOrder":"CreateFirst"`)).
		expect(t, "update CreateFirst", 200, 0)
	v = d.get("web")
	if v.Status != "Update" && v.Status != "Running" {
		t.Errorf("after PUT: status %s, want Update (or already Running)", v.Status)
	}
	var newApp string
	waitFor(t, "the CreateFirst update to finish", func() bool {
		v = d.get("web")
		if v.Application != nil {
			newApp = v.Application.Name
		}
		return v.Status == "Running" && strings.HasPrefix(newApp, "web-v") && v.ApplicationExt == nil
	})
	waitFor(t, "only the new application's taskgroups left", func() bool {
		c := countTaskGroups(t, s.Client, ns)
		exist, running := c.total()
		return exist == n && running == n && c.versions["v2"] && !c.versions["v1"]
	})
	w.check(t, "CreateFirst")
	tg.do("GET", tg.base+"/web", bcs.DefaultClusterID, "").expect(t, "the old application", 404, bcs.CodeNotFound)
	var def map[string]any
	d.do("GET", "/definition/deployment/"+ns+"/web", bcs.DefaultClusterID, "").decode(t, "definition", &def)
	if got := fmt.Sprint(def["spec"].(map[string]any)["template"]); !strings.Contains(got, "v2") {
		t.Errorf("definition after the update: template %s, want VERSION v2", got)
	}

	// DeleteFirst with manual steps: paused after each step until resumed.
	w = watchBounds(t, s.Client, ns, n, 2, 1)
	d.update("web", deploymentBody(ns, "web", n, "v3", `"maxUnavilable":1,"maxSurge":2,"upgradeDuration":0,"rollingManually":true,"rollingOrder":"DeleteFirst"`)).
		expect(t, "update DeleteFirst", 200, 0)
	steps := 0
	for {
		var v deploymentView
		waitFor(t, "a manual step to end", func() bool {
			v = d.get("web")
			return v.Status == "UpdatePaused" || v.Status == "Running"
		})
		if v.Status == "Running" {
			break
		}
		steps++
		t.Logf("DeleteFirst pause %d: %s; application %+v, ext %+v", steps, v.Message, v.Application, v.ApplicationExt)
		if steps == 1 {
			d.do("PUT", d.base+"/web/pauseupdate", bcs.DefaultClusterID, "").expect(t, "pause a paused update", 409, bcs.CodeCommon)
			d.do("PUT", d.base+"/web/scale/5", bcs.DefaultClusterID, "").expect(t, "scale during an update", 409, bcs.CodeCommon)
		}
		if steps > n+1 {
			t.Fatalf("more than %d manual steps", n+1)
		}
		d.do("PUT", d.base+"/web/resumeupdate", bcs.DefaultClusterID, "").expect(t, "resume", 200, 0)
	}
	if steps < 2 {
		t.Errorf("DeleteFirst with rollingManually paused %d times, want one pause per step but the last (at least 2 for 3 instances)", steps)
	}
	waitFor(t, "v3 everywhere", func() bool {
		c := countTaskGroups(t, s.Client, ns)
		exist, running := c.total()
		return exist == n && running == n && c.versions["v3"] && len(c.versions) == 1
	})
	w.check(t, "DeleteFirst")
	d.do("PUT", d.base+"/web/resumeupdate", bcs.DefaultClusterID, "").expect(t, "resume a Running deployment", 409, bcs.CodeCommon)
	d.do("PUT", d.base+"/web/cancelupdate", bcs.DefaultClusterID, "").expect(t, "cancel with no update", 409, bcs.CodeCommon)

	// Cancelled halfway: one step, then a long upgradeDuration.
	before := d.get("web").Application.Name
	d.update("web", deploymentBody(ns, "web", n, "v4", `"maxUnavilable":1,"maxSurge":1,"upgradeDuration":600,"rollingOrder":"CreateFirst"`)).
		expect(t, "update to cancel", 200, 0)
	waitFor(t, "the first step done", func() bool {
		v := d.get("web")
		c := countTaskGroups(t, s.Client, ns)
		return v.Status == "Update" && v.ApplicationExt != nil && c.running[v.ApplicationExt.Name] == 1 && c.exist[before] == n-1
	})
	if v := d.get("web"); v.RawJSONBackup == nil {
		t.Error("during an update: no raw_json_backup")
	}
	d.do("PUT", d.base+"/web/cancelupdate", bcs.DefaultClusterID, "").expect(t, "cancel", 200, 0)
	v = d.get("web")
	if v.Status != "Running" || v.ApplicationExt != nil || v.Application.Name != before || v.RawJSONBackup != nil {
		t.Errorf("after cancelupdate: %+v, want Running with %s alone", v, before)
	}
	waitFor(t, "the old application whole again, the new one gone", func() bool {
		c := countTaskGroups(t, s.Client, ns)
		exist, running := c.total()
		return exist == n && running == n && c.versions["v3"] && len(c.versions) == 1
	})
	d.do("GET", "/definition/deployment/"+ns+"/web", bcs.DefaultClusterID, "").decode(t, "definition", &def)
	if got := fmt.Sprint(def["spec"].(map[string]any)["template"]); !strings.Contains(got, "v3") {
		t.Errorf("definition after cancel: template %s, want VERSION v3 back", got)
	}

	// Scale, then delete.
	d.do("PUT", d.base+"/web/scale/5", bcs.DefaultClusterID, "").expect(t, "scale", 200, 0)
	waitFor(t, "5 taskgroups Running", func() bool {
		_, running := countTaskGroups(t, s.Client, ns).total()
		return running == 5
	})
	if v := d.get("web"); v.Application.TargetCount != 5 {
		t.Errorf("after scale: application %+v, want curr_target_instances 5", v.Application)
	}
	// args=resource: the same taskgroups get the new CPU limit in place.
	uids := map[string]bool{}
	pods, err := s.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		uids[string(p.UID)] = true
	}
	resized := strings.Replace(deploymentBody(ns, "web", n, "v3", `"rollingOrder":"DeleteFirst"`), `"cpu":"0.02"`, `"cpu":"0.03"`, 1)
	d.do("PUT", d.base+"?args=resource", bcs.DefaultClusterID, strings.Replace(resized, "v3", "v9", 1)).
		expect(t, "args=resource with another env", 400, bcs.CodeParameter)
	d.do("PUT", d.base+"?args=resource", bcs.DefaultClusterID, resized).expect(t, "args=resource", 200, 0)
	waitFor(t, "every taskgroup resized in place", func() bool {
		pods, err := s.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil || len(pods.Items) != 5 {
			return false
		}
		for _, p := range pods.Items {
			if !uids[string(p.UID)] || p.Spec.Containers[0].Resources.Limits.Cpu().MilliValue() != 30 || p.Status.ContainerStatuses[0].RestartCount != 0 {
				return false
			}
		}
		return true
	})
	if v := d.get("web"); v.Status != "Running" || v.Application.Name != before {
		t.Errorf("after args=resource: %+v, want Running on %s (no rolling update)", v, before)
	}

	d.do("DELETE", d.base+"/web?enforce=1", bcs.DefaultClusterID, "").expect(t, "delete", 200, 0)
	waitFor(t, "the deployment and its taskgroups gone", func() bool {
		exist, _ := countTaskGroups(t, s.Client, ns).total()
		return exist == 0 && d.do("GET", d.base+"/web", bcs.DefaultClusterID, "").status == 404
	})
	d.do("DELETE", d.base+"/web", bcs.DefaultClusterID, "").expect(t, "delete again", 404, bcs.CodeNotFound)
}

// TestBCSDeploymentAdopt: a deployment without a template adopts the one
// application its selector matches; two matching applications are refused.
func TestBCSDeploymentAdopt(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	tg := newTaskGroupClient(t, s, ns)
	d := deploymentClient{tg.bcsClient, ns, "/namespaces/" + ns + "/deployments"}
	labelled := func(name string) string {
		return strings.Replace(sleeperApp(ns, name, 1, "", "v1"), `"metadata":{`, `"metadata":{"labels":{"tier":"legacy"},`, 1)
	}
	tg.do("POST", tg.base, bcs.DefaultClusterID, labelled("legacy")).expect(t, "create legacy", 200, 0)
	adopt := `{"apiVersion":"v4","kind":"deployment","metadata":{"name":"keeper","namespace":"` + ns + `"},
		"spec":{"instance":2,"selector":{"tier":"legacy"},"strategy":{"type":"RollingUpdate"}}}`
	d.do("POST", d.base, bcs.DefaultClusterID, adopt).expect(t, "adopt", 200, 0)
	v := d.waitStatus("keeper", "Running")
	if v.Application == nil || v.Application.Name != "legacy" {
		t.Fatalf("adopted: application %+v, want legacy", v.Application)
	}
	waitFor(t, "legacy scaled to the deployment's 2", func() bool {
		return countTaskGroups(t, s.Client, ns).running["legacy"] == 2
	})
	tg.do("POST", tg.base, bcs.DefaultClusterID, labelled("legacy2")).expect(t, "create legacy2", 200, 0)
	tg.do("POST", tg.base, bcs.DefaultClusterID, labelled("legacy3")).expect(t, "create legacy3", 200, 0)
	twice := strings.Replace(adopt, "keeper", "greedy", 1)
	d.do("POST", d.base, bcs.DefaultClusterID, twice).expect(t, "two matching applications", 400, bcs.CodeRequestData)
	d.do("POST", d.base, bcs.DefaultClusterID, strings.Replace(deploymentBody(ns, "x", 1, "v1", ""), `"kind":"deployment"`, `"kind":"application"`, 1)).
		expect(t, "an application body", 400, bcs.CodeRequestData)
	d.do("DELETE", d.base+"/keeper", bcs.DefaultClusterID, "").expect(t, "delete", 200, 0)
	waitFor(t, "legacy deleted with its deployment", func() bool {
		return tg.do("GET", tg.base+"/legacy", bcs.DefaultClusterID, "").status == 404
	})
}

// TestBCSDeploymentRestart: a rolling update carries on after the server
// restarts in the middle of it, from the step it was at.
func TestBCSDeploymentRestart(t *testing.T) {
	if externalEtcd() {
		t.Skip("workload tests run in the embedded-etcd pass")
	}
	s, _ := StartCluster(t)
	ns := s.Namespace(t)
	tg := newTaskGroupClient(t, s, ns)
	d := deploymentClient{tg.bcsClient, ns, "/namespaces/" + ns + "/deployments"}
	const n = 3
	d.do("POST", d.base, bcs.DefaultClusterID, deploymentBody(ns, "web", n, "v1", `"rollingOrder":"CreateFirst"`)).expect(t, "create", 200, 0)
	d.waitStatus("web", "Running")
	waitFor(t, "3 Running", func() bool { _, r := countTaskGroups(t, s.Client, ns).total(); return r == n })
	// Steps 2 s apart: the restart lands between steps.
	d.update("web", deploymentBody(ns, "web", n, "v2", `"maxUnavilable":1,"maxSurge":1,"upgradeDuration":2,"rollingOrder":"CreateFirst"`)).
		expect(t, "update", 200, 0)
	var ext string
	waitFor(t, "the first step done", func() bool {
		v := d.get("web")
		if v.ApplicationExt != nil {
			ext = v.ApplicationExt.Name
		}
		return ext != "" && countTaskGroups(t, s.Client, ns).running[ext] >= 1
	})
	s.Restart()
	tg.http.CloseIdleConnections()
	v := d.get("web")
	if v.Status != "Update" || v.ApplicationExt == nil || v.ApplicationExt.Name != ext {
		t.Fatalf("after the restart: %+v, want Update with %s", v, ext)
	}
	v = d.waitStatus("web", "Running")
	if v.Application.Name != ext {
		t.Errorf("finished on %s, want %s (the application the update made before the restart)", v.Application.Name, ext)
	}
	waitFor(t, "v2 everywhere", func() bool {
		c := countTaskGroups(t, s.Client, ns)
		exist, running := c.total()
		return exist == n && running == n && len(c.versions) == 1 && c.versions["v2"]
	})
}

// decode checks a successful answer and decodes its data into out.
func (r bcsReply) decode(t *testing.T, what string, out any) {
	t.Helper()
	r.ok(t, what)
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		t.Fatalf("%s: data %s: %v", what, env.Data, err)
	}
}

// TestBCSDeploymentSuspend: a step that cannot finish within the step
// timeout (--bcs-rolling-step-timeout) suspends the update with the reason;
// resumeupdate tries the step again, cancelupdate gives the old
// application back.
func TestBCSDeploymentSuspend(t *testing.T) {
	if externalEtcd() {
		t.Skip("workload tests run in the embedded-etcd pass")
	}
	s, _ := StartCluster(t, "--bcs-rolling-step-timeout", "2s")
	ns := s.Namespace(t)
	tg := newTaskGroupClient(t, s, ns)
	d := deploymentClient{tg.bcsClient, ns, "/namespaces/" + ns + "/deployments"}
	const n = 2
	strategy := `"maxUnavilable":1,"maxSurge":1,"upgradeDuration":0,"rollingOrder":"CreateFirst"`
	d.do("POST", d.base, bcs.DefaultClusterID, deploymentBody(ns, "web", n, "v1", strategy)).expect(t, "create", 200, 0)
	d.waitStatus("web", "Running")
	waitFor(t, "2 Running", func() bool { _, r := countTaskGroups(t, s.Client, ns).total(); return r == n })
	broken := strings.Replace(deploymentBody(ns, "web", n, "v2", strategy), `"command":"sh"`, `"command":"/nonexistent/program"`, 1)
	d.update("web", broken).expect(t, "update to a template that cannot run", 200, 0)
	v := d.waitStatus("web", "UpdateSuspend")
	if !strings.Contains(v.Message, "did not finish in 2s") || !strings.Contains(v.Message, "new application to be Running") {
		t.Errorf("suspended: message %q, want the step and what it waited for", v.Message)
	}
	if c := countTaskGroups(t, s.Client, ns); c.running["web"] != n {
		t.Errorf("suspended: %d of the old application's taskgroups Running, want %d (CreateFirst lowers only after the new ones run)", c.running["web"], n)
	}
	d.do("PUT", d.base+"/web/resumeupdate", bcs.DefaultClusterID, "").expect(t, "resume", 200, 0)
	d.waitStatus("web", "UpdateSuspend") // the same step, again out of time
	d.do("PUT", d.base+"/web/cancelupdate", bcs.DefaultClusterID, "").expect(t, "cancel", 200, 0)
	if v := d.get("web"); v.Status != "Running" || v.Application.Name != "web" || v.ApplicationExt != nil {
		t.Errorf("after cancel: %+v", v)
	}
	waitFor(t, "only the old application left", func() bool {
		c := countTaskGroups(t, s.Client, ns)
		exist, running := c.total()
		return exist == n && running == n && c.versions["v1"] && len(c.versions) == 1
	})
}

// seedDeployment is the seed's deployment body (internal/bcs/deployment/
// testdata) with what the process runtime and a test's time need changed:
// the namespace, a command (the seed names only an image), 16 MB of memory
// (the seed's 1 MB cannot hold a process), upgradeDuration 0 (the seed
// waits 60 s between steps) and the image's tag.
func seedDeployment(t *testing.T, ns, tag string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(), "internal/bcs/deployment/testdata/seed-deployment.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	d["metadata"].(map[string]any)["namespace"] = ns
	spec := d["spec"].(map[string]any)
	c := spec["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	c["command"], c["args"] = "sleep", []string{"3600"}
	c["image"] = "dockerhub:8443/bcs/game/gamesvr:" + tag
	c["resources"].(map[string]any)["limits"].(map[string]any)["memory"] = "16"
	spec["strategy"].(map[string]any)["rollingupdate"].(map[string]any)["upgradeDuration"] = 0
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestBCSDeploymentSeed: the seed's deployment body made, rolled to a new
// image and deleted.
func TestBCSDeploymentSeed(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	tg := newTaskGroupClient(t, s, ns)
	d := deploymentClient{tg.bcsClient, ns, "/namespaces/" + ns + "/deployments"}
	d.do("POST", d.base, bcs.DefaultClusterID, seedDeployment(t, ns, "v1.1.1")).expect(t, "create", 200, 0)
	d.waitStatus("deployment-test", "Running")
	waitFor(t, "2 taskgroups Running", func() bool {
		ids, running := byIndex(tg.taskgroups("deployment-test"))
		return running && len(ids) == 2
	})
	waitFor(t, "the application Running", func() bool { return tg.app("deployment-test")["Status"] == "Running" })
	d.update("deployment-test", seedDeployment(t, ns, "v1.1.2")).expect(t, "update", 200, 0)
	var v deploymentView
	waitFor(t, "the update done", func() bool {
		v = d.get("deployment-test")
		return v.Status == "Running" && v.ApplicationExt == nil && v.Application != nil && v.Application.Name != "deployment-test"
	})
	waitFor(t, "the new application's 2 taskgroups Running", func() bool {
		ids, running := byIndex(tg.taskgroups(v.Application.Name))
		return running && len(ids) == 2
	})
	var def map[string]any
	d.do("GET", "/definition/deployment/"+ns+"/deployment-test", bcs.DefaultClusterID, "").decode(t, "definition", &def)
	if got := fmt.Sprint(def); !strings.Contains(got, "gamesvr:v1.1.2") || !strings.Contains(got, "maxUnavilable") {
		t.Errorf("definition: %s", got)
	}
	d.do("DELETE", d.base+"/deployment-test?enforce=1", bcs.DefaultClusterID, "").expect(t, "delete", 200, 0)
	waitFor(t, "the deployment gone", func() bool {
		return d.do("GET", d.base+"/deployment-test", bcs.DefaultClusterID, "").status == 404 &&
			tg.do("GET", tg.base+"/"+v.Application.Name, bcs.DefaultClusterID, "").status == 404
	})
}

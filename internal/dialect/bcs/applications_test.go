package bcs

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/podyard/podyard/internal/agent/probeinfo"
	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
)

func seedApplication(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("../../bcs/application/testdata/seed-application.json")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestToApplication(t *testing.T) {
	seed := seedApplication(t)
	noNamespace := strings.Replace(seed, `"namespace": "defaultGroup"`, `"namespace": ""`, 1)
	for _, tc := range []struct {
		name, ns, body string
		code           int
		check          func(t *testing.T, app *v1alpha1.Application)
	}{
		{"the seed", "defaultGroup", seed, 0, func(t *testing.T, app *v1alpha1.Application) {
			wantNS, _ := KubeNamespace("defaultGroup")
			if app.Name != "app-test" || app.Namespace != wantNS || app.Annotations != nil {
				t.Errorf("meta %+v", app.ObjectMeta)
			}
			if app.Spec.Instance != 2 || app.Spec.Metadata.Namespace != "defaultGroup" || app.Spec.RestartPolicy.Policy != "Never" {
				t.Errorf("spec %+v", app.Spec)
			}
			if app.APIVersion != "bcs.podyard.io/v1alpha1" || app.Kind != "Application" {
				t.Errorf("type %+v", app.TypeMeta)
			}
		}},
		{"a BCS name that is not a DNS label", "defaultGroup", strings.Replace(seed, `"name": "app-test"`, `"name": "test_deployment"`, 1), 0, func(t *testing.T, app *v1alpha1.Application) {
			want, _ := KubeName("test_deployment")
			if app.Name != want || app.Annotations[AnnotationName] != "test_deployment" || app.Spec.Metadata.Name != "test_deployment" {
				t.Errorf("meta %+v spec.metadata %+v", app.ObjectMeta, app.Spec.Metadata)
			}
		}},
		{"no namespace in the body is the URL's", "otherGroup", noNamespace, 0, func(t *testing.T, app *v1alpha1.Application) {
			if app.Spec.Metadata.Namespace != "otherGroup" {
				t.Errorf("namespace %q", app.Spec.Metadata.Namespace)
			}
		}},
		{"bad JSON", "defaultGroup", `{"kind": "application", `, CodeJSONDecode, nil},
		{"JSON of another shape", "defaultGroup", `{"spec": {"instance": "two"}}`, CodeJSONDecode, nil},
		{"URL and body namespaces differ", "otherGroup", seed, CodeRequestData, nil},
		{"another kind", "defaultGroup", strings.Replace(seed, `"kind": "application"`, `"kind": "deployment"`, 1), CodeRequestData, nil},
		{"another kind's body (no template)", "defaultGroup", `{"apiVersion":"v4","kind":"service","metadata":{"name":"s"},"spec":{}}`, CodeRequestData, nil},
		{"instance 0", "defaultGroup", strings.Replace(seed, `"instance": 2`, `"instance": 0`, 1), CodeRequestData, nil},
		{"instance -1", "defaultGroup", strings.Replace(seed, `"instance": 2`, `"instance": -1`, 1), CodeRequestData, nil},
		{"name with a dot", "defaultGroup", strings.Replace(seed, `"name": "app-test"`, `"name": "app.test"`, 1), CodeParameter, nil},
		{"no name", "defaultGroup", strings.Replace(seed, `"name": "app-test"`, `"name": ""`, 1), CodeBadParameters, nil},
		{"bad restart policy", "defaultGroup", strings.Replace(seed, `"policy": "Never"`, `"policy": "Sometimes"`, 1), CodeParameter, nil},
		{"no containers", "defaultGroup", `{"kind":"application","metadata":{"name":"a"},"spec":{"instance":1,"template":{"spec":{"containers":[]}}}}`, CodeParameter, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app, err := ToApplication(target(t, KindApplication, tc.ns), []byte(tc.body))
			if tc.code != 0 {
				if err == nil || err.Code != tc.code || err.Status != 400 {
					t.Fatalf("got %v, want code %d with HTTP 400", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, app)
		})
	}
}

func TestParseInstancesAndDeleteGrace(t *testing.T) {
	for s, want := range map[string]int32{"0": 0, "5": 5, "100": 100} {
		if n, err := ParseInstances(s); err != nil || n != want {
			t.Errorf("ParseInstances(%q) = %d, %v", s, n, err)
		}
	}
	for _, s := range []string{"-1", "x", "", "1.5", "99999999999"} {
		if _, err := ParseInstances(s); err == nil || err.Code != CodeBadParameters || err.Status != 400 {
			t.Errorf("ParseInstances(%q): %v", s, err)
		}
	}
	app := &v1alpha1.Application{Spec: v1alpha1.ApplicationSpec{KillPolicy: v1alpha1.KillPolicy{GracePeriod: 5}}}
	for enforce, want := range map[string]*int64{"1": ptr.To[int64](0), "0": ptr.To[int64](5), "": ptr.To[int64](5), "true": ptr.To[int64](5)} {
		if got := DeleteGrace(enforce, app); !reflect.DeepEqual(got, want) {
			t.Errorf("enforce=%q: grace %v, want %v", enforce, got, *want)
		}
	}
	if got := DeleteGrace("0", &v1alpha1.Application{}); got != nil {
		t.Errorf("no kill policy: %v, want the Pods' own", *got)
	}
}

// seedApp is the seed's application as the registry stores it.
func seedApp(t testing.TB) *v1alpha1.Application {
	t.Helper()
	app, err := ToApplication(target(t, KindApplication, "defaultGroup"), []byte(seedApplication(t)))
	if err != nil {
		t.Fatal(err)
	}
	app.UID = "uid-1"
	app.Generation = 1
	app.CreationTimestamp = metav1.NewTime(time.Unix(1700000000, 0))
	now := metav1.NewTime(time.Unix(1700000100, 0))
	app.Status = v1alpha1.ApplicationStatus{Status: "Running", LastStatus: "Deploying", Message: "application is running", Instances: 2, RunningInstances: 2, UpdateTime: &now}
	return app
}

// keys are the JSON keys of v.
func keys(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string { slices.Sort(s); return s }

func TestApplicationView(t *testing.T) {
	app := seedApp(t)
	v := ToApplicationView(app, "defaultGroup", "10001", []string{"0.app-test.defaultGroup.10001.1", "1.app-test.defaultGroup.10001.2"})
	want := &ApplicationView{
		Kind: "application", ID: "app-test", Name: "app-test",
		ObjectMeta:      AppMeta{Name: "app-test", Namespace: "defaultGroup", CreationTimestamp: time.Unix(1700000000, 0).UTC(), Labels: map[string]string{"podname": "app-test"}, Annotations: map[string]string{}},
		DefineInstances: 2, Instances: 2, RunningInstances: 2, RunAs: "defaultGroup", ClusterId: "10001",
		Status: "Running", LastStatus: "Deploying", Created: 1700000000, UpdateTime: 1700000100, Message: "application is running",
		Pods: []*PodIndex{{Name: "0.app-test.defaultGroup.10001.1"}, {Name: "1.app-test.defaultGroup.10001.2"}},
	}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("view\n%+v\nwant\n%+v", v, want)
	}
	wantKeys := sorted("Kind", "ID", "Name", "ObjectMeta", "DefineInstances", "Instances", "RunningInstances", "RunAs", "ClusterId",
		"Status", "SubStatus", "LastStatus", "Created", "UpdateTime", "Mode", "LastUpdateTime", "Message", "Pods")
	if got := keys(t, v); !reflect.DeepEqual(got, wantKeys) {
		t.Errorf("keys %v\nwant %v", got, wantKeys)
	}
	if got := keys(t, v.ObjectMeta); !reflect.DeepEqual(got, sorted("name", "namespace", "creationTimestamp", "labels")) {
		t.Errorf("ObjectMeta keys %v", got)
	}

	// A new application with no taskgroups yet; and one made with kubectl,
	// without BCS metadata.
	bare := &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team"}, Spec: v1alpha1.ApplicationSpec{Instance: 1}}
	v = ToApplicationView(bare, "team", "10001", nil)
	if v.ID != "web" || v.RunAs != "team" || v.Kind != "application" || v.Status != "Staging" || v.Created != 0 || v.Pods != nil || v.DefineInstances != 1 {
		t.Errorf("bare: %+v", v)
	}
	b, _ := json.Marshal(v)
	if !strings.Contains(string(b), `"Pods":null`) || !strings.Contains(string(b), `"creationTimestamp":"0001-01-01T00:00:00Z"`) {
		t.Errorf("bare JSON %s", b)
	}
}

// taskgroupPod is the Pod the controller makes for index of app.
func taskgroupPod(app *v1alpha1.Application, index int, nano int64) *corev1.Pod {
	p := application.Pod(app, application.PodOptions{Index: index, Cluster: "10001", UnixNano: nano})
	p.UID = "pod-uid"
	p.CreationTimestamp = metav1.NewTime(time.Unix(1700000001, 0))
	return p
}

func TestTaskGroupView(t *testing.T) {
	app := seedApp(t)
	pending := taskgroupPod(app, 0, 1547025443000246455)
	running := taskgroupPod(app, 1, 1547025443000246456)
	running.Spec.NodeName = "node-a"
	start := metav1.NewTime(time.Unix(1700000002, 0))
	running.Status = corev1.PodStatus{
		Phase: corev1.PodRunning, HostIP: "10.0.0.7", StartTime: &start,
		Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(time.Unix(1700000003, 0))}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: running.Spec.Containers[0].Name, Ready: true, Started: ptr.To(true), State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}},
	}
	// The agent's report of the task's local (HTTP) check: run once, passed.
	running.Status.Conditions = append(running.Status.Conditions, probeinfo.Condition(
		probeinfo.ConditionType(probeinfo.LivenessConditionPrefix, running.Spec.Containers[0].Name),
		[]probeinfo.State{probeinfo.NewState().Observe(true, "")}))

	tg := ToTaskGroupView(app, "defaultGroup", running)
	if tg.ID != "1.app-test.defaultGroup.10001.1547025443000246456" || tg.Name != "app-test-1" || tg.AppID != "app-test" || tg.RunAs != "defaultGroup" ||
		tg.InstanceID != 1 || tg.Status != "Running" || tg.HostName != "node-a" || tg.AgentID != "node-a" || tg.ExecutorID != tg.ID ||
		tg.ObjectMeta.Name != tg.ID || tg.StartTime != 1700000002 || tg.UpdateTime != 1700000003 || tg.VersionName != "1" {
		t.Errorf("taskgroup %+v", tg)
	}
	if tg.KillPolicy.GracePeriod != 5 || tg.RestartPolicy.Policy != "Never" || tg.RestartPolicy.Interval != 5 || tg.RestartPolicy.Backoff != 10 {
		t.Errorf("policies %+v %+v", tg.KillPolicy, tg.RestartPolicy)
	}
	if *tg.LaunchResource != (ResourceView{Cpus: 2, Mem: 100, Disk: 64}) || *tg.CurrResource != *tg.LaunchResource {
		t.Errorf("resources %+v %+v", tg.LaunchResource, tg.CurrResource)
	}
	if len(tg.Taskgroup) != 1 {
		t.Fatalf("tasks %+v", tg.Taskgroup)
	}
	task := tg.Taskgroup[0]
	if task.ID != "1547025443000246456.0.1.app-test.defaultGroup.10001" || task.Name != "1547025443000246456-"+task.ID ||
		task.Status != "Running" || task.AgentIPAddress != "10.0.0.7" || task.AgentHostname != "node-a" || task.AppId != "app-test" ||
		task.Image != "dockerhub:8443/bcs/game/gamesvr:v1.1.1" || !task.ForcePullImage || task.Network != "BRIDGE" ||
		!task.Healthy || !task.IsChecked || len(task.HealthChecks) != 3 || len(task.HealthCheckStatus) != 3 ||
		len(task.PortMappings) != 1 || *task.PortMappings[0] != (PortMappingView{ContainerPort: 9999, Name: "test-port", Protocol: "HTTP"}) ||
		task.Labels["podname"] != "app-test" {
		t.Errorf("task %+v", task)
	}
	wantTaskGroupKeys := sorted("Kind", "ID", "Name", "AppID", "RunAs", "ObjectMeta", "AgentID", "ExecutorID", "Status", "LastStatus",
		"InstanceID", "Taskgroup", "KillPolicy", "RestartPolicy", "VersionName", "LastUpdateTime", "Attributes", "StartTime", "UpdateTime",
		"ReschededTimes", "LastReschedTime", "HostName", "Message", "LaunchResource", "CurrResource", "BcsEventMsg")
	if got := keys(t, tg); !reflect.DeepEqual(got, wantTaskGroupKeys) {
		t.Errorf("taskgroup keys %v\nwant %v", got, wantTaskGroupKeys)
	}
	got := keys(t, task)
	for _, k := range []string{"Hostame", "Command", "Arguments", "PortMappings", "DataClass", "HealthCheckStatus", "AgentIPAddress", "OfferId", "AgentId", "AppId", "KillPolicy", "NetLimit", "StatusData"} {
		if !slices.Contains(got, k) {
			t.Errorf("task has no key %s: %v", k, got)
		}
	}
	if got := keys(t, task.DataClass); !slices.Contains(got, "LimitResources") || !slices.Contains(got, "Resources") {
		t.Errorf("DataClass keys %v", got)
	}

	// Not placed yet: Staging, nowhere.
	tg = ToTaskGroupView(app, "defaultGroup", pending)
	if tg.Status != "Staging" || tg.HostName != "" || tg.InstanceID != 0 || tg.Taskgroup[0].Status != "Staging" || tg.Taskgroup[0].IsChecked {
		t.Errorf("pending taskgroup %+v task %+v", tg, tg.Taskgroup[0])
	}
	if tasks := Tasks([]*TaskGroupView{tg, ToTaskGroupView(app, "defaultGroup", running)}); len(tasks) != 2 || tasks[1].ID != task.ID {
		t.Errorf("tasks %+v", tasks)
	}
}

func TestOwnedTaskGroups(t *testing.T) {
	app := seedApp(t)
	p0 := taskgroupPod(app, 0, 3)
	p1 := taskgroupPod(app, 1, 1)
	p10 := taskgroupPod(app, 10, 2)
	other := taskgroupPod(app, 2, 4)
	other.OwnerReferences[0].UID = "uid-of-an-older-app"
	noID := taskgroupPod(app, 3, 5)
	delete(noID.Annotations, application.AnnotationTaskGroupID)
	got := OwnedTaskGroups(app, []*corev1.Pod{p10, other, p1, noID, p0})
	if want := []*corev1.Pod{p0, p1, p10}; !reflect.DeepEqual(got, want) {
		t.Errorf("owned %v", TaskGroupIDs(got))
	}
	if ids := TaskGroupIDs(got); ids[0] != "0.app-test.defaultGroup.10001.3" {
		t.Errorf("ids %v", ids)
	}
}

func TestUpdated(t *testing.T) {
	current := seedApp(t)
	current.Spec.Instance = 3 // scaled since
	post := func(from, to string) *v1alpha1.Application {
		t.Helper()
		app, err := ToApplication(target(t, KindApplication, "defaultGroup"), []byte(strings.Replace(seedApplication(t), from, to, 1)))
		if err != nil {
			t.Fatal(err)
		}
		return app
	}
	for _, tc := range []struct {
		name          string
		posted        *v1alpha1.Application
		resourcesOnly bool
		code          int
		check         func(t *testing.T, app *v1alpha1.Application)
	}{
		{"a new image; the instance count stays", post("v1.1.1", "v1.1.2"), false, 0, func(t *testing.T, app *v1alpha1.Application) {
			if app.Spec.Template.Spec.Containers[0].Image != "dockerhub:8443/bcs/game/gamesvr:v1.1.2" || app.Spec.Instance != 3 || app.UID != current.UID || app.Status.Status != "Running" {
				t.Errorf("updated %+v", app)
			}
		}},
		{"only resources with args=resource", post(`"cpu": "2"`, `"cpu": "3"`), true, 0, func(t *testing.T, app *v1alpha1.Application) {
			if r := app.Spec.Template.Spec.Containers[0].Resources; r.Limits.CPU != "3" || r.Requests.CPU != "3" {
				t.Errorf("resources %+v", r)
			}
		}},
		{"more than resources with args=resource", post("v1.1.1", "v1.1.2"), true, CodeParameter, nil},
		{"another application", post(`"name": "app-test"`, `"name": "app-other"`), false, CodeRequestData, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Updated(current, tc.posted, tc.resourcesOnly)
			if tc.code != 0 {
				if err == nil || err.Code != tc.code || err.Status != 400 {
					t.Fatalf("got %v, want code %d", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, got)
		})
	}
	if current.Spec.Template.Spec.Containers[0].Image != "dockerhub:8443/bcs/game/gamesvr:v1.1.1" {
		t.Error("Updated changed its input")
	}
}

func TestParseUpdateInstancesAndOldest(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want int
		ok   bool
	}{{"0", 0, true}, {"2", 2, true}, {"3", 3, true}, {"4", 0, false}, {"", 0, false}, {"-1", 0, false}, {"x", 0, false}} {
		n, err := ParseUpdateInstances(tc.s, 3)
		if (err == nil) != tc.ok || n != tc.want || err != nil && (err.Code != CodeBadParameters || err.Status != 400) {
			t.Errorf("ParseUpdateInstances(%q, 3) = %d, %v", tc.s, n, err)
		}
	}
	app := seedApp(t)
	newest := taskgroupPod(app, 0, 300)
	oldest := taskgroupPod(app, 2, 100)
	middle := taskgroupPod(app, 1, 200)
	deleting := taskgroupPod(app, 3, 50)
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	pods := []*corev1.Pod{newest, deleting, oldest, middle}
	for n, want := range map[int][]*corev1.Pod{1: {oldest}, 2: {oldest, middle}, 0: {oldest, middle, newest}, 5: {oldest, middle, newest}} {
		if got := OldestTaskGroups(pods, n); !reflect.DeepEqual(got, want) {
			t.Errorf("oldest %d: %v", n, TaskGroupIDs(got))
		}
	}
}

// BenchmarkTaskGroupViews: what GET taskgroups of 1,000 running taskgroups
// costs once the Pods are at hand: the views and their JSON envelope
// (bench/bcsread measures the whole request).
func BenchmarkTaskGroupViews(b *testing.B) {
	app := seedApp(b)
	pods := make([]*corev1.Pod, 1000)
	for i := range pods {
		p := taskgroupPod(app, i, 1547025443000246455+int64(i))
		p.Spec.NodeName = "node-a"
		start := metav1.NewTime(time.Unix(1700000002, 0))
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, HostIP: "10.0.0.7", PodIP: "10.0.0.7", StartTime: &start,
			ContainerStatuses: []corev1.ContainerStatus{{Name: p.Spec.Containers[0].Name, Ready: true, Started: ptr.To(true),
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: start}}}}}
		pods[i] = p
	}
	size := 0
	for b.Loop() {
		views := make([]*TaskGroupView, 0, len(pods))
		for _, p := range OwnedTaskGroups(app, pods) {
			views = append(views, ToTaskGroupView(app, "defaultGroup", p))
		}
		out, err := json.Marshal(Success(views))
		if err != nil {
			b.Fatal(err)
		}
		size = len(out)
	}
	b.ReportMetric(float64(size), "bytes/answer")
}

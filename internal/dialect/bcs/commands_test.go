package bcs

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/bcs/command"
)

const seedCommand = `{"apiVersion":"v4","kind":"Command","spec":{"commandTargetRef":{"kind":"Application","namespace":"test","name":"testapp"},"command":["ps -aux"]}}`

func TestParseCommand(t *testing.T) {
	app := Route{Kind: KindCommand, Target: KindApplication, Namespace: "test", Name: "testapp"}
	dep := Route{Kind: KindCommand, Target: KindDeployment, Namespace: "test", Name: "testapp"}
	for _, tc := range []struct {
		name  string
		route Route
		body  string
		code  int
	}{
		{"seed", app, seedCommand, 0},
		{"not JSON", app, `{"spec":`, CodeJSONDecode},
		{"no spec", app, `{"kind":"Command"}`, CodeRequestData},
		{"kind differs", dep, seedCommand, CodeRequestData},
		{"kind lower-case", app, strings.Replace(seedCommand, `"Application"`, `"application"`, 1), CodeRequestData},
		{"namespace differs", Route{Target: KindApplication, Namespace: "other", Name: "testapp"}, seedCommand, CodeRequestData},
		{"name differs", Route{Target: KindApplication, Namespace: "test", Name: "web"}, seedCommand, CodeRequestData},
		{"deployment", dep, strings.Replace(seedCommand, `"Application"`, `"Deployment"`, 1), 0},
		{"empty command", app, strings.Replace(seedCommand, `["ps -aux"]`, `[]`, 1), CodeBadParameters},
		{"negative timeout", app, strings.Replace(seedCommand, `"command"`, `"timeout":-1,"command"`, 1), CodeBadParameters},
		{"relative workingDir", app, strings.Replace(seedCommand, `"command"`, `"workingDir":"tmp","command"`, 1), CodeBadParameters},
		{"bad env", app, strings.Replace(seedCommand, `"command"`, `"env":["NOEQUALS"],"command"`, 1), CodeBadParameters},
	} {
		spec, err := ParseCommand(tc.route, []byte(tc.body))
		switch {
		case tc.code == 0 && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.code != 0 && (err == nil || err.Code != tc.code):
			t.Errorf("%s: %v, want code %d", tc.name, err, tc.code)
		case tc.code == 0 && spec.ReserveTime != 10080:
			t.Errorf("%s: reserveTime %d, want the default 10080", tc.name, spec.ReserveTime)
		}
	}
}

func commandRoute(t *testing.T, a apps, method, path, body string) (any, *Error) {
	t.Helper()
	r, _ := http.NewRequest(method, "/v4/scheduler/mesos"+path, strings.NewReader(body))
	route, ok := ParsePath(r.URL.Path)
	if !ok {
		t.Fatalf("no route %s", path)
	}
	return commands{apps: a}.serve(context.Background(), r, route, func() ([]byte, *Error) { return []byte(body), nil })
}

// The command routes against fake clients: POST makes the Command with
// every target task staging, GET reads it back (a spilled output put back),
// DELETE forgets it; a mismatch of URL and body or of the stored command is
// 1405008, an unknown id 1405202, a caller who may not exec 403.
func TestCommandRoutes(t *testing.T) {
	ctx := context.Background()
	allowed := true
	kube := fake.NewClientset()
	kube.PrependReactor("create", "selfsubjectaccessreviews", func(action k8stesting.Action) (bool, runtime.Object, error) {
		r := action.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		ra := r.Spec.ResourceAttributes
		r.Status.Allowed = allowed && ra.Verb == "create" && ra.Resource == "pods" && ra.Subresource == "exec" && ra.Namespace != ""
		return true, r, nil
	})
	a, dyn := fakeApps(t, kube)
	if _, err := a.call(t, "POST", "/namespaces/defaultGroup/applications", seedApplication(t)); err != nil {
		t.Fatal(err)
	}
	appName := seedApp(t).Spec.Metadata.Name
	app, gerr := a.get(ctx, appName)
	if gerr != nil {
		t.Fatal(gerr)
	}
	var ids []string
	for i := range 2 {
		p := taskgroupPod(app, i, 1547025443000246455+int64(i))
		if _, err := kube.CoreV1().Pods(a.target.KubeNamespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.Annotations[application.AnnotationTaskGroupID])
	}
	path := "/command/application/defaultGroup/" + appName
	body := func(extra string) string {
		return `{"apiVersion":"v4","kind":"Command","spec":{"commandTargetRef":{"kind":"Application","namespace":"defaultGroup","name":"` + appName + `"},` + extra + `"command":["echo","hi"]}}`
	}

	if _, err := commandRoute(t, a, "POST", "/command/application/defaultGroup/nosuch", strings.Replace(body(""), appName, "nosuch", 1)); err == nil || err.Code != CodeNotFound {
		t.Errorf("unknown application: %v", err)
	}
	if _, err := commandRoute(t, a, "POST", path, body(`"taskgroups":["9.x.defaultGroup.10001.1"],`)); err == nil || err.Code != CodeBadParameters || !strings.Contains(err.Message, "9.x.defaultGroup.10001.1") {
		t.Errorf("unknown taskgroup: %v", err)
	}
	allowed = false
	if _, err := commandRoute(t, a, "POST", path, body("")); err == nil || err.Status != http.StatusForbidden || err.Code != CodeCommon {
		t.Errorf("caller who may not exec: %v", err)
	}
	allowed = true

	data, err := commandRoute(t, a, "POST", path, body(`"taskgroups":["`+ids[1]+`"],`))
	if err != nil {
		t.Fatal(err)
	}
	id := data.(string)
	if !strings.HasPrefix(id, "Application-defaultGroup-"+appName+"-") {
		t.Errorf("id %s", id)
	}
	name, _ := CommandName(id)
	u, gerr2 := dyn.Resource(commandsResource).Namespace(a.target.KubeNamespace).Get(ctx, name, metav1.GetOptions{})
	if gerr2 != nil {
		t.Fatal(gerr2)
	}
	cmd, _ := fromUnstructured[v1alpha1.Command](u)
	if len(cmd.Status.Taskgroups) != 1 || cmd.Status.Taskgroups[0].TaskgroupID != ids[1] || cmd.Status.Summary == nil || cmd.Status.Summary.Staging != 1 {
		t.Fatalf("status %+v", cmd.Status)
	}

	// The controller's outcome, stdout spilled to a ConfigMap.
	big := strings.Repeat("x", 300<<10)
	cmd.Status.Taskgroups[0].Tasks[0].Status = command.StatusFinish
	cmd.Status.Taskgroups[0].Tasks[0].CommInspect = &v1alpha1.CommandInspectInfo{ExitCode: 3, Stderr: "oops", StdoutConfigMap: name + "-0-0-stdout"}
	obj, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(cmd)
	if _, err := dyn.Resource(commandsResource).Namespace(a.target.KubeNamespace).Update(ctx, &unstructured.Unstructured{Object: obj}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	yes := true
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-0-0-stdout", Namespace: a.target.KubeNamespace, Labels: map[string]string{command.LabelCommand: name},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "bcs.podyard.io/v1alpha1", Kind: "Command", Name: name, UID: cmd.UID, Controller: &yes}}},
		BinaryData: map[string][]byte{command.OutputKey: []byte(big)},
	}
	if _, err := kube.CoreV1().ConfigMaps(a.target.KubeNamespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	data, err = commandRoute(t, a, "GET", path+"?id="+id, "")
	if err != nil {
		t.Fatal(err)
	}
	view := data.(*CommandInfoView)
	task := view.Status.Taskgroups[0].Tasks[0]
	if view.ID != id || task.Status != "finish" || task.CommInspect.ExitCode != 3 || task.CommInspect.Stdout != big || task.CommInspect.Stderr != "oops" || !view.Status.Summary.Done {
		t.Errorf("view %+v task %+v", view, task)
	}
	wire, _ := json.Marshal(view)
	for _, want := range []string{`"createTime":`, `"reserveTime":10080`, `"taskgroups":["` + ids[1] + `"]`, `"env":null`, `"commInspect":{"exitCode":3,`} {
		if !strings.Contains(string(wire), want) {
			t.Errorf("wire form lacks %s", want)
		}
	}
	if strings.Contains(string(wire), "ConfigMap") || strings.Contains(string(wire), `"pod"`) {
		t.Errorf("wire form shows Podyard's bookkeeping: %.300s", wire)
	}

	if _, err := commandRoute(t, a, "GET", "/command/deployment/defaultGroup/"+appName+"?id="+id, ""); err == nil || err.Code != CodeRequestData {
		t.Errorf("another target's command: %v", err)
	}
	if _, err := commandRoute(t, a, "GET", path+"?id=Application-defaultGroup-x-1", ""); err == nil || err.Code != CodeNotFound {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := commandRoute(t, a, "GET", path, ""); err == nil || err.Code != CodeBadParameters {
		t.Errorf("no id: %v", err)
	}
	if _, err := commandRoute(t, a, "DELETE", path+"?id="+id, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := commandRoute(t, a, "GET", path+"?id="+id, ""); err == nil || err.Code != CodeNotFound {
		t.Errorf("after delete: %v", err)
	}
	if _, err := commandRoute(t, a, "DELETE", path+"?id="+id, ""); err != nil {
		t.Errorf("delete of a missing command: %v", err)
	}
}

package bcs

import (
	"context"
	"errors"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/podyard/podyard/internal/bcs/application"
)

func TestParseMessage(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       Message
		code       int
		status     int
		msg        string
	}{
		{name: "signal", body: `{"name":"x","namespace":"y","msgtype":"signal","msgdata":{"processname":"nginx","signal":12}}`,
			want: Message{Type: MsgSignal, Process: "nginx", Signal: 12}},
		{name: "signal as a string", body: `{"msgtype":"signal","msgdata":{"processname":"nginx","signal":"12"}}`,
			code: CodeJSONDecode, status: 400, msg: "json decode failed!"},
		{name: "signal not integral", body: `{"msgtype":"signal","msgdata":{"processname":"nginx","signal":1.5}}`,
			code: CodeJSONDecode, status: 400, msg: "json decode failed!"},
		{name: "signal 0", body: `{"msgtype":"signal","msgdata":{"processname":"nginx","signal":0}}`,
			code: CodeBadParameters, status: 400, msg: "from 1 to 64"},
		{name: "signal 65", body: `{"msgtype":"signal","msgdata":{"processname":"nginx","signal":65}}`,
			code: CodeBadParameters, status: 400, msg: "from 1 to 64"},
		{name: "no process", body: `{"msgtype":"signal","msgdata":{"signal":15}}`,
			code: CodeBadParameters, status: 400, msg: "processname is required"},
		{name: "no msgdata", body: `{"msgtype":"signal"}`, code: CodeBadParameters, status: 400, msg: "msgdata is required"},
		{name: "local", body: `{"msgtype":"local","msgdata":{"to":"/data/a.conf","user":"web","right":"rw","ctx":"aGVsbG8K"}}`,
			want: Message{Type: MsgLocal, To: "/data/a.conf", User: "web", Mode: 0o644, Data: []byte("hello\n")}},
		{name: "local default mode", body: `{"msgtype":"local","msgdata":{"to":"/data//b","ctx":""}}`,
			want: Message{Type: MsgLocal, To: "/data/b", Mode: 0o644, Data: []byte{}}},
		{name: "local bad base64", body: `{"msgtype":"local","msgdata":{"to":"/a","ctx":"!!"}}`,
			code: CodeBadParameters, status: 400, msg: "not base64"},
		{name: "local relative", body: `{"msgtype":"local","msgdata":{"to":"a/b","ctx":""}}`,
			code: CodeBadParameters, status: 400, msg: "absolute path"},
		{name: "local bad right", body: `{"msgtype":"local","msgdata":{"to":"/a","right":"rwz","ctx":""}}`,
			code: CodeBadParameters, status: 400, msg: "msgdata.right"},
		{name: "remote", body: `{"msgtype":"remote","msgdata":{"to":"/a","right":"0600","remote":"https://example.com/f"}}`,
			want: Message{Type: MsgRemote, To: "/a", Mode: 0o600, URL: "https://example.com/f"}},
		{name: "remote ftp", body: `{"msgtype":"remote","msgdata":{"to":"/a","remote":"ftp://example.com/f"}}`,
			code: CodeBadParameters, status: 400, msg: "http or https"},
		{name: "env-key", body: `{"msgtype":"env-key","msgdata":{"env-key":"A","env-value":"1"}}`,
			code: CodeParameter, status: 400, msg: "env-key is not supported"},
		{name: "unknown", body: `{"msgtype":"foo","msgdata":{}}`, code: CodeMessageType, status: 400, msg: "unkown the message type"},
		{name: "no type", body: `{}`, code: CodeMessageType, status: 400, msg: "unkown the message type"},
		{name: "not JSON", body: `{`, code: CodeJSONDecode, status: 400, msg: "json decode failed!"},
	} {
		got, err := ParseMessage([]byte(tc.body))
		if tc.code != 0 {
			if err == nil || err.Code != tc.code || err.Status != tc.status || !strings.Contains(err.Message, tc.msg) {
				t.Errorf("%s: want %d (HTTP %d) %q, got %v", tc.name, tc.code, tc.status, tc.msg, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestParseRight(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want os.FileMode
		bad  bool
	}{
		{"", 0o644, false},
		{"644", 0o644, false},
		{"0600", 0o600, false},
		{"0755", 0o755, false},
		{"4755", 0o755 | os.ModeSetuid, false},
		{"rw", 0o644, false},
		{"r", 0o444, false},
		{"rwx", 0o755, false},
		{"rx", 0o555, false},
		{"w", 0o200, false},
		{"rwxr-x---", 0o750, false},
		{"rw-r--r--", 0o644, false},
		{"rr", 0, true},
		{"rwz", 0, true},
		{"888", 0, true},
		{"rwxrwxrwz", 0, true},
		{"07777x", 0, true},
	} {
		got, err := ParseRight(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("ParseRight(%q) = %v, %v; want %v (bad %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

// runningPod is a taskgroup Pod whose every task runs.
func runningPod(id string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p-" + id, Annotations: map[string]string{application.AnnotationTaskGroupID: id}},
		Spec:       corev1.PodSpec{NodeName: "n", Containers: []corev1.Container{{Name: "a"}, {Name: "b"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: c.Name, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}})
	}
	return p
}

func TestMessageTargets(t *testing.T) {
	run1, run2 := runningPod("1.app.ns.10001.1"), runningPod("2.app.ns.10001.2")
	staging := runningPod("3.app.ns.10001.3")
	staging.Spec.NodeName, staging.Status = "", corev1.PodStatus{Phase: corev1.PodPending}
	halfDone := runningPod("4.app.ns.10001.4")
	halfDone.Status.ContainerStatuses[1].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}
	deleting := runningPod("5.app.ns.10001.5")
	deleting.DeletionTimestamp = &metav1.Time{}

	targets, failures := MessageTargets([]*corev1.Pod{run1, staging, halfDone, run2, deleting})
	if !reflect.DeepEqual(targets, []*corev1.Pod{run1, run2}) {
		t.Errorf("targets %v", targets)
	}
	want := []*TaskGroupOpResult{
		{ID: "3.app.ns.10001.3", Status: application.TaskStaging, Err: "taskgroup 3.app.ns.10001.3 must be running"},
		{ID: "4.app.ns.10001.4", Status: application.TaskFailed, Err: "taskgroup 4.app.ns.10001.4 must be running"},
		{ID: "5.app.ns.10001.5", Status: application.TaskKilling, Err: "taskgroup 5.app.ns.10001.5 must be running"},
	}
	if !reflect.DeepEqual(failures, want) {
		for _, f := range failures {
			t.Logf("%+v", *f)
		}
		t.Errorf("failures differ")
	}
	if sortFailures(nil) != nil {
		t.Error("no failures must be data null")
	}
	got := sortFailures([]*TaskGroupOpResult{{ID: "b"}, {ID: "a"}})
	if got[0].ID != "a" {
		t.Errorf("not sorted: %v", got)
	}
}

func TestSignalOutcome(t *testing.T) {
	if err := SignalOutcome("tg", "nginx", 2, nil); err != nil {
		t.Errorf("signalled: %v", err)
	}
	if err := SignalOutcome("tg", "nginx", 0, nil); err == nil || err.Error() != "no process named nginx in any task of taskgroup tg" {
		t.Errorf("none: %v", err)
	}
	if err := SignalOutcome("tg", "nginx", 1, []error{errors.New("task b: node agent down")}); err == nil || !strings.Contains(err.Error(), "node agent down") {
		t.Errorf("an unreachable task: %v", err)
	}
}

// The route against fake clients: what is decided before any agent call.
func TestMessageRoute(t *testing.T) {
	allowed := true
	kube := fake.NewClientset()
	kube.PrependReactor("create", "selfsubjectaccessreviews", func(action k8stesting.Action) (bool, runtime.Object, error) {
		r := action.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		ra := r.Spec.ResourceAttributes
		r.Status.Allowed = allowed && ra.Verb == "create" && ra.Resource == "pods" && ra.Subresource == "exec" && ra.Namespace != ""
		return true, r, nil
	})
	a, _ := fakeApps(t, kube)
	if _, err := a.call(t, "POST", "/namespaces/defaultGroup/applications", seedApplication(t)); err != nil {
		t.Fatal(err)
	}
	signal := `{"msgtype":"signal","msgdata":{"processname":"nginx","signal":12}}`
	base := "/namespaces/defaultGroup/applications/" + seedApp(t).Spec.Metadata.Name

	_, err := a.call(t, "POST", base+"/message", signal)
	if err == nil || err.Code != CodeCommon || err.Message != "empty taskgroups" {
		t.Errorf("no taskgroups: %v", err)
	}
	_, err = a.call(t, "POST", "/namespaces/defaultGroup/applications/nosuch/message", signal)
	if err == nil || err.Code != CodeNotFound || err.Status != http.StatusNotFound {
		t.Errorf("unknown application: %v", err)
	}
	_, err = a.call(t, "PUT", base+"/message", `{"msgtype":"foo"}`)
	if err == nil || err.Code != CodeMessageType {
		t.Errorf("unknown type: %v", err)
	}

	app, gerr := a.get(context.Background(), seedApp(t).Spec.Metadata.Name)
	if gerr != nil {
		t.Fatal(gerr)
	}
	pending := taskgroupPod(app, 0, 1547025443000246455)
	if _, err := kube.CoreV1().Pods(a.target.KubeNamespace).Create(context.Background(), pending, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	id := pending.Annotations[application.AnnotationTaskGroupID]
	_, err = a.call(t, "POST", base+"/taskgroups/nosuch/message", signal)
	if err == nil || err.Code != CodeNotFound || !strings.Contains(err.Message, "no taskgroup(nosuch) in application(defaultGroup.") {
		t.Errorf("unknown taskgroup: %v", err)
	}
	// Not Running: listed, and still a success.
	for _, path := range []string{base + "/message", base + "/taskgroups/" + id + "/message"} {
		data, err := a.call(t, "POST", path, signal)
		f, _ := data.([]*TaskGroupOpResult)
		if err != nil || len(f) != 1 || f[0].ID != id || f[0].Status != application.TaskStaging || f[0].Err != "taskgroup "+id+" must be running" {
			t.Errorf("%s: %#v, %v", path, data, err)
		}
	}
	allowed = false
	_, err = a.call(t, "POST", base+"/message", signal)
	if err == nil || err.Status != http.StatusForbidden || err.Code != CodeCommon {
		t.Errorf("no pods/exec: %v", err)
	}
}

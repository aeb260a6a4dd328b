package bcs

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
)

func fakeApps(t *testing.T, kube *fake.Clientset) (apps, *dynamicfake.FakeDynamicClient) {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	dyn := dynamicfake.NewSimpleDynamicClient(scheme)
	return apps{objects: objects{kube: kube, target: target(t, KindApplication, "defaultGroup")}, dyn: dyn, cluster: "10001"}, dyn
}

func (a apps) call(t *testing.T, method, path, body string) (any, *Error) {
	t.Helper()
	r := httptest.NewRequest(method, "/v4/scheduler/mesos"+path, strings.NewReader(body))
	route, ok := ParsePath(r.URL.Path)
	if !ok {
		t.Fatalf("no route %s", path)
	}
	return a.serve(context.Background(), r, route, func() ([]byte, *Error) { return []byte(body), nil })
}

// The application routes against fake clients: create, views, scale,
// definition and delete, with the Pods a controller would have made.
func TestApplicationRoutes(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewSimpleClientset()
	a, _ := fakeApps(t, kube)
	seed := seedApplication(t)
	const base = "/namespaces/defaultGroup/applications"

	if _, err := a.call(t, "GET", base+"/app-test", ""); err == nil || err.Code != CodeNotFound || err.Status != 404 {
		t.Errorf("get of a missing application: %v", err)
	}
	if data, err := a.call(t, "GET", base, ""); err != nil || data.([]*ApplicationView) != nil {
		t.Errorf("list of none: %v %v, want null", data, err)
	}
	if _, err := a.call(t, "POST", base, seed); err != nil {
		t.Fatal(err)
	}
	if _, err := a.call(t, "POST", base, seed); err == nil || err.Code != CodeExists || err.Status != 409 {
		t.Errorf("create twice: %v", err)
	}
	if _, err := kube.CoreV1().Namespaces().Get(ctx, a.target.KubeNamespace, metav1.GetOptions{}); err != nil {
		t.Errorf("the namespace is not made: %v", err)
	}

	app, err := a.get(ctx, "app-test")
	if err != nil {
		t.Fatal(err)
	}
	app.UID = "uid-1" // the fake sets none
	for i := 0; i < 2; i++ {
		p := taskgroupPod(app, i, int64(100+i))
		if _, err := kube.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	u, _ := toUnstructured(app)
	if _, err := a.client().Update(ctx, u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	data, gerr := a.call(t, "GET", base+"/app-test", "")
	if v, ok := data.(*ApplicationView); gerr != nil || !ok || v.ID != "app-test" || v.DefineInstances != 2 || len(v.Pods) != 2 || v.Pods[0].Name != "0.app-test.defaultGroup.10001.100" {
		t.Errorf("get: %+v %v", data, gerr)
	}
	data, gerr = a.call(t, "GET", base, "")
	if l, ok := data.([]*ApplicationView); gerr != nil || !ok || len(l) != 1 || len(l[0].Pods) != 2 {
		t.Errorf("list: %+v %v", data, gerr)
	}
	data, gerr = a.call(t, "GET", base+"/app-test/taskgroups", "")
	if l, ok := data.([]*TaskGroupView); gerr != nil || !ok || len(l) != 2 || l[1].ID != "1.app-test.defaultGroup.10001.101" || l[1].Status != "Staging" {
		t.Errorf("taskgroups: %+v %v", data, gerr)
	}
	data, gerr = a.call(t, "GET", base+"/app-test/tasks", "")
	if l, ok := data.([]*TaskView); gerr != nil || !ok || len(l) != 2 || l[0].ID != "100.0.0.app-test.defaultGroup.10001" {
		t.Errorf("tasks: %+v %v", data, gerr)
	}
	if _, err := a.call(t, "GET", base+"/none/taskgroups", ""); err == nil || err.Code != CodeNotFound {
		t.Errorf("taskgroups of a missing application: %v", err)
	}
	data, gerr = a.call(t, "GET", "/definition/application/defaultGroup/app-test", "")
	if d, ok := data.(application.Definition); gerr != nil || !ok || d.Spec.Instance != 2 || d.Metadata.Name != "app-test" || d.Kind != "application" {
		t.Errorf("definition: %+v %v", data, gerr)
	}

	if _, err := a.call(t, "PUT", base+"/app-test/scale/5", ""); err != nil {
		t.Fatal(err)
	}
	if app, _ := a.get(ctx, "app-test"); app.Spec.Instance != 5 {
		t.Errorf("after scale: instance %d", app.Spec.Instance)
	}
	if _, err := a.call(t, "PUT", base+"/app-test/scale/x", ""); err == nil || err.Code != CodeBadParameters {
		t.Errorf("scale to x: %v", err)
	}
	if _, err := a.call(t, "PUT", base+"/none/scale/1", ""); err == nil || err.Code != CodeNotFound {
		t.Errorf("scale of a missing application: %v", err)
	}

	// Update: the new definition, the oldest ?instances= taskgroups deleted
	// for the controller to make again; rollback: all of them.
	if _, err := a.call(t, "PUT", base+"?instances=6", seed); err == nil || err.Code != CodeBadParameters {
		t.Errorf("update of more than there are: %v", err)
	}
	if _, err := a.call(t, "PUT", base+"?instances=1", strings.Replace(seed, `"name": "app-test"`, `"name": "none"`, 1)); err == nil || err.Code != CodeNotFound {
		t.Errorf("update of a missing application: %v", err)
	}
	if _, err := a.call(t, "PUT", base+"?instances=1&args=resource", strings.Replace(seed, "v1.1.1", "v2", 1)); err == nil || err.Code != CodeParameter {
		t.Errorf("args=resource changing the image: %v", err)
	}
	if _, err := a.call(t, "PUT", base+"?instances=1&args=resource", strings.Replace(seed, `"cpu": "2"`, `"cpu": "3"`, 1)); err != nil {
		t.Fatal(err)
	}
	podCount := func() int {
		pods, _ := kube.CoreV1().Pods(a.target.KubeNamespace).List(ctx, metav1.ListOptions{})
		return len(pods.Items)
	}
	if app, _ := a.get(ctx, "app-test"); app.Spec.Template.Spec.Containers[0].Resources.Limits.CPU != "3" || podCount() != 2 {
		t.Errorf("after args=resource: %+v, %d pods", app.Spec.Template.Spec.Containers[0].Resources, podCount())
	}
	if _, err := a.call(t, "PUT", base+"?instances=1", strings.Replace(seed, "v1.1.1", "v2", 1)); err != nil {
		t.Fatal(err)
	}
	app, _ = a.get(ctx, "app-test")
	if app.Spec.Template.Spec.Containers[0].Image != "dockerhub:8443/bcs/game/gamesvr:v2" || app.Spec.Instance != 5 {
		t.Errorf("after update: instance %d image %s", app.Spec.Instance, app.Spec.Template.Spec.Containers[0].Image)
	}
	// The oldest is marked for the controller to rebuild; the other is not.
	marked := func() (names []string) {
		pods, _ := kube.CoreV1().Pods(a.target.KubeNamespace).List(ctx, metav1.ListOptions{})
		for _, p := range pods.Items {
			if _, ok := p.Annotations[application.AnnotationRebuild]; ok {
				names = append(names, p.Name)
			}
		}
		slices.Sort(names)
		return names
	}
	if got := marked(); !slices.Equal(got, []string{"app-test-0-100"}) || podCount() != 2 {
		t.Errorf("marked after update: %v, %d pods", got, podCount())
	}
	// Another update (or a rollback) while one is under way is refused.
	if _, err := a.call(t, "PUT", base+"/rollback", seed); err == nil || err.Code != CodeCommon || err.Status != 409 {
		t.Errorf("rollback during an update: %v", err)
	}
	// The controller rebuilt it: the marked taskgroup is gone.
	if err := kube.CoreV1().Pods(a.target.KubeNamespace).Delete(ctx, "app-test-0-100", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.call(t, "PUT", base+"/rollback", seed); err != nil {
		t.Fatal(err)
	}
	if app, _ := a.get(ctx, "app-test"); app.Spec.Template.Spec.Containers[0].Image != "dockerhub:8443/bcs/game/gamesvr:v1.1.1" || !slices.Equal(marked(), []string{"app-test-1-101"}) {
		t.Errorf("after rollback: image %s, marked %v", app.Spec.Template.Spec.Containers[0].Image, marked())
	}

	// Rescheduler: the taskgroup is marked with the request; bad
	// hostRetainTime and unknown taskgroups are refused.
	id := "1.app-test.defaultGroup.10001.101"
	if _, err := a.call(t, "PUT", base+"/app-test/taskgroups/"+id+"/rescheduler?hostRetainTime=30", ""); err != nil {
		t.Fatal(err)
	}
	p1, _ := kube.CoreV1().Pods(a.target.KubeNamespace).Get(ctx, "app-test-1-101", metav1.GetOptions{})
	if r, ok := application.RescheduleRequest(p1); !ok || r.HostRetainTime != 30 || r.At == 0 {
		t.Errorf("reschedule request %+v %v (%v)", r, ok, p1.Annotations)
	}
	if _, err := a.call(t, "PUT", base+"/app-test/taskgroups/"+id+"/rescheduler?hostRetainTime=x", ""); err == nil || err.Code != CodeBadParameters {
		t.Errorf("bad hostRetainTime: %v", err)
	}
	if _, err := a.call(t, "PUT", base+"/app-test/taskgroups/0.app-test.defaultGroup.10001.1/rescheduler", ""); err == nil || err.Code != CodeNotFound {
		t.Errorf("unknown taskgroup: %v", err)
	}
	if _, err := a.call(t, "PUT", base+"/none/taskgroups/"+id+"/rescheduler", ""); err == nil || err.Code != CodeNotFound {
		t.Errorf("unknown application: %v", err)
	}
	if err := kube.CoreV1().Pods(a.target.KubeNamespace).Delete(ctx, "app-test-1-101", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // as the controller makes them again
		p := taskgroupPod(app, i, int64(200+i))
		if _, err := kube.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	var graces []int64
	kube.PrependReactor("delete", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if g := action.(k8stesting.DeleteAction).GetDeleteOptions().GracePeriodSeconds; g != nil {
			graces = append(graces, *g)
		}
		return false, nil, nil
	})
	if _, err := a.call(t, "DELETE", base+"/app-test?enforce=1", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := a.get(ctx, "app-test"); err == nil || err.Code != CodeNotFound {
		t.Errorf("after delete: %v", err)
	}
	if pods, _ := kube.CoreV1().Pods(a.target.KubeNamespace).List(ctx, metav1.ListOptions{}); len(pods.Items) != 0 || len(graces) != 2 || graces[0] != 0 {
		t.Errorf("after delete: pods %d, graces %v", len(pods.Items), graces)
	}
	if _, err := a.call(t, "DELETE", base+"/app-test", ""); err == nil || err.Code != CodeNotFound || err.Status != 404 {
		t.Errorf("delete of a missing application: %v", err)
	}
}

// A create the API server refuses leaves no namespace behind.
func TestApplicationCreateRefused(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewSimpleClientset()
	a, dyn := fakeApps(t, kube)
	dyn.PrependReactor("create", "applications", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(applicationsResource.GroupResource(), "app-test", errors.New("no"))
	})
	if _, err := a.call(t, "POST", "/namespaces/defaultGroup/applications", seedApplication(t)); err == nil || err.Status != 403 || err.Code != CodeCommon {
		t.Errorf("refused create: %v", err)
	}
	if _, err := kube.CoreV1().Namespaces().Get(ctx, a.target.KubeNamespace, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace left: %v", err)
	}
	// Bad input is refused before anything is made.
	if _, err := a.call(t, "POST", "/namespaces/defaultGroup/applications", "{"); err == nil || err.Code != CodeJSONDecode {
		t.Errorf("bad JSON: %v", err)
	}
	// get, create and delete of the namespace of the refused create, and
	// the test's get.
	if acts := kube.Actions(); len(acts) != 4 {
		t.Errorf("actions %v", acts)
	}
}

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
)

var applications = schema.GroupVersionResource{Group: "bcs.podyard.io", Version: "v1alpha1", Resource: "applications"}

// seedApplication is the Application of the BCS document's application
// JSON, as a manifest kubectl applies.
func seedApplication(t *testing.T, instance int32) string {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(repoRoot(), "internal/bcs/application/testdata/seed-application.json"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := application.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	spec.Instance = instance
	manifest, err := json.Marshal(map[string]any{
		"apiVersion": "bcs.podyard.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": "app-test"}, "spec": spec,
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(manifest)
}

// TestApplicationAPI: the Application is served like a built-in resource:
// discovery, explain, server-side apply, the table kubectl prints, the
// status subresource and validation.
func TestApplicationAPI(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	ctx := context.Background()

	resources := s.Kubectl("api-resources", "--api-group=bcs.podyard.io", "--no-headers")
	if f := strings.Fields(resources); len(f) != 5 || f[0] != "applications" || f[1] != "app" || f[2] != "bcs.podyard.io/v1alpha1" || f[3] != "true" || f[4] != "Application" {
		t.Errorf("kubectl api-resources: %q", resources)
	}
	explain := s.Kubectl("explain", "application.spec")
	for _, want := range []string{"instance", "template", "restartPolicy", "killPolicy", "constraint", "updatePolicy"} {
		if !strings.Contains(explain, want) {
			t.Errorf("kubectl explain application.spec lacks %q:\n%s", want, explain)
		}
	}
	if out := s.Kubectl("explain", "app.spec.template.spec.containers.healthChecks.consecutiveFailures"); !strings.Contains(out, "consecutiveFailures") {
		t.Errorf("kubectl explain health checks: %s", out)
	}

	if _, errOut, err := s.KubectlResult(seedApplication(t, 2), "apply", "--server-side", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("kubectl apply --server-side: %v %s", err, errOut)
	}
	out := s.Kubectl("get", "applications", "-n", ns)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "NAME INSTANCES RUNNING STATUS AGE" {
		t.Fatalf("kubectl get applications:\n%s", out)
	}
	if f := strings.Fields(lines[1]); f[0] != "app-test" || f[1] != "2" || f[2] != "0" || f[3] != "Staging" {
		t.Errorf("kubectl get applications row: %q", lines[1])
	}
	if wide := s.Kubectl("get", "app", "app-test", "-n", ns, "-o", "wide"); !strings.Contains(wide, "defaultGroup/app-test") {
		t.Errorf("kubectl get app -o wide lacks the BCS name:\n%s", wide)
	}
	if all := s.Kubectl("get", "all", "-n", ns, "-o", "name"); !strings.Contains(all, "application.bcs.podyard.io/app-test") {
		t.Errorf("kubectl get all:\n%s", all)
	}

	// Applying again with another instance count changes the spec, owned by kubectl.
	if _, errOut, err := s.KubectlResult(seedApplication(t, 3), "apply", "--server-side", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("second kubectl apply --server-side: %v %s", err, errOut)
	}
	client, err := dynamic.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	apps := client.Resource(applications).Namespace(ns)
	got, err := apps.Get(ctx, "app-test", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	app := typed(t, got)
	if app.Spec.Instance != 3 || app.Generation != 2 || app.Spec.Metadata.Namespace != "defaultGroup" || app.Status.Status != "Staging" {
		t.Errorf("after apply: instance %d generation %d BCS namespace %q status %q", app.Spec.Instance, app.Generation, app.Spec.Metadata.Namespace, app.Status.Status)
	}
	if len(app.ManagedFields) == 0 || app.ManagedFields[0].Manager != "kubectl" || app.ManagedFields[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Errorf("managed fields %+v", app.ManagedFields)
	}
	if c := app.Spec.Template.Spec.Containers[0]; len(c.HealthChecks) != 3 || c.HealthChecks[1].HTTP.Headers["key1"] != "value1" || c.Resources.Requests.Storage != "64" {
		t.Errorf("stored container %+v", c)
	}

	// The status subresource writes the status only; the object, the spec only.
	status := app.DeepCopy()
	status.Status = v1alpha1.ApplicationStatus{Status: "Running", Message: "application is running", Instances: 3, RunningInstances: 3}
	status.Spec.Instance = 9
	if _, err := apps.UpdateStatus(ctx, untyped(t, status), metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update status: %v", err)
	}
	out = s.Kubectl("get", "applications", "-n", ns, "--no-headers")
	if f := strings.Fields(out); len(f) < 4 || f[1] != "3" || f[2] != "3" || f[3] != "Running" {
		t.Errorf("after the status update: %q", out)
	}
	got, err = apps.Get(ctx, "app-test", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := typed(t, got)
	spec.Spec.Instance, spec.Status = 1, v1alpha1.ApplicationStatus{Status: "Error"}
	updated, err := apps.Update(ctx, untyped(t, spec), metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if a := typed(t, updated); a.Spec.Instance != 1 || a.Status.Status != "Running" {
		t.Errorf("update: instance %d status %q", a.Spec.Instance, a.Status.Status)
	}

	// What BCS refuses is refused, with the field.
	bad := strings.Replace(seedApplication(t, 2), `"app-test"},"spec"`, `"app-bad"},"spec"`, 1)
	bad = strings.Replace(bad, `"policy":"Never"`, `"policy":"Sometimes"`, 1)
	if _, errOut, err := s.KubectlResult(bad, "apply", "--server-side", "-n", ns, "-f", "-"); err == nil || !strings.Contains(errOut, "spec.restartPolicy.policy") {
		t.Errorf("bad restart policy: %v %s", err, errOut)
	}
	// The BCS name is the application's identity.
	renamed := typed(t, updated)
	renamed.Spec.Metadata.Name = "other"
	_, err = apps.Update(ctx, untyped(t, renamed), metav1.UpdateOptions{})
	wantStatus(t, "rename", err, 422, "the BCS name cannot change")

	s.Kubectl("delete", "app", "app-test", "-n", ns)
	if out := s.Kubectl("get", "applications", "-n", ns, "-o", "name"); strings.TrimSpace(out) != "" {
		t.Errorf("after delete: %q", out)
	}
}

func typed(t *testing.T, u *unstructured.Unstructured) *v1alpha1.Application {
	t.Helper()
	var app v1alpha1.Application
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &app); err != nil {
		t.Fatal(err)
	}
	return &app
}

func untyped(t *testing.T, app *v1alpha1.Application) *unstructured.Unstructured {
	t.Helper()
	app.APIVersion, app.Kind = "bcs.podyard.io/v1alpha1", "Application"
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(app)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

// TestApplicationTaskGroups plays the application controller's part with the
// pure translations: each taskgroup's Pod made by application.Pod runs on the
// node, and the BCS statuses derived from the Pods are what BCS would show,
// including a task whose image cannot run without a command.
func TestApplicationTaskGroups(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	client, err := dynamic.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	apps := client.Resource(applications).Namespace(ns)

	create := func(name string, spec v1alpha1.ApplicationSpec) *v1alpha1.Application {
		t.Helper()
		created, err := apps.Create(ctx, untyped(t, &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create application %s: %v", name, err)
		}
		app := typed(t, created)
		for _, i := range application.PlanTaskGroups(app, nil).Create {
			pod := application.Pod(app, application.PodOptions{Index: i, Cluster: "10001", UnixNano: app.CreationTimestamp.UnixNano() + int64(i)})
			if _, err := s.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				t.Fatalf("create taskgroup pod: %v", err)
			}
		}
		return app
	}
	// derive is one pass of the controller: list the Pods, check that they
	// match the plan, derive, write the status.
	derive := func(app *v1alpha1.Application) v1alpha1.ApplicationStatus {
		t.Helper()
		list, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: application.LabelApplication + "=" + app.Name})
		if err != nil {
			t.Fatal(err)
		}
		var pods []*corev1.Pod
		for i := range list.Items {
			pods = append(pods, &list.Items[i])
		}
		current, err := apps.Get(ctx, app.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		latest := typed(t, current)
		if plan := application.PlanTaskGroups(latest, pods); len(plan.Create)+len(plan.Delete) > 0 {
			t.Errorf("taskgroups of %s do not match spec.instance: %+v", app.Name, plan)
		}
		latest.Status = application.ApplicationStatus(latest, pods, time.Now())
		if _, err := apps.UpdateStatus(ctx, untyped(t, latest), metav1.UpdateOptions{}); err != nil {
			t.Fatalf("update status: %v", err)
		}
		return latest.Status
	}

	spec, err := application.Parse([]byte(`{"apiVersion":"v4","kind":"application","metadata":{"name":"sleeper","namespace":"defaultGroup"},
		"restartPolicy":{"policy":"Always"},"killPolicy":{"gracePeriod":2},
		"spec":{"instance":2,"template":{"spec":{"containers":[
			{"image":"busybox","command":"sleep","args":["3600"],"resources":{"limits":{"cpu":"0.05","memory":"16"}}}]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	sleeper := create("sleeper", spec)
	var status v1alpha1.ApplicationStatus
	waitFor(t, "application sleeper Running", func() bool {
		status = derive(sleeper)
		return status.Status == "Running"
	})
	if status.RunningInstances != 2 || status.Instances != 2 || status.Message != "application is running" || status.LastStatus == "" {
		t.Errorf("sleeper status %+v", status)
	}
	out := s.Kubectl("get", "pods", "-n", ns, "-l", application.LabelApplication+"=sleeper", "-o", "custom-columns=NAME:.metadata.name,INSTANCE:.metadata.labels.bcs\\.podyard\\.io/instance,STATUS:.status.phase,OWNER:.metadata.ownerReferences[0].kind", "--no-headers")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.Contains(out, "Application") || !strings.Contains(out, "Running") {
		t.Errorf("kubectl get pods of the application:\n%s", out)
	}
	if got := s.Kubectl("get", "app", "sleeper", "-n", ns, "--no-headers"); !strings.HasPrefix(strings.Join(strings.Fields(got), " "), "sleeper 2 2 Running") {
		t.Errorf("kubectl get app: %q", got)
	}

	// The document's own application names an image and no command: under
	// the process runtime its taskgroup fails, saying why.
	body, err := os.ReadFile(filepath.Join(repoRoot(), "internal/bcs/application/testdata/seed-application.json"))
	if err != nil {
		t.Fatal(err)
	}
	seed, err := application.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	seed.Instance = 1
	seed.Template.Spec.Containers[0].Resources.Limits = v1alpha1.ResourceList{CPU: "0.05", Memory: "16"}
	seed.Template.Spec.Containers[0].Resources.Requests = seed.Template.Spec.Containers[0].Resources.Limits
	imageOnly := create("app-test", seed)
	waitFor(t, "application app-test Abnormal", func() bool {
		status = derive(imageOnly)
		return status.Status == "Abnormal"
	})
	if status.Message != "application has failed pods" || status.RunningInstances != 0 {
		t.Errorf("app-test status %+v", status)
	}
	list, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: application.LabelApplication + "=app-test"})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("pods of app-test: %v %d", err, len(list.Items))
	}
	if tg := application.TaskGroupState(&list.Items[0]); tg.Status != "Failed" || !strings.Contains(tg.Message, "has no command") {
		t.Errorf("taskgroup state %+v", tg)
	}
}

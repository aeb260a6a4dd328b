package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"

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
	var kinds []string
	for _, line := range strings.Split(strings.TrimSpace(resources), "\n") {
		f := strings.Fields(line)
		kinds = append(kinds, f[len(f)-1])
		if f[0] == "applications" && (len(f) != 5 || f[1] != "app" || f[2] != "bcs.podyard.io/v1alpha1" || f[3] != "true") {
			t.Errorf("kubectl api-resources: applications: %q", line)
		}
	}
	if !slices.Equal(kinds, []string{"AdmissionWebhook", "AgentSetting", "Application", "ApplicationVersion", "Command", "Deployment"}) {
		t.Errorf("kubectl api-resources: kinds %v in %q", kinds, resources)
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
	// The status is the application controller's from now on (this
	// server has no node, so it is never Running).
	if f := strings.Fields(lines[1]); f[0] != "app-test" || f[1] != "2" || f[2] != "0" || f[3] == "<none>" {
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
	if app.Spec.Instance != 3 || app.Generation != 2 || app.Spec.Metadata.Namespace != "defaultGroup" || app.Status.Status == "" {
		t.Errorf("after apply: instance %d generation %d BCS namespace %q status %q", app.Spec.Instance, app.Generation, app.Spec.Metadata.Namespace, app.Status.Status)
	}
	if len(app.ManagedFields) == 0 || app.ManagedFields[0].Manager != "kubectl" || app.ManagedFields[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Errorf("managed fields %+v", app.ManagedFields)
	}
	if c := app.Spec.Template.Spec.Containers[0]; len(c.HealthChecks) != 3 || c.HealthChecks[1].HTTP.Headers["key1"] != "value1" || c.Resources.Requests.Storage != "64" {
		t.Errorf("stored container %+v", c)
	}

	// The status subresource writes the status only; the object, the spec
	// only. The controller writes the status too: a conflict reads again.
	var written *v1alpha1.Application
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got, err := apps.Get(ctx, "app-test", metav1.GetOptions{})
		if err != nil {
			return err
		}
		status := typed(t, got)
		status.Status = v1alpha1.ApplicationStatus{Status: "Running", Message: "application is running", Instances: 3, RunningInstances: 3}
		status.Spec.Instance = 9
		out, err := apps.UpdateStatus(ctx, untyped(t, status), metav1.UpdateOptions{})
		if err == nil {
			written = typed(t, out)
		}
		return err
	}); err != nil {
		t.Fatalf("update status: %v", err)
	}
	if written.Spec.Instance != 3 || written.Status.Status != "Running" || written.Status.RunningInstances != 3 {
		t.Errorf("after the status update: instance %d status %+v", written.Spec.Instance, written.Status)
	}
	var updated *unstructured.Unstructured
	var before v1alpha1.ApplicationStatus
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got, err := apps.Get(ctx, "app-test", metav1.GetOptions{})
		if err != nil {
			return err
		}
		spec := typed(t, got)
		before = spec.Status
		spec.Spec.Instance, spec.Status = 1, v1alpha1.ApplicationStatus{Status: "Error"}
		updated, err = apps.Update(ctx, untyped(t, spec), metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatalf("update: %v", err)
	}
	if a := typed(t, updated); a.Spec.Instance != 1 || a.Status.Status != before.Status {
		t.Errorf("update: instance %d status %q, want %q", a.Spec.Instance, a.Status.Status, before.Status)
	}

	// What BCS refuses is refused, with the field.
	bad := strings.Replace(seedApplication(t, 2), `"app-test"},"spec"`, `"app-bad"},"spec"`, 1)
	bad = strings.Replace(bad, `"policy":"Never"`, `"policy":"Sometimes"`, 1)
	if _, errOut, err := s.KubectlResult(bad, "apply", "--server-side", "-n", ns, "-f", "-"); err == nil || !strings.Contains(errOut, "spec.restartPolicy.policy") {
		t.Errorf("bad restart policy: %v %s", err, errOut)
	}
	// The BCS name is the application's identity.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got, err := apps.Get(ctx, "app-test", metav1.GetOptions{})
		if err != nil {
			return err
		}
		renamed := typed(t, got)
		renamed.Spec.Metadata.Name = "other"
		_, err = apps.Update(ctx, untyped(t, renamed), metav1.UpdateOptions{})
		return err
	})
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

// TestApplicationTaskGroups: the application controller keeps one Pod per
// taskgroup, as spec.instance says, and writes the BCS status: Running
// with every instance up, scaled down highest index first until no
// process is left, and Abnormal with the reason when a task cannot run.
func TestApplicationTaskGroups(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	client, err := dynamic.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	apps := client.Resource(applications).Namespace(ns)
	get := func(name string) *v1alpha1.Application {
		t.Helper()
		got, err := apps.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get application %s: %v", name, err)
		}
		return typed(t, got)
	}
	podsOf := func(name string) []corev1.Pod {
		t.Helper()
		list, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: application.LabelApplication + "=" + name})
		if err != nil {
			t.Fatal(err)
		}
		return list.Items
	}

	// kubectl applies the application; the controller does the rest.
	marker := "PODYARD_E2E_APP=" + ns
	spec, err := application.Parse([]byte(`{"apiVersion":"v4","kind":"application","metadata":{"name":"sleeper","namespace":"defaultGroup","labels":{"team":"games"}},
		"restartPolicy":{"policy":"Always"},"killPolicy":{"gracePeriod":2},
		"spec":{"instance":3,"template":{"metadata":{"annotations":{"note":"kept"}},"spec":{"containers":[
			{"name":"main","image":"busybox","command":"sh","args":["-c","echo hello from $BCS_TASK; exec sleep 3600"],
			 "env":[{"name":"BCS_TASK","value":"sleeper"},{"name":"PODYARD_E2E_APP","value":"` + ns + `"}],
			 "resources":{"limits":{"cpu":"0.05","memory":"16"}}}]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := json.Marshal(untyped(t, &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: "sleeper"}, Spec: spec}).Object)
	if err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := s.KubectlResult(string(manifest), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("kubectl apply: %v %s", err, errOut)
	}
	var sleeper *v1alpha1.Application
	waitFor(t, "application sleeper Running with 3 instances", func() bool {
		sleeper = get("sleeper")
		return sleeper.Status.Status == v1alpha1.StatusRunning && sleeper.Status.RunningInstances == 3
	})
	if st := sleeper.Status; st.Instances != 3 || st.Message != "application is running" || st.LastStatus == "" || st.UpdateTime == nil || st.ObservedGeneration != sleeper.Generation {
		t.Errorf("sleeper status %+v", st)
	}
	if got := s.Kubectl("get", "app", "sleeper", "-n", ns, "--no-headers"); !strings.HasPrefix(strings.Join(strings.Fields(got), " "), "sleeper 3 3 Running") {
		t.Errorf("kubectl get app: %q", got)
	}
	pods := podsOf("sleeper")
	if len(pods) != 3 {
		t.Fatalf("sleeper has %d pods, want 3", len(pods))
	}
	seen := map[int]bool{}
	for i := range pods {
		p := &pods[i]
		index, ok := application.InstanceIndex(p)
		if !ok || seen[index] || index > 2 {
			t.Errorf("pod %s: instance label %q", p.Name, p.Labels[application.LabelInstance])
			continue
		}
		seen[index] = true
		if ref := metav1.GetControllerOf(p); ref == nil || ref.UID != sleeper.UID || ref.Kind != "Application" {
			t.Errorf("pod %s owner %+v", p.Name, p.OwnerReferences)
		}
		if p.Status.Phase != corev1.PodRunning {
			t.Errorf("pod %s phase %s", p.Name, p.Status.Phase)
		}
		ref, err := application.ParseTaskGroupID(p.Annotations[application.AnnotationTaskGroupID])
		if err != nil || ref.Index != index || ref.App != "sleeper" || ref.Namespace != "defaultGroup" || ref.Cluster != "10001" {
			t.Errorf("pod %s taskgroup id %q: %+v %v", p.Name, p.Annotations[application.AnnotationTaskGroupID], ref, err)
		}
		want := application.Pod(sleeper, application.PodOptions{Index: index, Cluster: ref.Cluster, UnixNano: ref.UnixNano})
		if p.Name != want.Name || !equality.Semantic.DeepEqual(p.Labels, want.Labels) || p.Annotations["note"] != "kept" ||
			p.Labels["team"] != "games" || p.Annotations[application.AnnotationGeneration] != want.Annotations[application.AnnotationGeneration] {
			t.Errorf("pod %s: labels %v annotations %v, want as Pod makes them: %s %v %v", p.Name, p.Labels, p.Annotations, want.Name, want.Labels, want.Annotations)
		}
		if g := p.Spec.TerminationGracePeriodSeconds; g == nil || *g != 2 || p.Spec.RestartPolicy != corev1.RestartPolicyNever { // BCS's policy is the controller's to apply
			t.Errorf("pod %s: grace %v restart policy %s", p.Name, g, p.Spec.RestartPolicy)
		}
	}
	waitFor(t, "the application's 3 sleep processes", func() bool { return processesWith("sleep", marker) == 3 })

	// kubectl logs and exec work on a taskgroup.
	first := pods[0].Name
	waitFor(t, "the taskgroup's log", func() bool {
		out, _, _ := s.KubectlResult("", "logs", "-n", ns, first)
		return strings.Contains(out, "hello from sleeper")
	})
	if out := s.Kubectl("exec", "-n", ns, first, "--", "sh", "-c", "echo exec $BCS_TASK"); strings.TrimSpace(out) != "exec sleeper" {
		t.Errorf("kubectl exec: %q", out)
	}

	// Scaling down removes the highest indexes.
	scale := func(n int32) {
		t.Helper()
		patch := fmt.Sprintf(`{"spec":{"instance":%d}}`, n)
		if _, err := apps.Patch(ctx, "sleeper", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatalf("scale to %d: %v", n, err)
		}
	}
	scale(1)
	waitFor(t, "sleeper down to instance 0", func() bool {
		left := podsOf("sleeper")
		return len(left) == 1 && left[0].Labels[application.LabelInstance] == "0" && processesWith("sleep", marker) == 1
	})
	waitFor(t, "sleeper Running with 1 instance", func() bool {
		sleeper = get("sleeper")
		return sleeper.Status.Status == v1alpha1.StatusRunning && sleeper.Status.RunningInstances == 1 && sleeper.Status.Instances == 1
	})
	scale(0)
	waitFor(t, "sleeper without taskgroups or processes", func() bool {
		return len(podsOf("sleeper")) == 0 && processesWith("sleep", marker) == 0
	})
	waitFor(t, "sleeper status with no instances", func() bool {
		sleeper = get("sleeper")
		return sleeper.Status.Instances == 0 && sleeper.Status.RunningInstances == 0
	})

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
	if _, err := apps.Create(ctx, untyped(t, &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: "app-test"}, Spec: seed}), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create application app-test: %v", err)
	}
	var imageOnly *v1alpha1.Application
	waitFor(t, "application app-test Abnormal", func() bool {
		imageOnly = get("app-test")
		return imageOnly.Status.Status == v1alpha1.StatusAbnormal
	})
	if st := imageOnly.Status; st.Message != "application has failed pods" || st.RunningInstances != 0 || st.Instances != 1 {
		t.Errorf("app-test status %+v", st)
	}
	failed := podsOf("app-test")
	if len(failed) != 1 {
		t.Fatalf("pods of app-test: %d", len(failed))
	}
	if tg := application.TaskGroupState(&failed[0]); tg.Status != "Failed" || !strings.Contains(tg.Message, "has no command") {
		t.Errorf("taskgroup state %+v", tg)
	}
	// An ended taskgroup keeps its index: it is not replaced.
	if again := podsOf("app-test"); len(again) != 1 || again[0].UID != failed[0].UID {
		t.Errorf("the failed taskgroup was replaced: %d pods", len(again))
	}
}

// TestApplicationControllerRestart: a restarted controller finds the
// taskgroups it made and makes no second Pod for an index; scaled up
// afterwards, it adds only the next index.
func TestApplicationControllerRestart(t *testing.T) {
	if externalEtcd() {
		t.Skip("runs its own `podyard up`, which embeds etcd")
	}
	s, _ := StartCluster(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	client, err := dynamic.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	apps := client.Resource(applications).Namespace(ns)
	spec, err := application.Parse([]byte(`{"apiVersion":"v4","kind":"application","metadata":{"name":"keeper","namespace":"defaultGroup"},
		"restartPolicy":{"policy":"Always"},"killPolicy":{"gracePeriod":1},
		"spec":{"instance":3,"template":{"spec":{"containers":[
			{"image":"busybox","command":"sleep","args":["3600"],"env":[{"name":"PODYARD_E2E_APP","value":"` + ns + `"}],
			 "resources":{"limits":{"cpu":"0.05","memory":"16"}}}]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := apps.Create(ctx, untyped(t, &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: "keeper"}, Spec: spec}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	running := func(n int32) func() bool {
		return func() bool {
			got, err := apps.Get(ctx, "keeper", metav1.GetOptions{})
			if err != nil {
				return false
			}
			st := typed(t, got).Status
			return st.Status == v1alpha1.StatusRunning && st.RunningInstances == n && st.Instances == n
		}
	}
	podsOf := func() []corev1.Pod {
		t.Helper()
		list, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: application.LabelApplication + "=keeper"})
		if err != nil {
			t.Fatal(err)
		}
		return list.Items
	}
	waitFor(t, "keeper Running with 3 instances", running(3))
	before := map[types.UID]bool{}
	for _, p := range podsOf() {
		before[p.UID] = true
	}

	s.Restart()
	if _, err := apps.Patch(ctx, "keeper", types.MergePatchType, []byte(`{"spec":{"instance":4}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "keeper Running with 4 instances after the restart", running(4))
	pods := podsOf()
	kept := 0
	for _, p := range pods {
		if before[p.UID] {
			kept++
		} else if p.Labels[application.LabelInstance] != "3" {
			t.Errorf("new pod %s at instance %s", p.Name, p.Labels[application.LabelInstance])
		}
	}
	if len(pods) != 4 || kept != 3 {
		t.Errorf("%d pods, %d of them from before the restart; want 4 and 3", len(pods), kept)
	}
	waitFor(t, "4 sleep processes", func() bool { return processesWith("sleep", "PODYARD_E2E_APP="+ns) == 4 })
}

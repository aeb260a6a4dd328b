package e2e

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1apply "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func TestPodCreateGetUpdateDefaults(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods(ns)

	created, err := pods.Create(ctx, newPod("web", map[string]string{"app": "web"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec, c := created.Spec, created.Spec.Containers[0]
	if spec.RestartPolicy != corev1.RestartPolicyAlways || spec.DNSPolicy != corev1.DNSClusterFirst ||
		*spec.TerminationGracePeriodSeconds != 30 || spec.SchedulerName != "default-scheduler" ||
		c.Ports[0].Protocol != corev1.ProtocolTCP || c.TerminationMessagePath != "/dev/termination-log" {
		t.Errorf("pod not defaulted like kube-apiserver: %+v", spec)
	}
	if created.Status.Phase != corev1.PodPending || created.Status.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("initial status: %+v", created.Status)
	}
	if created.UID == "" || created.ResourceVersion == "" || created.CreationTimestamp.IsZero() || created.Generation != 1 {
		t.Errorf("metadata not filled: %+v", created.ObjectMeta)
	}
	if _, err := pods.Create(ctx, newPod("web", nil), metav1.CreateOptions{}); err == nil {
		t.Error("creating a pod twice succeeded")
	} else {
		wantStatus(t, "duplicate create", err, 409, "already exists")
	}

	gen, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "gen-"}, Spec: newPod("", nil).Spec}, metav1.CreateOptions{})
	if err != nil || !strings.HasPrefix(gen.Name, "gen-") || len(gen.Name) != len("gen-")+5 {
		t.Errorf("generateName: %v %v", gen.Name, err)
	}

	got, err := pods.Get(ctx, "web", metav1.GetOptions{})
	if err != nil || got.UID != created.UID {
		t.Fatalf("get: %v %v", got, err)
	}
	if _, err := pods.Get(ctx, "missing", metav1.GetOptions{}); err == nil {
		t.Error("get of a missing pod succeeded")
	} else {
		wantStatus(t, "get missing", err, 404, `pods "missing" not found`)
	}

	// The image may change; the update bumps generation.
	got.Spec.Containers[0].Image = "busybox:1.37"
	updated, err := pods.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update image: %v", err)
	}
	if updated.Spec.Containers[0].Image != "busybox:1.37" || updated.Generation != 2 {
		t.Errorf("update: image %s generation %d", updated.Spec.Containers[0].Image, updated.Generation)
	}
	// A stale resourceVersion conflicts.
	got.Spec.Containers[0].Image = "busybox:1.38"
	if _, err := pods.Update(ctx, got, metav1.UpdateOptions{}); err == nil {
		t.Error("update with a stale resourceVersion succeeded")
	} else {
		wantStatus(t, "stale update", err, 409, "the object has been modified")
	}
	// Other spec fields may not change.
	updated.Spec.RestartPolicy = corev1.RestartPolicyNever
	if _, err := pods.Update(ctx, updated, metav1.UpdateOptions{}); err == nil {
		t.Error("changing restartPolicy succeeded")
	} else {
		wantStatus(t, "forbidden update", err, 422, "spec: Forbidden: pod updates may not change fields other than")
	}
	// Status sent through the main endpoint is ignored.
	fresh, _ := pods.Get(ctx, "web", metav1.GetOptions{})
	fresh.Status.Phase = corev1.PodRunning
	fresh.Labels["tier"] = "front"
	after, err := pods.Update(ctx, fresh, metav1.UpdateOptions{})
	if err != nil || after.Status.Phase != corev1.PodPending || after.Labels["tier"] != "front" {
		t.Errorf("update through the main endpoint changed status or dropped labels: %v %v", after.Status.Phase, err)
	}
}

func TestPodValidationErrors(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	pods := s.Client.CoreV1().Pods(ns)
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []string
	}{
		{"bad name", func(p *corev1.Pod) { p.Name = "Bad_Name" }, []string{"metadata.name: Invalid value"}},
		{"no containers", func(p *corev1.Pod) { p.Spec.Containers = nil }, []string{"spec.containers: Required value"}},
		{"no image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }, []string{"spec.containers[0].image: Required value"}},
		{"duplicate container names", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "app", Image: "x"})
		}, []string{`spec.containers[1].name: Duplicate value: "app"`}},
		{"port out of range", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 70000 }, []string{"spec.containers[0].ports[0].containerPort: Invalid value: 70000"}},
		{"bad protocol", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Protocol = "HTTP" }, []string{"spec.containers[0].ports[0].protocol: Unsupported value"}},
		{"duplicate port names", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{Name: "http", ContainerPort: 9090})
		}, []string{`spec.containers[0].ports[1].name: Duplicate value: "http"`}},
		{"requests above limits", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
			}
		}, []string{"spec.containers[0].resources.requests[cpu]: Invalid value", "must be less than or equal to cpu limit"}},
		{"mount of a missing volume", func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}, []string{`spec.containers[0].volumeMounts[0].name: Not found: "data"`}},
		{"ephemeral containers on create", func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg", Image: "x"}}}
		}, []string{"spec.ephemeralContainers: Forbidden"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPod("invalid", nil)
			tc.mutate(p)
			_, err := pods.Create(context.Background(), p, metav1.CreateOptions{})
			if err == nil {
				t.Fatal("invalid pod was created")
			}
			wantStatus(t, tc.name, err, 422, tc.want...)
			_, status := statusOf(err)
			if status.Reason != metav1.StatusReasonInvalid || status.Details == nil || len(status.Details.Causes) == 0 {
				t.Errorf("422 without Invalid reason and causes: %+v", status)
			}
		})
	}
	if list, _ := pods.List(context.Background(), metav1.ListOptions{}); len(list.Items) != 0 {
		t.Errorf("invalid pods were stored: %d", len(list.Items))
	}
}

func TestPodPatchTypes(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods(ns)
	if _, err := pods.Create(ctx, newPod("p", map[string]string{"a": "1"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	p, err := pods.Patch(ctx, "p", types.JSONPatchType, []byte(`[{"op":"add","path":"/metadata/labels/b","value":"2"},{"op":"replace","path":"/spec/containers/0/image","value":"busybox:json"}]`), metav1.PatchOptions{})
	if err != nil || p.Labels["b"] != "2" || p.Spec.Containers[0].Image != "busybox:json" {
		t.Errorf("JSON patch: %v %v", p, err)
	}
	p, err = pods.Patch(ctx, "p", types.MergePatchType, []byte(`{"metadata":{"labels":{"a":null,"c":"3"}}}`), metav1.PatchOptions{})
	if err != nil || p.Labels["a"] != "" || p.Labels["c"] != "3" {
		t.Errorf("merge patch: %v %v", p.Labels, err)
	}
	// Strategic merge patches containers by name instead of replacing the list.
	p, err = pods.Patch(ctx, "p", types.StrategicMergePatchType, []byte(`{"spec":{"containers":[{"name":"app","image":"busybox:smp"}]}}`), metav1.PatchOptions{})
	if err != nil || len(p.Spec.Containers) != 1 || p.Spec.Containers[0].Image != "busybox:smp" || p.Spec.Containers[0].Command[0] != "sleep" {
		t.Errorf("strategic merge patch: %+v %v", p.Spec.Containers, err)
	}
	// A JSON patch test that fails changes nothing.
	_, err = pods.Patch(ctx, "p", types.JSONPatchType, []byte(`[{"op":"test","path":"/metadata/labels/c","value":"nope"},{"op":"add","path":"/metadata/labels/d","value":"4"}]`), metav1.PatchOptions{})
	if err == nil {
		t.Error("a failing JSON patch test applied")
	}
	if p, _ := pods.Get(ctx, "p", metav1.GetOptions{}); p.Labels["d"] != "" {
		t.Error("a failed JSON patch changed the pod")
	}
	// A patch that makes the pod invalid is refused.
	_, err = pods.Patch(ctx, "p", types.MergePatchType, []byte(`{"spec":{"restartPolicy":"Never"}}`), metav1.PatchOptions{})
	wantStatus(t, "forbidden patch", err, 422, "pod updates may not change fields")
	// Patching a missing pod is 404.
	_, err = pods.Patch(ctx, "nope", types.MergePatchType, []byte(`{}`), metav1.PatchOptions{})
	wantStatus(t, "patch missing", err, 404)
}

func TestPodServerSideApply(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods(ns)

	cfg := corev1apply.Pod("ssa", ns).
		WithLabels(map[string]string{"owner": "alice"}).
		WithSpec(corev1apply.PodSpec().WithContainers(
			corev1apply.Container().WithName("app").WithImage("busybox:1").WithCommand("sleep", "1000")))
	p, err := pods.Apply(ctx, cfg, metav1.ApplyOptions{FieldManager: "alice"})
	if err != nil {
		t.Fatalf("apply (create): %v", err)
	}
	if !hasManager(p, "alice", metav1.ManagedFieldsOperationApply) {
		t.Errorf("managedFields lack alice's apply: %+v", p.ManagedFields)
	}
	// Another manager changing alice's field conflicts...
	other := corev1apply.Pod("ssa", ns).WithLabels(map[string]string{"owner": "bob"})
	_, err = pods.Apply(ctx, other, metav1.ApplyOptions{FieldManager: "bob"})
	wantStatus(t, "conflicting apply", err, 409, "conflict", "alice")
	// ...unless forced, which takes the field over.
	p, err = pods.Apply(ctx, other, metav1.ApplyOptions{FieldManager: "bob", Force: true})
	if err != nil || p.Labels["owner"] != "bob" || !hasManager(p, "bob", metav1.ManagedFieldsOperationApply) {
		t.Fatalf("forced apply: %v %v", p, err)
	}
	// Containers merge by name: bob's apply did not remove alice's container.
	if len(p.Spec.Containers) != 1 || p.Spec.Containers[0].Image != "busybox:1" {
		t.Errorf("containers after bob's apply: %+v", p.Spec.Containers)
	}
	// An update records an Update manager entry.
	p.Labels["extra"] = "x"
	p, err = pods.Update(ctx, p, metav1.UpdateOptions{FieldManager: "editor"})
	if err != nil || !hasManager(p, "editor", metav1.ManagedFieldsOperationUpdate) {
		t.Errorf("update manager: %v", err)
	}
	// kubectl apply --server-side goes through the same path.
	manifest := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"kssa","labels":{"x":"y"}},"spec":{"containers":[{"name":"c","image":"busybox:1","command":["sleep","1"]}]}}`
	if _, errOut, err := s.KubectlResult(manifest, "apply", "--server-side", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("kubectl apply --server-side: %v %s", err, errOut)
	}
	kp, err := pods.Get(ctx, "kssa", metav1.GetOptions{})
	if err != nil || !hasManager(kp, "kubectl", metav1.ManagedFieldsOperationApply) {
		t.Errorf("kubectl server-side apply: %v %+v", err, kp.ManagedFields)
	}
}

func hasManager(p *corev1.Pod, manager string, op metav1.ManagedFieldsOperationType) bool {
	for _, m := range p.ManagedFields {
		if m.Manager == manager && m.Operation == op {
			return true
		}
	}
	return false
}

func TestPodDryRun(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods(ns)
	dry := []string{metav1.DryRunAll}

	p, err := pods.Create(ctx, newPod("dry", nil), metav1.CreateOptions{DryRun: dry})
	if err != nil || p.UID == "" || p.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		t.Fatalf("dry-run create should answer the defaulted pod: %v %v", p, err)
	}
	if _, err := pods.Get(ctx, "dry", metav1.GetOptions{}); err == nil {
		t.Fatal("dry-run create stored the pod")
	}
	_, err = pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "dry"}}, metav1.CreateOptions{DryRun: dry})
	wantStatus(t, "dry-run create of an invalid pod", err, 422)

	real, err := pods.Create(ctx, newPod("real", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	real.Spec.Containers[0].Image = "busybox:dry"
	if _, err := pods.Update(ctx, real, metav1.UpdateOptions{DryRun: dry}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Patch(ctx, "real", types.MergePatchType, []byte(`{"metadata":{"labels":{"dry":"run"}}}`), metav1.PatchOptions{DryRun: dry}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "real", metav1.DeleteOptions{DryRun: dry}); err != nil {
		t.Fatal(err)
	}
	if err := pods.DeleteCollection(ctx, metav1.DeleteOptions{DryRun: dry}, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	after, err := pods.Get(ctx, "real", metav1.GetOptions{})
	if err != nil || after.ResourceVersion != real.ResourceVersion || after.Spec.Containers[0].Image != "busybox:1.36" || after.Labels["dry"] != "" {
		t.Errorf("dry-run update/patch/delete changed the pod: %v %v", after, err)
	}
	_, err = s.Client.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Param("dryRun", "Sometimes").Body(newPod("x", nil)).Do(ctx).Get()
	wantStatus(t, "unknown dryRun value", err, 422, "dryRun: Unsupported value")
}

func TestPodFieldValidation(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	body := []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"NAME"},"spec":{"bogus":1,"containers":[{"name":"c","image":"busybox:1","colour":"red"}]}}`)
	post := func(name, mode string) (rest.Result, []string) {
		var warnings []string
		cfg := rest.CopyConfig(s.Config)
		cfg.WarningHandler = warningCollector{&warnings}
		client := kubernetes.NewForConfigOrDie(cfg)
		req := client.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").
			Body([]byte(strings.Replace(string(body), "NAME", name, 1))).SetHeader("Content-Type", "application/json")
		if mode != "" {
			req = req.Param("fieldValidation", mode)
		}
		res := req.Do(ctx)
		return res, warnings
	}

	res, _ := post("strict", "Strict")
	wantStatus(t, "Strict with unknown fields", res.Error(), 400, `unknown field "spec.bogus"`, `unknown field "spec.containers[0].colour"`)
	if _, err := s.Client.CoreV1().Pods(ns).Get(ctx, "strict", metav1.GetOptions{}); err == nil {
		t.Error("a Strict-rejected pod was stored")
	}
	res, warnings := post("warn", "Warn")
	if res.Error() != nil || !strings.Contains(strings.Join(warnings, "\n"), `unknown field "spec.bogus"`) {
		t.Errorf("Warn: %v, warnings %q", res.Error(), warnings)
	}
	res, warnings = post("ignore", "Ignore")
	if res.Error() != nil || len(warnings) != 0 {
		t.Errorf("Ignore: %v, warnings %q", res.Error(), warnings)
	}
	res, _ = post("bad", "Sloppy")
	wantStatus(t, "unknown fieldValidation", res.Error(), 422, "fieldValidation: Unsupported value")
	// Duplicate fields are unknown-field-like errors under Strict too.
	dup := []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"dup","name":"dup2"},"spec":{"containers":[{"name":"c","image":"busybox:1"}]}}`)
	err := s.Client.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Param("fieldValidation", "Strict").
		Body(dup).SetHeader("Content-Type", "application/json").Do(ctx).Error()
	wantStatus(t, "Strict with a duplicate field", err, 400, "duplicate field")

	// kubectl sends Strict by default and reports the unknown field.
	_, errOut, err := s.KubectlResult(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"k"},"spec":{"bogus":1,"containers":[{"name":"c","image":"x:1"}]}}`, "create", "-n", ns, "-f", "-")
	if err == nil || !strings.Contains(errOut, "unknown field") {
		t.Errorf("kubectl create with an unknown field: %v %s", err, errOut)
	}
}

func TestPodStatusSubresource(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods(ns)
	p, err := pods.Create(ctx, newPod("st", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// GET .../status answers the pod.
	got := &corev1.Pod{}
	if err := s.Client.CoreV1().RESTClient().Get().Namespace(ns).Resource("pods").Name("st").SubResource("status").Do(ctx).Into(got); err != nil || got.Name != "st" {
		t.Fatalf("get status: %v", err)
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP, p.Status.PodIPs = "10.0.0.7", []corev1.PodIP{{IP: "10.0.0.7"}}
	p.Spec.Containers[0].Image = "busybox:ignored"
	p.Labels = map[string]string{"ignored": "yes"}
	st, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Status.Phase != corev1.PodRunning || st.Status.PodIP != "10.0.0.7" {
		t.Errorf("status not updated: %+v", st.Status)
	}
	if st.Spec.Containers[0].Image != "busybox:1.36" {
		t.Errorf("status update changed spec: %s", st.Spec.Containers[0].Image)
	}
	st, err = pods.Patch(ctx, "st", types.MergePatchType, []byte(`{"status":{"nominatedNodeName":"n1","conditions":[{"type":"Ready","status":"True"}]}}`), metav1.PatchOptions{}, "status")
	if err != nil || st.Status.NominatedNodeName != "n1" || len(st.Status.Conditions) != 1 {
		t.Fatalf("status patch: %v %+v", err, st.Status)
	}
	_, err = pods.Patch(ctx, "st", types.MergePatchType, []byte(`{"status":{"podIP":"not-an-ip"}}`), metav1.PatchOptions{}, "status")
	wantStatus(t, "invalid status", err, 422, "status.podIP")
}

type warningCollector struct{ into *[]string }

func (w warningCollector) HandleWarningHeader(_ int, _ string, text string) {
	*w.into = append(*w.into, text)
}

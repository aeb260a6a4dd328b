package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// TestKubectlTour is what a user does first: run, get (-o wide), describe,
// label, watch, delete, all with the real kubectl.
func TestKubectlTour(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	s.Kubectl("run", "web", "-n", ns, "--image=nginx:1.27", "--port=80", "--labels=app=web")

	out := s.Kubectl("get", "pods", "-n", ns)
	if !regexp.MustCompile(`(?m)^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^web\s+0/1\s+Pending\s+0\s+\d+s$`).MatchString(out) {
		t.Errorf("kubectl get pods:\n%s", out)
	}
	bind(t, s, ns, "web", "node-7")
	if _, err := s.Client.CoreV1().Pods(ns).Patch(context.Background(), "web", types.MergePatchType,
		[]byte(`{"status":{"phase":"Running","podIP":"10.4.0.9","conditions":[{"type":"Ready","status":"True"}],"containerStatuses":[{"name":"web","ready":true,"restartCount":2,"image":"nginx:1.27","imageID":"","started":true,"state":{"running":{"startedAt":"2026-01-01T00:00:00Z"}}}]}}`),
		metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	out = s.Kubectl("get", "pods", "-n", ns, "-o", "wide")
	if !regexp.MustCompile(`(?m)^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^web\s+1/1\s+Running\s+2\s+\d+s\s+10\.4\.0\.9\s+node-7\s+<none>\s+<none>$`).MatchString(out) {
		t.Errorf("kubectl get pods -o wide:\n%s", out)
	}
	out = s.Kubectl("describe", "pod", "web", "-n", ns)
	for _, want := range []string{`Name:\s+web`, `Node:\s+node-7/`, `Status:\s+Running`, `IP:\s+10\.4\.0\.9`, `Port:\s+80/TCP`, `Restart Count:\s+2`, `QoS Class:\s+BestEffort`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("kubectl describe lacks %q:\n%s", want, out)
		}
	}
	s.Kubectl("label", "pod", "web", "-n", ns, "tier=front")
	if out := s.Kubectl("get", "pods", "-n", ns, "-l", "tier=front", "-o", "name"); strings.TrimSpace(out) != "pod/web" {
		t.Errorf("kubectl get -l: %q", out)
	}
	if out := s.Kubectl("get", "po", "-n", ns, "--field-selector", "spec.nodeName=node-7", "-o", "jsonpath={.items[*].metadata.name}"); out != "web" {
		t.Errorf("kubectl get --field-selector: %q", out)
	}
	if out := s.Kubectl("get", "all", "-n", ns, "-o", "name"); !strings.Contains(out, "pod/web") {
		t.Errorf("kubectl get all: %q", out)
	}

	// get -w lists, then watches from the list's resourceVersion: once the
	// first row is out, every later change must show up as another row.
	w := s.KubectlStream(t, "get", "pods", "-n", ns, "-w")
	w.waitForLine(t, regexp.MustCompile(`^web\s`))
	s.Kubectl("annotate", "pod", "web", "-n", ns, "seen=yes")
	w.waitForLine(t, regexp.MustCompile(`^web\s+1/1\s+Running`))

	s.Kubectl("delete", "pod", "web", "-n", ns, "--grace-period=0", "--force", "--wait=true")
	if out := s.Kubectl("get", "pods", "-n", ns, "-o", "name"); strings.TrimSpace(out) != "" {
		t.Errorf("pods after delete: %q", out)
	}
	if _, errOut, err := s.KubectlResult("", "get", "pod", "web", "-n", ns); err == nil || !strings.Contains(errOut, `pods "web" not found`) {
		t.Errorf("kubectl get of a deleted pod: %v %s", err, errOut)
	}
}

func TestCompanionResources(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	ctx := context.Background()

	// Nodes, with status and table columns.
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "worker-" + ns, Labels: map[string]string{"node-role.kubernetes.io/worker": ""}}}
	if _, err := s.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer s.Client.CoreV1().Nodes().Delete(ctx, node.Name, metav1.DeleteOptions{})
	node.Status = corev1.NodeStatus{
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.1.5"}},
		NodeInfo:   corev1.NodeSystemInfo{KubeletVersion: "v1.37.2-podyard"},
	}
	got, err := s.Client.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got.Status = node.Status
	if _, err := s.Client.CoreV1().Nodes().UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	out := s.Kubectl("get", "node", node.Name, "-o", "wide")
	if !regexp.MustCompile(`(?m)^worker-\S+\s+Ready\s+worker\s+\S+\s+v1\.37\.2-podyard\s+192\.168\.1\.5\s+<none>`).MatchString(out) {
		t.Errorf("kubectl get node -o wide:\n%s", out)
	}

	// Events show up in kubectl describe.
	p := createPods(t, s.Client, ns, "evented", 1, nil)[0]
	_, err = s.Client.CoreV1().Events(ns).Create(ctx, &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "evented-0.1"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: p.Name, UID: p.UID, APIVersion: "v1"},
		Reason:         "Scheduled", Message: "Successfully assigned to node-1", Type: corev1.EventTypeNormal,
		Source: corev1.EventSource{Component: "default-scheduler"}, Count: 1,
		FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(),
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out := s.Kubectl("describe", "pod", p.Name, "-n", ns); !regexp.MustCompile(`Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned to node-1`).MatchString(out) {
		t.Errorf("describe does not show the event:\n%s", out)
	}
	if out := s.Kubectl("get", "events", "-n", ns); !strings.Contains(out, "pod/evented-0") {
		t.Errorf("kubectl get events:\n%s", out)
	}
	if list, err := s.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + p.Name + ",reason=Scheduled"}); err != nil || len(list.Items) != 1 {
		t.Errorf("events by involvedObject.name: %v %v", err, list)
	}

	// ConfigMaps, secrets, services, service accounts, leases: stored, validated, shown.
	s.Kubectl("create", "configmap", "cfg", "-n", ns, "--from-literal=a=1", "--from-literal=b=2")
	s.Kubectl("create", "secret", "generic", "sec", "-n", ns, "--from-literal=password=hunter2")
	s.Kubectl("create", "service", "clusterip", "svc", "-n", ns, "--tcp=80:8080")
	s.Kubectl("create", "serviceaccount", "robot", "-n", ns)
	for _, tc := range []struct{ resource, pattern string }{
		{"configmap cfg", `(?m)^cfg\s+2\s+\S+$`},
		{"secret sec", `(?m)^sec\s+Opaque\s+1\s+\S+$`},
		{"service svc", `(?m)^svc\s+ClusterIP\s+\S+\s+<none>\s+80/TCP\s+\S+$`},
		{"serviceaccount robot", `(?m)^robot\s+0\s+\S+$`},
	} {
		args := append([]string{"get"}, strings.Fields(tc.resource)...)
		if out := s.Kubectl(append(args, "-n", ns)...); !regexp.MustCompile(tc.pattern).MatchString(out) {
			t.Errorf("kubectl get %s:\n%s", tc.resource, out)
		}
	}
	sec, err := s.Client.CoreV1().Secrets(ns).Get(ctx, "sec", metav1.GetOptions{})
	if err != nil || string(sec.Data["password"]) != "hunter2" {
		t.Errorf("secret data: %v %v", err, sec)
	}
	_, err = s.Client.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "noports"}}, metav1.CreateOptions{})
	wantStatus(t, "service without ports", err, 422, "spec.ports: Required value")
	_, err = s.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "bad"}, Data: map[string]string{"no/slash": "x"}}, metav1.CreateOptions{})
	wantStatus(t, "configmap with a bad key", err, 422, "data[no/slash]")

	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "leader"}, Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("me"), LeaseDurationSeconds: ptr.To[int32](15)}}
	if _, err := s.Client.CoordinationV1().Leases(ns).Create(ctx, lease, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if out := s.Kubectl("get", "leases", "-n", ns); !regexp.MustCompile(`(?m)^leader\s+me\s+\S+$`).MatchString(out) {
		t.Errorf("kubectl get leases:\n%s", out)
	}
}

func TestEphemeralContainersAndLog(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods(ns)
	createPods(t, s.Client, ns, "dbg", 1, nil)

	// GET .../ephemeralcontainers answers the pod.
	var got corev1.Pod
	if err := s.Client.CoreV1().RESTClient().Get().Namespace(ns).Resource("pods").Name("dbg-0").SubResource("ephemeralcontainers").Do(ctx).Into(&got); err != nil || got.Name != "dbg-0" {
		t.Fatalf("get ephemeralcontainers: %v", err)
	}
	// kubectl debug sends this strategic-merge patch.
	patch := `{"spec":{"ephemeralContainers":[{"name":"debugger","image":"busybox:1","targetContainerName":"app","stdin":true,"tty":true}]}}`
	p, err := pods.Patch(ctx, "dbg-0", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "ephemeralcontainers")
	if err != nil {
		t.Fatalf("patch ephemeralcontainers: %v", err)
	}
	if len(p.Spec.EphemeralContainers) != 1 || p.Spec.EphemeralContainers[0].TerminationMessagePolicy != corev1.TerminationMessageReadFile {
		t.Errorf("ephemeral container not added and defaulted: %+v", p.Spec.EphemeralContainers)
	}
	// Changing or removing it, or changing the rest of the pod, is refused.
	p.Spec.EphemeralContainers[0].Image = "busybox:2"
	_, err = pods.UpdateEphemeralContainers(ctx, "dbg-0", p, metav1.UpdateOptions{})
	wantStatus(t, "changing an ephemeral container", err, 422, `existing ephemeral containers "debugger" may not be changed`)
	fresh, _ := pods.Get(ctx, "dbg-0", metav1.GetOptions{})
	fresh.Spec.EphemeralContainers = append(fresh.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "second", Image: "busybox:1", Ports: []corev1.ContainerPort{{ContainerPort: 80}}}})
	_, err = pods.UpdateEphemeralContainers(ctx, "dbg-0", fresh, metav1.UpdateOptions{})
	wantStatus(t, "ephemeral container with ports", err, 422, "cannot be set for an Ephemeral Container")
	// The main endpoint may not add ephemeral containers.
	fresh, _ = pods.Get(ctx, "dbg-0", metav1.GetOptions{})
	fresh.Spec.EphemeralContainers = append(fresh.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "sneaky", Image: "busybox:1"}})
	if after, err := pods.Update(ctx, fresh, metav1.UpdateOptions{}); err == nil && len(after.Spec.EphemeralContainers) != 1 {
		t.Errorf("a pod update added an ephemeral container: %+v", after.Spec.EphemeralContainers)
	}

	// pods/log: parameters are validated, containers resolved, and a pod
	// no node runs yet answers a clear error (node agents serve logs).
	logReq := func(params map[string]string) error {
		r := s.Client.CoreV1().RESTClient().Get().Namespace(ns).Resource("pods").Name("dbg-0").SubResource("log")
		for k, v := range params {
			r = r.Param(k, v)
		}
		return r.Do(ctx).Error() // Error() decodes the Status body; DoRaw would not
	}
	wantStatus(t, "log of a pod on no node", logReq(nil), 400, `container "app" in pod "dbg-0" is waiting to start`)
	wantStatus(t, "log of an unknown container", logReq(map[string]string{"container": "nope"}), 400, "container nope is not valid for pod dbg-0")
	wantStatus(t, "negative tailLines", logReq(map[string]string{"tailLines": "-1"}), 422, "tailLines")
	wantStatus(t, "limitBytes 0", logReq(map[string]string{"limitBytes": "0"}), 422, "limitBytes")
	wantStatus(t, "sinceSeconds and sinceTime", logReq(map[string]string{"sinceSeconds": "5", "sinceTime": "2026-01-01T00:00:00Z"}), 422, "at most one of")
	wantStatus(t, "a bad sinceTime", logReq(map[string]string{"sinceTime": "yesterday"}), 400)
	for _, param := range []string{"follow", "previous", "timestamps", "insecureSkipTLSVerifyBackend"} {
		wantStatus(t, "log with "+param, logReq(map[string]string{param: "true", "container": "debugger"}), 400, "waiting to start")
	}
	err = s.Client.CoreV1().RESTClient().Get().Namespace(ns).Resource("pods").Name("missing").SubResource("log").Do(ctx).Error()
	wantStatus(t, "log of a missing pod", err, 404)
}

// TestKubectlDrain: cordon, drain (evictions through pods/eviction) and
// uncordon, as an operator takes a node out of service.
func TestKubectlDrain(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	node := "drain-" + ns // nodes are cluster-wide; the namespace name is unique
	if _, err := s.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Client.CoreV1().Nodes().Delete(context.Background(), node, metav1.DeleteOptions{}) })
	for _, p := range createPods(t, s.Client, ns, "on-node", 2, nil) {
		bind(t, s, ns, p.Name, node)
	}
	other := createPods(t, s.Client, ns, "elsewhere", 1, nil)[0]

	s.Kubectl("cordon", node)
	if n, err := s.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); err != nil || !n.Spec.Unschedulable {
		t.Fatalf("after cordon: %v %v, want unschedulable", n.Spec, err)
	}
	// No node agent stops the containers yet, so the pods go at once (grace 0).
	out := s.Kubectl("drain", node, "--force", "--grace-period=0", "--timeout=60s")
	for _, want := range []string{"pod/on-node-0 evicted", "pod/on-node-1 evicted", "node/" + node + " drained"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl drain output lacks %q:\n%s", want, out)
		}
	}
	pods, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 || pods.Items[0].Name != other.Name {
		t.Errorf("after drain the namespace holds %v, want only %s", names(pods.Items), other.Name)
	}
	s.Kubectl("uncordon", node)
	if n, err := s.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); err != nil || n.Spec.Unschedulable {
		t.Errorf("after uncordon: %v %v, want schedulable", n.Spec, err)
	}
}

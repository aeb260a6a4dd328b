package e2e

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilrand "k8s.io/apimachinery/pkg/util/rand"

	"github.com/podyard/podyard/internal/dialect/bcs"
)

// hookServer is a BCS admission webhook server on a free port of ip. Its
// paths: /add/{key}/{value} sets the label key of the posted object;
// /copy/{key}/{from} sets key to "saw-" + the value of label from (what
// an earlier hook set); /fail answers 500; /slow answers when the caller
// gives up. It counts the calls to each path.
type hookServer struct {
	URL    string // https://ip:port
	Port   int
	bundle string // its CA as a caBundle (base64 PEM)

	mu    sync.Mutex
	calls map[string]int
}

// startHookServer serves on ip with a certificate for ip and dnsNames from
// a CA of its own (startWebhookServer).
func startHookServer(t *testing.T, ip string, dnsNames ...string) *hookServer {
	t.Helper()
	h := &hookServer{calls: map[string]int{}}
	srv := startWebhookServer(t, ip, dnsNames, http.HandlerFunc(h.serve))
	h.URL, h.Port, h.bundle = srv.URL, int(srv.Port), base64.StdEncoding.EncodeToString(srv.CABundle)
	return h
}

func (h *hookServer) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.calls[r.URL.Path]++
	h.mu.Unlock()
	body, err := io.ReadAll(r.Body)
	if err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, fmt.Sprintf("want a JSON POST, got %s %q (%v)", r.Method, r.Header.Get("Content-Type"), err), http.StatusBadRequest)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case parts[0] == "fail":
		http.Error(w, "hook refuses", http.StatusInternalServerError)
		return
	case parts[0] == "slow":
		<-r.Context().Done()
		return
	case len(parts) != 3 || parts[0] != "add" && parts[0] != "copy":
		http.NotFound(w, r)
		return
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		http.Error(w, "not JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	meta, _ := obj["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		obj["metadata"] = meta
	}
	labels, _ := meta["labels"].(map[string]any)
	if labels == nil {
		labels = map[string]any{}
		meta["labels"] = labels
	}
	if parts[0] == "add" {
		labels[parts[1]] = parts[2]
	} else {
		labels[parts[1]] = fmt.Sprintf("saw-%v", labels[parts[2]])
	}
	out, _ := json.Marshal(obj)
	w.Write(out)
}

// count is how often path was called.
func (h *hookServer) count(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[path]
}

// admissionBody is a BCS admission webhook configuration; hooks is the
// JSON of its admissionWebhooks.
func admissionBody(ns, name, operation, kind, hooks string) string {
	return fmt.Sprintf(`{"apiVersion":"v4","kind":"admissionwebhook","metadata":{"name":%q,"namespace":%q},
		"resourcesRef":{"operation":%q,"kind":%q},"admissionWebhooks":%s}`, name, ns, operation, kind, hooks)
}

// urlHook is the JSON of a hook at url, limited to BCS namespace ns.
func urlHook(name, policy, url, caBundle, ns, extra string) string {
	return fmt.Sprintf(`{"name":%q,"failurePolicy":%q,"clientConfig":{"url":%q,"caBundle":%q},
		"namespaceSelector":{"operator":"In","values":[%q]}%s}`, name, policy, url, caBundle, ns, extra)
}

func admissionPath(ns string) string { return "/crd/namespaces/" + ns + "/admissionwebhook" }

// createAdmission posts a configuration and deletes it when the test ends.
func createAdmission(t *testing.T, c *bcsClient, ns, name, body string) {
	t.Helper()
	c.do("POST", admissionPath(ns), bcs.DefaultClusterID, body).expect(t, "create admission "+name, 200, 0)
	t.Cleanup(func() { c.do("DELETE", admissionPath(ns)+"/"+name, bcs.DefaultClusterID, "") })
}

// probeBody is an object of kind in ns that a hook may see but that can
// never be made (it has no spec).
func probeBody(kind, ns string) string {
	return fmt.Sprintf(`{"apiVersion":"v4","kind":%q,"metadata":{"name":"probe","namespace":%q}}`, kind, ns)
}

// waitHooked waits until the server enforces what was just configured:
// the probe (a create or update of kind in ns) reaches path of h (and is
// refused by a hook, code 1405234, when refused is true).
func waitHooked(t *testing.T, c *bcsClient, method, kind, ns string, h *hookServer, path string, refused bool) {
	t.Helper()
	plural := map[string]string{"application": "applications", "deployment": "deployments"}[kind]
	before := h.count(path)
	waitFor(t, "the admission webhook configuration in force", func() bool {
		r := c.do(method, "/namespaces/"+ns+"/"+plural, bcs.DefaultClusterID, probeBody(kind, ns))
		return h.count(path) > before && (!refused || r.env["code"] == float64(bcs.CodeFilter))
	})
}

// labelsOf are the labels of the definition of an application or a
// deployment.
func labelsOf(t *testing.T, c *bcsClient, kind, ns, name string) map[string]any {
	t.Helper()
	def, _ := c.do("GET", "/definition/"+kind+"/"+ns+"/"+name, bcs.DefaultClusterID, "").ok(t, "definition of "+name).(map[string]any)
	meta, _ := def["metadata"].(map[string]any)
	labels, _ := meta["labels"].(map[string]any)
	return labels
}

func newBCSClient(t *testing.T, s *Server) *bcsClient {
	return &bcsClient{t: t, base: s.URL + "/bcsapi/v4/scheduler/mesos", token: s.Config.BearerToken,
		http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(t, s)}}}}
}

// TestBCSAdmissionWebhooks: BCS admission webhook configurations over the
// seed's routes (create, get in the seed's shape, update, delete and
// their codes), and their enforcement on application and deployment
// creates and updates with webhook servers in the test (https, their own
// CA): mutating hooks chained, failing ones with Fail and Ignore, a
// timeout, a namespaceSelector that excludes, and a hook given by a
// Service whose endpoint is a running pod. Every hook is limited to the
// subtest's own namespace: the configurations apply to the whole server,
// which other tests share.
func TestBCSAdmissionWebhooks(t *testing.T) {
	s, _ := SharedCluster(t)
	hooks := startHookServer(t, "127.0.0.1")
	const cluster = bcs.DefaultClusterID

	t.Run("configurations", func(t *testing.T) {
		c := newBCSClient(t, s)
		ns := s.Namespace(t)
		path := admissionPath(ns)
		body := admissionBody(ns, "webhook-test", "Update", "Deployment",
			`[`+urlHook("first", "Ignore", hooks.URL+"/add/a/1", hooks.bundle, ns, "")+`,
			{"name":"second","failurePolicy":"Fail","clientConfig":{"caBundle":"`+hooks.bundle+`","namespace":"hook-ns","name":"hook-svc","path":"/m","port":8443}}]`)
		createAdmission(t, c, ns, "webhook-test", body)

		// GET: the seed's shape.
		r := c.do("GET", path+"/webhook-test", cluster, "")
		var got map[string]any
		if err := json.Unmarshal(r.body, &got); err != nil || r.status != 200 {
			t.Fatalf("get: HTTP %d %s", r.status, r.body)
		}
		data, _ := got["data"].(map[string]any)
		meta, _ := data["metadata"].(map[string]any)
		created, err := time.Parse(time.RFC3339, fmt.Sprint(meta["creationTimestamp"]))
		if err != nil || time.Since(created) > time.Hour || meta["name"] != "webhook-test" || meta["namespace"] != ns {
			t.Errorf("get: metadata %v (%v)", meta, err)
		}
		delete(data, "metadata")
		want := `{"ResourcesRef":{"Kind":"Deployment","Operation":"Update"},"admissionWebhooks":[
			{"ClientConfig":{"CaBundle":"` + hooks.bundle + `","Url":"` + hooks.URL + `/add/a/1"},"FailurePolicy":"Ignore","Name":"first",
			 "NamespaceSelector":{"Operator":"In","Values":["` + ns + `"]}},
			{"ClientConfig":{"CaBundle":"` + hooks.bundle + `","Name":"hook-svc","Namespace":"hook-ns","Path":"/m","Port":8443},"FailurePolicy":"Fail","Name":"second"}],
			"apiVersion":"v4","kind":"admissionwebhook"}`
		if gotJSON, _ := json.Marshal(data); !jsonEqual(gotJSON, want) {
			t.Errorf("get: data %s\nwant %s", gotJSON, want)
		}
		// The driver's path and the list of all.
		c.do("GET", "/namespaces/"+ns+"/admissionwebhook/webhook-test", cluster, "").ok(t, "get (driver's path)")
		all, ok := c.do("GET", "/admissionwebhooks", cluster, "").ok(t, "list").([]any)
		found := false
		for _, w := range all {
			m, _ := w.(map[string]any)["metadata"].(map[string]any)
			found = found || m["namespace"] == ns && m["name"] == "webhook-test"
		}
		if !ok || !found {
			t.Errorf("list: %v lacks %s/webhook-test", all, ns)
		}

		// The codes.
		r = c.do("POST", path, cluster, body)
		r.expect(t, "create again", 409, bcs.CodeExists)
		if msg, _ := r.env["message"].(string); msg != "admission already exist" {
			t.Errorf("create again: message %q", msg)
		}
		r = c.do("POST", path, cluster, strings.Replace(body, `"kind":"admissionwebhook"`, `"kind":"application"`, 1))
		r.expect(t, "another kind", 400, bcs.CodeRequestData)
		if msg, _ := r.env["message"].(string); msg != "Kind application is invalid" {
			t.Errorf("another kind: message %q", msg)
		}
		c.do("POST", admissionPath("otherGroup"), cluster, body).expect(t, "body's namespace not the URL's", 400, bcs.CodeRequestData)
		c.do("POST", path, cluster, strings.ReplaceAll(body, hooks.bundle, "xxxxxxxxx")).expect(t, "caBundle not PEM", 400, bcs.CodeBadParameters)
		c.do("POST", path, cluster, strings.Replace(body, `"Update"`, `"Delete"`, 1)).expect(t, "operation", 400, bcs.CodeBadParameters)
		c.do("POST", path, cluster, `{"kind":`).expect(t, "not JSON", 400, bcs.CodeJSONDecode)
		r = c.do("PUT", path, cluster, strings.Replace(body, `"webhook-test"`, `"missing"`, 1))
		r.expect(t, "update of a missing one", 404, bcs.CodeNotFound)
		if msg, _ := r.env["message"].(string); msg != "admission not exist" {
			t.Errorf("update of a missing one: message %q", msg)
		}
		c.do("GET", path+"/missing", cluster, "").expect(t, "get of a missing one", 404, bcs.CodeNotFound)
		c.do("DELETE", path+"/missing", cluster, "").expect(t, "delete of a missing one", 200, 0)
		c.do("PATCH", path+"/webhook-test", cluster, "").expect(t, "PATCH", 405, bcs.CodeNotFound)

		// Update: new hooks, the metadata kept.
		c.do("PUT", path, cluster, strings.Replace(body, `"failurePolicy":"Ignore"`, `"failurePolicy":"Fail"`, 1)).expect(t, "update", 200, 0)
		data, _ = c.do("GET", path+"/webhook-test", cluster, "").ok(t, "get after update").(map[string]any)
		first := data["admissionWebhooks"].([]any)[0].(map[string]any)
		if first["FailurePolicy"] != "Fail" {
			t.Errorf("after update: %v", first)
		}
		if m := data["metadata"].(map[string]any); m["creationTimestamp"] != meta["creationTimestamp"] {
			t.Errorf("after update: metadata %v, was %v", m, meta)
		}
		out := s.Kubectl("get", "admissionwebhooks.bcs.podyard.io", "-n", ns)
		if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "NAME OPERATION KIND HOOKS AGE" ||
			!strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "webhook-test Update Deployment 2 ") {
			t.Errorf("kubectl get admissionwebhooks: %q", out)
		}

		c.do("DELETE", path+"/webhook-test", cluster, "").expect(t, "delete", 200, 0)
		c.do("GET", path+"/webhook-test", cluster, "").expect(t, "get after delete", 404, bcs.CodeNotFound)
		if list := c.do("GET", "/admissionwebhooks", cluster, ""); !strings.Contains(string(list.body), `"data":[`) {
			t.Errorf("list: %s, want data an array", list.body)
		}
	})

	t.Run("mutating chain", func(t *testing.T) {
		c := newBCSClient(t, s)
		ns := s.Namespace(t)
		chain := func(a, b string) string {
			return `[` + urlHook("adds-"+a, "Fail", hooks.URL+"/add/"+a+"/yes", hooks.bundle, ns, "") + `,` +
				urlHook("copies-"+a, "Fail", hooks.URL+"/copy/"+b+"/"+a, hooks.bundle, ns, "") + `]`
		}
		createAdmission(t, c, ns, "on-create", admissionBody(ns, "on-create", "Create", "Application", chain("created", "created-seen")))
		createAdmission(t, c, ns, "on-update", admissionBody(ns, "on-update", "Update", "application", chain("updated", "updated-seen")))
		createAdmission(t, c, ns, "on-deployment", admissionBody(ns, "on-deployment", "Create", "deployment", chain("deployed", "deployed-seen")))
		waitHooked(t, c, "POST", "application", ns, hooks, "/add/created/yes", false)
		waitHooked(t, c, "PUT", "application", ns, hooks, "/add/updated/yes", false)
		waitHooked(t, c, "POST", "deployment", ns, hooks, "/add/deployed/yes", false)

		c.do("POST", "/namespaces/"+ns+"/applications", cluster, bcsApp(ns, "mutated", 1, "exec sleep 3600", "")).expect(t, "create", 200, 0)
		labels := labelsOf(t, c, "application", ns, "mutated")
		if labels["created"] != "yes" || labels["created-seen"] != "saw-yes" || labels["podname"] != "app-test" || labels["updated"] != nil {
			t.Errorf("created application's labels: %v", labels)
		}
		c.do("PUT", "/namespaces/"+ns+"/applications?instances=1", cluster, bcsApp(ns, "mutated", 1, "exec sleep 3600", "")).expect(t, "update", 200, 0)
		labels = labelsOf(t, c, "application", ns, "mutated")
		if labels["updated"] != "yes" || labels["updated-seen"] != "saw-yes" || labels["created"] != nil {
			t.Errorf("updated application's labels: %v", labels)
		}
		c.do("POST", "/namespaces/"+ns+"/deployments", cluster, deploymentBody(ns, "mutated-deploy", 1, "v1", `"maxUnavilable":1,"maxSurge":0`)).expect(t, "create deployment", 200, 0)
		labels = labelsOf(t, c, "deployment", ns, "mutated-deploy")
		if labels["deployed"] != "yes" || labels["deployed-seen"] != "saw-yes" || labels["label_deployment"] != "label_deployment" {
			t.Errorf("created deployment's labels: %v", labels)
		}
	})

	t.Run("failing hooks", func(t *testing.T) {
		c := newBCSClient(t, s)
		ns := s.Namespace(t)
		apps := "/namespaces/" + ns + "/applications"
		createAdmission(t, c, ns, "fails", admissionBody(ns, "fails", "Create", "application",
			`[`+urlHook("must-pass", "Fail", hooks.URL+"/fail", hooks.bundle, ns, "")+`]`))
		waitHooked(t, c, "POST", "application", ns, hooks, "/fail", true)
		r := c.do("POST", apps, cluster, bcsApp(ns, "refused", 1, "exec sleep 3600", ""))
		r.expect(t, "create through a failing hook", 400, bcs.CodeFilter)
		if msg, _ := r.env["message"].(string); msg != "request webhoook must-pass error hook refuses" || r.env["data"] != nil {
			t.Errorf("create through a failing hook: %s", r.body)
		}
		c.do("GET", apps+"/refused", cluster, "").expect(t, "the refused application", 404, bcs.CodeNotFound)

		// A hook that does not answer within timeoutSeconds fails.
		c.do("PUT", admissionPath(ns), cluster, admissionBody(ns, "fails", "Create", "application",
			`[`+urlHook("too-slow", "Fail", hooks.URL+"/slow", hooks.bundle, ns, `,"timeoutSeconds":1`)+`]`)).expect(t, "update to the slow hook", 200, 0)
		waitHooked(t, c, "POST", "application", ns, hooks, "/slow", true)
		start := time.Now()
		r = c.do("POST", apps, cluster, bcsApp(ns, "refused", 1, "exec sleep 3600", ""))
		took := time.Since(start)
		r.expect(t, "create through a slow hook", 400, bcs.CodeFilter)
		if msg, _ := r.env["message"].(string); !strings.HasPrefix(msg, "request webhoook too-slow error ") || !strings.Contains(msg, "deadline exceeded") {
			t.Errorf("create through a slow hook: %s", r.body)
		}
		if took < time.Second || took > 5*time.Second {
			t.Errorf("create through a slow hook took %v, want about timeoutSeconds (1 s)", took)
		}
		c.do("GET", apps+"/refused", cluster, "").expect(t, "the refused application", 404, bcs.CodeNotFound)

		// With Ignore both are skipped: created unchanged.
		c.do("PUT", admissionPath(ns), cluster, admissionBody(ns, "fails", "Create", "application",
			`[`+urlHook("too-slow", "Ignore", hooks.URL+"/slow", hooks.bundle, ns, `,"timeoutSeconds":1`)+`,`+
				urlHook("must-pass", "Ignore", hooks.URL+"/fail", hooks.bundle, ns, "")+`]`)).expect(t, "update to Ignore", 200, 0)
		waitFor(t, "the Ignore policy in force", func() bool {
			return c.do("POST", apps, cluster, probeBody("application", ns)).env["code"] != float64(bcs.CodeFilter)
		})
		failsBefore, slowBefore := hooks.count("/fail"), hooks.count("/slow")
		c.do("POST", apps, cluster, bcsApp(ns, "ignored", 1, "exec sleep 3600", "")).expect(t, "create through ignored hooks", 200, 0)
		if hooks.count("/fail") != failsBefore+1 || hooks.count("/slow") != slowBefore+1 {
			t.Errorf("the ignored hooks were not called: /fail %d→%d, /slow %d→%d", failsBefore, hooks.count("/fail"), slowBefore, hooks.count("/slow"))
		}
		if labels := labelsOf(t, c, "application", ns, "ignored"); len(labels) != 1 || labels["podname"] != "app-test" {
			t.Errorf("the application created through ignored hooks has labels %v", labels)
		}
	})

	t.Run("namespace selector", func(t *testing.T) {
		c := newBCSClient(t, s)
		ns := s.Namespace(t)
		other := "not-" + ns
		// The second hook is the proof that the configuration is in force.
		createAdmission(t, c, ns, "selects", admissionBody(ns, "selects", "Create", "application",
			`[`+urlHook("elsewhere", "Fail", hooks.URL+"/fail", hooks.bundle, other, "")+`,`+
				urlHook("here", "Fail", hooks.URL+"/add/selected/"+ns, hooks.bundle, ns, "")+`]`))
		waitHooked(t, c, "POST", "application", ns, hooks, "/add/selected/"+ns, false)
		fails := hooks.count("/fail")
		c.do("POST", "/namespaces/"+ns+"/applications", cluster, bcsApp(ns, "selected", 1, "exec sleep 3600", "")).expect(t, "create", 200, 0)
		if labels := labelsOf(t, c, "application", ns, "selected"); labels["selected"] != ns {
			t.Errorf("labels %v, want selected=%s", labels, ns)
		}
		if hooks.count("/fail") != fails {
			t.Errorf("the hook limited to namespace %s was called for %s", other, ns)
		}
	})

	t.Run("service", func(t *testing.T) {
		c := newBCSClient(t, s)
		ns := s.Namespace(t)
		ctx := context.Background()
		// A pod under the process runtime has the node's IP: the webhook
		// server listens there, and the Service sends its port to the
		// server's through the pod.
		label := map[string]string{"bcs-hook": utilrand.String(6)}
		pod, err := s.Client.CoreV1().Pods(ns).Create(ctx, newPod("hook-endpoint", label), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the endpoint pod Ready", func() bool {
			pod, err = s.Client.CoreV1().Pods(ns).Get(ctx, "hook-endpoint", metav1.GetOptions{})
			return err == nil && podReady(pod) && pod.Status.PodIP != ""
		})
		node, err := s.Client.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var nodeIP string
		for _, a := range node.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				nodeIP = a.Address
			}
		}
		if pod.Status.PodIP != nodeIP {
			t.Fatalf("pod IP %s is not the node's InternalIP %s", pod.Status.PodIP, nodeIP)
		}
		svcHooks := startHookServer(t, pod.Status.PodIP, "hook."+ns)
		if _, err := s.Client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "hook"},
			Spec: corev1.ServiceSpec{Selector: label, Ports: []corev1.ServicePort{
				{Name: "https", Port: 8443, TargetPort: intstr.FromInt32(int32(svcHooks.Port))}}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		createAdmission(t, c, ns, "by-service", admissionBody(ns, "by-service", "Create", "application",
			`[{"name":"svc","failurePolicy":"Fail","clientConfig":{"name":"hook","namespace":"`+ns+`","port":8443,"path":"/add/through/service","caBundle":"`+svcHooks.bundle+`"},
			  "namespaceSelector":{"operator":"In","values":["`+ns+`"]}}]`))
		waitHooked(t, c, "POST", "application", ns, svcHooks, "/add/through/service", false)
		c.do("POST", "/namespaces/"+ns+"/applications", cluster, bcsApp(ns, "through-service", 1, "exec sleep 3600", "")).expect(t, "create", 200, 0)
		if labels := labelsOf(t, c, "application", ns, "through-service"); labels["through"] != "service" {
			t.Errorf("labels %v, want through=service", labels)
		}

		// No ready endpoint: the hook fails, naming the Service.
		if err := s.Client.CoreV1().Pods(ns).Delete(ctx, "hook-endpoint", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		var r bcsReply
		waitFor(t, "the hook without an endpoint failing", func() bool {
			r = c.do("POST", "/namespaces/"+ns+"/applications", cluster, bcsApp(ns, "no-endpoint", 1, "exec sleep 3600", ""))
			return r.env["code"] == float64(bcs.CodeFilter)
		})
		if msg, _ := r.env["message"].(string); !strings.Contains(msg, "request webhoook svc error service "+ns+"/hook has no ready endpoint") {
			t.Errorf("create without an endpoint: %s", r.body)
		}
	})
}

// jsonEqual says whether got is the JSON want (key order aside).
func jsonEqual(got []byte, want string) bool {
	var g, w any
	if json.Unmarshal(got, &g) != nil || json.Unmarshal([]byte(want), &w) != nil {
		return false
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	return string(gb) == string(wb)
}

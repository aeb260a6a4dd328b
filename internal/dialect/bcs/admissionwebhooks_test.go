package bcs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

func TestAdmissionWebhookPath(t *testing.T) {
	for _, tc := range []struct {
		path string
		want Route
		ok   bool
	}{
		{"/bcsapi/v4/scheduler/mesos/crd/namespaces/defaultGroup/admissionwebhook", Route{Namespace: "defaultGroup", Kind: KindAdmissionWebhook}, true},
		{"/v4/scheduler/mesos/crd/namespaces/defaultGroup/admissionwebhook/", Route{Namespace: "defaultGroup", Kind: KindAdmissionWebhook}, true},
		{"/v4/scheduler/mesos/crd/namespaces/defaultGroup/admissionwebhook/webhook-test", Route{Namespace: "defaultGroup", Kind: KindAdmissionWebhook, Name: "webhook-test"}, true},
		{"/v4/scheduler/mesos/namespaces/ns/admissionwebhook", Route{Namespace: "ns", Kind: KindAdmissionWebhook}, true},
		{"/v4/scheduler/mesos/namespaces/ns/admissionwebhook/w", Route{Namespace: "ns", Kind: KindAdmissionWebhook, Name: "w"}, true},
		{"/bcsapi/v4/scheduler/mesos/admissionwebhooks", Route{Kind: KindAdmissionWebhook}, true},
		{"/v4/scheduler/mesos/admissionwebhooks/", Route{Kind: KindAdmissionWebhook}, true},
		{"/v4/scheduler/mesos/admissionwebhook", Route{}, false},
		{"/v4/scheduler/mesos/crd/admissionwebhooks", Route{}, false},
		{"/v4/scheduler/mesos/crd/namespaces//admissionwebhook", Route{}, false},
		{"/v4/scheduler/mesos/crd/namespaces/ns/admissionwebhook/w/x", Route{}, false},
		{"/v4/scheduler/mesos/crd/namespaces/ns/admissionwebhooks", Route{}, false},
		{"/v4/scheduler/mesos/crd/namespaces/ns/bklogconfigs", Route{}, false},
		{"/v4/scheduler/mesos/namespaces/ns/applications", Route{}, false},
		{"/v4/scheduler/mesos/crd", Route{}, false},
		{"/other/namespaces/ns/admissionwebhook", Route{}, false},
	} {
		got, ok := AdmissionWebhookPath(tc.path)
		if ok != tc.ok || got != tc.want {
			t.Errorf("AdmissionWebhookPath(%q) = %+v, %v; want %+v, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

// seedAdmission is the seed's createadmission body with a caBundle that
// parses.
func seedAdmission(caBundle string) string {
	return `{
  "apiVersion":"v4",
  "kind":"admissionwebhook",
  "metadata":{"name":"webhook-test","namespace": "defaultGroup"},
  "resourcesRef": {"operation": "Create","kind": "Application"},
  "admissionWebhooks":[
    {"name": "container-sidecar","failurePolicy": "Ignore",
      "clientConfig": {"caBundle": "` + caBundle + `","namespace": "sidecar-webhook-namespace","name": "sidecar-webhook-service"}},
    {"name": "container-images","failurePolicy": "Fail",
      "clientConfig": {"caBundle": "` + caBundle + `","namespace": "image-webhook-namespace","name": "image-webhook-service"}}
  ]
}`
}

// testCABundle is base64 PEM of srv's certificate.
func testCABundle(srv *httptest.Server) string {
	return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
}

func TestToAdmissionWebhook(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	ca := testCABundle(srv)
	target := Target{Kind: KindAdmissionWebhook, Namespace: "defaultGroup", KubeNamespace: "defaultgroup-x"}
	w, err := ToAdmissionWebhook(target, []byte(seedAdmission(ca)))
	if err != nil {
		t.Fatalf("the seed's body: %v", err)
	}
	if w.Name != "webhook-test" || w.Namespace != "defaultgroup-x" || w.Spec.Metadata.Namespace != "defaultGroup" ||
		w.Spec.ResourcesRef.Kind != "Application" || len(w.Spec.AdmissionWebhooks) != 2 ||
		w.Spec.AdmissionWebhooks[1].ClientConfig.Name != "image-webhook-service" {
		t.Errorf("ToAdmissionWebhook: %+v", w)
	}
	for _, tc := range []struct {
		name    string
		body    string
		code    int
		message string
	}{
		{"not JSON", `{`, CodeJSONDecode, "json decode failed!"},
		{"kind", strings.Replace(seedAdmission(ca), `"kind":"admissionwebhook"`, `"kind":"application"`, 1), CodeRequestData, "Kind application is invalid"},
		{"no kind", strings.Replace(seedAdmission(ca), `"kind":"admissionwebhook",`, ``, 1), CodeRequestData, "Kind  is invalid"},
		{"namespace", strings.Replace(seedAdmission(ca), `"namespace": "defaultGroup"`, `"namespace": "other"`, 1), CodeRequestData, `metadata.namespace "other" is not the URL's namespace "defaultGroup"`},
		{"dotted name", strings.Replace(seedAdmission(ca), `"webhook-test"`, `"a.b"`, 1), CodeBadParameters, "can't contain '.'"},
		{"seed's placeholder caBundle", seedAdmission("xxxxxxxxx"), CodeBadParameters, "spec.admissionWebhooks[0].clientConfig.caBundle"},
		{"operation", strings.Replace(seedAdmission(ca), `"Create"`, `"Delete"`, 1), CodeBadParameters, "spec.resourcesRef.operation"},
		{"no resourcesRef", strings.Replace(seedAdmission(ca), `"resourcesRef"`, `"other"`, 1), CodeBadParameters, "spec.resourcesRef.operation"},
	} {
		_, err := ToAdmissionWebhook(target, []byte(tc.body))
		if err == nil || err.Code != tc.code || !strings.Contains(err.Message, tc.message) {
			t.Errorf("%s: %v; want code %d with %q", tc.name, err, tc.code, tc.message)
		}
	}
	// No namespace in the body: the URL's.
	w, err = ToAdmissionWebhook(target, []byte(strings.Replace(seedAdmission(ca), `,"namespace": "defaultGroup"`, ``, 1)))
	if err != nil || w.Spec.Metadata.Namespace != "defaultGroup" {
		t.Errorf("body without a namespace: %v, %+v", err, w)
	}
}

func TestUpdatedAdmissionWebhook(t *testing.T) {
	old := &v1alpha1.AdmissionWebhook{
		ObjectMeta: metav1.ObjectMeta{Name: "w", Namespace: "ns", ResourceVersion: "7", Labels: map[string]string{"a": "b"}},
		Spec: v1alpha1.AdmissionWebhookSpec{Metadata: v1alpha1.ObjectMeta{Name: "w", Namespace: "ns", Labels: map[string]string{"a": "b"}},
			ResourcesRef: v1alpha1.AdmissionResourcesRef{Operation: "Create", Kind: "application"}, AdmissionWebhooks: []v1alpha1.AdmissionHook{{Name: "one"}}},
	}
	posted := &v1alpha1.AdmissionWebhook{
		ObjectMeta: metav1.ObjectMeta{Name: "w", Namespace: "ns"},
		Spec: v1alpha1.AdmissionWebhookSpec{Metadata: v1alpha1.ObjectMeta{Name: "w", Namespace: "ns"},
			ResourcesRef: v1alpha1.AdmissionResourcesRef{Operation: "Update", Kind: "deployment"}, AdmissionWebhooks: []v1alpha1.AdmissionHook{{Name: "two"}}},
	}
	got := UpdatedAdmissionWebhook(old, posted)
	if got.ResourceVersion != "7" || got.Labels["a"] != "b" || got.Spec.Metadata.Labels["a"] != "b" ||
		got.Spec.ResourcesRef.Operation != "Update" || got.Spec.AdmissionWebhooks[0].Name != "two" || old.Spec.AdmissionWebhooks[0].Name != "one" {
		t.Errorf("UpdatedAdmissionWebhook: %+v (old %+v)", got, old)
	}
}

// seedAdmissionView is the seed's getadmission answer's data.
const seedAdmissionView = `{
        "ResourcesRef": {"Kind": "Application", "Operation": "Create"},
        "admissionWebhooks": [
            {"ClientConfig": {"CaBundle": "xxxxxxxxx", "Name": "sidecar-webhook-service", "Namespace": "sidecar-webhook-namespace"},
                "FailurePolicy": "Ignore", "Name": "container-sidecar"},
            {"ClientConfig": {"CaBundle": "xxxxxxxxx", "Name": "image-webhook-service", "Namespace": "image-webhook-namespace"},
                "FailurePolicy": "Fail", "Name": "container-images"}
        ],
        "apiVersion": "v4",
        "kind": "admissionwebhook",
        "metadata": {"creationTimestamp": "0001-01-01T00:00:00Z", "name": "webhook-test", "namespace": "defaultGroup"}
    }`

func TestAdmissionWebhookView(t *testing.T) {
	seed := &v1alpha1.AdmissionWebhook{
		ObjectMeta: metav1.ObjectMeta{Name: "webhook-test", Namespace: "defaultgroup-x", Annotations: map[string]string{annotationAPIVersion: "v4"}},
		Spec: v1alpha1.AdmissionWebhookSpec{
			Metadata:     v1alpha1.ObjectMeta{Name: "webhook-test", Namespace: "defaultGroup"},
			ResourcesRef: v1alpha1.AdmissionResourcesRef{Operation: "Create", Kind: "Application"},
			AdmissionWebhooks: []v1alpha1.AdmissionHook{
				{Name: "container-sidecar", FailurePolicy: "Ignore", ClientConfig: v1alpha1.AdmissionHookClientConfig{
					CABundle: "xxxxxxxxx", Namespace: "sidecar-webhook-namespace", Name: "sidecar-webhook-service"}},
				{Name: "container-images", FailurePolicy: "Fail", ClientConfig: v1alpha1.AdmissionHookClientConfig{
					CABundle: "xxxxxxxxx", Namespace: "image-webhook-namespace", Name: "image-webhook-service"}},
			},
		},
	}
	created := seed.DeepCopy()
	created.CreationTimestamp = metav1.NewTime(time.Date(2026, 12, 2, 11, 0, 0, 0, time.FixedZone("x", 3600)))
	created.Spec.AdmissionWebhooks = []v1alpha1.AdmissionHook{{Name: "u", ClientConfig: v1alpha1.AdmissionHookClientConfig{URL: "https://h:1/p"},
		NamespaceSelector: &v1alpha1.AdmissionNamespaceSelector{Operator: "NotIn", Values: []string{"a"}}, TimeoutSeconds: ptr.To[int32](3)}}
	empty := &v1alpha1.AdmissionWebhook{ObjectMeta: metav1.ObjectMeta{Name: "bare", Namespace: "ns"}}
	for _, tc := range []struct {
		name string
		w    *v1alpha1.AdmissionWebhook
		want string
	}{
		{"the seed's", seed, seedAdmissionView},
		{"url, selector, timeout, creation time", created, `{"ResourcesRef":{"Kind":"Application","Operation":"Create"},
			"admissionWebhooks":[{"ClientConfig":{"Url":"https://h:1/p"},"FailurePolicy":"","Name":"u",
			"NamespaceSelector":{"Operator":"NotIn","Values":["a"]},"TimeoutSeconds":3}],
			"apiVersion":"v4","kind":"admissionwebhook","metadata":{"creationTimestamp":"2026-12-02T10:00:00Z","name":"webhook-test","namespace":"defaultGroup"}}`},
		{"no hooks, no BCS metadata", empty, `{"ResourcesRef":{"Kind":"","Operation":""},"admissionWebhooks":[],"apiVersion":"v4","kind":"admissionwebhook",
			"metadata":{"creationTimestamp":"0001-01-01T00:00:00Z","name":"bare","namespace":"BCS-ns"}}`},
	} {
		got, err := json.Marshal(ToAdmissionWebhookView(tc.w, "BCS-ns"))
		if err != nil {
			t.Fatal(err)
		}
		var gotAny, wantAny any
		if err := json.Unmarshal(got, &gotAny); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(tc.want), &wantAny); err != nil {
			t.Fatalf("%s: the expected JSON: %v", tc.name, err)
		}
		if !reflect.DeepEqual(gotAny, wantAny) {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func hookConfig(ns, name, op, kind string, hooks ...v1alpha1.AdmissionHook) *v1alpha1.AdmissionWebhook {
	return &v1alpha1.AdmissionWebhook{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.AdmissionWebhookSpec{ResourcesRef: v1alpha1.AdmissionResourcesRef{Operation: op, Kind: kind}, AdmissionWebhooks: hooks}}
}

func TestHooksFor(t *testing.T) {
	in := &v1alpha1.AdmissionNamespaceSelector{Operator: "In", Values: []string{"prod"}}
	notIn := &v1alpha1.AdmissionNamespaceSelector{Operator: "NotIn", Values: []string{"prod"}}
	configs := []*v1alpha1.AdmissionWebhook{
		hookConfig("a", "one", "Create", "Application", v1alpha1.AdmissionHook{Name: "a1"}, v1alpha1.AdmissionHook{Name: "a2-prod", NamespaceSelector: in}),
		hookConfig("a", "two", "Update", "application", v1alpha1.AdmissionHook{Name: "u1"}),
		hookConfig("b", "one", "create", "APPLICATION", v1alpha1.AdmissionHook{Name: "b1-not-prod", NamespaceSelector: notIn}),
		hookConfig("b", "two", "Create", "deployment", v1alpha1.AdmissionHook{Name: "d1"}),
	}
	names := func(calls []HookCall) string {
		var out []string
		for _, c := range calls {
			out = append(out, c.Configuration+":"+c.Hook.Name)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		op, kind, ns, want string
	}{
		{OperationCreate, KindApplication, "prod", "a/one:a1,a/one:a2-prod"},
		{OperationCreate, KindApplication, "test", "a/one:a1,b/one:b1-not-prod"},
		{OperationUpdate, KindApplication, "test", "a/two:u1"},
		{OperationCreate, KindDeployment, "test", "b/two:d1"},
		{OperationUpdate, KindDeployment, "test", ""},
	} {
		if got := names(HooksFor(configs, tc.op, tc.kind, tc.ns)); got != tc.want {
			t.Errorf("HooksFor(%s, %s, %s) = %q, want %q", tc.op, tc.kind, tc.ns, got, tc.want)
		}
	}
}

func TestSelectsNamespace(t *testing.T) {
	for _, tc := range []struct {
		s    *v1alpha1.AdmissionNamespaceSelector
		ns   string
		want bool
	}{
		{nil, "any", true},
		{&v1alpha1.AdmissionNamespaceSelector{Operator: "In", Values: []string{"a", "b"}}, "b", true},
		{&v1alpha1.AdmissionNamespaceSelector{Operator: "In", Values: []string{"a", "b"}}, "c", false},
		{&v1alpha1.AdmissionNamespaceSelector{Operator: "In"}, "c", false},
		{&v1alpha1.AdmissionNamespaceSelector{Operator: "NotIn", Values: []string{"a"}}, "a", false},
		{&v1alpha1.AdmissionNamespaceSelector{Operator: "NotIn", Values: []string{"a"}}, "A", true},
		{&v1alpha1.AdmissionNamespaceSelector{Operator: "NotIn"}, "a", true},
		{&v1alpha1.AdmissionNamespaceSelector{Operator: "Exists", Values: []string{"a"}}, "a", false},
	} {
		if got := SelectsNamespace(tc.s, tc.ns); got != tc.want {
			t.Errorf("SelectsNamespace(%+v, %q) = %v", tc.s, tc.ns, got)
		}
	}
}

func TestBodyNamespace(t *testing.T) {
	for body, want := range map[string]string{
		`{"metadata":{"namespace":"body"}}`: "body",
		`{"metadata":{"name":"x"}}`:         "url",
		`{"metadata":{"namespace":3}}`:      "url",
		`not json`:                          "url",
	} {
		if got := BodyNamespace([]byte(body), "url"); got != want {
			t.Errorf("BodyNamespace(%s) = %q, want %q", body, got, want)
		}
	}
}

func TestHookTargetOf(t *testing.T) {
	for _, tc := range []struct {
		name    string
		c       v1alpha1.AdmissionHookClientConfig
		url     string
		service *HookService
		err     string
	}{
		{"url", v1alpha1.AdmissionHookClientConfig{URL: "http://127.0.0.1:8080/m?x=1"}, "http://127.0.0.1:8080/m?x=1", nil, ""},
		{"service defaults", v1alpha1.AdmissionHookClientConfig{Name: "hook", Namespace: "hooks"}, "https://hook.hooks:443/",
			&HookService{Namespace: "hooks", Name: "hook", Port: 443, ServerName: "hook.hooks"}, ""},
		{"service port and path", v1alpha1.AdmissionHookClientConfig{Name: "hook", Namespace: "hooks", Port: 8443, Path: "/mutate"}, "https://hook.hooks:8443/mutate",
			&HookService{Namespace: "hooks", Name: "hook", Port: 8443, ServerName: "hook.hooks"}, ""},
		{"neither", v1alpha1.AdmissionHookClientConfig{Name: "hook"}, "", nil, "neither url nor"},
		{"bad url", v1alpha1.AdmissionHookClientConfig{URL: "https://[::1"}, "", nil, "url"},
	} {
		got, err := HookTargetOf(tc.c)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %+v, %v; want an error with %q", tc.name, got, err, tc.err)
			}
			continue
		}
		if err != nil || got.URL.String() != tc.url || !reflect.DeepEqual(got.Service, tc.service) {
			t.Errorf("%s: %v %+v, %v; want %s %+v", tc.name, got.URL, got.Service, err, tc.url, tc.service)
		}
	}
	svc, _ := HookTargetOf(v1alpha1.AdmissionHookClientConfig{Name: "hook", Namespace: "hooks", Path: "/m"})
	if got := svc.AtEndpoint("10.0.0.1:8443").String(); got != "https://10.0.0.1:8443/m" {
		t.Errorf("AtEndpoint: %s", got)
	}
	// A BCS namespace that is not a DNS label names its Kubernetes one.
	bcs, err := HookTargetOf(v1alpha1.AdmissionHookClientConfig{Name: "hook", Namespace: "defaultGroup"})
	kube, _ := KubeNamespace("defaultGroup")
	if err != nil || bcs.Service.Namespace != kube || bcs.Service.ServerName != "hook.defaultGroup" {
		t.Errorf("BCS namespace: %+v, %v", bcs.Service, err)
	}
}

func TestHookTimeout(t *testing.T) {
	if got := HookTimeout(v1alpha1.AdmissionHook{}); got != 10*time.Second {
		t.Errorf("default: %v", got)
	}
	if got := HookTimeout(v1alpha1.AdmissionHook{TimeoutSeconds: ptr.To[int32](1)}); got != time.Second {
		t.Errorf("1: %v", got)
	}
}

func TestAfterHook(t *testing.T) {
	body := []byte(`{"in":1}`)
	fail := v1alpha1.AdmissionHook{Name: "images", FailurePolicy: FailurePolicyFail}
	ignore := v1alpha1.AdmissionHook{Name: "sidecar", FailurePolicy: FailurePolicyIgnore}
	unset := v1alpha1.AdmissionHook{Name: "unset"}
	for _, tc := range []struct {
		name    string
		h       v1alpha1.AdmissionHook
		res     HookResult
		next    string
		skipped string
		refused string
	}{
		{"200 replaces", fail, HookResult{Status: 200, Body: []byte(`{"out":1}`)}, `{"out":1}`, "", ""},
		{"500 with Fail", fail, HookResult{Status: 500, Body: []byte("no images from there\n")}, "", "", "request webhoook images error no images from there"},
		{"empty 403 with Fail", fail, HookResult{Status: 403}, "", "", "request webhoook images error HTTP 403"},
		{"call error with Fail", fail, HookResult{Err: errors.New("context deadline exceeded")}, "", "", "request webhoook images error context deadline exceeded"},
		{"500 with Ignore", ignore, HookResult{Status: 500, Body: []byte("boom")}, `{"in":1}`, "boom", ""},
		{"201 with Ignore", ignore, HookResult{Status: 201, Body: []byte(`{"out":1}`)}, `{"in":1}`, `{"out":1}`, ""},
		{"error with no policy", unset, HookResult{Err: errors.New("refused")}, `{"in":1}`, "refused", ""},
	} {
		next, skipped, refused := AfterHook(tc.h, body, tc.res)
		if tc.refused != "" {
			if refused == nil || refused.Message != tc.refused || refused.Code != 1405234 || refused.Status != 400 || next != nil {
				t.Errorf("%s: %s %v %v; want refused %q", tc.name, next, skipped, refused, tc.refused)
			}
			if got, _ := json.Marshal(refused.Response()); refused != nil && !strings.HasSuffix(string(got), `"data":null}`) {
				t.Errorf("%s: the answer %s has data", tc.name, got)
			}
			continue
		}
		if refused != nil || string(next) != tc.next || (skipped == nil) != (tc.skipped == "") || skipped != nil && skipped.Error() != tc.skipped {
			t.Errorf("%s: %s %v %v; want %s skipped %q", tc.name, next, skipped, refused, tc.next, tc.skipped)
		}
	}
}

func TestWebhookCall(t *testing.T) {
	var gotType string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotType = r.Header.Get("Content-Type")
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/slow" {
			<-r.Context().Done()
			return
		}
		if r.URL.Path == "/fail" {
			http.Error(w, "refused "+string(b), http.StatusInternalServerError)
			return
		}
		w.Write([]byte(strings.Replace(string(b), "in", "out", 1)))
	}))
	defer srv.Close()
	c := NewWebhookCache(nil)
	hook := func(path string, ca bool) HookCall {
		h := v1alpha1.AdmissionHook{Name: "h", TimeoutSeconds: ptr.To[int32](1), ClientConfig: v1alpha1.AdmissionHookClientConfig{URL: srv.URL + path}}
		if ca {
			h.ClientConfig.CABundle = testCABundle(srv)
		}
		return HookCall{Hook: h}
	}
	ctx := context.Background()
	if res := c.call(ctx, hook("/", true), []byte(`{"in":1}`)); res.Err != nil || res.Status != 200 || string(res.Body) != `{"out":1}` || gotType != "application/json" {
		t.Errorf("call: %+v (Content-Type %q)", res, gotType)
	}
	if res := c.call(ctx, hook("/fail", true), []byte(`x`)); res.Err != nil || res.Status != 500 || strings.TrimSpace(string(res.Body)) != "refused x" {
		t.Errorf("call of a failing hook: %+v", res)
	}
	if res := c.call(ctx, hook("/", false), []byte(`x`)); res.Err == nil || !strings.Contains(res.Err.Error(), "certificate") {
		t.Errorf("call without the CA: %+v", res)
	}
	start := time.Now()
	if res := c.call(ctx, hook("/slow", true), []byte(`x`)); res.Err == nil || !errors.Is(res.Err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("call of a slow hook: %+v after %v", res, time.Since(start))
	}
	if res := c.call(ctx, HookCall{Hook: v1alpha1.AdmissionHook{ClientConfig: v1alpha1.AdmissionHookClientConfig{Name: "s", Namespace: "n"}}}, nil); res.Err == nil {
		t.Errorf("a service hook without a started cache: %+v", res)
	}
	// An unstarted cache admits as it is.
	if b, err := c.Admit(ctx, OperationCreate, KindApplication, "ns", []byte("x")); err != nil || string(b) != "x" {
		t.Errorf("Admit of an unstarted cache: %s, %v", b, err)
	}
	var none *WebhookCache
	if b, err := none.Admit(ctx, OperationCreate, KindApplication, "ns", []byte("x")); err != nil || string(b) != "x" {
		t.Errorf("Admit of no cache: %s, %v", b, err)
	}
}

// startedCache is a WebhookCache whose informer lists configs.
func startedCache(t *testing.T, configs ...*v1alpha1.AdmissionWebhook) *WebhookCache {
	t.Helper()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) {
			list := &v1alpha1.AdmissionWebhookList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}}
			for _, c := range configs {
				list.Items = append(list.Items, *c)
			}
			return list, nil
		},
		WatchFuncWithContext: func(_ context.Context, o metav1.ListOptions) (watch.Interface, error) {
			if o.SendInitialEvents != nil { // no streaming lists here: the reflector lists instead
				return nil, errors.New("no watch list")
			}
			return watch.NewFake(), nil
		},
	}
	informer := cache.NewSharedIndexInformer(lw, &v1alpha1.AdmissionWebhook{}, 0, cache.Indexers{})
	c := NewWebhookCache(nil)
	c.informer.Store(&informer)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go informer.Run(ctx.Done())
	return c
}

func TestAdmit(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/fail" {
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		w.Write(append(b, []byte(r.URL.Path)...)) // what each hook saw, in order
	}))
	defer srv.Close()
	ca := testCABundle(srv)
	hook := func(path, policy string, selector *v1alpha1.AdmissionNamespaceSelector) v1alpha1.AdmissionHook {
		return v1alpha1.AdmissionHook{Name: strings.Trim(path, "/"), FailurePolicy: policy, NamespaceSelector: selector,
			ClientConfig: v1alpha1.AdmissionHookClientConfig{URL: srv.URL + path, CABundle: ca}}
	}
	only := func(ns string) *v1alpha1.AdmissionNamespaceSelector {
		return &v1alpha1.AdmissionNamespaceSelector{Operator: "In", Values: []string{ns}}
	}
	c := startedCache(t,
		hookConfig("b", "second", "Create", "application", hook("/b1", "Fail", nil)),
		hookConfig("a", "first", "Create", "Application", hook("/a1", "Fail", nil), hook("/a2", "Fail", only("other"))),
		hookConfig("a", "update", "Update", "application", hook("/fail", "Ignore", nil), hook("/u1", "Fail", nil)),
		hookConfig("c", "refuses", "Create", "deployment", hook("/fail", "Fail", only("ns"))),
	)
	ctx := context.Background()
	for _, tc := range []struct {
		op, kind, body, want string
		refused              bool
	}{
		{OperationCreate, KindApplication, `{}`, `{}/a1/b1`, false},
		{OperationCreate, KindApplication, `{"metadata":{"namespace":"other"}}`, `{"metadata":{"namespace":"other"}}/a1/a2/b1`, false},
		{OperationUpdate, KindApplication, `{}`, `{}/u1`, false},
		{OperationCreate, KindDeployment, `{}`, "request webhoook fail error no", true},
		{OperationCreate, KindDeployment, `{"metadata":{"namespace":"elsewhere"}}`, `{"metadata":{"namespace":"elsewhere"}}`, false},
		{OperationUpdate, KindDeployment, `{}`, `{}`, false},
	} {
		got, err := c.Admit(ctx, tc.op, tc.kind, "ns", []byte(tc.body))
		switch {
		case tc.refused && (err == nil || err.Message != tc.want || err.Status != 400 || err.Code != 1405234):
			t.Errorf("Admit(%s %s %s) = %s, %v; want refused with %q", tc.op, tc.kind, tc.body, got, err, tc.want)
		case !tc.refused && (err != nil || string(got) != tc.want):
			t.Errorf("Admit(%s %s %s) = %s, %v; want %s", tc.op, tc.kind, tc.body, got, err, tc.want)
		}
	}
}

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/dynamic"

	"github.com/podyard/podyard/internal/dialect/bcs"
)

// The seed's CRD and custom resource bodies, as a BCS client sends them.
// Neither CRD is named {plural}.{group} as Kubernetes names CRDs: the
// dialect keeps the seed's name as the BCS name.
const (
	bcsSeedCronTabCRD = `{
  "apiVersion": "v4",
  "kind": "CustomResourceDefinition",
  "metadata": {
    "name": "logcollector.bkbcs.tencent.com"
  },
  "spec": {
    "group": "bkbcs.tencent.com", 
    "versions": [
      {
        "name": "v1",
        "served": true,
        "storage": true
      }
    ],
    "scope": "Namespaced",
    "names": {
      "plural": "crontabs",
      "singular": "crontab",
      "kind": "CronTab"
    }
  }
}`
	bcsSeedBKLogConfigCRD = `{
  "apiVersion": "v4",
  "kind": "CustomResourceDefinition",
  "metadata": {
    "name": "bklogconfig.bkbcs.tencent.com"
  },
  "spec": {
    "group": "bkbcs.tencent.com", 
    "versions": [
      {
        "name": "v2",
        "served": true,
        "storage": true
      }
    ],
    "scope": "Namespaced",
    "names": {
      "plural": "bklogconfigs",
      "singular": "bklogconfig",
      "kind": "BKLogConfig"
    }
  }
}`
	bcsSeedBKLogConfig = `{
  "apiVersion": "bkbcs.tencent.com/v2",
  "kind": "BKLogConfig",
  "metadata": {
    "name": "myappconfig",
    "namespace": "global"
  },
  "spec": {
    "selector": {
      "app": "loadbalance"
    },
    "stdout": false,
    "logpath": "bcs-lb/logs/bcss-loadbalance.log",
    "dataid": 123456,
    "level": 3
  }
}`
)

// object checks that r is Kubernetes JSON (not the BCS envelope) with the
// HTTP status and returns it.
func (r bcsReply) object(t *testing.T, what string, status int) map[string]any {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal(r.body, &obj); err != nil || r.status != status {
		t.Fatalf("%s: HTTP %d %s (%v); want HTTP %d with a Kubernetes object", what, r.status, r.body, err, status)
	}
	if _, envelope := obj["result"]; envelope {
		t.Fatalf("%s: the BCS envelope, not Kubernetes JSON: %s", what, r.body)
	}
	return obj
}

// kubeStatus checks that r is a Kubernetes Status of failure with the HTTP
// status, its code, reason and a message containing fragment.
func (r bcsReply) kubeStatus(t *testing.T, what string, code int, reason metav1.StatusReason, fragment string) {
	t.Helper()
	var s metav1.Status
	if err := json.Unmarshal(r.body, &s); err != nil || r.status != code || s.Kind != "Status" || s.Code != int32(code) ||
		s.Status != metav1.StatusFailure || s.Reason != reason || !strings.Contains(s.Message, fragment) {
		t.Errorf("%s: HTTP %d %s; want a Status %d %s with %q", what, r.status, r.body, code, reason, fragment)
	}
}

func nestedString(obj map[string]any, fields ...string) string {
	v, _, _ := unstructured.NestedFieldNoCopy(obj, fields...)
	s, _ := v.(string)
	return s
}

// waitEstablished waits until the CRD the BCS route names is Established
// and its resource is in discovery (a custom resource route resolves
// against it): list is a customresources path listing its objects.
func waitEstablished(t *testing.T, c *bcsClient, name, list string) {
	t.Helper()
	waitFor(t, "CRD "+name+" established", func() bool {
		r := c.do("GET", "/customresourcedefinitions/"+name, bcs.DefaultClusterID, "")
		var crd struct {
			Status struct {
				Conditions []struct{ Type, Status string }
			}
		}
		if r.status != 200 || json.Unmarshal(r.body, &crd) != nil {
			return false
		}
		for _, c := range crd.Status.Conditions {
			if c.Type == "Established" && c.Status == "True" {
				return true
			}
		}
		return false
	})
	waitFor(t, list+" served", func() bool { return c.do("GET", list, bcs.DefaultClusterID, "").status == 200 })
}

// TestBCSCRDSeed: the seed's CronTab and BKLogConfig CRDs and its
// BKLogConfig object, exactly as the seed writes them, through the BCS
// routes (create, get in the seed's shape, list in the namespace and
// cluster-wide, update, delete) and seen with kubectl; deleting the CRDs,
// and deleting them again.
func TestBCSCRDSeed(t *testing.T) {
	s := Shared(t)
	c := newBCSClient(t, s)
	const cluster = bcs.DefaultClusterID
	extensions := apiextensionsclient.NewForConfigOrDie(s.Config)
	t.Cleanup(func() {
		ctx := context.Background()
		for _, name := range []string{"crontabs.bkbcs.tencent.com", "bklogconfigs.bkbcs.tencent.com"} {
			_ = extensions.ApiextensionsV1().CustomResourceDefinitions().Delete(ctx, name, metav1.DeleteOptions{})
		}
		_ = s.Client.CoreV1().Namespaces().Delete(ctx, "global", metav1.DeleteOptions{})
	})

	// createcrd, then getcrd by the seed's name and in its spelling.
	created := c.do("POST", "/customresourcedefinitions", cluster, bcsSeedCronTabCRD).object(t, "createcrd CronTab", http.StatusCreated)
	if created["apiVersion"] != "v4" || nestedString(created, "metadata", "name") != "logcollector.bkbcs.tencent.com" {
		t.Errorf("createcrd answer: %v", created)
	}
	waitEstablished(t, c, "logcollector.bkbcs.tencent.com", "/customresources/bkbcs.tencent.com/v1/crontabs")
	got := c.do("GET", "/customresourcesdefinitions/logcollector.bkbcs.tencent.com", cluster, "").object(t, "getcrd CronTab", 200)
	versions, _, _ := unstructured.NestedSlice(got, "spec", "versions")
	var v1 map[string]any
	if len(versions) == 1 {
		v1, _ = versions[0].(map[string]any)
	}
	if got["apiVersion"] != "v4" || got["kind"] != "CustomResourceDefinition" ||
		nestedString(got, "metadata", "name") != "logcollector.bkbcs.tencent.com" ||
		nestedString(got, "spec", "group") != "bkbcs.tencent.com" || nestedString(got, "spec", "scope") != "Namespaced" ||
		nestedString(got, "spec", "names", "plural") != "crontabs" || nestedString(got, "spec", "names", "singular") != "crontab" ||
		nestedString(got, "spec", "names", "kind") != "CronTab" ||
		v1 == nil || v1["name"] != "v1" || v1["served"] != true || v1["storage"] != true {
		t.Errorf("getcrd: not the seed's shape: %s", c.do("GET", "/customresourcesdefinitions/logcollector.bkbcs.tencent.com", cluster, "").body)
	}
	if annotations, _, _ := unstructured.NestedStringMap(got, "metadata", "annotations"); annotations[bcs.AnnotationName] != "" {
		t.Errorf("getcrd shows the dialect's annotation: %v", annotations)
	}
	// Kubernetes names it {plural}.{group}.
	if out := s.Kubectl("get", "crd", "crontabs.bkbcs.tencent.com", "-o", "jsonpath={.metadata.annotations.bcs\\.podyard\\.io/name}"); out != "logcollector.bkbcs.tencent.com" {
		t.Errorf("kubectl get crd crontabs.bkbcs.tencent.com: BCS name %q", out)
	}

	c.do("POST", "/customresourcedefinitions", cluster, bcsSeedBKLogConfigCRD).object(t, "createcrd BKLogConfig", http.StatusCreated)
	c.do("POST", "/customresourcedefinitions", cluster, bcsSeedBKLogConfigCRD).kubeStatus(t, "createcrd BKLogConfig again", http.StatusConflict, metav1.StatusReasonAlreadyExists, "already exists")
	waitEstablished(t, c, "bklogconfig.bkbcs.tencent.com", "/customresources/bkbcs.tencent.com/v2/bklogconfigs")

	// The list without a name: v4, and so is each item.
	list := c.do("GET", "/customresourcedefinitions", cluster, "").object(t, "list CRDs", 200)
	items, _, _ := unstructured.NestedSlice(list, "items")
	seen := map[string]bool{}
	for _, item := range items {
		m, _ := item.(map[string]any)
		seen[nestedString(m, "metadata", "name")] = true
		if m["apiVersion"] != "v4" || m["kind"] != "CustomResourceDefinition" {
			t.Errorf("list CRDs: an item %s %s", m["apiVersion"], m["kind"])
		}
	}
	if list["apiVersion"] != "v4" || list["kind"] != "CustomResourceDefinitionList" || !seen["logcollector.bkbcs.tencent.com"] || !seen["bklogconfig.bkbcs.tencent.com"] {
		t.Errorf("list CRDs: %v %v, names %v", list["apiVersion"], list["kind"], seen)
	}

	// The seed's BKLogConfig: POST .../v2/{namespace}/bklogconfigs makes
	// namespace global.
	obj := c.do("POST", "/customresources/bkbcs.tencent.com/v2/global/bklogconfigs", cluster, bcsSeedBKLogConfig).object(t, "create myappconfig", http.StatusCreated)
	if obj["kind"] != "BKLogConfig" || nestedString(obj, "metadata", "namespace") != "global" || nestedString(obj, "metadata", "uid") == "" {
		t.Errorf("create answer: %v", obj)
	}
	for _, p := range []string{
		"/customresources/bkbcs.tencent.com/v2/namespaces/global/bklogconfigs/myappconfig",
		"/customresources/bkbcs.tencent.com/v2/global/bklogconfigs/myappconfig",
	} {
		got := c.do("GET", p, cluster, "").object(t, "GET "+p, 200)
		if dataid, _, _ := unstructured.NestedFloat64(got, "spec", "dataid"); dataid != 123456 || nestedString(got, "spec", "logpath") != "bcs-lb/logs/bcss-loadbalance.log" ||
			got["apiVersion"] != "bkbcs.tencent.com/v2" {
			t.Errorf("GET %s: %v", p, got)
		}
	}
	for _, p := range []string{
		"/customresources/bkbcs.tencent.com/v2/namespaces/global/bklogconfigs",
		"/customresources/bkbcs.tencent.com/v2/global/bklogconfigs",
		"/customresources/bkbcs.tencent.com/v2/bklogconfigs",
	} {
		l := c.do("GET", p, cluster, "").object(t, "list "+p, 200)
		items, _, _ := unstructured.NestedSlice(l, "items")
		if l["kind"] != "BKLogConfigList" || len(items) != 1 || nestedString(items[0].(map[string]any), "metadata", "name") != "myappconfig" {
			t.Errorf("list %s: %v", p, l)
		}
	}
	if out := s.Kubectl("get", "bklogconfigs", "-n", "global", "-o", "jsonpath={.items[*].metadata.name} {.items[*].spec.dataid}"); out != "myappconfig 123456" {
		t.Errorf("kubectl get bklogconfigs -n global: %q", out)
	}

	// Update: the body has no resourceVersion; the current object's is taken.
	updated := strings.Replace(bcsSeedBKLogConfig, `"level": 3`, `"level": 5`, 1)
	c.do("PUT", "/customresources/bkbcs.tencent.com/v2/global/bklogconfigs/myappconfig", cluster, updated).object(t, "update myappconfig", 200)
	if out := s.Kubectl("get", "bklogconfig", "myappconfig", "-n", "global", "-o", "jsonpath={.spec.level}"); out != "5" {
		t.Errorf("after update: spec.level %q, want 5", out)
	}

	// One made with kubectl is the BCS routes' too.
	if out, errOut, err := s.KubectlResult(strings.Replace(bcsSeedBKLogConfig, "myappconfig", "fromkubectl", 1), "create", "-f", "-"); err != nil {
		t.Fatalf("kubectl create a BKLogConfig: %v\n%s%s", err, out, errOut)
	}
	l := c.do("GET", "/customresources/bkbcs.tencent.com/v2/global/bklogconfigs", cluster, "").object(t, "list with kubectl's", 200)
	if items, _, _ := unstructured.NestedSlice(l, "items"); len(items) != 2 {
		t.Errorf("list with kubectl's: %d items, want 2", len(items))
	}
	c.do("DELETE", "/customresources/bkbcs.tencent.com/v2/global/bklogconfigs/fromkubectl", cluster, "").object(t, "delete fromkubectl", 200)

	c.do("DELETE", "/customresources/bkbcs.tencent.com/v2/namespaces/global/bklogconfigs/myappconfig", cluster, "").object(t, "delete myappconfig", 200)
	c.do("GET", "/customresources/bkbcs.tencent.com/v2/global/bklogconfigs/myappconfig", cluster, "").
		kubeStatus(t, "GET after delete", http.StatusNotFound, metav1.StatusReasonNotFound, `"myappconfig" not found`)

	// deletecrd by the seed's names; once gone, deleting again is
	// Kubernetes' 404, as the original's proxy answered.
	for _, name := range []string{"logcollector.bkbcs.tencent.com", "bklogconfig.bkbcs.tencent.com"} {
		deleted := c.do("DELETE", "/customresourcedefinitions/"+name, cluster, "").object(t, "deletecrd "+name, 200)
		if deleted["apiVersion"] != "v4" || nestedString(deleted, "metadata", "name") != name {
			t.Errorf("deletecrd %s answer: %v %v", name, deleted["apiVersion"], deleted["metadata"])
		}
		waitFor(t, "CRD "+name+" gone", func() bool {
			return c.do("GET", "/customresourcedefinitions/"+name, cluster, "").status == http.StatusNotFound
		})
		c.do("DELETE", "/customresourcedefinitions/"+name, cluster, "").kubeStatus(t, "deletecrd "+name+" again", http.StatusNotFound, metav1.StatusReasonNotFound, "not found")
	}
}

// bcsCRD is a BCS CRD body of the BKLogConfig kind in group, scoped so.
func bcsCRD(group, plural, kind, scope string) string {
	return fmt.Sprintf(`{"apiVersion": "v4", "kind": "CustomResourceDefinition", "metadata": {"name": "%[1]s.%[2]s"},
		"spec": {"group": "%[2]s", "versions": [{"name": "v2", "served": true, "storage": true}], "scope": "%[4]s",
		"names": {"plural": "%[1]s", "singular": "%[5]s", "kind": "%[3]s"}}}`, plural, group, kind, scope, strings.TrimSuffix(plural, "s"))
}

// TestBCSCRD: the CRD and custom resource routes in a group of their own:
// bodies that do not match the CRD refused before anything is made, a BCS
// namespace that is not a DNS label, a cluster-scoped kind, a CRD update,
// watches refused, Kubernetes' errors as Status objects, and deleting a
// CRD removing its objects.
func TestBCSCRD(t *testing.T) {
	s := Shared(t)
	c := newBCSClient(t, s)
	const cluster = bcs.DefaultClusterID
	ctx := context.Background()
	group := "bcs-" + rand.String(5) + ".example.com"
	extensions := apiextensionsclient.NewForConfigOrDie(s.Config)
	bcsNS := "crdGroup_" + rand.String(5)
	kubeNS, _ := bcs.KubeNamespace(bcsNS)
	t.Cleanup(func() {
		for _, plural := range []string{"bklogconfigs", "clusterthings"} {
			_ = extensions.ApiextensionsV1().CustomResourceDefinitions().Delete(context.Background(), plural+"."+group, metav1.DeleteOptions{})
		}
		_ = s.Client.CoreV1().Namespaces().Delete(context.Background(), kubeNS, metav1.DeleteOptions{})
	})
	logs := "/customresources/" + group + "/v2/"
	object := func(name, ns string) string {
		return strings.NewReplacer(`"bkbcs.tencent.com/v2"`, `"`+group+`/v2"`, `"myappconfig"`, `"`+name+`"`, `"global"`, `"`+ns+`"`).Replace(bcsSeedBKLogConfig)
	}

	c.do("POST", "/customresourcedefinitions", cluster, bcsCRD(group, "bklogconfigs", "BKLogConfig", "Namespaced")).object(t, "create CRD", http.StatusCreated)
	c.do("POST", "/customresourcedefinitions", cluster, bcsCRD(group, "clusterthings", "ClusterThing", "Cluster")).object(t, "create cluster-scoped CRD", http.StatusCreated)
	waitEstablished(t, c, "bklogconfigs."+group, logs+"bklogconfigs")
	waitEstablished(t, c, "clusterthings."+group, logs+"clusterthings")

	t.Run("refused", func(t *testing.T) {
		c.do("POST", logs+bcsNS+"/bklogconfigs", cluster, strings.Replace(object("a", bcsNS), `"BKLogConfig"`, `"CronTab"`, 1)).
			kubeStatus(t, "another kind", 400, metav1.StatusReasonBadRequest, `the body is kind "CronTab"`)
		c.do("POST", logs+bcsNS+"/bklogconfigs", cluster, strings.Replace(object("a", bcsNS), group+"/v2", group+"/v1", 1)).
			kubeStatus(t, "another version", 400, metav1.StatusReasonBadRequest, `apiVersion "`+group+`/v1"`)
		c.do("POST", logs+bcsNS+"/bklogconfigs", cluster, object("a", "other")).
			kubeStatus(t, "another namespace", 400, metav1.StatusReasonBadRequest, `metadata.namespace "other" is not the URL's namespace`)
		c.do("POST", logs+bcsNS+"/bklogconfigs", cluster, `{"apiVersion": `).
			kubeStatus(t, "not JSON", 400, metav1.StatusReasonBadRequest, "not a JSON object")
		if _, err := s.Client.CoreV1().Namespaces().Get(ctx, kubeNS, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("namespace %s after refused creates: %v, want none made", kubeNS, err)
		}
		// What Kubernetes refuses comes as it answered, and the namespace
		// made for it is deleted again.
		otherNS := bcsNS + "_refused"
		otherKubeNS, _ := bcs.KubeNamespace(otherNS)
		c.do("POST", logs+otherNS+"/bklogconfigs", cluster, object("Not_A_Name", otherNS)).
			kubeStatus(t, "an invalid name", 422, metav1.StatusReasonInvalid, "metadata.name")
		if ns, err := s.Client.CoreV1().Namespaces().Get(ctx, otherKubeNS, metav1.GetOptions{}); !apierrors.IsNotFound(err) && (err != nil || ns.DeletionTimestamp == nil) {
			t.Errorf("namespace %s after a create Kubernetes refused: %v %v, want it deleted", otherKubeNS, err, ns)
		}
		c.do("POST", logs+bcsNS+"/crontabs", cluster, object("a", bcsNS)).kubeStatus(t, "an unknown plural", 404, metav1.StatusReasonNotFound, "has no resource at")
		c.do("GET", "/customresources/"+group+"/v9/bklogconfigs", cluster, "").kubeStatus(t, "an unknown version", 404, metav1.StatusReasonNotFound, "could not find")
		c.do("POST", logs+"bklogconfigs", cluster, object("a", bcsNS)).kubeStatus(t, "create without a namespace", 405, metav1.StatusReasonMethodNotAllowed, "not allowed")
		c.do("POST", "/customresourcedefinitions", cluster, strings.Replace(bcsCRD(group, "xs", "X", "Namespaced"), "CustomResourceDefinition", "configmap", 1)).
			kubeStatus(t, "a CRD of another kind", 400, metav1.StatusReasonBadRequest, `kind "configmap"`)
		// The original refused watches with 404.
		c.do("GET", "/customresources/"+group+"/v2/watch/namespaces/"+kubeNS+"/bklogconfigs", cluster, "").kubeStatus(t, "watch path", 404, metav1.StatusReasonNotFound, "no watches")
		c.do("GET", logs+"bklogconfigs?watch=true", cluster, "").kubeStatus(t, "watch query", 404, metav1.StatusReasonNotFound, "no watches")
		c.do("GET", "/customresourcedefinitions?watch=1", cluster, "").kubeStatus(t, "watch CRDs", 404, metav1.StatusReasonNotFound, "no watches")
		// The cluster header is checked first, with BCS's answer.
		c.do("GET", logs+"bklogconfigs", "", "").expect(t, "no cluster header", 400, bcs.CodeFilter)
	})

	t.Run("a BCS namespace", func(t *testing.T) {
		c.do("POST", logs+bcsNS+"/bklogconfigs", cluster, object("a", bcsNS)).object(t, "create in "+bcsNS, http.StatusCreated)
		namespace, err := s.Client.CoreV1().Namespaces().Get(ctx, kubeNS, metav1.GetOptions{})
		if err != nil || namespace.Annotations[bcs.AnnotationNamespace] != bcsNS {
			t.Fatalf("namespace %s made for %s: %v %v", kubeNS, bcsNS, err, namespace)
		}
		if out := s.Kubectl("get", "bklogconfigs."+group, "-n", kubeNS, "-o", "name"); strings.TrimSpace(out) != "bklogconfig."+group+"/a" {
			t.Errorf("kubectl get: %q", out)
		}
		// The namespace's Kubernetes name in the body is the same namespace.
		c.do("POST", logs+"namespaces/"+bcsNS+"/bklogconfigs", cluster, object("b", kubeNS)).object(t, "create b", http.StatusCreated)
		l := c.do("GET", logs+"namespaces/"+bcsNS+"/bklogconfigs", cluster, "").object(t, "list", 200)
		if items, _, _ := unstructured.NestedSlice(l, "items"); len(items) != 2 {
			t.Errorf("list: %d items, want 2", len(items))
		}
		// PUT of the collection: the body names the object.
		c.do("PUT", logs+bcsNS+"/bklogconfigs", cluster, strings.Replace(object("b", bcsNS), `"level": 3`, `"level": 4`, 1)).object(t, "update b", 200)
		if out := s.Kubectl("get", "bklogconfigs."+group, "b", "-n", kubeNS, "-o", "jsonpath={.spec.level}"); out != "4" {
			t.Errorf("after update: level %q", out)
		}
		c.do("PUT", logs+bcsNS+"/bklogconfigs/nothere", cluster, object("nothere", bcsNS)).
			kubeStatus(t, "update a missing object", 404, metav1.StatusReasonNotFound, "not found")
		c.do("PUT", logs+bcsNS+"/bklogconfigs/a", cluster, object("b", bcsNS)).
			kubeStatus(t, "update another name", 400, metav1.StatusReasonBadRequest, `metadata.name "b" is not the URL's name "a"`)
	})

	t.Run("cluster-scoped", func(t *testing.T) {
		body := fmt.Sprintf(`{"apiVersion": "%s/v2", "kind": "ClusterThing", "metadata": {"name": "one"}, "spec": {"size": 1}}`, group)
		c.do("POST", logs+"clusterthings", cluster, body).object(t, "create", http.StatusCreated)
		got := c.do("GET", logs+"clusterthings/one", cluster, "").object(t, "get", 200)
		if nestedString(got, "metadata", "namespace") != "" || got["kind"] != "ClusterThing" {
			t.Errorf("get: %v", got)
		}
		c.do("PUT", logs+"clusterthings/one", cluster, strings.Replace(body, `"size": 1`, `"size": 2`, 1)).object(t, "update", 200)
		if out := s.Kubectl("get", "clusterthings."+group, "one", "-o", "jsonpath={.spec.size}"); out != "2" {
			t.Errorf("after update: size %q", out)
		}
		c.do("DELETE", logs+"clusterthings/one", cluster, "").object(t, "delete", 200)
	})

	t.Run("CRD update", func(t *testing.T) {
		// A BCS body with a short name added; no resourceVersion.
		body := strings.Replace(bcsCRD(group, "bklogconfigs", "BKLogConfig", "Namespaced"), `"kind": "BKLogConfig"`, `"kind": "BKLogConfig", "shortNames": ["bkl`+group[4:9]+`"]`, 1)
		got := c.do("PUT", "/customresourcedefinitions/bklogconfigs."+group, cluster, body).object(t, "update CRD", 200)
		if got["apiVersion"] != "v4" {
			t.Errorf("update answer: apiVersion %v", got["apiVersion"])
		}
		if out := s.Kubectl("get", "crd", "bklogconfigs."+group, "-o", "jsonpath={.spec.names.shortNames}"); !strings.Contains(out, "bkl"+group[4:9]) {
			t.Errorf("after update: shortNames %q", out)
		}
		c.do("PUT", "/customresourcedefinitions/nothere."+group, cluster, bcsCRD(group, "nothere", "NotHere", "Namespaced")).
			kubeStatus(t, "update a missing CRD", 404, metav1.StatusReasonNotFound, "not found")
		c.do("POST", "/customresourcedefinitions/bklogconfigs."+group, cluster, body).kubeStatus(t, "POST with a name", 405, metav1.StatusReasonMethodNotAllowed, "not allowed")
	})

	t.Run("a schema given", func(t *testing.T) {
		crd := fmt.Sprintf(`{"apiVersion": "v4", "kind": "CustomResourceDefinition", "metadata": {"name": "sized.%[1]s"},
			"spec": {"group": "%[1]s", "scope": "Namespaced", "names": {"plural": "sized", "kind": "Sized"},
			"versions": [{"name": "v2", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object", "properties": {
				"spec": {"type": "object", "properties": {"size": {"type": "integer", "minimum": 1}}}}}}}]}}`, group)
		c.do("POST", "/customresourcedefinitions", cluster, crd).object(t, "create CRD", http.StatusCreated)
		t.Cleanup(func() {
			_ = extensions.ApiextensionsV1().CustomResourceDefinitions().Delete(context.Background(), "sized."+group, metav1.DeleteOptions{})
		})
		waitEstablished(t, c, "sized."+group, logs+"sized")
		body := func(spec string) string {
			return fmt.Sprintf(`{"apiVersion": "%s/v2", "kind": "Sized", "metadata": {"name": "s"}, "spec": %s}`, group, spec)
		}
		c.do("POST", logs+bcsNS+"/sized", cluster, body(`{"size": 0}`)).kubeStatus(t, "size 0", 422, metav1.StatusReasonInvalid, "spec.size")
		// Kubernetes' warnings reach the caller; the unknown field is pruned.
		req, _ := http.NewRequest("POST", c.base+logs+bcsNS+"/sized", strings.NewReader(body(`{"size": 2, "extra": true}`)))
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set(bcs.ClusterHeader, cluster)
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || !strings.Contains(strings.Join(resp.Header.Values("Warning"), "\n"), `unknown field \"spec.extra\"`) {
			t.Errorf("create with an unknown field: HTTP %d, warnings %q", resp.StatusCode, resp.Header.Values("Warning"))
		}
		got := c.do("GET", logs+bcsNS+"/sized/s", cluster, "").object(t, "get", 200)
		if _, found, _ := unstructured.NestedFieldNoCopy(got, "spec", "extra"); found {
			t.Errorf("spec.extra kept: %v", got["spec"])
		}
	})

	t.Run("deleting the CRD deletes its objects", func(t *testing.T) {
		dyn := dynamic.NewForConfigOrDie(s.Config)
		resource := dyn.Resource(schema.GroupVersionResource{Group: group, Version: "v2", Resource: "bklogconfigs"}).Namespace(kubeNS)
		if l, err := resource.List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) == 0 {
			t.Fatalf("objects before: %v %v", l, err)
		}
		c.do("DELETE", "/customresourcedefinitions/bklogconfigs."+group, cluster, "").object(t, "delete CRD", 200)
		waitFor(t, "CRD and objects gone", func() bool {
			_, err := extensions.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "bklogconfigs."+group, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
		c.do("GET", logs+bcsNS+"/bklogconfigs/a", cluster, "").kubeStatus(t, "GET after", 404, metav1.StatusReasonNotFound, "")
		c.do("DELETE", "/customresourcedefinitions/bklogconfigs."+group, cluster, "").kubeStatus(t, "delete a missing CRD", 404, metav1.StatusReasonNotFound, "not found")
		// The same CRD again has none of the objects of the one deleted.
		c.do("POST", "/customresourcedefinitions", cluster, bcsCRD(group, "bklogconfigs", "BKLogConfig", "Namespaced")).object(t, "create CRD again", http.StatusCreated)
		waitEstablished(t, c, "bklogconfigs."+group, logs+"bklogconfigs")
		if l, err := resource.List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) != 0 {
			t.Errorf("objects of the new CRD: %v %v, want none", l, err)
		}
	})
}

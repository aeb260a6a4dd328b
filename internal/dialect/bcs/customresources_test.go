package bcs

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

func TestCustomResourcePath(t *testing.T) {
	for _, tc := range []struct {
		path string
		rest string // "" : not these routes
	}{
		{"/bcsapi/v4/scheduler/mesos/customresourcedefinitions", "customresourcedefinitions"},
		{"/v4/scheduler/mesos/customresourcedefinitions/crontabs.bkbcs.tencent.com", "customresourcedefinitions/crontabs.bkbcs.tencent.com"},
		{"/v4/scheduler/mesos/customresourcesdefinitions/x", "customresourcesdefinitions/x"},
		{"/bcsapi/v4/scheduler/mesos/customresources/bkbcs.tencent.com/v2/global/bklogconfigs", "customresources/bkbcs.tencent.com/v2/global/bklogconfigs"},
		{"/bcsapi/v4/scheduler/mesos/customresourcesx/a", ""},
		{"/bcsapi/v4/scheduler/mesos/namespaces/ns/configmaps", ""},
		{"/bcsapi/v4/scheduler/mesos/crd/namespaces/ns/admissionwebhook", ""},
		{"/apis/customresources/a/b/c", ""},
	} {
		rest, ok := CustomResourcePath(tc.path)
		if ok != (tc.rest != "") || rest != tc.rest {
			t.Errorf("CustomResourcePath(%q) = %q, %v; want %q", tc.path, rest, ok, tc.rest)
		}
	}
}

func TestParseCustomResourceRoute(t *testing.T) {
	for _, tc := range []struct {
		rest string
		want *CustomResourceRoute // nil: no route
	}{
		{"customresourcedefinitions", &CustomResourceRoute{Definitions: true}},
		{"customresourcedefinitions/", &CustomResourceRoute{Definitions: true}},
		{"customresourcedefinitions/crontabs.bkbcs.tencent.com", &CustomResourceRoute{Definitions: true, Name: "crontabs.bkbcs.tencent.com"}},
		{"customresourcesdefinitions/crontabs.bkbcs.tencent.com", &CustomResourceRoute{Definitions: true, Name: "crontabs.bkbcs.tencent.com"}},
		{"customresourcedefinitions/a/b", nil},
		{"customresourcedefinitions//a", nil},
		{"customresources/bkbcs.tencent.com/v2/bklogconfigs", &CustomResourceRoute{Group: "bkbcs.tencent.com", Version: "v2", Parts: []string{"bklogconfigs"}}},
		{"customresources/bkbcs.tencent.com/v2/global/bklogconfigs/myappconfig", &CustomResourceRoute{Group: "bkbcs.tencent.com", Version: "v2", Parts: []string{"global", "bklogconfigs", "myappconfig"}}},
		{"customresources/g/v/namespaces/global/bklogconfigs/x", &CustomResourceRoute{Group: "g", Version: "v", Parts: []string{"namespaces", "global", "bklogconfigs", "x"}}},
		{"customresources/g/v/watch/namespaces/global/bklogconfigs", &CustomResourceRoute{Group: "g", Version: "v", Parts: []string{"watch", "namespaces", "global", "bklogconfigs"}, Watch: true}},
		{"customresources/g/v/stopwatches", &CustomResourceRoute{Group: "g", Version: "v", Parts: []string{"stopwatches"}}},
		{"customresources/g/v", nil},
		{"customresources/g/v/", nil},
		{"customresources/g/v/a//b", nil},
		{"customresources/g/v/1/2/3/4/5", nil},
	} {
		got, ok := ParseCustomResourceRoute(tc.rest)
		if ok != (tc.want != nil) || tc.want != nil && !reflect.DeepEqual(got, *tc.want) {
			t.Errorf("ParseCustomResourceRoute(%q) = %+v, %v; want %+v", tc.rest, got, ok, tc.want)
		}
	}
}

func TestWatchQuery(t *testing.T) {
	for q, want := range map[string]bool{
		"": false, "watch=true": true, "watch=1": true, "watch=false": false, "watch=0": false, "watch=": false,
		"labelSelector=a%3Db": false, "allowWatchBookmarks=true": false,
	} {
		v, _ := url.ParseQuery(q)
		if got := WatchQuery(v); got != want {
			t.Errorf("WatchQuery(%q) = %v, want %v", q, got, want)
		}
	}
}

func TestResolveCustomResource(t *testing.T) {
	resources := []metav1.APIResource{
		{Name: "bklogconfigs", Kind: "BKLogConfig", Namespaced: true},
		{Name: "bklogconfigs/status", Kind: "BKLogConfig", Namespaced: true},
		{Name: "clusterthings", Kind: "ClusterThing"},
	}
	const g, v = "bkbcs.tencent.com", "v2"
	logs := func(ns, name string) *CustomResource {
		return &CustomResource{Group: g, Version: v, Resource: "bklogconfigs", Kind: "BKLogConfig", Namespaced: true, Namespace: ns, Name: name}
	}
	things := func(name string) *CustomResource {
		return &CustomResource{Group: g, Version: v, Resource: "clusterthings", Kind: "ClusterThing", Name: name}
	}
	for _, tc := range []struct {
		path string
		want *CustomResource // nil: none
		kube string          // its Kubernetes path, the namespace itself
	}{
		// The seed's forms.
		{"global/bklogconfigs", logs("global", ""), "/apis/bkbcs.tencent.com/v2/namespaces/global/bklogconfigs"},
		{"global/bklogconfigs/myappconfig", logs("global", "myappconfig"), "/apis/bkbcs.tencent.com/v2/namespaces/global/bklogconfigs/myappconfig"},
		{"namespaces/global/bklogconfigs", logs("global", ""), "/apis/bkbcs.tencent.com/v2/namespaces/global/bklogconfigs"},
		{"namespaces/global/bklogconfigs/myappconfig", logs("global", "myappconfig"), "/apis/bkbcs.tencent.com/v2/namespaces/global/bklogconfigs/myappconfig"},
		{"bklogconfigs", logs("", ""), "/apis/bkbcs.tencent.com/v2/bklogconfigs"},
		// Cluster-scoped.
		{"clusterthings", things(""), "/apis/bkbcs.tencent.com/v2/clusterthings"},
		{"clusterthings/a", things("a"), "/apis/bkbcs.tencent.com/v2/clusterthings/a"},
		// Ambiguous: a cluster-scoped object named like a namespaced
		// plural, or that plural in a namespace named like the
		// cluster-scoped one; the former (the latter has namespaces/...).
		{"clusterthings/bklogconfigs", things("bklogconfigs"), "/apis/bkbcs.tencent.com/v2/clusterthings/bklogconfigs"},
		{"namespaces/clusterthings/bklogconfigs", logs("clusterthings", ""), "/apis/bkbcs.tencent.com/v2/namespaces/clusterthings/bklogconfigs"},
		// A namespace called namespaces, in BCS's form.
		{"namespaces/bklogconfigs", logs("namespaces", ""), "/apis/bkbcs.tencent.com/v2/namespaces/namespaces/bklogconfigs"},
		{"namespaces/bklogconfigs/x", logs("namespaces", "x"), "/apis/bkbcs.tencent.com/v2/namespaces/namespaces/bklogconfigs/x"},
		// None.
		{"crontabs", nil, ""},
		{"global/crontabs", nil, ""},
		{"bklogconfigs/myappconfig", nil, ""}, // a namespaced object without its namespace
		{"global/clusterthings", nil, ""},     // a cluster-scoped plural in a namespace
		{"global/clusterthings/a", nil, ""},
		{"global/bklogconfigs/myappconfig/status", nil, ""}, // subresources are not served
		{"namespaces/global/bklogconfigs/myappconfig/status", nil, ""},
		{"bklogconfigs/status", nil, ""},
		{"clusterthings/a/b", nil, ""},
	} {
		got, ok := ResolveCustomResource(g, v, strings.Split(tc.path, "/"), resources)
		if ok != (tc.want != nil) || tc.want != nil && got != *tc.want {
			t.Errorf("ResolveCustomResource(%q) = %+v, %v; want %+v", tc.path, got, ok, tc.want)
			continue
		}
		if tc.want != nil {
			if kube := "/" + strings.TrimPrefix(strings.Join(got.KubePath(got.Namespace), "/"), "/"); kube != tc.kube {
				t.Errorf("ResolveCustomResource(%q).KubePath = %s, want %s", tc.path, kube, tc.kube)
			}
		}
	}
	if _, ok := ResolveCustomResource(g, v, []string{"bklogconfigs"}, nil); ok {
		t.Error("resolved against no resources")
	}
}

// The seed's createcrd body.
const seedCronTabCRD = `{
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

func mustJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return m
}

// asJSON is v as JSON would decode it (json.Number as float64).
func asJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return mustJSON(t, string(b))
}

func TestToCRD(t *testing.T) {
	preserve := `{"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}`
	given := `{"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object", "properties": {"cronSpec": {"type": "string"}}}}}}`
	for _, tc := range []struct {
		name    string
		body    string
		urlName string
		want    string // the v1 CRD; "" : refused
		refused string // a fragment of the refusal
	}{
		// The seed's name is not {plural}.{group}: it becomes the BCS name.
		{name: "the seed's body", body: seedCronTabCRD, want: `{
			"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
			"metadata": {"name": "crontabs.bkbcs.tencent.com", "annotations": {"bcs.podyard.io/name": "logcollector.bkbcs.tencent.com"}},
			"spec": {"group": "bkbcs.tencent.com", "scope": "Namespaced",
				"names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab"},
				"versions": [{"name": "v1", "served": true, "storage": true, "schema": ` + preserve + `}]}}`},
		{name: "a schema given is kept, one missing added",
			body: `{"apiVersion": "v4", "kind": "CustomResourceDefinition", "metadata": {"name": "crontabs.a.io"}, "spec": {"group": "a.io",
				"versions": [{"name": "v1", "served": true, "storage": true, "schema": ` + given + `}, {"name": "v2", "served": true, "storage": false, "schema": {}}],
				"scope": "Cluster", "names": {"plural": "crontabs", "kind": "CronTab"}}}`,
			want: `{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "crontabs.a.io"}, "spec": {"group": "a.io",
				"versions": [{"name": "v1", "served": true, "storage": true, "schema": ` + given + `}, {"name": "v2", "served": true, "storage": false, "schema": ` + preserve + `}],
				"scope": "Cluster", "names": {"plural": "crontabs", "kind": "CronTab"}}}`},
		{name: "v1beta1: spec.version, validation, subresources, columns",
			body: `{"apiVersion": "apiextensions.k8s.io/v1beta1", "metadata": {"name": "crontabs.a.io"}, "spec": {"group": "a.io", "version": "v1",
				"validation": ` + given + `, "subresources": {"status": {}},
				"additionalPrinterColumns": [{"name": "Spec", "type": "string", "JSONPath": ".spec.cronSpec"}],
				"scope": "Namespaced", "names": {"plural": "crontabs", "kind": "CronTab"}}}`,
			want: `{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "crontabs.a.io"}, "spec": {"group": "a.io",
				"versions": [{"name": "v1", "served": true, "storage": true, "schema": ` + given + `, "subresources": {"status": {}},
					"additionalPrinterColumns": [{"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"}]}],
				"scope": "Namespaced", "names": {"plural": "crontabs", "kind": "CronTab"}}}`},
		{name: "v1beta1: spec.version beside versions, a version's own schema kept",
			body: `{"kind": "CustomResourceDefinition", "metadata": {"name": "crontabs.a.io"}, "spec": {"group": "a.io", "version": "v1", "validation": ` + given + `,
				"versions": [{"name": "v1", "served": true, "storage": true}, {"name": "v2", "served": true, "storage": false, "schema": ` + preserve + `}]}}`,
			want: `{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "crontabs.a.io"}, "spec": {"group": "a.io",
				"versions": [{"name": "v1", "served": true, "storage": true, "schema": ` + given + `}, {"name": "v2", "served": true, "storage": false, "schema": ` + preserve + `}]}}`},
		{name: "the URL's name fills in", body: `{"kind": "CustomResourceDefinition", "spec": {}}`, urlName: "crontabs.a.io",
			want: `{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "crontabs.a.io"}, "spec": {}}`},
		{name: "no name: {plural}.{group}", body: `{"spec": {"group": "a.io", "names": {"plural": "crontabs", "kind": "CronTab"}}}`,
			want: `{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "crontabs.a.io"},
				"spec": {"group": "a.io", "names": {"plural": "crontabs", "kind": "CronTab"}}}`},
		{name: "another name beside annotations", body: `{"metadata": {"name": "crontab.a.io", "annotations": {"a": "b"}}, "spec": {"group": "a.io", "names": {"plural": "crontabs", "kind": "CronTab"}}}`,
			want: `{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "crontabs.a.io", "annotations": {"a": "b", "bcs.podyard.io/name": "crontab.a.io"}},
				"spec": {"group": "a.io", "names": {"plural": "crontabs", "kind": "CronTab"}}}`},
		{name: "annotations not an object", body: `{"metadata": {"name": "x", "annotations": []}, "spec": {"group": "a.io", "names": {"plural": "crontabs"}}}`, refused: "metadata.annotations is not an object"},
		{name: "the URL's name matches", body: seedCronTabCRD, urlName: "logcollector.bkbcs.tencent.com",
			want: `{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
			"metadata": {"name": "crontabs.bkbcs.tencent.com", "annotations": {"bcs.podyard.io/name": "logcollector.bkbcs.tencent.com"}},
			"spec": {"group": "bkbcs.tencent.com", "scope": "Namespaced", "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab"},
				"versions": [{"name": "v1", "served": true, "storage": true, "schema": ` + preserve + `}]}}`},
		{name: "another name in the URL", body: seedCronTabCRD, urlName: "other.bkbcs.tencent.com", refused: `metadata.name "logcollector.bkbcs.tencent.com" is not the URL's name`},
		{name: "another kind", body: strings.Replace(seedCronTabCRD, `"kind": "CustomResourceDefinition"`, `"kind": "configmap"`, 1), refused: `kind "configmap" is not CustomResourceDefinition`},
		{name: "spec.version not the first version", body: `{"spec": {"version": "v2", "versions": [{"name": "v1"}]}}`, refused: `spec.version "v2" is not the first`},
		{name: "spec.version not a string", body: `{"spec": {"version": 1}}`, refused: "spec.version is not a string"},
		{name: "versions not a list", body: `{"spec": {"versions": {}}}`, refused: "spec.versions is not a list"},
		{name: "a version not an object", body: `{"spec": {"versions": ["v1"]}}`, refused: "spec.versions[0] is not an object"},
		{name: "spec not an object", body: `{"spec": []}`, refused: "spec is not an object"},
		{name: "metadata not an object", body: `{"metadata": "x"}`, refused: "metadata is not an object"},
		{name: "not JSON", body: `{"kind": `, refused: "not a JSON object"},
		{name: "a list", body: `[]`, refused: "not a JSON object"},
		{name: "null", body: `null`, refused: "not a JSON object"},
		{name: "two objects", body: `{} {}`, refused: "not one JSON object"},
	} {
		got, err := ToCRD([]byte(tc.body), tc.urlName)
		if tc.want == "" {
			if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), tc.refused) {
				t.Errorf("%s: %v, %v; want a bad request with %q", tc.name, got, err, tc.refused)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if g, w := asJSON(t, got), mustJSON(t, tc.want); !reflect.DeepEqual(g, w) {
			gj, _ := json.Marshal(g)
			wj, _ := json.Marshal(w)
			t.Errorf("%s:\n got %s\nwant %s", tc.name, gj, wj)
		}
	}
}

func TestCRDView(t *testing.T) {
	for _, tc := range []struct {
		name, kube, want string
	}{
		{name: "a CRD",
			kube: `{"kind": "CustomResourceDefinition", "apiVersion": "apiextensions.k8s.io/v1", "metadata": {"name": "a"}, "spec": {"group": "apiextensions.k8s.io/v1"}}`,
			want: `{"kind": "CustomResourceDefinition", "apiVersion": "v4", "metadata": {"name": "a"}, "spec": {"group": "apiextensions.k8s.io/v1"}}`},
		{name: "a list: its items too, whether Kubernetes gave them a kind or not",
			kube: `{"kind": "CustomResourceDefinitionList", "apiVersion": "apiextensions.k8s.io/v1", "metadata": {"resourceVersion": "7"},
				"items": [{"metadata": {"name": "a"}}, {"kind": "CustomResourceDefinition", "apiVersion": "apiextensions.k8s.io/v1", "metadata": {"name": "b"}}]}`,
			want: `{"kind": "CustomResourceDefinitionList", "apiVersion": "v4", "metadata": {"resourceVersion": "7"},
				"items": [{"kind": "CustomResourceDefinition", "apiVersion": "v4", "metadata": {"name": "a"}}, {"kind": "CustomResourceDefinition", "apiVersion": "v4", "metadata": {"name": "b"}}]}`},
		{name: "an empty list",
			kube: `{"kind": "CustomResourceDefinitionList", "apiVersion": "apiextensions.k8s.io/v1", "metadata": {}, "items": []}`,
			want: `{"kind": "CustomResourceDefinitionList", "apiVersion": "v4", "metadata": {}, "items": []}`},
		{name: "a CRD with a BCS name: its own back",
			kube: `{"kind": "CustomResourceDefinition", "apiVersion": "apiextensions.k8s.io/v1", "metadata": {"name": "crontabs.a.io", "annotations": {"bcs.podyard.io/name": "logcollector.a.io"}}}`,
			want: `{"kind": "CustomResourceDefinition", "apiVersion": "v4", "metadata": {"name": "logcollector.a.io"}}`},
		{name: "a list with BCS names",
			kube: `{"kind": "CustomResourceDefinitionList", "apiVersion": "apiextensions.k8s.io/v1", "metadata": {},
				"items": [{"metadata": {"name": "crontabs.a.io", "annotations": {"a": "b", "bcs.podyard.io/name": "x.a.io"}}}, {"metadata": {"name": "b.a.io"}}]}`,
			want: `{"kind": "CustomResourceDefinitionList", "apiVersion": "v4", "metadata": {},
				"items": [{"kind": "CustomResourceDefinition", "apiVersion": "v4", "metadata": {"name": "x.a.io", "annotations": {"a": "b"}}},
					{"kind": "CustomResourceDefinition", "apiVersion": "v4", "metadata": {"name": "b.a.io"}}]}`},
		{name: "a Status", kube: `{"kind": "Status", "apiVersion": "v1", "status": "Success"}`, want: `{"kind": "Status", "apiVersion": "v1", "status": "Success"}`},
	} {
		if got := CRDView([]byte(tc.kube)); !reflect.DeepEqual(mustJSON(t, string(got)), mustJSON(t, tc.want)) {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
	if got := CRDView([]byte("not json")); string(got) != "not json" {
		t.Errorf("CRDView of text = %q, want it as it is", got)
	}
}

func TestFindCRD(t *testing.T) {
	list := []byte(`{"kind": "CustomResourceDefinitionList", "items": [
		{"metadata": {"name": "crontabs.a.io", "annotations": {"bcs.podyard.io/name": "logcollector.a.io"}}},
		{"metadata": {"name": "bklogconfigs.a.io", "annotations": {"bcs.podyard.io/name": "bklogconfig.a.io"}}},
		{"metadata": {"name": "plain.a.io"}}]}`)
	for name, want := range map[string]string{
		"logcollector.a.io": "crontabs.a.io", "bklogconfig.a.io": "bklogconfigs.a.io", "plain.a.io": "", "crontabs.a.io": "", "": "",
	} {
		if got, found := FindCRD(list, name); got != want || found != (want != "") {
			t.Errorf("FindCRD(%q) = %q, %v; want %q", name, got, found, want)
		}
	}
	if _, found := FindCRD([]byte(`{"kind": "Status"}`), "x"); found {
		t.Error("FindCRD found a CRD in a Status")
	}
}

// The seed's BKLogConfig object.
const seedBKLogConfig = `{
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

func TestPrepareCustomResource(t *testing.T) {
	logs := CustomResource{Group: "bkbcs.tencent.com", Version: "v2", Resource: "bklogconfigs", Kind: "BKLogConfig", Namespaced: true, Namespace: "global"}
	named := logs
	named.Name = "myappconfig"
	mapped := logs
	mapped.Namespace = "defaultGroup"
	mappedNS, _ := KubeNamespace("defaultGroup")
	cluster := CustomResource{Group: "bkbcs.tencent.com", Version: "v2", Resource: "clusterthings", Kind: "ClusterThing"}
	with := func(old, new string) string { return strings.Replace(seedBKLogConfig, old, new, 1) }
	for _, tc := range []struct {
		name    string
		body    string
		cr      CustomResource
		kubeNS  string
		wantNS  string // the namespace set; "-" none
		wantNm  string
		refused string
	}{
		{name: "the seed's", body: seedBKLogConfig, cr: logs, kubeNS: "global", wantNS: "global", wantNm: "myappconfig"},
		{name: "the seed's, named in the URL", body: seedBKLogConfig, cr: named, kubeNS: "global", wantNS: "global", wantNm: "myappconfig"},
		{name: "no namespace in the body", body: with(`"namespace": "global"`, `"labels": {}`), cr: logs, kubeNS: "global", wantNS: "global", wantNm: "myappconfig"},
		{name: "the BCS namespace mapped", body: with(`"global"`, `"defaultGroup"`), cr: mapped, kubeNS: mappedNS, wantNS: mappedNS, wantNm: "myappconfig"},
		{name: "the Kubernetes namespace of a BCS one", body: with(`"global"`, `"`+mappedNS+`"`), cr: mapped, kubeNS: mappedNS, wantNS: mappedNS, wantNm: "myappconfig"},
		{name: "no name: the URL's", body: with(`"name": "myappconfig",`, ``), cr: named, kubeNS: "global", wantNS: "global", wantNm: "myappconfig"},
		{name: "cluster-scoped: the namespace dropped", body: `{"apiVersion": "bkbcs.tencent.com/v2", "kind": "ClusterThing", "metadata": {"name": "a", "namespace": "x"}}`,
			cr: cluster, wantNS: "-", wantNm: "a"},
		{name: "another namespace", body: with(`"global"`, `"other"`), cr: logs, kubeNS: "global", refused: `metadata.namespace "other" is not the URL's namespace "global"`},
		{name: "another name", body: seedBKLogConfig, cr: func() CustomResource { c := named; c.Name = "x"; return c }(), kubeNS: "global", refused: `metadata.name "myappconfig" is not the URL's name "x"`},
		{name: "another kind", body: with(`"BKLogConfig"`, `"CronTab"`), cr: logs, kubeNS: "global", refused: `the body is kind "CronTab", apiVersion "bkbcs.tencent.com/v2": bkbcs.tencent.com/v2/bklogconfigs holds kind "BKLogConfig"`},
		{name: "kind lower-case", body: with(`"BKLogConfig"`, `"bklogconfig"`), cr: logs, kubeNS: "global", refused: `kind "bklogconfig"`},
		{name: "no kind", body: with(`"kind": "BKLogConfig",`, ``), cr: logs, kubeNS: "global", refused: `kind ""`},
		{name: "another version", body: with(`"bkbcs.tencent.com/v2"`, `"bkbcs.tencent.com/v1"`), cr: logs, kubeNS: "global", refused: `apiVersion "bkbcs.tencent.com/v1"`},
		{name: "BCS's apiVersion", body: with(`"bkbcs.tencent.com/v2"`, `"v4"`), cr: logs, kubeNS: "global", refused: `apiVersion "v4"`},
		{name: "no apiVersion", body: with(`"apiVersion": "bkbcs.tencent.com/v2",`, ``), cr: logs, kubeNS: "global", refused: `apiVersion ""`},
		{name: "metadata not an object", body: `{"apiVersion": "bkbcs.tencent.com/v2", "kind": "BKLogConfig", "metadata": 1}`, cr: logs, kubeNS: "global", refused: "metadata is not an object"},
		{name: "not JSON", body: `{`, cr: logs, kubeNS: "global", refused: "not a JSON object"},
	} {
		obj, err := PrepareCustomResource([]byte(tc.body), tc.cr, tc.kubeNS)
		if tc.refused != "" {
			if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), tc.refused) {
				t.Errorf("%s: %v; want a bad request with %q", tc.name, err, tc.refused)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		meta := obj["metadata"].(map[string]any)
		ns, hasNS := meta["namespace"]
		if tc.wantNS == "-" && hasNS || tc.wantNS != "-" && ns != tc.wantNS || meta["name"] != tc.wantNm {
			t.Errorf("%s: metadata %v; want namespace %s, name %s", tc.name, meta, tc.wantNS, tc.wantNm)
		}
	}
	// The spec goes on as it came, numbers as written.
	big := strings.Replace(seedBKLogConfig, "123456", "9007199254740993", 1)
	obj, err := PrepareCustomResource([]byte(big), logs, "global")
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(obj["spec"])
	if want := `{"dataid":9007199254740993,"level":3,"logpath":"bcs-lb/logs/bcss-loadbalance.log","selector":{"app":"loadbalance"},"stdout":false}`; string(out) != want {
		t.Errorf("spec %s, want %s", out, want)
	}
}

func TestAnswerOf(t *testing.T) {
	a := answerOf(kubeStatusError(http.StatusNotFound, metav1.StatusReasonNotFound, "no route for %s", "x"))
	var s metav1.Status
	if err := json.Unmarshal(a.body, &s); err != nil || a.status != 404 || s.Kind != "Status" || s.APIVersion != "v1" ||
		s.Code != 404 || s.Reason != metav1.StatusReasonNotFound || s.Status != metav1.StatusFailure || s.Message != "no route for x" {
		t.Errorf("answerOf: HTTP %d %s (%v)", a.status, a.body, err)
	}
	for status, reason := range map[int]metav1.StatusReason{
		400: metav1.StatusReasonBadRequest, 403: metav1.StatusReasonForbidden, 404: metav1.StatusReasonNotFound,
		409: metav1.StatusReasonConflict, 413: metav1.StatusReasonRequestEntityTooLarge, 500: metav1.StatusReasonInternalError,
	} {
		e := fromBCSError(&Error{Status: status, Code: CodeCommon, Message: "m"})
		if e.ErrStatus.Code != int32(status) || e.ErrStatus.Reason != reason || e.ErrStatus.Message != "m" {
			t.Errorf("fromBCSError(HTTP %d) = %+v, want reason %s", status, e.ErrStatus, reason)
		}
	}
}

// fakeKube is a Kubernetes API for crAPI: answer says what each request
// gets; requests records them ("GET /apis/...", with "?query" and " rv=N"
// for a PUT body's resourceVersion).
type fakeKube struct {
	answer   func(r *http.Request, body []byte) (int, string)
	requests []string
}

func (f *fakeKube) api(t *testing.T) crAPI {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := r.Method + " " + r.URL.Path
		if r.URL.RawQuery != "" {
			req += "?" + r.URL.RawQuery
		}
		if r.Method == http.MethodPut {
			var m struct {
				Metadata struct{ ResourceVersion string } `json:"metadata"`
			}
			_ = json.Unmarshal(body, &m)
			req += " rv=" + m.Metadata.ResourceVersion
		}
		f.requests = append(f.requests, req)
		status, answer := f.answer(r, body)
		if strings.HasPrefix(answer, "{") {
			w.Header().Set("Content-Type", "application/json")
		}
		w.Header().Add("Warning", `299 - "a warning"`)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	c, err := newCRAPI(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func kubeStatusJSON(code int, reason metav1.StatusReason) string {
	return string(answerOf(kubeStatusError(code, reason, "%s", reason)).body)
}

func TestCRAPIUpdate(t *testing.T) {
	ctx := context.Background()
	path := []string{"/apis", "a.io", "v1", "namespaces", "ns", "xs", "x"}
	object := func(rv string) map[string]any {
		meta := map[string]any{"name": "x"}
		if rv != "" {
			meta["resourceVersion"] = rv
		}
		return map[string]any{"apiVersion": "a.io/v1", "kind": "X", "metadata": meta}
	}
	current := func(rv string) string { return `{"metadata": {"name": "x", "resourceVersion": "` + rv + `"}}` }
	for _, tc := range []struct {
		name   string
		rv     string                               // the body's
		gets   []string                             // what each GET answers ("": 404)
		puts   func(rv string) (int, metav1.Status) // what a PUT of rv answers
		status int
		want   []string
	}{
		{name: "the current resourceVersion taken", gets: []string{"1"}, status: 200,
			want: []string{"GET /apis/a.io/v1/namespaces/ns/xs/x", "PUT /apis/a.io/v1/namespaces/ns/xs/x?fieldManager=m rv=1"}},
		{name: "a conflict: read again", gets: []string{"1", "2"}, status: 200,
			puts: func(rv string) (int, metav1.Status) {
				if rv == "1" {
					return 409, metav1.Status{Reason: metav1.StatusReasonConflict}
				}
				return 200, metav1.Status{}
			},
			want: []string{"GET /apis/a.io/v1/namespaces/ns/xs/x", "PUT /apis/a.io/v1/namespaces/ns/xs/x?fieldManager=m rv=1",
				"GET /apis/a.io/v1/namespaces/ns/xs/x", "PUT /apis/a.io/v1/namespaces/ns/xs/x?fieldManager=m rv=2"}},
		{name: "conflicts until the attempts end", gets: []string{"1", "2", "3", "4", "5", "6"}, status: 409,
			puts: func(string) (int, metav1.Status) { return 409, metav1.Status{Reason: metav1.StatusReasonConflict} },
			want: []string{"GET /apis/a.io/v1/namespaces/ns/xs/x", "PUT /apis/a.io/v1/namespaces/ns/xs/x?fieldManager=m rv=1",
				"GET /apis/a.io/v1/namespaces/ns/xs/x", "PUT /apis/a.io/v1/namespaces/ns/xs/x?fieldManager=m rv=2",
				"GET /apis/a.io/v1/namespaces/ns/xs/x", "PUT /apis/a.io/v1/namespaces/ns/xs/x?fieldManager=m rv=3",
				"GET /apis/a.io/v1/namespaces/ns/xs/x", "PUT /apis/a.io/v1/namespaces/ns/xs/x?fieldManager=m rv=4",
				"GET /apis/a.io/v1/namespaces/ns/xs/x", "PUT /apis/a.io/v1/namespaces/ns/xs/x?fieldManager=m rv=5"}},
		{name: "missing: Kubernetes' 404, nothing written", gets: []string{""}, status: 404,
			want: []string{"GET /apis/a.io/v1/namespaces/ns/xs/x"}},
		{name: "the body's resourceVersion: written as it is, a conflict answered", rv: "7", status: 409,
			puts: func(string) (int, metav1.Status) { return 409, metav1.Status{Reason: metav1.StatusReasonConflict} },
			want: []string{"PUT /apis/a.io/v1/namespaces/ns/xs/x?fieldManager=m rv=7"}},
	} {
		gets := 0
		f := &fakeKube{answer: func(r *http.Request, body []byte) (int, string) {
			if r.Method == http.MethodGet {
				rv := tc.gets[gets]
				gets++
				if rv == "" {
					return 404, kubeStatusJSON(404, metav1.StatusReasonNotFound)
				}
				return 200, current(rv)
			}
			var m struct {
				Metadata struct{ ResourceVersion string } `json:"metadata"`
			}
			_ = json.Unmarshal(body, &m)
			if tc.puts != nil {
				if code, s := tc.puts(m.Metadata.ResourceVersion); code != 200 {
					return code, kubeStatusJSON(code, s.Reason)
				}
			}
			return 200, string(body)
		}}
		answer, err := f.api(t).update(ctx, path, url.Values{"fieldManager": {"m"}}, object(tc.rv))
		if err != nil || answer.status != tc.status || !reflect.DeepEqual(f.requests, tc.want) {
			t.Errorf("%s: HTTP %d %s (%v)\nrequests %q\n    want %q", tc.name, answer.status, answer.body, err, f.requests, tc.want)
		}
	}
}

func TestCRAPIByName(t *testing.T) {
	ctx := context.Background()
	crds := "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
	list := `{"kind": "CustomResourceDefinitionList", "items": [{"metadata": {"name": "crontabs.a.io", "annotations": {"bcs.podyard.io/name": "logcollector.a.io"}}}]}`
	f := &fakeKube{answer: func(r *http.Request, _ []byte) (int, string) {
		switch r.URL.Path {
		case crds:
			return 200, list
		case crds + "/crontabs.a.io":
			return 200, `{"metadata": {"name": "crontabs.a.io"}}`
		}
		return 404, kubeStatusJSON(404, metav1.StatusReasonNotFound)
	}}
	c := f.api(t)
	get := func(path []string) (kubeAnswer, error) { return c.do(ctx, http.MethodGet, path, nil, nil) }
	for _, tc := range []struct {
		name   string
		status int
		want   []string
	}{
		{"crontabs.a.io", 200, []string{"GET " + crds + "/crontabs.a.io"}},
		{"logcollector.a.io", 200, []string{"GET " + crds + "/logcollector.a.io", "GET " + crds, "GET " + crds + "/crontabs.a.io"}},
		{"other.a.io", 404, []string{"GET " + crds + "/other.a.io", "GET " + crds}},
		{"", 200, []string{"GET " + crds}},
	} {
		f.requests = nil
		answer, err := c.byName(ctx, tc.name, get)
		if err != nil || answer.status != tc.status || !reflect.DeepEqual(f.requests, tc.want) {
			t.Errorf("byName(%q): HTTP %d %s (%v), requests %q; want %d after %q", tc.name, answer.status, answer.body, err, f.requests, tc.status, tc.want)
		}
	}
}

// Kubernetes' answers go on as they came: status, body, warnings; one
// that is not JSON becomes a Status with its code.
func TestCRAPIDo(t *testing.T) {
	ctx := context.Background()
	f := &fakeKube{answer: func(r *http.Request, body []byte) (int, string) {
		switch r.URL.Path {
		case "/apis/a.io/v1/xs":
			return 201, `{"kind":"X","z":1,"a":2}`
		case "/apis/a.io/v1/forbidden":
			return 403, kubeStatusJSON(403, metav1.StatusReasonForbidden)
		}
		return 404, "404 page not found"
	}}
	c := f.api(t)
	answer, err := c.do(ctx, http.MethodPost, []string{"/apis", "a.io", "v1", "xs"}, url.Values{"dryRun": {"All"}}, []byte(`{}`))
	if err != nil || answer.status != 201 || string(answer.body) != `{"kind":"X","z":1,"a":2}` ||
		len(answer.warnings) != 1 || answer.warnings[0].Text != "a warning" || f.requests[0] != "POST /apis/a.io/v1/xs?dryRun=All" {
		t.Errorf("POST: HTTP %d %s %v (%v), request %q", answer.status, answer.body, answer.warnings, err, f.requests)
	}
	answer, err = c.do(ctx, http.MethodGet, []string{"/apis", "a.io", "v1", "forbidden"}, nil, nil)
	if err != nil || answer.status != 403 || string(answer.body) != kubeStatusJSON(403, metav1.StatusReasonForbidden) {
		t.Errorf("a Status: HTTP %d %s (%v)", answer.status, answer.body, err)
	}
	answer, err = c.do(ctx, http.MethodGet, []string{"/apis", "b.io", "v1"}, nil, nil)
	var s metav1.Status
	if err != nil || answer.status != 404 || json.Unmarshal(answer.body, &s) != nil || s.Kind != "Status" || s.Code != 404 || s.Reason != metav1.StatusReasonNotFound {
		t.Errorf("text 404: HTTP %d %s (%v)", answer.status, answer.body, err)
	}
	// No answer at all is an error, not an answer.
	gone := &fakeKube{answer: func(*http.Request, []byte) (int, string) { return 200, "" }}
	c = gone.api(t)
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	if answer, err := c.do(ctx, http.MethodGet, []string{"/apis"}, nil, nil); err == nil {
		t.Errorf("a canceled request: HTTP %d %s, want an error", answer.status, answer.body)
	}
}

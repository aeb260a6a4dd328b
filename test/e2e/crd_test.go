package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
)

// crontabCRD is Kubernetes' documented CronTab example with a structural
// schema (a pattern, a minimum, a default), the status and scale
// subresources and a printer column, in a group of its own.
func crontabCRD(group string) string {
	return fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.%[1]s
spec:
  group: %[1]s
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct%[2]s]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    additionalPrinterColumns:
    - {name: Schedule, type: string, jsonPath: .spec.cronSpec}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: What the CronTab runs and when.
            properties:
              cronSpec: {type: string, pattern: '^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$'}
              image: {type: string}
              replicas: {type: integer, minimum: 1, default: 1}
          status:
            type: object
            properties:
              replicas: {type: integer}
`, group, strings.ReplaceAll(group, ".", ""))
}

// TestCRD: CustomResourceDefinitions are Kubernetes' own (apiextensions-apiserver
// behind Podyard's server): kubectl apply of a CRD and of its objects (no
// --validate=false), structural-schema validation and defaulting, the
// status and scale subresources, printer columns, explain, server-side
// apply, watch, discovery, and deletion of the CRD removing its objects.
func TestCRD(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	group := "e2e-" + rand.String(5) + ".example.com"
	crdName := "crontabs." + group
	short := "ct" + strings.ReplaceAll(group, ".", "")
	extensions := apiextensionsclient.NewForConfigOrDie(s.Config)
	t.Cleanup(func() {
		_ = extensions.ApiextensionsV1().CustomResourceDefinitions().Delete(context.Background(), crdName, metav1.DeleteOptions{})
	})

	if out, errOut, err := s.KubectlResult(crontabCRD(group), "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply CRD: %v\n%s%s", err, out, errOut)
	}
	s.Kubectl("wait", "--for=condition=Established", "--timeout=30s", "crd/"+crdName)

	resource := schema.GroupVersionResource{Group: group, Version: "v1", Resource: "crontabs"}
	dyn := dynamic.NewForConfigOrDie(s.Config)
	crontabs := dyn.Resource(resource).Namespace(ns)
	w, err := crontabs.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch crontabs: %v", err)
	}
	defer w.Stop()

	obj := func(name, cron string) string {
		return fmt.Sprintf("apiVersion: %s/v1\nkind: CronTab\nmetadata: {name: %s, namespace: %s}\nspec: {cronSpec: %q, image: my-cron-image}\n", group, name, ns, cron)
	}
	if out, errOut, err := s.KubectlResult(obj("nightly", "0 3 * * *"), "create", "-f", "-"); err != nil {
		t.Fatalf("kubectl create CronTab: %v\n%s%s", err, out, errOut)
	}
	got, err := crontabs.Get(ctx, "nightly", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _ := unstructured.NestedInt64(got.Object, "spec", "replicas"); r != 1 {
		t.Errorf("spec.replicas defaulted to %d, want 1", r)
	}
	expectEvent(t, w, watch.Added, "nightly")

	// The schema refuses what it does not allow, with its field paths.
	bad := fmt.Sprintf("apiVersion: %s/v1\nkind: CronTab\nmetadata: {name: bad, namespace: %s}\nspec: {cronSpec: nope, replicas: 0}\n", group, ns)
	_, errOut, err := s.KubectlResult(bad, "apply", "-f", "-")
	if err == nil || !strings.Contains(errOut, "spec.replicas: Invalid value: 0") || !strings.Contains(errOut, "spec.cronSpec") {
		t.Errorf("kubectl apply of an invalid CronTab: err %v, stderr %s", err, errOut)
	}
	unknown := fmt.Sprintf("apiVersion: %s/v1\nkind: CronTab\nmetadata: {name: bad, namespace: %s}\nspec: {cronSpec: '* * * * *', extra: 1}\n", group, ns)
	if _, errOut, err := s.KubectlResult(unknown, "apply", "-f", "-"); err == nil || !strings.Contains(errOut, `unknown field "spec.extra"`) {
		t.Errorf("kubectl apply with an unknown field: err %v, stderr %s", err, errOut)
	}

	// Printer columns and the short name reach kubectl get.
	if out := s.Kubectl("get", short, "-n", ns); !strings.Contains(out, "SCHEDULE") || !strings.Contains(out, "0 3 * * *") {
		t.Errorf("kubectl get %s:\n%s", short, out)
	}
	if out := s.Kubectl("explain", "crontabs.spec", "--api-version="+group+"/v1"); !strings.Contains(out, "What the CronTab runs and when") || !strings.Contains(out, "cronSpec") {
		t.Errorf("kubectl explain:\n%s", out)
	}

	// Scale and status subresources.
	s.Kubectl("scale", "crontabs."+group, "nightly", "-n", ns, "--replicas=3")
	got, err = crontabs.Get(ctx, "nightly", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _ := unstructured.NestedInt64(got.Object, "spec", "replicas"); r != 3 {
		t.Errorf("after kubectl scale: spec.replicas %d, want 3", r)
	}
	expectEvent(t, w, watch.Modified, "nightly")
	_ = unstructured.SetNestedField(got.Object, int64(3), "status", "replicas")
	_ = unstructured.SetNestedField(got.Object, "9 9 * * *", "spec", "cronSpec") // ignored on /status
	if _, err := crontabs.UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update status: %v", err)
	}
	got, _ = crontabs.Get(ctx, "nightly", metav1.GetOptions{})
	if r, _, _ := unstructured.NestedInt64(got.Object, "status", "replicas"); r != 3 {
		t.Errorf("status.replicas %d after the status update, want 3", r)
	}
	if c, _, _ := unstructured.NestedString(got.Object, "spec", "cronSpec"); c != "0 3 * * *" {
		t.Errorf("a status update changed spec.cronSpec to %q", c)
	}

	// Server-side apply: a second manager owns the image.
	apply := fmt.Sprintf("apiVersion: %s/v1\nkind: CronTab\nmetadata: {name: nightly, namespace: %s}\nspec: {image: other-image}\n", group, ns)
	if out, errOut, err := s.KubectlResult(apply, "apply", "--server-side", "--field-manager=e2e-ssa", "-f", "-"); err == nil {
		t.Errorf("server-side apply over another manager's field should conflict: %s", out)
	} else if !strings.Contains(errOut, "conflict") {
		t.Errorf("server-side apply conflict: %v %s", err, errOut)
	}
	if _, errOut, err := s.KubectlResult(apply, "apply", "--server-side", "--field-manager=e2e-ssa", "--force-conflicts", "-f", "-"); err != nil {
		t.Fatalf("server-side apply --force-conflicts: %v %s", err, errOut)
	}
	got, _ = crontabs.Get(ctx, "nightly", metav1.GetOptions{})
	if img, _, _ := unstructured.NestedString(got.Object, "spec", "image"); img != "other-image" {
		t.Errorf("spec.image %q after server-side apply", img)
	}
	managers := map[string]bool{}
	for _, m := range got.GetManagedFields() {
		managers[m.Manager] = true
	}
	if !managers["e2e-ssa"] {
		t.Errorf("managedFields lack the apply manager: %v", managers)
	}

	// Discovery lists the group, aggregated (kubectl) and per group.
	if out := s.Kubectl("api-resources", "--api-group="+group, "--no-headers"); !strings.Contains(out, "crontabs") || !strings.Contains(out, short) {
		t.Errorf("kubectl api-resources: %q", out)
	}

	// ... and unaggregated (clients that do not ask for aggregated discovery).
	for _, want := range []string{`"name":"` + group + `"`, `"name":"apiextensions.k8s.io"`, `"name":"admissionregistration.k8s.io"`} {
		if out := s.Kubectl("get", "--raw", "/apis"); !strings.Contains(out, want) {
			t.Errorf("unaggregated /apis lacks %s: %s", want, out)
		}
	}

	// kubectl create -f validates kinds without a fieldValidation parameter
	// (create-only kinds) on the client, which lists CRDs: no --validate=false.
	ssar := "apiVersion: authorization.k8s.io/v1\nkind: SelfSubjectAccessReview\nspec: {resourceAttributes: {verb: list, resource: pods}}\n"
	if out, errOut, err := s.KubectlResult(ssar, "create", "-f", "-", "-o", "jsonpath={.status.allowed}"); err != nil || out != "true" {
		t.Errorf("kubectl create -f SelfSubjectAccessReview: %q %v %s", out, err, errOut)
	}

	// Deleting the CRD deletes its objects; a new CRD of the same name starts empty.
	s.Kubectl("delete", "crd", crdName, "--wait=true")
	if _, err := extensions.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crdName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("CRD still there after kubectl delete --wait: %v", err)
	}
	if out, errOut, err := s.KubectlResult(crontabCRD(group), "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply CRD again: %v\n%s%s", err, out, errOut)
	}
	s.Kubectl("wait", "--for=condition=Established", "--timeout=30s", "crd/"+crdName)
	waitFor(t, "the recreated CRD served", func() bool {
		list, err := crontabs.List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		if len(list.Items) != 0 {
			t.Fatalf("objects survived their CRD: %d", len(list.Items))
		}
		return true
	})
}

// expectEvent waits for the next event on w of type typ for the object name.
func expectEvent(t *testing.T, w watch.Interface, typ watch.EventType, name string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch ended before %s %s", typ, name)
			}
			if u, isObj := ev.Object.(*unstructured.Unstructured); isObj && ev.Type == typ && u.GetName() == name {
				return
			}
		case <-timeout:
			t.Fatalf("no %s event for %s", typ, name)
		}
	}
}

// TestCRDConversionWebhook: a CRD served in two versions converts between
// them through its conversion webhook (spec.cronSpec in v1 is
// spec.schedule in v2), called by apiextensions-apiserver with the CA
// bundle the CRD gives.
func TestCRDConversionWebhook(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	group := "conv-" + rand.String(5) + ".example.com"
	crdName := "crontabs." + group
	extensions := apiextensionsclient.NewForConfigOrDie(s.Config)
	t.Cleanup(func() {
		_ = extensions.ApiextensionsV1().CustomResourceDefinitions().Delete(context.Background(), crdName, metav1.DeleteOptions{})
	})

	hook := startWebhookServer(t, "127.0.0.1", nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review apiextensionsv1.ConversionReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, "not a ConversionReview", http.StatusBadRequest)
			return
		}
		resp := &apiextensionsv1.ConversionResponse{UID: review.Request.UID, Result: metav1.Status{Status: metav1.StatusSuccess}}
		for _, raw := range review.Request.Objects {
			var obj map[string]any
			_ = json.Unmarshal(raw.Raw, &obj)
			spec, _ := obj["spec"].(map[string]any)
			if review.Request.DesiredAPIVersion == group+"/v2" {
				spec["schedule"] = spec["cronSpec"]
				delete(spec, "cronSpec")
			} else {
				spec["cronSpec"] = spec["schedule"]
				delete(spec, "schedule")
			}
			obj["apiVersion"] = review.Request.DesiredAPIVersion
			b, _ := json.Marshal(obj)
			resp.ConvertedObjects = append(resp.ConvertedObjects, k8sruntime.RawExtension{Raw: b})
		}
		review.Response, review.Request = resp, nil
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(&review)
	}))
	url := hook.URL + "/convert"
	schemaOf := func(field string) *apiextensionsv1.CustomResourceValidation {
		return &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
			Type:       "object",
			Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{field: {Type: "string"}}}},
		}}
	}
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: crdName},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group,
			Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "crontabs", Singular: "crontab", Kind: "CronTab"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
				{Name: "v1", Served: true, Storage: true, Schema: schemaOf("cronSpec")},
				{Name: "v2", Served: true, Schema: schemaOf("schedule")},
			},
			Conversion: &apiextensionsv1.CustomResourceConversion{
				Strategy: apiextensionsv1.WebhookConverter,
				Webhook: &apiextensionsv1.WebhookConversion{
					ClientConfig:             &apiextensionsv1.WebhookClientConfig{URL: &url, CABundle: hook.CABundle},
					ConversionReviewVersions: []string{"v1"},
				},
			},
		},
	}
	if _, err := extensions.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Kubectl("wait", "--for=condition=Established", "--timeout=30s", "crd/"+crdName)
	dyn := dynamic.NewForConfigOrDie(s.Config)
	v1 := dyn.Resource(schema.GroupVersionResource{Group: group, Version: "v1", Resource: "crontabs"}).Namespace(ns)
	v2 := dyn.Resource(schema.GroupVersionResource{Group: group, Version: "v2", Resource: "crontabs"}).Namespace(ns)
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": group + "/v1", "kind": "CronTab",
		"metadata": map[string]any{"name": "nightly"},
		"spec":     map[string]any{"cronSpec": "0 3 * * *"},
	}}
	waitFor(t, "the CRD served", func() bool {
		_, err := v1.Create(ctx, obj, metav1.CreateOptions{})
		return err == nil || apierrors.IsAlreadyExists(err)
	})
	got, err := v2.Get(ctx, "nightly", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get as v2: %v", err)
	}
	if sched, _, _ := unstructured.NestedString(got.Object, "spec", "schedule"); sched != "0 3 * * *" {
		t.Errorf("v2 object %v: spec.schedule %q, want the v1 cronSpec converted", got.Object["spec"], sched)
	}
	// Written as v2, stored as v1, read back as v1.
	_ = unstructured.SetNestedField(got.Object, "0 4 * * *", "spec", "schedule")
	if _, err := v2.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update as v2: %v", err)
	}
	back, err := v1.Get(ctx, "nightly", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c, _, _ := unstructured.NestedString(back.Object, "spec", "cronSpec"); c != "0 4 * * *" {
		t.Errorf("v1 after a v2 update: spec %v", back.Object["spec"])
	}
}

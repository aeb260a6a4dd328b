package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/podyard/podyard/internal/pki"
)

// webhookServer is an admission webhook on a port of its own, serving https
// with a certificate from a CA of its own.
type webhookServer struct {
	URL      string // https://host:port
	Port     int32
	CABundle []byte
}

// startWebhookServer serves handler on host (a free port) with a certificate
// for host and sans; it stops when the test ends.
func startWebhookServer(t *testing.T, host string, sans []string, handler http.Handler) *webhookServer {
	t.Helper()
	creds, err := pki.Ensure(t.TempDir(), append([]string{host}, sans...))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(creds.ServingCertFile, creds.ServingKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(creds.CACertFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	return &webhookServer{URL: "https://" + net.JoinHostPort(host, strconv.Itoa(port)), Port: int32(port), CABundle: caPEM}
}

// reviewPods answers AdmissionReviews of pods with decide's response.
func reviewPods(decide func(pod *corev1.Pod) *admissionv1.AdmissionResponse) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var review admissionv1.AdmissionReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
			return
		}
		var pod corev1.Pod
		if err := json.Unmarshal(review.Request.Object.Raw, &pod); err != nil {
			http.Error(w, "not a pod: "+err.Error(), http.StatusBadRequest)
			return
		}
		resp := decide(&pod)
		resp.UID = review.Request.UID
		review.Response = resp
		review.Request = nil
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(&review)
	}
}

// addLabel is a mutating webhook's answer that adds key=value to a pod.
func addLabel(pod *corev1.Pod, key, value string) *admissionv1.AdmissionResponse {
	op := []map[string]any{{"op": "add", "path": "/metadata/labels/" + key, "value": value}}
	if pod.Labels == nil {
		op = []map[string]any{{"op": "add", "path": "/metadata/labels", "value": map[string]string{key: value}}}
	}
	patch, _ := json.Marshal(op)
	patchType := admissionv1.PatchTypeJSONPatch
	return &admissionv1.AdmissionResponse{Allowed: true, Patch: patch, PatchType: &patchType}
}

// TestAdmissionWebhooks: Kubernetes' admission webhooks, configured with
// admissionregistration.k8s.io/v1 and called by k8s.io/apiserver's plugins:
// a mutating webhook (given by URL) labels pods made with kubectl and the
// taskgroups of a BCS application, a second one (given by a Service, reached
// at its ready pod) runs after it; a validating webhook's denial reaches
// kubectl; namespaceSelector and objectSelector limit them; failurePolicy
// decides what an unreachable webhook means.
func TestAdmissionWebhooks(t *testing.T) {
	s, nodeName := SharedCluster(t)
	ns := s.Namespace(t)
	other := s.Namespace(t)
	ctx := context.Background()
	if _, err := s.Client.CoreV1().Namespaces().Patch(ctx, ns, "application/merge-patch+json",
		[]byte(`{"metadata":{"labels":{"e2e-webhooks":"on"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	var mu sync.Mutex
	calls := map[string]int{} // pod name → calls of the URL hook
	mux.Handle("/mutate", reviewPods(func(pod *corev1.Pod) *admissionv1.AdmissionResponse {
		mu.Lock()
		calls[pod.Name]++
		mu.Unlock()
		if pod.Labels["webhooked"] == "url" {
			return &admissionv1.AdmissionResponse{Allowed: true} // reinvoked: nothing more to do
		}
		return addLabel(pod, "webhooked", "url")
	}))
	mux.Handle("/validate", reviewPods(func(pod *corev1.Pod) *admissionv1.AdmissionResponse {
		if pod.Labels["deny"] == "yes" {
			return &admissionv1.AdmissionResponse{Result: &metav1.Status{Code: http.StatusForbidden, Message: "the e2e webhook refuses pods labelled deny=yes"}}
		}
		return &admissionv1.AdmissionResponse{Allowed: true}
	}))
	byURL := startWebhookServer(t, "127.0.0.1", nil, mux)

	// The Service's webhook runs on the address the node's pods have.
	node, err := s.Client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nodeIP := ""
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			nodeIP = a.Address
		}
	}
	bySvc := startWebhookServer(t, nodeIP, []string{"webhook-backend." + ns + ".svc"},
		reviewPods(func(pod *corev1.Pod) *admissionv1.AdmissionResponse {
			if pod.Labels["webhooked"] != "url" {
				return &admissionv1.AdmissionResponse{Result: &metav1.Status{Message: "the URL webhook has not run first"}}
			}
			return addLabel(pod, "second", "service")
		}))
	backend := newPod("backend", map[string]string{"app": "webhook-backend", "skip-webhooks": "yes"})
	if _, err := s.Client.CoreV1().Pods(ns).Create(ctx, backend, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "webhook-backend"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "webhook-backend"},
			Ports:    []corev1.ServicePort{{Port: 443, TargetPort: intstr.FromInt32(bySvc.Port)}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, s, ns, "backend", "ready", podReady)

	inNamespace := &metav1.LabelSelector{MatchLabels: map[string]string{"e2e-webhooks": "on"}}
	notSkipped := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "skip-webhooks", Operator: metav1.LabelSelectorOpDoesNotExist}}}
	podRules := []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
	}}
	none := admissionregistrationv1.SideEffectClassNone
	fail := admissionregistrationv1.Fail
	mutatingName := "e2e-" + ns
	url := byURL.URL + "/mutate"
	mutating := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: mutatingName},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "label.e2e.podyard.io",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: byURL.CABundle},
			Rules:                   podRules,
			NamespaceSelector:       inNamespace,
			ObjectSelector:          notSkipped,
			SideEffects:             &none,
			FailurePolicy:           &fail,
			TimeoutSeconds:          ptr.To[int32](5),
			AdmissionReviewVersions: []string{"v1"},
			// The Service's hook changes the pod after this one: called again.
			ReinvocationPolicy: ptr.To(admissionregistrationv1.IfNeededReinvocationPolicy),
		}, {
			Name: "service.e2e.podyard.io",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{
				Service:  &admissionregistrationv1.ServiceReference{Namespace: ns, Name: "webhook-backend", Path: ptr.To("/"), Port: ptr.To[int32](443)},
				CABundle: bySvc.CABundle,
			},
			Rules:                   podRules,
			NamespaceSelector:       inNamespace,
			ObjectSelector:          notSkipped,
			SideEffects:             &none,
			FailurePolicy:           &fail,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	webhooks := s.Client.AdmissionregistrationV1()
	if _, err := webhooks.MutatingWebhookConfigurations().Create(ctx, mutating, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = webhooks.MutatingWebhookConfigurations().Delete(context.Background(), mutatingName, metav1.DeleteOptions{})
	})
	validateURL := byURL.URL + "/validate"
	if _, err := webhooks.ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: mutatingName},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "deny.e2e.podyard.io",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &validateURL, CABundle: byURL.CABundle},
			Rules:                   podRules,
			NamespaceSelector:       inNamespace,
			SideEffects:             &none,
			FailurePolicy:           &fail,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = webhooks.ValidatingWebhookConfigurations().Delete(context.Background(), mutatingName, metav1.DeleteOptions{})
	})

	// The plugins see configurations through informers: wait until a
	// dry-run create comes back labelled.
	dryRunLabels := func(namespace string, labels map[string]string) (map[string]string, error) {
		pod, err := s.Client.CoreV1().Pods(namespace).Create(ctx, newPod("dry-"+strconv.Itoa(len(labels)), labels), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return nil, err
		}
		return pod.Labels, nil
	}
	waitFor(t, "the webhooks to take effect", func() bool {
		labels, err := dryRunLabels(ns, map[string]string{"app": "x"})
		return err == nil && labels["webhooked"] == "url" && labels["second"] == "service"
	})

	// kubectl run: both mutations, in order.
	s.Kubectl("run", "labelled", "-n", ns, "--image=busybox", "--command", "--", "sleep", "3600")
	pod, err := s.Client.CoreV1().Pods(ns).Get(ctx, "labelled", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Labels["webhooked"] != "url" || pod.Labels["second"] != "service" {
		t.Errorf("kubectl run: labels %v, want webhooked=url and second=service", pod.Labels)
	}

	mu.Lock()
	if calls["labelled"] != 2 {
		t.Errorf("reinvocationPolicy IfNeeded: the URL hook was called %d times for one create, want 2", calls["labelled"])
	}
	mu.Unlock()

	// The validating webhook's denial reaches kubectl.
	_, errOut, err := s.KubectlResult("", "run", "denied", "-n", ns, "--image=busybox", "--labels=deny=yes", "--command", "--", "sleep", "3600")
	if err == nil || !strings.Contains(errOut, `admission webhook "deny.e2e.podyard.io" denied the request: the e2e webhook refuses pods labelled deny=yes`) {
		t.Errorf("kubectl run of a denied pod: err %v, stderr %q", err, errOut)
	}

	// objectSelector and namespaceSelector leave others alone.
	if labels, err := dryRunLabels(ns, map[string]string{"skip-webhooks": "yes"}); err != nil || labels["webhooked"] != "" {
		t.Errorf("objectSelector: labels %v, err %v", labels, err)
	}
	if labels, err := dryRunLabels(other, map[string]string{"app": "x"}); err != nil || labels["webhooked"] != "" {
		t.Errorf("namespaceSelector: a pod elsewhere got labels %v, err %v", labels, err)
	}

	// A BCS application's taskgroups are pods like any other.
	api := newBCSAPI(t, s)
	if err := api.CreateApplication(ctx, ns, bcsApp(ns, "webhooked-app", 1, "sleep 3600", "")); err != nil {
		t.Fatalf("create BCS application: %v", err)
	}
	t.Cleanup(func() { _ = api.DeleteApplication(context.Background(), ns, "webhooked-app", true) })
	waitFor(t, "the application's taskgroup", func() bool {
		pods, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "webhooked=url"})
		if err != nil {
			return false
		}
		for _, p := range pods.Items {
			if len(p.OwnerReferences) == 1 && p.OwnerReferences[0].Kind == "Application" {
				return p.Labels["second"] == "service"
			}
		}
		return false
	})

	// failurePolicy: an unreachable webhook is skipped with Ignore and
	// refuses with Fail.
	setURL := func(u string, policy admissionregistrationv1.FailurePolicyType) {
		t.Helper()
		cur, err := webhooks.MutatingWebhookConfigurations().Get(ctx, mutatingName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cur.Webhooks[0].ClientConfig.URL = &u
		cur.Webhooks[0].FailurePolicy = &policy
		cur.Webhooks = cur.Webhooks[:1]
		if _, err := webhooks.MutatingWebhookConfigurations().Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	dead := "https://127.0.0.1:" + strconv.Itoa(freePort(t)) + "/mutate"
	setURL(dead, admissionregistrationv1.Ignore)
	waitFor(t, "failurePolicy Ignore to take effect", func() bool {
		labels, err := dryRunLabels(ns, map[string]string{"app": "x"})
		return err == nil && labels["webhooked"] == ""
	})
	setURL(dead, admissionregistrationv1.Fail)
	waitFor(t, "failurePolicy Fail to take effect", func() bool {
		_, err := dryRunLabels(ns, map[string]string{"app": "x"})
		return err != nil && strings.Contains(err.Error(), `failed calling webhook "label.e2e.podyard.io"`)
	})
}

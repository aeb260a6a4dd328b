// Command webhookload measures what one mutating admission webhook costs pod
// creates: creates per second (1 and 32 clients) and the latency of one
// create, with the webhook configured and without, alternating in the same
// run; beside them the webhook's own round trip, measured by POSTing an
// AdmissionReview to it directly. The webhook (https, on loopback, in this
// process) adds a label to every pod.
//
// It starts `podyard server --scheduler=false` (--podyard) on a fresh data
// dir and a free port, and stops it at the end.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/podyard/podyard/bench/internal/benchutil"
	"github.com/podyard/podyard/internal/pki"
)

const (
	namespace     = "bench-webhook"
	configName    = "bench-label"
	labelKey      = "webhooked"
	roundTripRuns = 500
)

func main() {
	podyard := flag.String("podyard", "bin/podyard", "podyard binary to start")
	runs := flag.Int("runs", 5, "rounds; each measures both modes")
	creates := flag.Int("creates", 500, "pods created per rate measurement")
	latencies := flag.Int("latency-creates", 200, "sequential creates per latency measurement")
	cpuProfile := flag.String("cpuprofile", "", "write the server's CPU profile of the first 32-client run with the webhook to this file")
	flag.Parse()
	if err := run(context.Background(), *podyard, *runs, *creates, *latencies, *cpuProfile); err != nil {
		fmt.Fprintln(os.Stderr, "webhookload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, bin string, runs, creates, latencies int, cpuProfile string) error {
	server, err := benchutil.Start(ctx, bin, nil, "server", "--scheduler=false")
	if err != nil {
		return err
	}
	defer func() { server.Stop(); server.Remove() }()
	cfg, err := clientcmd.BuildConfigFromFlags("", server.Kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.QPS = -1
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("namespace: %w", err)
	}
	hook, err := startWebhook(server.DataDir)
	if err != nil {
		return err
	}
	defer hook.Close()

	fmt.Printf("Podyard admission webhook benchmark, %s\n\n", time.Now().UTC().Format(time.RFC3339))
	benchutil.Header()
	rtt, err := hook.roundTrips(ctx, roundTripRuns)
	if err != nil {
		return err
	}
	benchutil.Row("baseline: webhook round trip (direct POST)", benchutil.Pct(rtt, 50), benchutil.Pct(rtt, 99), len(rtt), "ms")

	type figures struct{ rate1, rate32, latency, serverCPU []float64 }
	results := map[bool]*figures{false: {}, true: {}}
	seq := 0
	for round := range runs {
		for _, withHook := range []bool{round%2 == 1, round%2 == 0} { // alternate which goes first
			if err := configure(ctx, client, hook, withHook); err != nil {
				return err
			}
			f := results[withHook]
			for _, clients := range []int{1, 32} {
				seq++
				var profiled chan error
				if cpuProfile != "" && withHook && clients == 32 {
					profiled = make(chan error, 1)
					go func(file string) { profiled <- profile(ctx, client, file) }(cpuProfile)
					cpuProfile = ""
				}
				cpuBefore, cpuErr := server.CPU()
				rate, err := benchutil.CreateRate(ctx, func(ctx context.Context, name string) error {
					_, err := client.CoreV1().Pods(namespace).Create(ctx, benchPod(name), metav1.CreateOptions{})
					return err
				}, fmt.Sprintf("r%d", seq), clients, creates)
				if cpuAfter, err := server.CPU(); err == nil && cpuErr == nil && clients == 32 {
					f.serverCPU = append(f.serverCPU, float64((cpuAfter-cpuBefore).Microseconds())/float64(creates))
				}
				if profiled != nil {
					if err := <-profiled; err != nil {
						return err
					}
				}
				if err != nil {
					return err
				}
				if clients == 1 {
					f.rate1 = append(f.rate1, rate)
				} else {
					f.rate32 = append(f.rate32, rate)
				}
			}
			seq++
			lat, err := createLatencies(ctx, client, fmt.Sprintf("l%d", seq), latencies)
			if err != nil {
				return err
			}
			f.latency = append(f.latency, lat...)
			if err := client.CoreV1().Pods(namespace).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}, metav1.ListOptions{}); err != nil {
				return fmt.Errorf("delete pods: %w", err)
			}
		}
	}
	for _, withHook := range []bool{false, true} {
		what := "no webhook"
		if withHook {
			what = "1 mutating webhook"
		}
		f := results[withHook]
		benchutil.Row("pod creates/s, 1 client, "+what, benchutil.Median(f.rate1), 0, len(f.rate1), "/s")
		benchutil.Row("pod creates/s, 32 clients, "+what, benchutil.Median(f.rate32), 0, len(f.rate32), "/s")
		benchutil.Row("create latency, "+what, benchutil.Pct(f.latency, 50), benchutil.Pct(f.latency, 99), len(f.latency), "ms")
		benchutil.Row("  server CPU per create (32 clients), "+what, benchutil.Median(f.serverCPU), 0, len(f.serverCPU), "µs")
	}
	fmt.Printf("\nwebhook calls served: %d, on %d connections\n", hook.calls.Load(), hook.conns.Load())
	return nil
}

// configure creates or deletes the mutating webhook configuration and waits
// until a dry-run create shows it in effect (or no longer).
func configure(ctx context.Context, client kubernetes.Interface, hook *webhook, on bool) error {
	configs := client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	if on {
		none := admissionregistrationv1.SideEffectClassNone
		fail := admissionregistrationv1.Fail
		url := hook.url
		_, err := configs.Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: configName},
			Webhooks: []admissionregistrationv1.MutatingWebhook{{
				Name:         "label.bench.podyard.io",
				ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: hook.caPEM},
				Rules: []admissionregistrationv1.RuleWithOperations{{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
				}},
				SideEffects: &none, FailurePolicy: &fail, AdmissionReviewVersions: []string{"v1"},
			}},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("webhook configuration: %w", err)
		}
	} else if err := configs.Delete(ctx, configName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("webhook configuration: %w", err)
	}
	return wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		pod, err := client.CoreV1().Pods(namespace).Create(ctx, benchPod("probe"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return false, nil
		}
		_, labelled := pod.Labels[labelKey]
		return labelled == on, nil
	})
}

func benchPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "bench"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "busybox:1.36", Command: []string{"sleep", "3600"},
		}}},
	}
}

// createLatencies creates n pods one after another and returns each
// create's latency in milliseconds.
func createLatencies(ctx context.Context, client kubernetes.Interface, prefix string, n int) ([]float64, error) {
	out := make([]float64, 0, n)
	for i := range n {
		start := time.Now()
		if _, err := client.CoreV1().Pods(namespace).Create(ctx, benchPod(prefix+"-"+strconv.Itoa(i)), metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("create: %w", err)
		}
		out = append(out, float64(time.Since(start).Microseconds())/1000)
	}
	return out, nil
}

// webhook is the mutating webhook under measurement.
type webhook struct {
	url   string
	caPEM []byte
	srv   *http.Server
	calls atomic.Int64
	conns atomic.Int64 // connections the API server opened
}

func startWebhook(dir string) (*webhook, error) {
	creds, err := pki.Ensure(dir+"/webhook", nil)
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(creds.ServingCertFile, creds.ServingKeyFile)
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(creds.CACertFile)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &webhook{caPEM: caPEM, url: "https://" + ln.Addr().String() + "/mutate"}
	h.srv = &http.Server{Handler: http.HandlerFunc(h.serve), TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		ConnState: func(_ net.Conn, state http.ConnState) {
			if state == http.StateNew {
				h.conns.Add(1)
			}
		}}
	go func() { _ = h.srv.ServeTLS(ln, "", "") }()
	return h, nil
}

func (h *webhook) Close() { _ = h.srv.Close() }

// serve adds the label to the pod under review.
func (h *webhook) serve(w http.ResponseWriter, r *http.Request) {
	h.calls.Add(1)
	var review admissionv1.AdmissionReview
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
		http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
		return
	}
	patch := []byte(`[{"op":"add","path":"/metadata/labels/` + labelKey + `","value":"yes"}]`)
	patchType := admissionv1.PatchTypeJSONPatch
	review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true, Patch: patch, PatchType: &patchType}
	review.Request = nil
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(&review)
}

// roundTrips POSTs an AdmissionReview of a pod n times over one kept-alive
// TLS connection, as the API server's webhook client does, and returns each
// round trip in milliseconds.
func (h *webhook) roundTrips(ctx context.Context, n int) ([]float64, error) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(h.caPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	raw, err := json.Marshal(benchPod("direct"))
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request:  &admissionv1.AdmissionRequest{UID: "direct", Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}},
	})
	if err != nil {
		return nil, err
	}
	out := make([]float64, 0, n)
	for range n {
		start := time.Now()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("webhook round trip: %w", err)
		}
		var review admissionv1.AdmissionReview
		err = json.NewDecoder(resp.Body).Decode(&review)
		resp.Body.Close()
		if err != nil || review.Response == nil || !review.Response.Allowed {
			return nil, fmt.Errorf("webhook round trip: unexpected answer (%v)", err)
		}
		out = append(out, float64(time.Since(start).Microseconds())/1000)
	}
	h.calls.Store(0)
	h.conns.Store(0)
	return out, nil
}

// profile writes 3 seconds of the server's CPU profile (its /debug/pprof)
// to file.
func profile(ctx context.Context, client kubernetes.Interface, file string) error {
	data, err := client.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").Param("seconds", "3").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("CPU profile: %w", err)
	}
	return os.WriteFile(file, data, 0o644)
}

// Command bcscommand measures BCS commands: a command `echo hi` to every
// taskgroup of an application of 100 instances, from the POST until GET
// says the summary is done (polled every 20 ms), over the BCS HTTP routes
// as a BCS client calls them. Same-run baselines: 100 sequential execs of
// `echo hi` through pods/exec (SPDY, what kubectl exec costs each), and the
// command to a 1-instance application.
//
// Without --kubeconfig it starts `podyard up` (process runtime, one node)
// on a fresh data dir and measures once podyard has settled; at the end it
// stops podyard and kills its containers.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/podyard/podyard/bench/internal/benchutil"
	bcsapp "github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/dialect/bcs"
)

const (
	bcsNamespace = "bench-cmd" // a DNS label: the Kubernetes namespace too
	poll         = 20 * time.Millisecond
)

type config struct {
	podyard, kubeconfig, upArgs string
	instances, rounds           int
	timeout                     time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.podyard, "podyard", "bin/podyard", "podyard binary to start when --kubeconfig is empty")
	flag.StringVar(&c.kubeconfig, "kubeconfig", "", "measure a running cluster instead of starting one")
	flag.IntVar(&c.instances, "instances", 100, "instances of the application")
	flag.IntVar(&c.rounds, "rounds", 10, "commands measured (after 2 unmeasured)")
	flag.StringVar(&c.upArgs, "up-args", "", "more flags for podyard, space-separated")
	flag.DurationVar(&c.timeout, "timeout", 5*time.Minute, "how long the taskgroups may take to run")
	flag.Parse()
	if err := run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "bcscommand:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	kubeconfig := c.kubeconfig
	var started *benchutil.Podyard
	if kubeconfig == "" {
		args := append([]string{"--max-pods", strconv.Itoa(c.instances + 10)}, strings.Fields(c.upArgs)...)
		p, err := benchutil.Start(ctx, c.podyard, nil, "up", args...)
		if err != nil {
			return err
		}
		defer p.StopCluster()
		kubeconfig, started = p.Kubeconfig, p
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = -1, 0
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return fmt.Errorf("HTTP client: %w", err)
	}
	api := &client{http: httpClient, host: strings.TrimSuffix(cfg.Host, "/")}

	small, big := "small", "big"
	apps := []struct {
		name string
		n    int
	}{{small, 1}, {big, c.instances}}
	for _, a := range apps {
		if err := api.bcs(ctx, http.MethodPost, "/namespaces/"+bcsNamespace+"/applications", appBody(a.name, a.n), nil); err != nil {
			return fmt.Errorf("create application %s: %w", a.name, err)
		}
	}
	defer func() {
		for _, a := range apps {
			_ = api.bcs(context.WithoutCancel(ctx), http.MethodDelete, "/namespaces/"+bcsNamespace+"/applications/"+a.name+"?enforce=1", "", nil)
		}
	}()
	t0 := time.Now()
	for _, a := range apps {
		if err := waitRunning(ctx, api, a.name, a.n, c.timeout); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "the taskgroups run after %.1f s\n", time.Since(t0).Seconds())
	if started != nil {
		waited, idle, err := started.WaitIdle(ctx, 0.25, 3*time.Minute)
		if err != nil {
			return fmt.Errorf("waiting for podyard to settle: %w", err)
		}
		fmt.Fprintf(os.Stderr, "podyard below 25%% of a core after %.1f s more (settled: %v)\n", waited.Seconds(), idle)
	}

	fmt.Printf("Podyard BCS command benchmark, %s, `echo hi`, %d rounds each (sequential)\n\n", time.Now().UTC().Format(time.RFC3339), c.rounds)
	fmt.Printf("%-56s %10s %10s %10s\n", "measurement", "p50", "p90", "max")
	for _, a := range []struct {
		name string
		n    int
	}{{big, c.instances}, {small, 1}} {
		var samples []float64
		for i := range c.rounds + 2 {
			took, err := command(ctx, api, a.name, a.n)
			if err != nil {
				return err
			}
			if i >= 2 {
				samples = append(samples, took.Seconds()*1000)
			}
		}
		what := fmt.Sprintf("command to %d taskgroups, POST to summary.done", a.n)
		if a.n == 1 {
			what = "baseline: " + what
		}
		row(what, samples)
	}

	// Baseline: the same exec, one taskgroup after another, through pods/exec.
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	pods, err := kube.CoreV1().Pods(bcsNamespace).List(ctx, metav1.ListOptions{LabelSelector: bcsapp.LabelApplication + "=" + big})
	if err != nil {
		return err
	}
	var execs []float64
	for round := range 3 {
		t := time.Now()
		for _, p := range pods.Items {
			if err := execEcho(ctx, cfg, kube, p.Name); err != nil {
				return fmt.Errorf("exec in %s: %w", p.Name, err)
			}
		}
		if round > 0 {
			execs = append(execs, time.Since(t).Seconds()*1000)
		}
	}
	row(fmt.Sprintf("baseline: %d sequential pods/exec (SPDY) of echo hi", len(pods.Items)), execs)
	return nil
}

func row(what string, ms []float64) {
	fmt.Printf("%-56s %7.0f ms %7.0f ms %7.0f ms\n", what, benchutil.Pct(ms, 50), benchutil.Pct(ms, 90), benchutil.Pct(ms, 100))
}

// command posts `echo hi` to every taskgroup of app and polls until the
// summary is done; every task must have finished with "hi".
func command(ctx context.Context, api *client, app string, n int) (time.Duration, error) {
	path := "/command/application/" + bcsNamespace + "/" + app
	body := fmt.Sprintf(`{"apiVersion":"v4","kind":"Command","spec":{"commandTargetRef":{"kind":"Application","namespace":%q,"name":%q},"command":["echo","hi"],"reserveSeconds":60}}`, bcsNamespace, app)
	t := time.Now()
	var id string
	if err := api.bcs(ctx, http.MethodPost, path, body, &id); err != nil {
		return 0, err
	}
	for {
		var info struct {
			Status struct {
				Taskgroups []struct {
					Tasks []struct {
						Status      string
						Message     string
						CommInspect *struct{ Stdout string }
					}
				}
				Summary struct {
					Finish int
					Done   bool
				}
			}
		}
		if err := api.bcs(ctx, http.MethodGet, path+"?id="+id, "", &info); err != nil {
			return 0, err
		}
		if info.Status.Summary.Done {
			took := time.Since(t)
			if info.Status.Summary.Finish != n {
				for _, tg := range info.Status.Taskgroups {
					for _, task := range tg.Tasks {
						if task.Status != "finish" {
							return 0, fmt.Errorf("command %s: a task %s: %s", id, task.Status, task.Message)
						}
					}
				}
				return 0, fmt.Errorf("command %s: %d of %d tasks finished", id, info.Status.Summary.Finish, n)
			}
			if out := info.Status.Taskgroups[0].Tasks[0].CommInspect; out == nil || out.Stdout != "hi\n" {
				return 0, fmt.Errorf("command %s: output %+v", id, out)
			}
			return took, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(poll):
		}
	}
}

func execEcho(ctx context.Context, cfg *rest.Config, kube kubernetes.Interface, pod string) error {
	u := kube.CoreV1().RESTClient().Post().Namespace(bcsNamespace).Resource("pods").Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Command: []string{"echo", "hi"}, Stdout: true, Stderr: true}, scheme.ParameterCodec).URL()
	ex, err := remotecommand.NewSPDYExecutor(cfg, "POST", u)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out, Stderr: io.Discard}); err != nil {
		return err
	}
	if out.String() != "hi\n" {
		return fmt.Errorf("output %q", out.String())
	}
	return nil
}

// appBody is a BCS application of n instances of sleep. Each task asks
// for little (so that 100 fit one node) but may use a whole core: a command
// runs in its task's cgroup, and a limit of 0.001 CPU made each `echo`
// take ~400 ms of throttling.
func appBody(name string, n int) string {
	return fmt.Sprintf(`{"apiVersion":"v4","kind":"application",
		"metadata":{"name":%q,"namespace":%q,"labels":{"bench":"bcscommand"}},
		"restartPolicy":{"policy":"Always"},"killPolicy":{"gracePeriod":0},
		"spec":{"instance":%d,"template":{"spec":{"containers":[
			{"image":"none","command":"sleep","args":["3600"],
			 "resources":{"requests":{"cpu":"0.001","memory":"8"},"limits":{"cpu":"1","memory":"64"}}}]}}}}`,
		name, bcsNamespace, n)
}

// waitRunning polls GET taskgroups until the application has n, all Running.
func waitRunning(ctx context.Context, api *client, name string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var tgs []struct{ Status string }
		if err := api.bcs(ctx, http.MethodGet, "/namespaces/"+bcsNamespace+"/applications/"+name+"/taskgroups", "", &tgs); err != nil {
			return err
		}
		running := 0
		for _, tg := range tgs {
			if tg.Status == "Running" {
				running++
			}
		}
		if len(tgs) == n && running == n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("application %s: %d of %d taskgroups Running after %s", name, running, n, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// client sends BCS requests as the kubeconfig's user over one HTTP client.
type client struct {
	http *http.Client
	host string
}

// bcs sends a BCS request, checks the envelope's code and decodes its data
// into out (nil: none).
func (c *client) bcs(ctx context.Context, method, path, body string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.host+"/bcsapi/v4/scheduler/mesos"+path, bytes.NewReader([]byte(body)))
	if err != nil {
		return err
	}
	req.Header.Set(bcs.ClusterHeader, bcs.DefaultClusterID)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	var env struct {
		Code    int
		Message string
		Data    json.RawMessage
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("%s %s: HTTP %d: %w", method, path, resp.StatusCode, err)
	}
	if env.Code != 0 {
		return fmt.Errorf("%s %s: code %d: %s", method, path, env.Code, env.Message)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(env.Data, out)
}

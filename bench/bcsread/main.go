// Command bcsread measures the BCS API's read paths on a large
// application: GET application and GET taskgroups of an application of
// 1,000 instances, over the BCS HTTP routes as a BCS client calls them.
// Same-run baselines: the same two GETs of a one-instance application,
// and the plain Kubernetes list of the big application's Pods (by label,
// from the watch cache, JSON) over the same connection.
//
// Without --kubeconfig it starts `podyard up` (process runtime, one node,
// --max-pods the instances plus 10) on a fresh data dir, so the
// taskgroups run; with --pending it starts `podyard server` (no node), so
// they stay Pending. It measures once podyard has settled (below a quarter
// of a core for 2 s). At the end it stops podyard and kills its containers.
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

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/podyard/podyard/bench/internal/benchutil"
	bcsapp "github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/dialect/bcs"
)

const (
	bcsNamespace = "bench-bcs" // a DNS label: the Kubernetes namespace too
	poll         = 100 * time.Millisecond
)

type config struct {
	podyard, kubeconfig, upArgs string
	instances, requests         int
	pending                     bool
	timeout                     time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.podyard, "podyard", "bin/podyard", "podyard binary to start when --kubeconfig is empty")
	flag.StringVar(&c.kubeconfig, "kubeconfig", "", "measure a running cluster instead of starting one")
	flag.IntVar(&c.instances, "instances", 1000, "instances of the big application")
	flag.IntVar(&c.requests, "requests", 100, "requests of each kind measured (after 10 unmeasured)")
	flag.BoolVar(&c.pending, "pending", false, "start `podyard server` without a node: the taskgroups stay Pending")
	flag.StringVar(&c.upArgs, "up-args", "", "more flags for podyard, space-separated")
	flag.DurationVar(&c.timeout, "timeout", 10*time.Minute, "how long the taskgroups may take to be made (and run)")
	flag.Parse()
	if err := run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "bcsread:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	kubeconfig := c.kubeconfig
	var started *benchutil.Podyard
	if kubeconfig == "" {
		command, args := "up", []string{"--max-pods", strconv.Itoa(c.instances + 10)}
		if c.pending {
			command, args = "server", nil
		}
		p, err := benchutil.Start(ctx, c.podyard, nil, command, append(args, strings.Fields(c.upArgs)...)...)
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
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return fmt.Errorf("HTTP client: %w", err)
	}
	api := &client{http: httpClient, host: strings.TrimSuffix(cfg.Host, "/")}

	small, big := "small", "big"
	for _, a := range []struct {
		name string
		n    int
	}{{small, 1}, {big, c.instances}} {
		if _, err := api.bcs(ctx, http.MethodPost, "/namespaces/"+bcsNamespace+"/applications", appBody(a.name, a.n)); err != nil {
			return fmt.Errorf("create application %s: %w", a.name, err)
		}
	}
	defer func() {
		for _, name := range []string{small, big} {
			_, _ = api.bcs(context.WithoutCancel(ctx), http.MethodDelete, "/namespaces/"+bcsNamespace+"/applications/"+name+"?enforce=1", "")
		}
	}()
	want := "Running"
	if c.pending {
		want = "" // any status: made is enough
	}
	t0 := time.Now()
	for _, a := range []struct {
		name string
		n    int
	}{{small, 1}, {big, c.instances}} {
		if err := waitTaskGroups(ctx, api, a.name, a.n, want, c.timeout); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "the taskgroups are there after %.1f s\n", time.Since(t0).Seconds())
	if started != nil {
		// Measure the reads, not the tail of the start (status writes,
		// events): wait until podyard has settled.
		waited, idle, err := started.WaitIdle(ctx, 0.25, 3*time.Minute)
		if err != nil {
			return fmt.Errorf("waiting for podyard to settle: %w", err)
		}
		fmt.Fprintf(os.Stderr, "podyard below 25%% of a core after %.1f s more (settled: %v)\n", waited.Seconds(), idle)
	}

	appPath := "/namespaces/" + bcsNamespace + "/applications/"
	podsPath := "/api/v1/namespaces/" + bcsNamespace + "/pods?resourceVersion=0&labelSelector=" + bcsapp.LabelApplication + "%3D" + big
	kinds := []struct {
		name string
		get  func() (int, error)
	}{
		{fmt.Sprintf("GET application, %d taskgroups", c.instances), func() (int, error) { return api.bcs(ctx, http.MethodGet, appPath+big, "") }},
		{fmt.Sprintf("GET taskgroups, %d taskgroups", c.instances), func() (int, error) { return api.bcs(ctx, http.MethodGet, appPath+big+"/taskgroups", "") }},
		{"baseline: GET application, 1 taskgroup", func() (int, error) { return api.bcs(ctx, http.MethodGet, appPath+small, "") }},
		{"baseline: GET taskgroups, 1 taskgroup", func() (int, error) { return api.bcs(ctx, http.MethodGet, appPath+small+"/taskgroups", "") }},
		{fmt.Sprintf("baseline: kube list of the %d Pods (cache)", c.instances), func() (int, error) { return api.get(ctx, podsPath) }},
	}
	status := "Running"
	if c.pending {
		status = "Pending"
	}
	fmt.Printf("Podyard BCS read benchmark, %s, %d taskgroups %s, %d requests each (sequential)\n\n",
		time.Now().UTC().Format(time.RFC3339), c.instances, status, c.requests)
	fmt.Printf("%-48s %10s %10s %10s %10s\n", "measurement", "p50", "p90", "p99", "bytes")
	for _, k := range kinds {
		var samples []float64
		size := 0
		for i := range c.requests + 10 {
			t := time.Now()
			n, err := k.get()
			if err != nil {
				return fmt.Errorf("%s: %w", k.name, err)
			}
			if i >= 10 {
				samples = append(samples, float64(time.Since(t).Microseconds())/1000)
			}
			size = n
		}
		fmt.Printf("%-48s %7.1f ms %7.1f ms %7.1f ms %10d\n", k.name,
			benchutil.Pct(samples, 50), benchutil.Pct(samples, 90), benchutil.Pct(samples, 99), size)
	}
	return nil
}

// appBody is a BCS application of n instances of sleep, small enough that
// 1,000 fit one node.
func appBody(name string, n int) string {
	return fmt.Sprintf(`{"apiVersion":"v4","kind":"application",
		"metadata":{"name":%q,"namespace":%q,"labels":{"bench":"bcsread"}},
		"restartPolicy":{"policy":"Always"},"killPolicy":{"gracePeriod":0},
		"spec":{"instance":%d,"template":{"spec":{"containers":[
			{"image":"none","command":"sleep","args":["3600"],"resources":{"limits":{"cpu":"0.001","memory":"8"}}}]}}}}`,
		name, bcsNamespace, n)
}

// waitTaskGroups polls GET taskgroups until the application has n, all
// with status want ("" for any).
func waitTaskGroups(ctx context.Context, api *client, name string, n int, want string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := time.Now()
	for {
		var tgs []struct{ Status string }
		if err := api.bcsData(ctx, "/namespaces/"+bcsNamespace+"/applications/"+name+"/taskgroups", &tgs); err != nil {
			return err
		}
		counts := map[string]int{}
		for _, tg := range tgs {
			counts[tg.Status]++
		}
		if len(tgs) == n && (want == "" || counts[want] == n) {
			return nil
		}
		if time.Since(last) > 10*time.Second {
			fmt.Fprintf(os.Stderr, "%s: %d taskgroups %v\n", name, len(tgs), counts)
			last = time.Now()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("application %s: %d taskgroups %v after %s, want %d %s", name, len(tgs), counts, timeout, n, want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// client sends requests as the kubeconfig's user over one HTTP client.
type client struct {
	http *http.Client
	host string
}

// get reads a path and returns the body's size.
func (c *client) get(ctx context.Context, path string) (int, error) {
	b, err := c.do(ctx, http.MethodGet, path, "", nil)
	return len(b), err
}

// bcs sends a BCS request and checks the envelope's code; it returns the
// answer's size.
func (c *client) bcs(ctx context.Context, method, path, body string) (int, error) {
	b, err := c.do(ctx, method, "/bcsapi/v4/scheduler/mesos"+path, body, map[string]string{bcs.ClusterHeader: bcs.DefaultClusterID})
	if err != nil {
		return 0, err
	}
	var env struct {
		Code    int
		Message string
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if env.Code != 0 {
		return 0, fmt.Errorf("%s %s: code %d: %s", method, path, env.Code, env.Message)
	}
	return len(b), nil
}

// bcsData GETs a BCS path and decodes its data into out.
func (c *client) bcsData(ctx context.Context, path string, out any) error {
	b, err := c.do(ctx, http.MethodGet, "/bcsapi/v4/scheduler/mesos"+path, "", map[string]string{bcs.ClusterHeader: bcs.DefaultClusterID})
	if err != nil {
		return err
	}
	var env struct {
		Code    int
		Message string
		Data    json.RawMessage
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if env.Code != 0 {
		return fmt.Errorf("GET %s: code %d: %s", path, env.Code, env.Message)
	}
	return json.Unmarshal(env.Data, out)
}

func (c *client) do(ctx context.Context, method, path, body string, header map[string]string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.host+path, bytes.NewReader([]byte(body)))
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 && !strings.HasPrefix(path, "/bcsapi/") {
		return nil, fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, b)
	}
	return b, nil
}

// Command bcsdeploy measures BCS deployments' rolling update on Podyard:
// a deployment of N instances (a `sleep` each) updated through the BCS
// API (PUT .../deployments, a new env value, upgradeDuration 0) until the
// deployment is Running again on the new application with N Running
// taskgroups and none of the old left. The same-run baseline is the least
// any replacement of N taskgroups costs: a new application of N made
// until all run, then the old one scaled to 0 until its taskgroups are
// gone, one after the other with no steps.
//
// Without --kubeconfig it starts `podyard up` (--podyard) on a fresh data
// dir and a free port, and at the end stops it and kills its containers.
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
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/podyard/podyard/bench/internal/benchutil"
	bcsapp "github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/dialect/bcs"
)

const (
	namespace = "bench-deploy" // BCS and Kubernetes namespace
	poll      = 10 * time.Millisecond
	timeout   = 3 * time.Minute
)

type config struct {
	podyard, kubeconfig               string
	instances, rounds, surge, unavail int
}

func main() {
	var c config
	flag.StringVar(&c.podyard, "podyard", "bin/podyard", "podyard binary to start (`podyard up`) when --kubeconfig is empty")
	flag.StringVar(&c.kubeconfig, "kubeconfig", "", "measure a running cluster with at least one node instead of starting one")
	flag.IntVar(&c.instances, "instances", 20, "instances of the deployment")
	flag.IntVar(&c.rounds, "rounds", 5, "rolling updates measured")
	flag.IntVar(&c.surge, "max-surge", 1, "the update's maxSurge")
	flag.IntVar(&c.unavail, "max-unavailable", 1, "the update's maxUnavilable")
	flag.Parse()
	if err := run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "bcsdeploy:", err)
		os.Exit(1)
	}
}

// bcsAPI calls the BCS API with the kubeconfig's credentials.
type bcsAPI struct {
	http *http.Client
	base string
}

func (b bcsAPI) call(ctx context.Context, method, path, body string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set(bcs.ClusterHeader, bcs.DefaultClusterID)
	resp, err := b.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.Code != 0 {
		return fmt.Errorf("%s %s: HTTP %d %s", method, path, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		return json.Unmarshal(env.Data, out)
	}
	return nil
}

type deploymentView struct {
	Status         string                 `json:"status"`
	Message        string                 `json:"message"`
	Application    *struct{ Name string } `json:"application"`
	ApplicationExt *struct{ Name string } `json:"application_ext"`
}

// smallResources: BCS gives a task without resources 1 CPU, so a
// one-node cluster would hold only as many taskgroups as it has CPUs; and
// a task's start runs in its cgroup, so a tiny CPU limit (0.01: 1 ms per
// 100 ms) throttles the start itself by hundreds of ms. 40 tasks of 0.04
// fit a 2-CPU node.
const smallResources = `"resources":{"limits":{"cpu":"0.04","memory":"16"}}`

func body(name string, n int, version string, c config) string {
	return fmt.Sprintf(`{"apiVersion":"v4","kind":"deployment","metadata":{"name":%q,"namespace":%q},
		"restartPolicy":{"policy":"Always"},"killPolicy":{"gracePeriod":1},
		"spec":{"instance":%d,"selector":{"bench":%q},"template":{"spec":{"containers":[
			{"image":"none","command":"sleep","args":["3600"],"env":[{"name":"VERSION","value":%q}],%s}]}},
		"strategy":{"type":"RollingUpdate","rollingupdate":{"maxUnavilable":%d,"maxSurge":%d,"upgradeDuration":0,"rollingOrder":"CreateFirst"}}}}`,
		name, namespace, n, name, version, smallResources, c.unavail, c.surge)
}

func appBody(name string, n int) string {
	return fmt.Sprintf(`{"apiVersion":"v4","kind":"application","metadata":{"name":%q,"namespace":%q},
		"restartPolicy":{"policy":"Always"},"killPolicy":{"gracePeriod":1},
		"spec":{"instance":%d,"template":{"spec":{"containers":[{"image":"none","command":"sleep","args":["3600"],%s}]}}}}`,
		name, namespace, n, smallResources)
}

func run(ctx context.Context, c config) error {
	kubeconfig := c.kubeconfig
	if kubeconfig == "" {
		cluster, err := benchutil.Start(ctx, c.podyard, nil, "up", "--max-pods", fmt.Sprint(4*c.instances+10))
		if err != nil {
			return err
		}
		defer cluster.StopCluster()
		kubeconfig = cluster.Kubeconfig
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.QPS = -1
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	api := bcsAPI{http: hc, base: strings.TrimSuffix(cfg.Host, "/") + bcs.PathPrefixes[0]}
	api.base = strings.TrimSuffix(api.base, "/")
	defer client.CoreV1().Namespaces().Delete(context.WithoutCancel(ctx), namespace, metav1.DeleteOptions{})

	fmt.Printf("Podyard BCS deployment benchmark, %s, %d instances, maxSurge %d, maxUnavilable %d, upgradeDuration 0, %d rounds\n\n",
		time.Now().UTC().Format(time.RFC3339), c.instances, c.surge, c.unavail, c.rounds)
	benchutil.Header()
	n := c.instances
	var rolls, baselines []float64
	for r := range c.rounds {
		base, err := baseline(ctx, api, client, r, n)
		if err != nil {
			return err
		}
		roll, steps, err := rollingUpdate(ctx, api, client, r, n, c)
		if err != nil {
			return err
		}
		baselines, rolls = append(baselines, base), append(rolls, roll)
		fmt.Fprintf(os.Stderr, "round %d: baseline %.0f ms, rolling update %.0f ms (%s)\n", r, base, roll, steps)
	}
	benchutil.Row(fmt.Sprintf("baseline: new application of %d up, old one down", n), benchutil.Median(baselines), benchutil.Pct(baselines, 100), len(baselines), "ms")
	benchutil.Row(fmt.Sprintf("deployment rolling update of %d: PUT to Running", n), benchutil.Median(rolls), benchutil.Pct(rolls, 100), len(rolls), "ms")
	fmt.Println("\n(the p99 column is the slowest round)")
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// until polls cond every 10 ms for up to three minutes.
func until(ctx context.Context, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %s", what, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// taskgroups counts the Pods of an application: all, and Running.
func taskgroups(ctx context.Context, client kubernetes.Interface, app string) (all, running int, err error) {
	list, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(labels.Set{bcsapp.LabelApplication: app}).String(), ResourceVersion: "0"})
	if err != nil {
		return 0, 0, err
	}
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
			running++
		}
	}
	return len(list.Items), running, nil
}

// baseline makes application new of n, waits until all run, scales old
// (of the previous round's baseline) to 0 and waits until its taskgroups
// are gone; the first round's "old" is made first, unmeasured.
func baseline(ctx context.Context, api bcsAPI, client kubernetes.Interface, round, n int) (float64, error) {
	old, new := fmt.Sprintf("base-%d", round), fmt.Sprintf("base-%d-new", round)
	if err := api.call(ctx, "POST", "/namespaces/"+namespace+"/applications", appBody(old, n), nil); err != nil {
		return 0, err
	}
	if err := until(ctx, old+" running", func() (bool, error) {
		_, running, err := taskgroups(ctx, client, old)
		return running == n, err
	}); err != nil {
		return 0, err
	}
	t0 := time.Now()
	if err := api.call(ctx, "POST", "/namespaces/"+namespace+"/applications", appBody(new, n), nil); err != nil {
		return 0, err
	}
	if err := until(ctx, new+" running", func() (bool, error) {
		_, running, err := taskgroups(ctx, client, new)
		return running == n, err
	}); err != nil {
		return 0, err
	}
	if err := api.call(ctx, "PUT", "/namespaces/"+namespace+"/applications/"+old+"/scale/0", "", nil); err != nil {
		return 0, err
	}
	if err := until(ctx, old+" gone", func() (bool, error) {
		all, _, err := taskgroups(ctx, client, old)
		return all == 0, err
	}); err != nil {
		return 0, err
	}
	took := ms(time.Since(t0))
	for _, app := range []string{old, new} {
		if err := api.call(ctx, "DELETE", "/namespaces/"+namespace+"/applications/"+app+"?enforce=1", "", nil); err != nil {
			return 0, err
		}
	}
	return took, until(ctx, "baseline taskgroups gone", func() (bool, error) {
		a, _, err := taskgroups(ctx, client, old)
		b, _, err2 := taskgroups(ctx, client, new)
		return a+b == 0, errorsJoin(err, err2)
	})
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// rollingUpdate makes deployment dep-{round} of n, waits until it runs,
// then times a rolling update from the PUT until it is Running on the new
// application with n Running and none of the old left.
func rollingUpdate(ctx context.Context, api bcsAPI, client kubernetes.Interface, round, n int, c config) (float64, string, error) {
	name := fmt.Sprintf("dep-%d", round)
	path := "/namespaces/" + namespace + "/deployments"
	if err := api.call(ctx, "POST", path, body(name, n, "v1", c), nil); err != nil {
		return 0, "", err
	}
	// BCS updates only an application that is Running (or Abnormal).
	if err := until(ctx, name+" running", func() (bool, error) {
		var app struct{ Status string }
		err := api.call(ctx, "GET", "/namespaces/"+namespace+"/applications/"+name, "", &app)
		return err == nil && app.Status == "Running", nil
	}); err != nil {
		return 0, "", err
	}
	t0 := time.Now()
	if err := api.call(ctx, "PUT", path, body(name, n, "v2", c), nil); err != nil {
		return 0, "", err
	}
	// The deployment alone is polled until it says it is done, so the
	// polling does not load the server it measures with Pod lists.
	var v deploymentView
	if err := until(ctx, name+" updated", func() (bool, error) {
		if err := api.call(ctx, "GET", path+"/"+name, "", &v); err != nil {
			return false, err
		}
		return v.Status == "Running" && v.ApplicationExt == nil && v.Application != nil && v.Application.Name != name, nil
	}); err != nil {
		return 0, "", fmt.Errorf("%w (last seen: %+v)", err, v)
	}
	if err := until(ctx, name+" replaced", func() (bool, error) {
		all, running, err := taskgroups(ctx, client, v.Application.Name)
		if err != nil || all != n || running != n {
			return false, err
		}
		old, _, err := taskgroups(ctx, client, name)
		return old == 0, err
	}); err != nil {
		return 0, "", err
	}
	took := ms(time.Since(t0))
	if err := api.call(ctx, "DELETE", path+"/"+name+"?enforce=1", "", nil); err != nil {
		return 0, "", err
	}
	return took, v.Message, until(ctx, name+" gone", func() (bool, error) {
		all, _, err := taskgroups(ctx, client, v.Application.Name)
		return all == 0, err
	})
}

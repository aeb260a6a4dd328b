// Command runload measures the AKS Run Command API of a real `podyard up`
// (process runtime): POST to finished result of `echo hi`, one at a time
// and 50 at once, with a same-run baseline of a plain pod running the same
// command (create to Succeeded).
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/podyard/podyard/bench/internal/benchutil"
)

func main() {
	podyard := flag.String("podyard", "bin/podyard", "podyard binary to start with `podyard up`")
	runs := flag.Int("runs", 30, "commands run one at a time")
	concurrent := flag.Int("concurrent", 50, "commands run at once")
	poll := flag.Duration("poll", 20*time.Millisecond, "how often the result is polled")
	flag.Parse()
	if err := run(context.Background(), *podyard, *runs, *concurrent, *poll); err != nil {
		fmt.Fprintln(os.Stderr, "runload:", err)
		os.Exit(1)
	}
}

type client struct {
	http   *http.Client
	token  string
	prefix string
	poll   time.Duration
}

func run(ctx context.Context, bin string, runs, concurrent int, poll time.Duration) error {
	// Small requests, so that 50 command pods fit on one 2-core node.
	cluster, err := benchutil.Start(ctx, bin, nil, "up", "--run-command-requests", "cpu=10m,memory=16Mi", "--run-command-limits", "cpu=500m,memory=1Gi", "--max-pods", "200")
	if err != nil {
		return err
	}
	defer cluster.StopCluster()
	cfg, err := clientcmd.BuildConfigFromFlags("", cluster.Kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS = -1
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cfg.TLSClientConfig.CAData)
	c := &client{
		http:   &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 100}},
		token:  cfg.BearerToken,
		prefix: cfg.Host + "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/podyard/providers/Microsoft.ContainerService/managedClusters/podyard",
		poll:   poll,
	}
	fmt.Printf("Podyard run-command benchmark, %s (results polled every %s)\n\n", time.Now().UTC().Format(time.RFC3339), poll)
	benchutil.Header()

	var pods []float64
	for i := range runs {
		d, err := podRun(ctx, kube, fmt.Sprintf("echo-%d", i))
		if err != nil {
			return err
		}
		pods = append(pods, ms(d))
	}
	benchutil.Row("baseline: pod running echo hi, create to Succeeded", benchutil.Median(pods), benchutil.Pct(pods, 99), len(pods), "ms")

	var one []float64
	for range runs {
		d, err := c.command(ctx)
		if err != nil {
			return err
		}
		one = append(one, ms(d))
	}
	benchutil.Row("run command echo hi: POST to result, one at a time", benchutil.Median(one), benchutil.Pct(one, 99), len(one), "ms")

	var mu sync.Mutex
	var many []float64
	var wg sync.WaitGroup
	var firstErr error
	t0 := time.Now()
	for range concurrent {
		wg.Go(func() {
			d, err := c.command(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			many = append(many, ms(d))
		})
	}
	wg.Wait()
	wall := time.Since(t0)
	if firstErr != nil {
		return firstErr
	}
	benchutil.Row(fmt.Sprintf("run command echo hi: POST to result, %d at once", concurrent), benchutil.Median(many), benchutil.Pct(many, 99), len(many), "ms")
	fmt.Printf("%-48s %12.1f ms\n", fmt.Sprintf("  all %d finished after", concurrent), ms(wall))
	return nil
}

// command runs `echo hi` and returns the time from POST to its result.
func (c *client) command(ctx context.Context) (time.Duration, error) {
	t0 := time.Now()
	resp, err := c.do(ctx, "POST", c.prefix+"/runCommand?api-version=2021-05-01", []byte(`{"command":"echo hi"}`))
	if err != nil {
		return 0, err
	}
	location := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || location == "" {
		return 0, fmt.Errorf("POST: %s", resp.Status)
	}
	for {
		resp, err := c.do(ctx, "GET", location, nil)
		if err != nil {
			return 0, err
		}
		if resp.StatusCode == http.StatusOK {
			var result struct {
				Properties struct {
					ProvisioningState string `json:"provisioningState"`
					Logs              string `json:"logs"`
				} `json:"properties"`
			}
			if err := json.Unmarshal(resp.body, &result); err != nil || result.Properties.ProvisioningState != "succeeded" || result.Properties.Logs != "hi\n" {
				return 0, fmt.Errorf("result: %s", resp.body)
			}
			return time.Since(t0), nil
		}
		if resp.StatusCode != http.StatusAccepted {
			return 0, fmt.Errorf("GET result: %s %s", resp.Status, resp.body)
		}
		time.Sleep(c.poll)
	}
}

type response struct {
	*http.Response
	body []byte
}

func (c *client) do(ctx context.Context, method, url string, body []byte) (response, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return response{resp, data}, err
}

// podRun times a plain pod running echo hi from create to Succeeded.
func podRun(ctx context.Context, kube kubernetes.Interface, name string) (time.Duration, error) {
	pods := kube.CoreV1().Pods("default")
	w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()})
	if err != nil {
		return 0, err
	}
	defer w.Stop()
	t0 := time.Now()
	_, err = pods.Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
			Name: "main", Image: "none", Command: []string{"sh", "-c", "echo hi"},
		}}},
	}, metav1.CreateOptions{})
	if err != nil {
		return 0, err
	}
	timeout := time.After(time.Minute)
	for {
		select {
		case ev := <-w.ResultChan():
			if p, ok := ev.Object.(*corev1.Pod); ok && p.Status.Phase == corev1.PodSucceeded {
				return time.Since(t0), nil
			}
		case <-timeout:
			return 0, fmt.Errorf("pod %s did not succeed within a minute", name)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Command podload measures what running pods costs on Podyard: pod start
// latency (create sent to Running seen by a watch), exec round trip of
// `true`, exec stdout throughput and log follow latency, over SPDY and
// WebSocket where both apply. Same-run baselines put each figure in
// context: the API's share of a pod start (create to the ADDED event of a
// pod nothing schedules), an authenticated GET /readyz round trip, and
// fork/exec of `true` on the host.
//
// Without --kubeconfig it starts `podyard up` (--podyard) on a fresh data
// dir and a free port, and at the end stops it and kills its containers.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/podyard/podyard/bench/internal/benchutil"
)

type config struct {
	podyard, kubeconfig string
	pods, execRuns      int
	throughputMiB       int
	logLines            int
	upArgs              string
}

const namespace = "bench-pods"

func main() {
	var c config
	flag.StringVar(&c.podyard, "podyard", "bin/podyard", "podyard binary to start (`podyard up`) when --kubeconfig is empty")
	flag.StringVar(&c.kubeconfig, "kubeconfig", "", "measure a running cluster with at least one node instead of starting one")
	flag.IntVar(&c.pods, "pods", 100, "pods started for the start-latency measurement")
	flag.IntVar(&c.execRuns, "exec-runs", 200, "exec round trips per protocol")
	flag.IntVar(&c.throughputMiB, "throughput-mib", 512, "MiB an exec writes to stdout per throughput run (3 runs per protocol)")
	flag.IntVar(&c.logLines, "log-lines", 200, "log lines timed through a followed log")
	flag.StringVar(&c.upArgs, "up-args", "", "more flags for `podyard up`, space-separated (e.g. --cgroup-root= to compare without cgroups)")
	flag.Parse()
	if err := run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "podload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	kubeconfig := c.kubeconfig
	if kubeconfig == "" {
		// Room for both pod-start runs and the log pod on the one node.
		args := append([]string{"--max-pods", strconv.Itoa(2*c.pods + 10)}, strings.Fields(c.upArgs)...)
		cluster, err := benchutil.Start(ctx, c.podyard, nil, "up", args...)
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
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("namespace: %w", err)
	}
	defer client.CoreV1().Namespaces().Delete(context.WithoutCancel(ctx), namespace, metav1.DeleteOptions{})
	if err := waitServiceAccount(ctx, client); err != nil {
		return err
	}

	fmt.Printf("Podyard pod benchmark, %s\n\n", time.Now().UTC().Format(time.RFC3339))
	benchutil.Header()

	api, _, err := podStarts(ctx, client, "api", c.pods, "none", false) // a scheduler nobody runs
	if err != nil {
		return err
	}
	benchutil.Row(fmt.Sprintf("baseline: create to ADDED, %d unscheduled pods", len(api)), benchutil.Median(api), benchutil.Pct(api, 99), len(api), "ms")
	for _, oneByOne := range []bool{true, false} {
		prefix, how := "burst", "created back to back"
		if oneByOne {
			prefix, how = "single", "each after the last runs"
		}
		starts, bound, err := podStarts(ctx, client, prefix, c.pods, "", oneByOne)
		if err != nil {
			return err
		}
		benchutil.Row(fmt.Sprintf("pod create to bound, %d pods %s", len(bound), how), benchutil.Median(bound), benchutil.Pct(bound, 99), len(bound), "ms")
		benchutil.Row(fmt.Sprintf("pod start to Running, %d pods %s", len(starts), how), benchutil.Median(starts), benchutil.Pct(starts, 99), len(starts), "ms")
		fmt.Printf("%-48s %12.1f ms\n", "  max", benchutil.Pct(starts, 100))
	}

	pod := "single-0"
	var local []float64
	for range c.execRuns {
		t0 := time.Now()
		if err := exec.CommandContext(ctx, "true").Run(); err != nil {
			return err
		}
		local = append(local, ms(time.Since(t0)))
	}
	benchutil.Row("baseline: fork/exec of true on the host", benchutil.Median(local), benchutil.Pct(local, 99), len(local), "ms")
	var readyz []float64
	for range c.execRuns {
		t0 := time.Now()
		if err := client.CoreV1().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error(); err != nil {
			return err
		}
		readyz = append(readyz, ms(time.Since(t0)))
	}
	benchutil.Row("baseline: GET /readyz round trip", benchutil.Median(readyz), benchutil.Pct(readyz, 99), len(readyz), "ms")
	for _, protocol := range []string{"websocket", "spdy"} {
		lat, err := execRoundTrips(ctx, cfg, protocol, pod, c.execRuns)
		if err != nil {
			return err
		}
		benchutil.Row("exec round trip of true, "+protocol, benchutil.Median(lat), benchutil.Pct(lat, 99), len(lat), "ms")
	}
	for _, protocol := range []string{"websocket", "spdy"} {
		var rates []float64
		for range 3 {
			rate, err := execThroughput(ctx, cfg, protocol, pod, c.throughputMiB)
			if err != nil {
				return err
			}
			rates = append(rates, rate)
		}
		benchutil.Row(fmt.Sprintf("exec stdout throughput, %s, %d MiB", protocol, c.throughputMiB), benchutil.Median(rates), 0, len(rates), "MiB/s")
	}
	lat, err := logFollow(ctx, client, c.logLines)
	if err != nil {
		return err
	}
	benchutil.Row("log follow: line written to line read", benchutil.Median(lat), benchutil.Pct(lat, 99), len(lat), "ms")
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func waitServiceAccount(ctx context.Context, client kubernetes.Interface) error {
	for range 200 {
		if _, err := client.CoreV1().ServiceAccounts(namespace).Get(ctx, "default", metav1.GetOptions{}); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("namespace %s got no default service account", namespace)
}

func sleeper(name, schedulerName string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"bench": "podload"}},
		Spec: corev1.PodSpec{
			SchedulerName:                 schedulerName,
			TerminationGracePeriodSeconds: new(int64(0)),
			Containers:                    []corev1.Container{{Name: "main", Image: "none", Command: []string{"sleep", "3600"}}},
		},
	}
}

// podStarts creates n pods and times each from its create being sent to a
// watch showing it Running (or, for a scheduler nobody runs, to its ADDED
// event), and from the create to the watch showing it bound to a node.
// oneByOne creates each pod once the one before it was seen; else the
// creates go back to back and the starts overlap.
func podStarts(ctx context.Context, client kubernetes.Interface, prefix string, n int, schedulerName string, oneByOne bool) (starts, bound []float64, err error) {
	pods := client.CoreV1().Pods(namespace)
	w, err := pods.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	defer w.Stop()
	sent := make([]time.Time, n)
	type result struct{ starts, bound []float64 }
	done := make(chan result, 1)
	seenOne := make(chan struct{}, n)
	go func() {
		var lat, boundLat []float64
		seen, isBound := map[string]bool{}, map[string]bool{}
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || !strings.HasPrefix(p.Name, prefix+"-") || seen[p.Name] {
				continue
			}
			now := time.Now()
			i, _ := strconv.Atoi(strings.TrimPrefix(p.Name, prefix+"-"))
			if p.Spec.NodeName != "" && !isBound[p.Name] {
				isBound[p.Name] = true
				boundLat = append(boundLat, ms(now.Sub(sent[i])))
			}
			if schedulerName == "" && p.Status.Phase != corev1.PodRunning || schedulerName != "" && ev.Type != watch.Added {
				continue
			}
			seen[p.Name] = true
			lat = append(lat, ms(now.Sub(sent[i])))
			seenOne <- struct{}{}
			if len(lat) == n {
				break
			}
		}
		done <- result{lat, boundLat}
	}()
	for i := range n {
		sent[i] = time.Now()
		if _, err := pods.Create(ctx, sleeper(fmt.Sprintf("%s-%d", prefix, i), schedulerName), metav1.CreateOptions{}); err != nil {
			return nil, nil, err
		}
		if oneByOne {
			select {
			case <-seenOne:
			case <-time.After(time.Minute):
				return nil, nil, fmt.Errorf("%s-%d did not start within a minute", prefix, i)
			}
		}
	}
	select {
	case r := <-done:
		return r.starts, r.bound, nil
	case <-time.After(2 * time.Minute):
		return nil, nil, fmt.Errorf("%s: not all %d pods reached the state within 2 minutes", prefix, n)
	}
}

func executor(cfg *rest.Config, protocol, pod string, command []string) (remotecommand.Executor, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	u := client.CoreV1().RESTClient().Post().Namespace(namespace).Resource("pods").Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Command: command, Stdout: true, Stderr: true}, scheme.ParameterCodec).URL()
	if protocol == "spdy" {
		return remotecommand.NewSPDYExecutor(cfg, "POST", u)
	}
	return remotecommand.NewWebSocketExecutor(cfg, "GET", u.String())
}

func execRoundTrips(ctx context.Context, cfg *rest.Config, protocol, pod string, n int) ([]float64, error) {
	ex, err := executor(cfg, protocol, pod, []string{"true"})
	if err != nil {
		return nil, err
	}
	var lat []float64
	for range n {
		t0 := time.Now()
		if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: io.Discard, Stderr: io.Discard}); err != nil {
			return nil, fmt.Errorf("exec true over %s: %w", protocol, err)
		}
		lat = append(lat, ms(time.Since(t0)))
	}
	return lat, nil
}

// execThroughput runs `head -c` of mib MiB of zeros and returns MiB/s.
func execThroughput(ctx context.Context, cfg *rest.Config, protocol, pod string, mib int) (float64, error) {
	ex, err := executor(cfg, protocol, pod, []string{"head", "-c", strconv.Itoa(mib << 20), "/dev/zero"})
	if err != nil {
		return 0, err
	}
	var got counter
	t0 := time.Now()
	if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &got, Stderr: io.Discard}); err != nil {
		return 0, fmt.Errorf("exec head over %s: %w", protocol, err)
	}
	if got != counter(mib<<20) {
		return 0, fmt.Errorf("exec head over %s: got %d bytes, want %d", protocol, got, mib<<20)
	}
	return float64(mib) / time.Since(t0).Seconds(), nil
}

type counter int64

func (c *counter) Write(p []byte) (int, error) { *c += counter(len(p)); return len(p), nil }

// logFollow runs a pod that prints its clock every 10 ms and follows its
// log: each line's age when it arrives is the latency.
func logFollow(ctx context.Context, client kubernetes.Interface, lines int) ([]float64, error) {
	pod := sleeper("logger", "")
	pod.Spec.Containers[0].Command = []string{"python3", "-u", "-c",
		"import time\nwhile True:\n    print(time.time_ns(), flush=True)\n    time.sleep(0.01)"}
	if _, err := client.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	var stream io.ReadCloser
	var err error
	for range 200 { // until the container runs
		stream, err = client.CoreV1().Pods(namespace).GetLogs("logger", &corev1.PodLogOptions{Follow: true, TailLines: new(int64(0))}).Stream(ctx)
		if err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("follow logs: %w", err)
	}
	defer stream.Close()
	var lat []float64
	sc := bufio.NewScanner(stream)
	for sc.Scan() && len(lat) < lines {
		ns, err := strconv.ParseInt(strings.TrimSpace(sc.Text()), 10, 64)
		if err != nil {
			continue
		}
		lat = append(lat, ms(time.Since(time.Unix(0, ns))))
	}
	if len(lat) < lines {
		return nil, fmt.Errorf("follow logs: stream ended after %d lines: %v", len(lat), sc.Err())
	}
	return lat, nil
}

// Command apiload measures Podyard's Kubernetes API: pod creates per second
// with 1 and 32 clients, create latency at a steady 100/s, listing 10,000
// pods (from the watch cache and as a consistent read) and watch delivery to
// 100 watchers. It prints medians and percentiles, next to a same-run
// baseline: an authenticated GET /readyz, the server's floor without storage.
//
// Without --kubeconfig it starts `podyard server` (--podyard) on a fresh
// data dir and a free port, and stops it at the end.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/podyard/podyard/bench/internal/benchutil"
)

type config struct {
	podyard, kubeconfig string
	runs                int
	createsPerRun       int
	listPods            int
	listRuns            int
	watchers            int
	watchEvents         int
	clients             []int
	connections         int
	createProcs         int
	only                map[string]bool
	serverEnv           []string // extra environment for the started server, e.g. GOGC=200
	serverPID           int      // the started server, whose CPU time is reported; 0 for --kubeconfig
}

func (c config) wants(scenario string) bool { return len(c.only) == 0 || c.only[scenario] }

func main() {
	var c config
	flag.StringVar(&c.podyard, "podyard", "bin/podyard", "podyard binary to start when --kubeconfig is empty")
	flag.StringVar(&c.kubeconfig, "kubeconfig", "", "measure a running server instead of starting one")
	flag.IntVar(&c.runs, "runs", 3, "runs of each create-rate measurement (the median is reported)")
	flag.IntVar(&c.createsPerRun, "creates", 2000, "pods created per create-rate run")
	flag.IntVar(&c.listPods, "list-pods", 10000, "pods in the namespace that is listed")
	flag.IntVar(&c.listRuns, "list-runs", 15, "lists per list measurement")
	flag.IntVar(&c.watchers, "watchers", 100, "concurrent watchers")
	flag.IntVar(&c.watchEvents, "watch-events", 300, "pods created while watchers watch")
	only := flag.String("only", "", "comma-separated scenarios to run (baseline,creates,paced,list,watch); default all")
	clients := flag.String("clients", "1,32", "concurrent clients for the create-rate scenario")
	flag.IntVar(&c.connections, "connections", 1, "TCP connections the create-rate clients share (1: one client-go program, multiplexed over HTTP/2)")
	flag.IntVar(&c.createProcs, "create-procs", 1, "GOMAXPROCS of the load tool while it measures create rates: on a small machine shared with the server, the fewer cores the tool's goroutines spread over, the less CPU it takes from the server")
	serverEnv := flag.String("server-env", "", "comma-separated KEY=VALUE settings for the started server's environment (experiments, e.g. GOGC=200)")
	flag.Parse()
	if *serverEnv != "" {
		c.serverEnv = strings.Split(*serverEnv, ",")
	}
	c.only = map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		if s != "" {
			c.only[s] = true
		}
	}
	for _, n := range strings.Split(*clients, ",") {
		v, err := strconv.Atoi(n)
		if err != nil || v < 1 {
			fmt.Fprintf(os.Stderr, "apiload: --clients: bad count %q\n", n)
			os.Exit(2)
		}
		c.clients = append(c.clients, v)
	}
	if err := run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "apiload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	kubeconfig := c.kubeconfig
	if kubeconfig == "" {
		// The scheduler stays off: this measures the API, and pods with no
		// node to go to would only add its retries to the load.
		server, err := benchutil.Start(ctx, c.podyard, c.serverEnv, "server", "--scheduler=false")
		if err != nil {
			return err
		}
		c.serverPID = server.PID
		defer func() { server.Stop(); server.Remove() }()
		kubeconfig = server.Kubeconfig
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.QPS = -1 // no client-side rate limit: measure the server
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	for _, ns := range []string{createNamespace, "bench-paced", "bench-list", "bench-watch"} {
		if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("namespace %s: %w", ns, err)
		}
	}
	fmt.Printf("Podyard API benchmark, %s, GOMAXPROCS=%s (the load tool: %d while it creates)\n\n", time.Now().UTC().Format(time.RFC3339), gomaxprocs(), c.createProcs)
	benchutil.Header()

	if c.wants("baseline") {
		for _, clients := range c.clients {
			rate, err := readyzRate(ctx, client, clients, 3*time.Second)
			if err != nil {
				return err
			}
			benchutil.Row(fmt.Sprintf("baseline: GET /readyz/s, %d client(s)", clients), rate, 0, 1, "/s")
		}
	}
	if c.wants("creates") {
		if err := createRates(ctx, cfg, c); err != nil {
			return err
		}
	}
	if c.wants("paced") {
		lat, err := pacedCreates(ctx, client, "bench-paced", 100, 10*time.Second)
		if err != nil {
			return err
		}
		benchutil.Row("create latency at 100 creates/s", benchutil.Pct(lat, 50), benchutil.Pct(lat, 99), len(lat), "ms")
	}
	if c.wants("list") {
		if err := lists(ctx, cfg, client, c); err != nil {
			return err
		}
	}
	if c.wants("watch") {
		fromAck, fromSend, err := watchDelivery(ctx, cfg, client, "bench-watch", c.watchers, c.watchEvents)
		if err != nil {
			return err
		}
		benchutil.Row(fmt.Sprintf("watch delivery, %d watchers, after commit", c.watchers), benchutil.Pct(fromAck, 50), benchutil.Pct(fromAck, 99), len(fromAck), "ms")
		benchutil.Row(fmt.Sprintf("watch delivery, %d watchers, from send", c.watchers), benchutil.Pct(fromSend, 50), benchutil.Pct(fromSend, 99), len(fromSend), "ms")
	}
	return nil
}

func createRates(ctx context.Context, cfg *rest.Config, c config) error {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(c.createProcs))
	create, err := clientGoCreator(cfg, c.connections)
	if err != nil {
		return err
	}
	for _, clients := range c.clients {
		var rates, serverCPU, toolCPU []float64
		for r := range c.runs {
			serverBefore, serverErr := processCPU(c.serverPID)
			toolBefore, toolErr := processCPU(os.Getpid())
			rate, err := benchutil.CreateRate(ctx, create, fmt.Sprintf("c%d-r%d", clients, r), clients, c.createsPerRun)
			if err != nil {
				return err
			}
			rates = append(rates, rate)
			perCreate := func(before, after time.Duration) float64 {
				return float64((after - before).Microseconds()) / float64(c.createsPerRun)
			}
			if after, err := processCPU(c.serverPID); err == nil && serverErr == nil {
				serverCPU = append(serverCPU, perCreate(serverBefore, after))
			}
			if after, err := processCPU(os.Getpid()); err == nil && toolErr == nil {
				toolCPU = append(toolCPU, perCreate(toolBefore, after))
			}
		}
		what := fmt.Sprintf("%d client(s)", clients)
		if c.connections > 1 {
			what += fmt.Sprintf(", %d conns", c.connections)
		}
		benchutil.Row("pod creates/s, "+what, benchutil.Median(rates), 0, len(rates), "/s")
		if len(serverCPU) > 0 {
			benchutil.Row("  server CPU per create", benchutil.Median(serverCPU), 0, len(serverCPU), "µs")
		}
		benchutil.Row("  load tool CPU per create", benchutil.Median(toolCPU), 0, len(toolCPU), "µs")
	}
	return nil
}

// clientGoCreator sends creates with the typed clientset, as controllers and
// kubectl do, spread over the --connections clientsets.
func clientGoCreator(cfg *rest.Config, connCount int) (func(context.Context, string) error, error) {
	conns, err := connections(cfg, connCount)
	if err != nil {
		return nil, err
	}
	var next atomic.Int64
	return func(ctx context.Context, name string) error {
		client := conns[int(next.Add(1))%len(conns)]
		_, err := client.CoreV1().Pods(createNamespace).Create(ctx, benchPod(name), metav1.CreateOptions{})
		return err
	}, nil
}

const createNamespace = "bench-create"

// connections returns n clientsets, each on its own TCP connection (a
// custom Dial keeps client-go from sharing its cached transport).
func connections(cfg *rest.Config, n int) ([]kubernetes.Interface, error) {
	out := make([]kubernetes.Interface, n)
	for i := range out {
		c := rest.CopyConfig(cfg)
		if n > 1 {
			c.Dial = (&net.Dialer{}).DialContext
		}
		client, err := kubernetes.NewForConfig(c)
		if err != nil {
			return nil, err
		}
		out[i] = client
	}
	return out, nil
}

func lists(ctx context.Context, cfg *rest.Config, client kubernetes.Interface, c config) error {
	if err := fill(ctx, client, "bench-list", c.listPods); err != nil {
		return err
	}
	for _, l := range []struct {
		name string
		opts metav1.ListOptions
	}{
		{fmt.Sprintf("list %dk pods, cache (rv=0)", c.listPods/1000), metav1.ListOptions{ResourceVersion: "0"}},
		{fmt.Sprintf("list %dk pods, consistent", c.listPods/1000), metav1.ListOptions{}},
	} {
		for _, ct := range []string{"protobuf", "json"} {
			received, decoded, err := listLatency(ctx, cfg, "bench-list", l.opts, ct, c.listRuns)
			if err != nil {
				return err
			}
			benchutil.Row(l.name+", "+ct+", received", benchutil.Pct(received, 50), benchutil.Pct(received, 99), len(received), "ms")
			benchutil.Row(l.name+", "+ct+", decoded", benchutil.Pct(decoded, 50), benchutil.Pct(decoded, 99), len(decoded), "ms")
		}
	}
	return nil
}

// processCPU is the user+system CPU time process pid has used so far, from
// /proc/PID/stat (fields 14 and 15, in USER_HZ = 100 ticks per second).
func processCPU(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("no server process")
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after it are plain.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad CPU times", pid)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

func readyzRate(ctx context.Context, client kubernetes.Interface, clients int, d time.Duration) (float64, error) {
	var n atomic.Int64
	var firstErr error
	var once sync.Once
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if err := client.CoreV1().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error(); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds(), firstErr
}

func benchPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "bench", "tier": "load"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "busybox:1.36", Command: []string{"sleep", "3600"},
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
		}}},
	}
}

// pacedCreates creates at a steady rate and returns each create's latency in ms.
func pacedCreates(ctx context.Context, client kubernetes.Interface, ns string, perSecond int, d time.Duration) ([]float64, error) {
	total := int(d.Seconds()) * perSecond
	lat := make([]float64, total)
	errs := make(chan error, total)
	interval := time.Second / time.Duration(perSecond)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range total {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.Now()
			if _, err := client.CoreV1().Pods(ns).Create(ctx, benchPod("paced-"+strconv.Itoa(i)), metav1.CreateOptions{}); err != nil {
				errs <- err
				return
			}
			lat[i] = ms(time.Since(t))
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return nil, fmt.Errorf("paced create: %w", err)
	default:
	}
	return lat, nil
}

func fill(ctx context.Context, client kubernetes.Interface, ns string, n int) error {
	_, err := benchutil.CreateRate(ctx, func(ctx context.Context, name string) error {
		_, err := client.CoreV1().Pods(ns).Create(ctx, benchPod(name), metav1.CreateOptions{})
		return err
	}, "list", 32, n)
	return err
}

// listLatency lists the namespace runs times and returns, in ms, how long
// the whole response took to arrive (the server's share) and how long it
// took to arrive and be decoded into a PodList (what a client-go caller waits).
func listLatency(ctx context.Context, cfg *rest.Config, ns string, opts metav1.ListOptions, contentType string, runs int) (received, decoded []float64, err error) {
	c := rest.CopyConfig(cfg)
	if contentType == "json" {
		c.ContentType, c.AcceptContentTypes = "application/json", "application/json"
	}
	client, err := kubernetes.NewForConfig(c)
	if err != nil {
		return nil, nil, err
	}
	for range runs {
		t := time.Now()
		body, err := client.CoreV1().RESTClient().Get().Namespace(ns).Resource("pods").
			VersionedParams(&opts, scheme.ParameterCodec).Do(ctx).Raw()
		if err != nil {
			return nil, nil, fmt.Errorf("list: %w", err)
		}
		received = append(received, ms(time.Since(t)))
		if len(body) == 0 {
			return nil, nil, fmt.Errorf("empty list response")
		}

		t = time.Now()
		list, err := client.CoreV1().Pods(ns).List(ctx, opts)
		if err != nil {
			return nil, nil, fmt.Errorf("list: %w", err)
		}
		decoded = append(decoded, ms(time.Since(t)))
		if len(list.Items) == 0 {
			return nil, nil, fmt.Errorf("list returned no pods")
		}
	}
	return received, decoded, nil
}

// watchDelivery opens watchers, creates pods one at a time at a modest
// pace, and returns how long after the create was acknowledged (and after
// it was sent) each watcher saw each pod.
func watchDelivery(ctx context.Context, cfg *rest.Config, client kubernetes.Interface, ns string, watchers, events int) (fromAck, fromSend []float64, err error) {
	type times struct{ sent, acked time.Time }
	var mu sync.Mutex
	created := map[string]times{}
	received := make([][]struct {
		name string
		at   time.Time
	}, watchers)

	list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	var wg sync.WaitGroup
	for w := range watchers {
		// Spread watchers over a few connections, as separate clients would be.
		c := rest.CopyConfig(cfg)
		c.UserAgent = fmt.Sprintf("watcher-%d", w%8)
		wc, err := kubernetes.NewForConfig(c)
		if err != nil {
			return nil, nil, err
		}
		wi, err := wc.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
		if err != nil {
			return nil, nil, fmt.Errorf("watch: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer wi.Stop()
			for ev := range wi.ResultChan() {
				if ev.Type != watch.Added {
					continue
				}
				p := ev.Object.(*corev1.Pod)
				received[w] = append(received[w], struct {
					name string
					at   time.Time
				}{p.Name, time.Now()})
				if len(received[w]) == events {
					return
				}
			}
		}()
	}
	for i := range events {
		name := "w-" + strconv.Itoa(i)
		sent := time.Now()
		if _, err := client.CoreV1().Pods(ns).Create(ctx, benchPod(name), metav1.CreateOptions{}); err != nil {
			return nil, nil, err
		}
		mu.Lock()
		created[name] = times{sent, time.Now()}
		mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		return nil, nil, fmt.Errorf("watchers did not see all %d pods", events)
	}
	for _, rs := range received {
		for _, r := range rs {
			t := created[r.name]
			fromAck = append(fromAck, max(0, ms(r.at.Sub(t.acked))))
			fromSend = append(fromSend, ms(r.at.Sub(t.sent)))
		}
	}
	return fromAck, fromSend, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func gomaxprocs() string {
	if v := os.Getenv("GOMAXPROCS"); v != "" {
		return v
	}
	return "default"
}

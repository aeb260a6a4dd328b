// Command appload measures BCS applications on Podyard: an Application of
// N instances (a `sleep` each) from its create to status.RunningInstances
// == N, and scaling it to 0 (spec.instance) until no pod and no process of
// it is left. The same-run baseline is N plain pods of the same command
// created back to back until all run, then deleted until their processes
// are gone. The Application is created through its API object
// (applications.bcs.podyard.io), not the BCS HTTP route.
//
// Without --kubeconfig it starts `podyard up` (--podyard) on a fresh data
// dir and a free port, and at the end stops it and kills its containers.
// Processes are counted in /proc, so the cluster must run on this host.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/podyard/podyard/bench/internal/benchutil"
	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	bcsapp "github.com/podyard/podyard/internal/bcs/application"
	appcontroller "github.com/podyard/podyard/internal/controller/application"
)

const (
	namespace = "bench-apps"
	markerEnv = "PODYARD_APPLOAD"
	poll      = 10 * time.Millisecond
	timeout   = 2 * time.Minute
)

type config struct {
	podyard, kubeconfig, upArgs string
	instances, rounds           int
}

func main() {
	var c config
	flag.StringVar(&c.podyard, "podyard", "bin/podyard", "podyard binary to start (`podyard up`) when --kubeconfig is empty")
	flag.StringVar(&c.kubeconfig, "kubeconfig", "", "measure a running cluster on this host with at least one node instead of starting one")
	flag.IntVar(&c.instances, "instances", 100, "instances of the application (and plain pods of the baseline)")
	flag.IntVar(&c.rounds, "rounds", 5, "rounds of each measurement")
	flag.StringVar(&c.upArgs, "up-args", "", "more flags for `podyard up`, space-separated")
	flag.Parse()
	if err := run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "appload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	kubeconfig := c.kubeconfig
	if kubeconfig == "" {
		// Room for the deleted baseline pods the scheduler may still count.
		args := append([]string{"--max-pods", strconv.Itoa(2*c.instances + 10)}, strings.Fields(c.upArgs)...)
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
	clients, err := appcontroller.NewClients(cfg)
	if err != nil {
		return err
	}
	apps := clients.Namespace(namespace)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("namespace: %w", err)
	}
	defer client.CoreV1().Namespaces().Delete(context.WithoutCancel(ctx), namespace, metav1.DeleteOptions{})
	if err := until(ctx, func() (bool, error) {
		_, err := client.CoreV1().ServiceAccounts(namespace).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		return fmt.Errorf("namespace %s got no default service account: %w", namespace, err)
	}

	fmt.Printf("Podyard application benchmark, %s, %d instances, %d rounds\n\n", time.Now().UTC().Format(time.RFC3339), c.instances, c.rounds)
	benchutil.Header()
	var podUp, podDown, appUp, appPodsGone, appDown []float64
	for r := range c.rounds {
		up, down, err := plainPods(ctx, client, r, c.instances)
		if err != nil {
			return err
		}
		podUp, podDown = append(podUp, up), append(podDown, down)
		up, gone, down, err := application(ctx, client, apps, r, c.instances)
		if err != nil {
			return err
		}
		appUp, appPodsGone, appDown = append(appUp, up), append(appPodsGone, gone), append(appDown, down)
		fmt.Fprintf(os.Stderr, "round %d: pods up %.0f ms, down %.0f ms; application up %.0f ms, pods gone %.0f ms, processes gone %.0f ms\n",
			r, podUp[r], podDown[r], up, gone, down)
	}
	n := c.instances
	benchutil.Row(fmt.Sprintf("baseline: %d pods, create to all Running", n), benchutil.Median(podUp), benchutil.Pct(podUp, 100), len(podUp), "ms")
	benchutil.Row(fmt.Sprintf("application %d instances: create to Running %d", n, n), benchutil.Median(appUp), benchutil.Pct(appUp, 100), len(appUp), "ms")
	benchutil.Row(fmt.Sprintf("baseline: delete %d pods to processes gone", n), benchutil.Median(podDown), benchutil.Pct(podDown, 100), len(podDown), "ms")
	benchutil.Row(fmt.Sprintf("application scale %d -> 0: pods gone", n), benchutil.Median(appPodsGone), benchutil.Pct(appPodsGone, 100), len(appPodsGone), "ms")
	benchutil.Row(fmt.Sprintf("application scale %d -> 0: processes gone", n), benchutil.Median(appDown), benchutil.Pct(appDown, 100), len(appDown), "ms")
	fmt.Println("\n(the p99 column is the slowest round)")
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// until polls cond every 10 ms for up to two minutes.
func until(ctx context.Context, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// plainPods creates n sleep pods back to back, times until all run, then
// deletes them and times until their processes are gone.
func plainPods(ctx context.Context, client kubernetes.Interface, round, n int) (up, down float64, err error) {
	marker := fmt.Sprintf("pods-%d", round)
	pods := client.CoreV1().Pods(namespace)
	sel := labels.SelectorFromSet(labels.Set{"bench": marker}).String()
	t0 := time.Now()
	for i := range n {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", marker, i), Labels: map[string]string{"bench": marker}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "main", Image: "none", Command: []string{"sleep", "3600"},
				Env: []corev1.EnvVar{{Name: markerEnv, Value: marker}},
			}}},
		}
		if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			return 0, 0, fmt.Errorf("create pod: %w", err)
		}
	}
	if err := until(ctx, func() (bool, error) {
		list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: "0"})
		if err != nil {
			return false, err
		}
		running := 0
		for _, p := range list.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running == n, nil
	}); err != nil {
		return 0, 0, fmt.Errorf("%d pods running: %w", n, err)
	}
	up = ms(time.Since(t0))
	t0 = time.Now()
	if err := pods.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: sel}); err != nil {
		return 0, 0, fmt.Errorf("delete pods: %w", err)
	}
	if err := until(ctx, func() (bool, error) { return processes(marker) == 0, nil }); err != nil {
		return 0, 0, fmt.Errorf("processes of deleted pods: %w", err)
	}
	down = ms(time.Since(t0))
	return up, down, until(ctx, func() (bool, error) {
		list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: sel})
		return err == nil && len(list.Items) == 0, err
	})
}

// application creates an Application of n sleep instances, times until
// its status says n run, then scales it to 0 and times until its pods,
// and then its processes, are gone.
func application(ctx context.Context, client kubernetes.Interface, apps *appcontroller.Client, round, n int) (up, podsGone, down float64, err error) {
	name := fmt.Sprintf("app-%d", round)
	app := &v1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.ApplicationSpec{
			APIVersion: "v4", Kind: "application",
			Metadata:      v1alpha1.ObjectMeta{Name: name, Namespace: "defaultGroup"},
			Instance:      int32(n),
			RestartPolicy: v1alpha1.RestartPolicy{Policy: "Always"},
			Template: v1alpha1.PodTemplateSpec{Spec: v1alpha1.PodSpec{Containers: []v1alpha1.Container{{
				Image: "none", Command: "sleep", Args: []string{"3600"},
				Env: []v1alpha1.EnvVar{{Name: markerEnv, Value: name}},
			}}}},
		},
	}
	t0 := time.Now()
	if _, err := apps.Create(ctx, app, metav1.CreateOptions{}); err != nil {
		return 0, 0, 0, fmt.Errorf("create application: %w", err)
	}
	reported := false
	if err := until(ctx, func() (bool, error) {
		got, err := apps.Get(ctx, name, metav1.GetOptions{ResourceVersion: "0"})
		if err == nil && !reported && time.Since(t0) > 10*time.Second {
			reported = true // slow: say what it waits for
			phases := map[corev1.PodPhase]int{}
			list, _ := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: bcsapp.LabelApplication + "=" + name})
			for _, p := range list.Items {
				phases[p.Status.Phase]++
			}
			fmt.Fprintf(os.Stderr, "%s after 10 s: status %+v; pods %v\n", name, got.Status, phases)
		}
		if apierrors.IsNotFound(err) {
			return false, nil // the watch cache has not seen the create yet
		}
		return err == nil && got.Status.RunningInstances == int32(n), err
	}); err != nil {
		return 0, 0, 0, fmt.Errorf("application %s running: %w", name, err)
	}
	up = ms(time.Since(t0))
	t0 = time.Now()
	if _, err := apps.Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"instance":0}}`), metav1.PatchOptions{}); err != nil {
		return 0, 0, 0, fmt.Errorf("scale to 0: %w", err)
	}
	sel := labels.SelectorFromSet(labels.Set{bcsapp.LabelApplication: name}).String()
	if err := until(ctx, func() (bool, error) {
		list, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: "0"})
		return err == nil && len(list.Items) == 0, err
	}); err != nil {
		return 0, 0, 0, fmt.Errorf("pods of %s gone: %w", name, err)
	}
	podsGone = ms(time.Since(t0))
	if err := until(ctx, func() (bool, error) { return processes(name) == 0, nil }); err != nil {
		return 0, 0, 0, fmt.Errorf("processes of %s: %w", name, err)
	}
	down = ms(time.Since(t0))
	return up, podsGone, down, apps.Delete(ctx, name, metav1.DeleteOptions{})
}

// processes counts live processes with markerEnv=value in their environment.
func processes(value string) int {
	want := []byte("\x00" + markerEnv + "=" + value + "\x00")
	n := 0
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		environ, err := os.ReadFile(filepath.Join(d, "environ"))
		if err == nil && bytes.Contains(append([]byte{0}, environ...), want) {
			n++
		}
	}
	return n
}

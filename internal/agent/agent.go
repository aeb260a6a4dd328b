// Package agent is Podyard's node agent: it registers its Node, keeps its
// Lease fresh, runs the pods bound to it through a runtime, reports their
// status, and serves their logs, exec, attach and port-forward to the API
// server. It is a client of the API like any other.
package agent

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/podyard/podyard/internal/runtime"
)

// Config of an agent.
type Config struct {
	NodeName string
	DataDir  string // agent state: pki/, pods/ (volumes), logs/
	Client   kubernetes.Interface
	// EventClient records events (default: Client); its own rate limit
	// keeps events from delaying pod status writes.
	EventClient kubernetes.Interface
	// ClusterCA verifies the API server's client certificate on streaming
	// requests: only the API server may exec into this node's pods.
	ClusterCA *x509.CertPool
	Runtime   runtime.Runtime
	// Listen is the address of the streaming server; port 0 picks one.
	Listen string
	// Address is the IP this node advertises; default: the first
	// non-loopback IPv4 address of the host, else 127.0.0.1.
	Address string
	// CrashBackoff is the first wait before restarting a crashing
	// container (the kubelet's 10 s by default).
	CrashBackoff time.Duration
	// LeaseDuration is how long the node's Lease stays valid (40 s by
	// default); it is renewed every quarter of it.
	LeaseDuration time.Duration
	// MaxPods is the node's pod capacity (the kubelet's 110 by default).
	MaxPods int
	Log     *slog.Logger
}

// Agent is a running node agent.
type Agent struct {
	cfg      Config
	client   kubernetes.Interface
	rt       runtime.Runtime
	log      *slog.Logger
	recorder record.EventRecorder
	hostIP   string

	allocatableOnce sync.Once
	allocated       corev1.ResourceList

	mu      sync.Mutex
	workers map[types.UID]*podWorker
	byName  map[string]*podWorker                   // namespace/name
	adopted map[types.UID][]runtime.ContainerStatus // found at start, for their pods' workers
}

// New checks the configuration.
func New(cfg Config) (*Agent, error) {
	if cfg.NodeName == "" || cfg.DataDir == "" || cfg.Client == nil || cfg.Runtime == nil || cfg.ClusterCA == nil {
		return nil, errors.New("agent: node name, data dir, client, runtime and cluster CA are required")
	}
	if cfg.CrashBackoff == 0 {
		cfg.CrashBackoff = 10 * time.Second
	}
	if cfg.LeaseDuration < time.Second {
		cfg.LeaseDuration = 40 * time.Second
	}
	if cfg.MaxPods <= 0 {
		cfg.MaxPods = 110
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Address == "" {
		cfg.Address = defaultAddress()
	}
	if cfg.Listen == "" {
		cfg.Listen = net.JoinHostPort(cfg.Address, "0")
	}
	return &Agent{
		cfg:     cfg,
		client:  cfg.Client,
		rt:      cfg.Runtime,
		log:     cfg.Log.With("node", cfg.NodeName),
		hostIP:  cfg.Address,
		workers: map[types.UID]*podWorker{},
		byName:  map[string]*podWorker{},
		adopted: map[types.UID][]runtime.ContainerStatus{},
	}, nil
}

// Run registers the node and runs its pods until ctx ends. Containers keep
// running after it returns; a new agent on the same data dir takes them back.
func (a *Agent) Run(ctx context.Context) error {
	for _, dir := range []string{"pki", "pods", "logs"} {
		if err := os.MkdirAll(filepath.Join(a.cfg.DataDir, dir), 0o700); err != nil {
			return fmt.Errorf("agent: %w", err)
		}
	}
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	events := a.cfg.EventClient
	if events == nil {
		events = a.client
	}
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: events.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	a.recorder = broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "podyard-agent", Host: a.cfg.NodeName})

	srv, err := a.startServer(ctx)
	if err != nil {
		return err
	}
	defer srv.close()
	if err := a.registerNode(ctx, srv.port, srv.caPEM); err != nil {
		return err
	}
	a.log.Info("node registered", "address", a.hostIP, "streaming", srv.port)

	existing, err := a.rt.List(ctx)
	if err != nil {
		return fmt.Errorf("agent: list containers: %w", err)
	}
	for _, c := range existing {
		uid := types.UID(c.PodUID)
		a.adopted[uid] = append(a.adopted[uid], c)
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { a.renewLease(ctx) })
	wg.Go(func() { a.heartbeat(ctx) })
	wg.Go(func() { a.routeExits(ctx) })

	factory := informers.NewSharedInformerFactoryWithOptions(a.client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", a.cfg.NodeName).String()
	}))
	pods := factory.Core().V1().Pods().Informer()
	_, err = pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { a.podChanged(ctx, obj.(*corev1.Pod)) },
		UpdateFunc: func(_, obj any) { a.podChanged(ctx, obj.(*corev1.Pod)) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				a.podGone(pod)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("agent: watch pods: %w", err)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), pods.HasSynced) {
		return nil // stopped before the pods were listed: a clean stop all the same
	}
	a.removeOrphans(ctx)
	a.log.Info("agent running pods")
	<-ctx.Done()
	return nil
}

// podChanged hands the newest copy of a pod to its worker, starting one
// for a pod seen for the first time.
func (a *Agent) podChanged(ctx context.Context, pod *corev1.Pod) {
	a.mu.Lock()
	w, ok := a.workers[pod.UID]
	if !ok {
		w = newPodWorker(a, pod, a.adopted[pod.UID])
		delete(a.adopted, pod.UID)
		a.workers[pod.UID] = w
		a.byName[pod.Namespace+"/"+pod.Name] = w
		go func() {
			w.run(ctx)
			a.mu.Lock()
			delete(a.workers, pod.UID)
			if a.byName[pod.Namespace+"/"+pod.Name] == w {
				delete(a.byName, pod.Namespace+"/"+pod.Name)
			}
			a.mu.Unlock()
		}()
	}
	a.mu.Unlock()
	w.update(pod)
}

// podGone tells a worker its pod left the API (deleted, maybe forcibly).
func (a *Agent) podGone(pod *corev1.Pod) {
	a.mu.Lock()
	w := a.workers[pod.UID]
	a.mu.Unlock()
	if w != nil {
		w.markGone()
	}
}

// routeExits passes each container exit to its pod's worker.
func (a *Agent) routeExits(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case st := <-a.rt.Exited():
			a.mu.Lock()
			w := a.workers[types.UID(st.PodUID)]
			a.mu.Unlock()
			if w != nil {
				w.containerExited(st)
			}
		}
	}
}

// removeOrphans stops and removes containers whose pods no longer exist
// (deleted while no agent ran).
func (a *Agent) removeOrphans(ctx context.Context) {
	a.mu.Lock()
	orphans := a.adopted
	a.adopted = map[types.UID][]runtime.ContainerStatus{}
	a.mu.Unlock()
	for uid, containers := range orphans {
		for _, c := range containers {
			a.log.Info("removing container of a pod that is gone", "pod", uid, "container", c.Name)
			if err := a.rt.Stop(ctx, c.ID, 0); err != nil {
				a.log.Warn("stop orphan", "container", c.ID, "err", err)
			}
			if err := a.rt.Remove(ctx, c.ID); err != nil {
				a.log.Warn("remove orphan", "container", c.ID, "err", err)
			}
		}
		os.RemoveAll(filepath.Join(a.cfg.DataDir, "pods", string(uid)))
		// Log directories are named namespace_name_uid; only the UID is known.
		logDirs, _ := filepath.Glob(filepath.Join(a.cfg.DataDir, "logs", "*_"+string(uid)))
		for _, d := range logDirs {
			os.RemoveAll(d)
		}
	}
}

// worker finds the worker of a pod by namespace and name.
func (a *Agent) worker(namespace, name string) *podWorker {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.byName[namespace+"/"+name]
}

// defaultAddress is the host's first non-loopback IPv4 address.
func defaultAddress() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, addr := range addrs {
			if ipnet, ok := addr.(*net.IPNet); ok && !ipnet.IP.IsLoopback() && ipnet.IP.To4() != nil {
				return ipnet.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

// allocatable is the node's allocatable resources: the default of a
// resourceFieldRef to a limit the container does not set.
func (a *Agent) allocatable() corev1.ResourceList {
	a.allocatableOnce.Do(func() { a.allocated = a.nodeObject(0, nil).Status.Allocatable })
	return a.allocated
}

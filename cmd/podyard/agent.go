package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/podyard/podyard/internal/agent"
	"github.com/podyard/podyard/internal/runtime/cgroups"
	"github.com/podyard/podyard/internal/runtime/process"
	"github.com/podyard/podyard/internal/runtime/process/supervisorbin"
)

// agentFlags configure a node agent, alone or inside `up`.
type agentFlags struct {
	nodeName, dataDir, runtime, address, listen string
	supervisor                                  string
	maxPods                                     int
	cgroupRoot                                  string
	podMaxPids                                  int64
	leaseDuration, crashBackoff                 time.Duration
}

func (f *agentFlags) register(fs *flag.FlagSet) {
	host, _ := os.Hostname()
	fs.StringVar(&f.nodeName, "node-name", host, "name of this node")
	fs.StringVar(&f.runtime, "runtime", "process", "container runtime: process (each container a host process; no images)")
	fs.StringVar(&f.supervisor, "supervisor", "", "the process runtime's supervisor binary (default: the one built into podyard, written to DATA-DIR/bin; else podyard-supervisor beside this binary; else `podyard supervise`, slower)")
	fs.StringVar(&f.address, "address", "", "IP address the node advertises (default: the first non-loopback IPv4 address)")
	fs.StringVar(&f.listen, "agent-listen", "", "host:port of the agent's streaming server (default: the node address, a free port)")
	fs.IntVar(&f.maxPods, "max-pods", 110, "pods this node runs at most")
	fs.StringVar(&f.cgroupRoot, "cgroup-root", "/podyard", "cgroup under which each container gets its own, as root (cgroup v1 or v2); empty: none")
	fs.Int64Var(&f.podMaxPids, "pod-max-pids", -1, "processes a pod may run at once (-1: no limit); needs cgroups")
	fs.DurationVar(&f.leaseDuration, "lease-duration", 40*time.Second, "how long the node's lease is valid; renewed every quarter of it")
	fs.DurationVar(&f.crashBackoff, "crash-backoff", 10*time.Second, "first wait before restarting a crashing container; doubles up to 5m")
}

func runAgent(args []string) error {
	fs := flag.NewFlagSet("podyard agent", flag.ContinueOnError)
	var f agentFlags
	f.register(fs)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig that reaches the cluster (required)")
	fs.StringVar(&f.dataDir, "data-dir", "podyard-agent", "directory for the agent's credentials, containers, volumes and logs")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("agent: unexpected arguments %q", fs.Args())
	}
	if *kubeconfig == "" {
		return fmt.Errorf("agent: --kubeconfig is required")
	}
	log, err := newLogger(*logLevel)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return f.run(ctx, *kubeconfig, log)
}

// run builds the runtime and the agent and runs it until ctx ends.
func (f *agentFlags) run(ctx context.Context, kubeconfig string, log *slog.Logger) error {
	if f.nodeName == "" {
		return fmt.Errorf("agent: --node-name is required (the host name is unknown)")
	}
	if f.runtime != "process" {
		return fmt.Errorf("agent: --runtime %q is not supported: the process runtime is the only one so far", f.runtime)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	clusterCA, err := caPool(cfg)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	// The API server bounds what is in flight; throttling here as well
	// queued a 100-pod burst's status writes ~300 ms behind a 100 QPS
	// limit. Events, the chatty part, keep the kubelet's limits on a
	// client of their own, so they never hold up a status.
	eventsCfg := rest.CopyConfig(cfg)
	eventsCfg.QPS, eventsCfg.Burst = 50, 100
	cfg.QPS = -1
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	events, err := kubernetes.NewForConfig(eventsCfg)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	supervisor, err := f.supervisorCommand(ctx, log)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	log.Info("process runtime", "supervisor", supervisor)
	groups, err := f.cgroups(log)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	rt, err := process.New(ctx, process.Config{
		Dir:        filepath.Join(f.dataDir, "containers"),
		Supervisor: supervisor,
		Cgroups:    groups,
		Log:        log,
	})
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	a, err := agent.New(agent.Config{
		NodeName: f.nodeName, DataDir: f.dataDir, Client: client, EventClient: events, ClusterCA: clusterCA, Runtime: rt,
		Listen: f.listen, Address: f.address, CrashBackoff: f.crashBackoff, LeaseDuration: f.leaseDuration, MaxPods: f.maxPods, Log: log,
	})
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// cgroups is the manager of the containers' cgroups, or nil when there
// are none: turned off, or not root (said once, here).
func (f *agentFlags) cgroups(log *slog.Logger) (*cgroups.Manager, error) {
	const uncontained = "resources.limits are not enforced, and a container's processes that leave its process group outlive it"
	if f.cgroupRoot == "" {
		log.Warn("containers are not put in cgroups (--cgroup-root is empty): " + uncontained)
		return nil, nil
	}
	groups, err := cgroups.New(f.cgroupRoot, f.podMaxPids)
	if errors.Is(err, cgroups.ErrUnsupported) {
		log.Warn("containers are not put in cgroups: "+uncontained, "reason", err)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--cgroup-root: %w", err)
	}
	log.Info("containers get cgroups of their own", "root", f.cgroupRoot, "podMaxPids", f.podMaxPids)
	return groups, nil
}

// supervisorCommand is how the process runtime starts a supervisor. A small
// binary starts in milliseconds where this one spends ~80 ms initialising
// packages, most of a pod's start: --supervisor, else the supervisor built
// into podyard written under the data dir, else podyard-supervisor beside
// this binary, else `podyard supervise`.
func (f *agentFlags) supervisorCommand(ctx context.Context, log *slog.Logger) ([]string, error) {
	if f.supervisor != "" {
		if _, err := os.Stat(f.supervisor); err != nil {
			return nil, fmt.Errorf("--supervisor: %w", err)
		}
		return []string{f.supervisor}, nil
	}
	installed, embeddedErr := supervisorbin.Install(ctx, filepath.Join(f.dataDir, "bin"))
	if embeddedErr == nil {
		return []string{installed}, nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("supervisor: %w", err)
	}
	if sibling := siblingBinary(self, "podyard-supervisor"); sibling != "" {
		log.Warn("process runtime: the built-in supervisor is not used, podyard-supervisor beside podyard is", "reason", embeddedErr)
		return []string{sibling}, nil
	}
	log.Warn("process runtime: no small supervisor; every container start runs `podyard supervise`, ~80 ms slower", "reason", embeddedErr)
	return []string{self, superviseCommand}, nil
}

// siblingBinary is the path of the program name beside self, if it is there.
func siblingBinary(self, name string) string {
	p := filepath.Join(filepath.Dir(self), name)
	if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
		return p
	}
	return ""
}

// caPool is the CA the kubeconfig trusts for the API server: the same CA
// signs the API server's client certificate towards agents.
func caPool(cfg *rest.Config) (*x509.CertPool, error) {
	pem := cfg.TLSClientConfig.CAData
	if len(pem) == 0 && cfg.TLSClientConfig.CAFile != "" {
		var err error
		if pem, err = os.ReadFile(cfg.TLSClientConfig.CAFile); err != nil {
			return nil, fmt.Errorf("cluster CA: %w", err)
		}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("the kubeconfig names no certificate authority: the agent needs it to know the API server")
	}
	return pool, nil
}

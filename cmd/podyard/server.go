package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/rest"

	"github.com/podyard/podyard/internal/apiserver"
	bcsdeployment "github.com/podyard/podyard/internal/bcs/deployment"
	"github.com/podyard/podyard/internal/controller"
	applicationcontroller "github.com/podyard/podyard/internal/controller/application"
	"github.com/podyard/podyard/internal/controller/nodelifecycle"
	runcommandcontroller "github.com/podyard/podyard/internal/controller/runcommand"
	"github.com/podyard/podyard/internal/dialect/arm"
	"github.com/podyard/podyard/internal/dialect/bcs"
	"github.com/podyard/podyard/internal/etcd"
	"github.com/podyard/podyard/internal/runcommand/archive"
)

// controlPlaneFlags are the flags `server` and `up` share.
type controlPlaneFlags struct {
	dataDir, listen, logLevel string
	evictionTimeout           time.Duration
	requestTimeout            time.Duration
	scheduler                 bool
	runCommand                runCommandFlags
	bcsClusterID              string
	bcsStepTimeout            time.Duration
}

// runCommandFlags configure the AKS Run Command API and its controller.
type runCommandFlags struct {
	disabled                    bool
	identity                    arm.Identity
	retryAfter                  time.Duration
	maxRequestBytes             int64
	maxContextBytes             int64
	maxContextFiles             int
	startTimeout, timeout, keep time.Duration
	requests, limits            string
}

func (f *runCommandFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.disabled, "disable-run-command", false, "turn the AKS Run Command API off (a POST gets 400)")
	fs.StringVar(&f.identity.SubscriptionID, "subscription-id", "00000000-0000-0000-0000-000000000000", "the subscription the Run Command API answers for")
	fs.StringVar(&f.identity.ResourceGroup, "resource-group", "podyard", "the resource group the Run Command API answers for")
	fs.StringVar(&f.identity.ClusterName, "cluster-name", "podyard", "the managed cluster name the Run Command API answers for")
	fs.DurationVar(&f.retryAfter, "run-command-retry-after", time.Second, "how long run-command clients are told to wait between polls (Retry-After)")
	fs.Int64Var(&f.maxRequestBytes, "run-command-max-request-bytes", 1<<20, "largest run-command request body (413 beyond)")
	fs.Int64Var(&f.maxContextBytes, "run-command-max-context-bytes", archive.DefaultLimits().MaxBytes, "largest size a run command's context may unpack to")
	fs.IntVar(&f.maxContextFiles, "run-command-max-context-files", archive.DefaultLimits().MaxFiles, "most files a run command's context may hold")
	fs.DurationVar(&f.startTimeout, "run-command-start-timeout", 30*time.Second, "a run command whose pod does not run within this fails")
	fs.DurationVar(&f.timeout, "run-command-timeout", 10*time.Minute, "timeout of a run command that sets no timeoutSeconds")
	fs.DurationVar(&f.keep, "run-command-retention", 7*24*time.Hour, "how long finished run commands and their results are kept")
	fs.StringVar(&f.requests, "run-command-requests", "cpu=200m,memory=500Mi", "resource requests of a run command's pod")
	fs.StringVar(&f.limits, "run-command-limits", "cpu=500m,memory=1Gi", "resource limits of a run command's pod")
}

func (f *runCommandFlags) check() error {
	if !arm.ValidClusterName(f.identity.ClusterName) {
		return fmt.Errorf("--cluster-name %q: 1-63 letters, digits, '-' or '_', starting and ending with a letter or digit", f.identity.ClusterName)
	}
	if f.identity.SubscriptionID == "" || f.identity.ResourceGroup == "" {
		return fmt.Errorf("--subscription-id and --resource-group may not be empty")
	}
	return nil
}

// podSettings are the run-command pods' settings but where the server is.
func (f *runCommandFlags) podSettings() (runcommandcontroller.PodSettings, error) {
	requests, err := parseResources(f.requests)
	if err != nil {
		return runcommandcontroller.PodSettings{}, fmt.Errorf("--run-command-requests: %w", err)
	}
	limits, err := parseResources(f.limits)
	if err != nil {
		return runcommandcontroller.PodSettings{}, fmt.Errorf("--run-command-limits: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return runcommandcontroller.PodSettings{}, err
	}
	return runcommandcontroller.PodSettings{
		Runner: runnerCommand(self), Podyard: self,
		Resources: corev1.ResourceRequirements{Requests: requests, Limits: limits},
	}, nil
}

// parseResources reads "cpu=200m,memory=500Mi".
func parseResources(s string) (corev1.ResourceList, error) {
	list := corev1.ResourceList{}
	for _, kv := range strings.Split(s, ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		q, err := resource.ParseQuantity(v)
		if !ok || err != nil {
			return nil, fmt.Errorf("%q: want name=quantity", kv)
		}
		list[corev1.ResourceName(k)] = q
	}
	return list, nil
}

func (f *controlPlaneFlags) register(fs *flag.FlagSet, dataDirDefault, listenDefault string) {
	fs.StringVar(&f.dataDir, "data-dir", dataDirDefault, "directory for credentials, kubeconfig and embedded etcd data")
	fs.StringVar(&f.listen, "listen", listenDefault, "host:port of the HTTPS API (port 0 picks a free one)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&f.scheduler, "scheduler", true, "run the scheduler (false: pods stay unbound until something binds them through pods/binding)")
	fs.DurationVar(&f.requestTimeout, "request-timeout", time.Minute, "how long a request may take before the server ends it; watch, exec, attach, port-forward, log and proxy requests run as long as the client wants")
	f.runCommand.register(fs)
	fs.StringVar(&f.bcsClusterID, "bcs-cluster-id", bcs.DefaultClusterID, "the cluster the BCS v4 scheduler API answers for (its BCS-ClusterID header); it ends in -<number>")
	fs.DurationVar(&f.bcsStepTimeout, "bcs-rolling-step-timeout", bcsdeployment.DefaultStepTimeout, "how long a step of a BCS deployment's rolling update may take before the update is suspended (UpdateSuspend)")
	fs.DurationVar(&f.evictionTimeout, "pod-eviction-timeout", nodelifecycle.DefaultEvictionTimeout, "how long pods stay on a node that stopped renewing its lease before they are deleted")
}

func (f *controlPlaneFlags) options() (apiserver.Options, error) {
	log, err := newLogger(f.logLevel)
	if err != nil {
		return apiserver.Options{}, err
	}
	rc := &f.runCommand
	if err := rc.check(); err != nil {
		return apiserver.Options{}, err
	}
	clusterNumber, err := bcs.ClusterNumber(f.bcsClusterID)
	if err != nil {
		return apiserver.Options{}, fmt.Errorf("--bcs-cluster-id: %w", err)
	}
	pod, err := rc.podSettings()
	if err != nil {
		return apiserver.Options{}, err
	}
	controllers := controller.Config{
		SystemNamespaces: apiserver.ImmortalNamespaces,
		EvictionTimeout:  f.evictionTimeout,
		NoScheduler:      !f.scheduler,
		Application: &applicationcontroller.Options{
			Cluster: clusterNumber, ConfigMapName: bcsKubeName, SecretName: bcsKubeName,
		},
		DeploymentStepTimeout: f.bcsStepTimeout,
		Log:                   log,
	}
	if !rc.disabled {
		controllers.RunCommand = &controller.RunCommandConfig{
			Timeouts: runcommandcontroller.Timeouts{Start: rc.startTimeout, Default: rc.timeout, Retention: rc.keep},
			Pod:      pod,
		}
	}
	return apiserver.Options{
		DataDir:        f.dataDir,
		Listen:         f.listen,
		RequestTimeout: f.requestTimeout,
		Logger:         log,
		RunCommand: apiserver.RunCommandOptions{
			Config: arm.Config{
				Disabled: rc.disabled, Identity: rc.identity,
				RetryAfter: rc.retryAfter, MaxRequestBytes: rc.maxRequestBytes,
			},
			ContextLimits: archive.Limits{MaxBytes: rc.maxContextBytes, MaxFiles: rc.maxContextFiles},
		},
		BCS: bcs.Config{ClusterID: f.bcsClusterID},
		PostStart: map[string]func(context.Context, *rest.Config, apiserver.Endpoint) error{
			"podyard-controllers": func(ctx context.Context, loopback *rest.Config, public apiserver.Endpoint) error {
				cfg := controllers
				if cfg.RunCommand != nil {
					commands := *cfg.RunCommand
					commands.Pod.ServerURL, commands.Pod.CAPEM = public.URL, public.CAPEM
					cfg.RunCommand = &commands
				}
				return controller.ControlPlane(cfg)(ctx, loopback)
			},
		},
	}, nil
}

// bcsKubeName is the core/v1 name of a BCS configmap or secret name (the
// name itself when the BCS dialect would refuse it).
func bcsKubeName(name string) string {
	if k, e := bcs.KubeName(name); e == nil {
		return k
	}
	return name
}

// announce prints where the server is, and where its dialects are.
func (f *controlPlaneFlags) announce(r apiserver.Ready) {
	fmt.Printf("podyard: ready at %s (export KUBECONFIG=%s)\n", r.URL, r.Kubeconfig)
	f.announceRunCommand(r)
}

// announceRunCommand prints where the dialects (Run Command, BCS) are.
func (f *controlPlaneFlags) announceRunCommand(r apiserver.Ready) {
	if !f.runCommand.disabled {
		fmt.Printf("podyard: AKS Run Command API at %s%s/runCommand\n", r.URL, f.runCommand.identity.ResourceID())
	}
	fmt.Printf("podyard: BCS v4 scheduler API at %s%s (BCS-ClusterID: %s)\n", r.URL, bcs.PathPrefixes[0], f.bcsClusterID)
}

func runServer(args []string) error {
	fs := flag.NewFlagSet("podyard server", flag.ContinueOnError)
	var cp controlPlaneFlags
	cp.register(fs, "podyard-data", "127.0.0.1:6443")
	etcdServers := fs.String("etcd-servers", "", "comma-separated client URLs of an external etcd cluster (default: embedded etcd)")
	var etcdTLS etcd.TLS
	fs.StringVar(&etcdTLS.TrustedCAFile, "etcd-cafile", "", "CA bundle that signed the external etcd servers' certificates")
	fs.StringVar(&etcdTLS.CertFile, "etcd-certfile", "", "client certificate for the external etcd servers")
	fs.StringVar(&etcdTLS.KeyFile, "etcd-keyfile", "", "key of --etcd-certfile")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("server: unexpected arguments %q", fs.Args())
	}
	opts, err := cp.options()
	if err != nil {
		return err
	}
	if *etcdServers != "" {
		opts.EtcdServers = strings.Split(*etcdServers, ",")
		opts.EtcdTLS = etcdTLS
	} else if etcdTLS != (etcd.TLS{}) {
		return fmt.Errorf("server: --etcd-cafile, --etcd-certfile and --etcd-keyfile need --etcd-servers")
	}
	if (etcdTLS.CertFile == "") != (etcdTLS.KeyFile == "") {
		return fmt.Errorf("server: --etcd-certfile and --etcd-keyfile go together")
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return apiserver.Run(ctx, opts, cp.announce)
}

package main

import (
	"context"
	"flag"
	"fmt"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/podyard/podyard/internal/apiserver"
	"github.com/podyard/podyard/internal/controller"
	"github.com/podyard/podyard/internal/controller/nodelifecycle"
	"github.com/podyard/podyard/internal/etcd"
)

// controlPlaneFlags are the flags `server` and `up` share.
type controlPlaneFlags struct {
	dataDir, listen, logLevel string
	evictionTimeout           time.Duration
	requestTimeout            time.Duration
	scheduler                 bool
}

func (f *controlPlaneFlags) register(fs *flag.FlagSet, dataDirDefault, listenDefault string) {
	fs.StringVar(&f.dataDir, "data-dir", dataDirDefault, "directory for credentials, kubeconfig and embedded etcd data")
	fs.StringVar(&f.listen, "listen", listenDefault, "host:port of the HTTPS API (port 0 picks a free one)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&f.scheduler, "scheduler", true, "run the scheduler (false: pods stay unbound until something binds them through pods/binding)")
	fs.DurationVar(&f.requestTimeout, "request-timeout", time.Minute, "how long a request may take before the server ends it; watch, exec, attach, port-forward, log and proxy requests run as long as the client wants")
	fs.DurationVar(&f.evictionTimeout, "pod-eviction-timeout", nodelifecycle.DefaultEvictionTimeout, "how long pods stay on a node that stopped renewing its lease before they are deleted")
}

func (f *controlPlaneFlags) options() (apiserver.Options, error) {
	log, err := newLogger(f.logLevel)
	if err != nil {
		return apiserver.Options{}, err
	}
	return apiserver.Options{
		DataDir:        f.dataDir,
		Listen:         f.listen,
		RequestTimeout: f.requestTimeout,
		Logger:         log,
		PostStart: map[string]controller.StartFunc{
			"podyard-controllers": controller.ControlPlane(controller.Config{
				SystemNamespaces: apiserver.ImmortalNamespaces,
				EvictionTimeout:  f.evictionTimeout,
				NoScheduler:      !f.scheduler,
				Log:              log,
			}),
		},
	}, nil
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
	return apiserver.Run(ctx, opts, func(r apiserver.Ready) {
		fmt.Printf("podyard: ready at %s (export KUBECONFIG=%s)\n", r.URL, r.Kubeconfig)
	})
}

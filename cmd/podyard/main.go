// Command podyard is the one Podyard binary: `podyard server` runs the
// control plane, `podyard version` says which build this is.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"k8s.io/klog/v2"

	"github.com/podyard/podyard/internal/apiserver"
	"github.com/podyard/podyard/internal/controller"
	"github.com/podyard/podyard/internal/etcd"
	"github.com/podyard/podyard/internal/version"
)

const usage = `usage: podyard <command> [flags]

commands:
  server    run the API server and controllers (etcd embedded unless --etcd-servers)
  version   print the version
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "server":
		err = runServer(os.Args[2:])
	case "version", "--version":
		fmt.Println(version.String())
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "podyard: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "podyard:", err)
		}
		os.Exit(1)
	}
}

func runServer(args []string) error {
	fs := flag.NewFlagSet("podyard server", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "podyard-data", "directory for credentials, kubeconfig and embedded etcd data")
	listen := fs.String("listen", "127.0.0.1:6443", "host:port of the HTTPS API (port 0 picks a free one)")
	etcdServers := fs.String("etcd-servers", "", "comma-separated client URLs of an external etcd cluster (default: embedded etcd)")
	var etcdTLS etcd.TLS
	fs.StringVar(&etcdTLS.TrustedCAFile, "etcd-cafile", "", "CA bundle that signed the external etcd servers' certificates")
	fs.StringVar(&etcdTLS.CertFile, "etcd-certfile", "", "client certificate for the external etcd servers")
	fs.StringVar(&etcdTLS.KeyFile, "etcd-keyfile", "", "key of --etcd-certfile")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("server: unexpected arguments %q", fs.Args())
	}
	log, err := newLogger(*logLevel)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	opts := apiserver.Options{
		DataDir: *dataDir,
		Listen:  *listen,
		Logger:  log,
		PostStart: map[string]controller.StartFunc{
			"podyard-controllers": controller.ControlPlane(apiserver.ImmortalNamespaces, log),
		},
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
	return apiserver.Run(ctx, opts, func(r apiserver.Ready) {
		fmt.Printf("podyard: ready at %s (export KUBECONFIG=%s)\n", r.URL, r.Kubeconfig)
	})
}

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
	// The Kubernetes libraries log through klog; send it to the same place.
	klog.SetSlogLogger(log)
	return log, nil
}

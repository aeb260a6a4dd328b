package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/podyard/podyard/internal/apiserver"
	"github.com/podyard/podyard/internal/scheduler"
)

// runUp runs the all-in-one cluster: the server with embedded etcd and its
// controllers, and a node agent on this machine, in one process.
func runUp(args []string) error {
	fs := flag.NewFlagSet("podyard up", flag.ContinueOnError)
	var cp controlPlaneFlags
	cp.register(fs, "podyard-data", "127.0.0.1:6443")
	var ag agentFlags
	ag.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("up: unexpected arguments %q", fs.Args())
	}
	ag.dataDir = filepath.Join(cp.dataDir, "agent")
	opts, err := cp.options()
	if err != nil {
		return err
	}
	log := opts.Logger

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var agentErr error
	var agentRun sync.WaitGroup
	err = apiserver.Run(ctx, opts, func(r apiserver.Ready) {
		agentRun.Go(func() {
			// The agent is a client of the server like a remote one, with
			// the admin kubeconfig the server just wrote.
			if agentErr = ag.run(ctx, r.Kubeconfig, log); agentErr != nil {
				cancel(agentErr)
			}
		})
		go func() {
			if err := waitNodeReady(ctx, r.Kubeconfig, ag.nodeName); err != nil {
				return
			}
			fmt.Printf("podyard: ready at %s (node %s runs pods)\n", r.URL, ag.nodeName)
			fmt.Printf("podyard: point kubectl at it with: export KUBECONFIG=%s\n", r.Kubeconfig)
			cp.announceRunCommand(r)
		}()
	})
	agentRun.Wait()
	return errors.Join(err, agentErr)
}

// waitNodeReady waits until the node is Ready and schedulable.
func waitNodeReady(ctx context.Context, kubeconfig, name string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	return wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		node, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return scheduler.Ready(node) && !node.Spec.Unschedulable, nil
	})
}

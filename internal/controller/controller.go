// Package controller assembles the controllers that run beside the API server.
package controller

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/podyard/podyard/internal/controller/namespace"
	"github.com/podyard/podyard/internal/controller/serviceaccount"
)

// StartFunc starts controllers against the API server reached by cfg; they stop when ctx ends.
type StartFunc = func(ctx context.Context, cfg *rest.Config) error

// ControlPlane starts the control plane's controllers: namespace lifecycle
// (systemNamespaces always exist) and default service accounts.
func ControlPlane(systemNamespaces []string, log *slog.Logger) StartFunc {
	return func(ctx context.Context, cfg *rest.Config) error {
		cfg = rest.CopyConfig(cfg)
		cfg.QPS, cfg.Burst = 200, 400
		client, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return fmt.Errorf("controllers: %w", err)
		}
		dyn, err := dynamic.NewForConfig(cfg)
		if err != nil {
			return fmt.Errorf("controllers: %w", err)
		}
		factory := informers.NewSharedInformerFactory(client, 10*time.Minute)
		namespaces := namespace.New(client, dyn, factory, systemNamespaces, log)
		accounts := serviceaccount.New(client, factory, log)
		factory.Start(ctx.Done())
		go namespaces.Run(ctx, 2)
		go accounts.Run(ctx, 2)
		return nil
	}
}

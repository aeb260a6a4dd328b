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

	"github.com/podyard/podyard/internal/bcs/clients"
	agentsettingcontroller "github.com/podyard/podyard/internal/controller/agentsetting"
	applicationcontroller "github.com/podyard/podyard/internal/controller/application"
	"github.com/podyard/podyard/internal/controller/appversion"
	deploymentcontroller "github.com/podyard/podyard/internal/controller/deployment"
	"github.com/podyard/podyard/internal/controller/garbagecollector"
	"github.com/podyard/podyard/internal/controller/namespace"
	"github.com/podyard/podyard/internal/controller/nodelifecycle"
	"github.com/podyard/podyard/internal/controller/remotecheck"
	runcommandcontroller "github.com/podyard/podyard/internal/controller/runcommand"
	"github.com/podyard/podyard/internal/controller/serviceaccount"
	"github.com/podyard/podyard/internal/runcommand"
	"github.com/podyard/podyard/internal/scheduler"
)

// StartFunc starts controllers against the API server reached by cfg; they stop when ctx ends.
type StartFunc = func(ctx context.Context, cfg *rest.Config) error

// Config of the control plane's controllers.
type Config struct {
	SystemNamespaces []string      // namespaces that always exist
	EvictionTimeout  time.Duration // how long pods stay on a lost node
	NoScheduler      bool          // pods stay unbound until bound through pods/binding
	// RunCommand runs podyard.io RunCommands; nil leaves them alone.
	RunCommand *RunCommandConfig
	// Application runs BCS Applications (bcs.podyard.io); nil leaves them alone.
	Application *applicationcontroller.Options
	// DeploymentStepTimeout bounds a step of a BCS deployment's rolling
	// update before it is suspended (0: BCS's 480 s).
	DeploymentStepTimeout time.Duration
	Log                   *slog.Logger
}

// RunCommandConfig configures the run-command controller.
type RunCommandConfig struct {
	Timeouts runcommandcontroller.Timeouts
	Pod      runcommandcontroller.PodSettings
}

// ControlPlane starts the control plane's controllers: namespace
// lifecycle, default service accounts, the scheduler, node lifecycle, run
// commands, BCS applications and BCS agent settings.
func ControlPlane(c Config) StartFunc {
	log := c.Log
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
		// Kubernetes' garbage collector, on informers of its own.
		if err := garbagecollector.Start(ctx, cfg); err != nil {
			return fmt.Errorf("controllers: %w", err)
		}
		namespaces := namespace.New(client, dyn, factory, c.SystemNamespaces, log)
		accounts := serviceaccount.New(client, factory, log)
		var sched *scheduler.Scheduler
		if !c.NoScheduler {
			if sched, err = scheduler.New(client, factory, log); err != nil {
				return fmt.Errorf("controllers: %w", err)
			}
		}
		nodes, err := nodelifecycle.New(client, factory, c.EvictionTimeout, log)
		if err != nil {
			return fmt.Errorf("controllers: %w", err)
		}
		var commands *runcommandcontroller.Controller
		if rc := c.RunCommand; rc != nil {
			rcClient, err := runcommand.NewClient(cfg)
			if err != nil {
				return fmt.Errorf("controllers: %w", err)
			}
			commands = runcommandcontroller.New(client, rcClient, factory, rc.Timeouts, rc.Pod, log)
		}
		var apps *applicationcontroller.Controller
		var remote *remotecheck.Controller  // BCS REMOTE_HTTP/REMOTE_TCP checks
		var versions *appversion.Controller // BCS application versions
		var deploys *deploymentcontroller.Controller
		if c.Application != nil {
			appClients, err := applicationcontroller.NewClients(cfg)
			if err != nil {
				return fmt.Errorf("controllers: %w", err)
			}
			apps = applicationcontroller.New(client, appClients, factory, *c.Application, log)
			remote = remotecheck.New(client, factory, log)
			versionClients, err := clients.NewApplicationVersions(cfg)
			if err != nil {
				return fmt.Errorf("controllers: %w", err)
			}
			versions = appversion.New(appClients, versionClients, log)
			deployClients, err := clients.NewDeployments(cfg)
			if err != nil {
				return fmt.Errorf("controllers: %w", err)
			}
			deploys = deploymentcontroller.New(deployClients, appClients, factory, log)
			deploys.StepTimeout = c.DeploymentStepTimeout
		}
		var agents *agentsettingcontroller.Controller
		if c.Application != nil { // BCS agent settings go with BCS applications
			settings, err := clients.NewAgentSettings(cfg)
			if err != nil {
				return fmt.Errorf("controllers: %w", err)
			}
			if agents, err = agentsettingcontroller.New(client, settings, factory, log); err != nil {
				return fmt.Errorf("controllers: %w", err)
			}
		}
		factory.Start(ctx.Done())
		go namespaces.Run(ctx, 2)
		go accounts.Run(ctx, 2)
		if sched != nil {
			go sched.Run(ctx)
		}
		go nodes.Run(ctx)
		if commands != nil {
			go commands.Run(ctx, 4)
		}
		if apps != nil {
			go apps.Run(ctx, 4)
			go remote.Run(ctx)
			go versions.Run(ctx, 2)
			go deploys.Run(ctx, 4)
		}
		if agents != nil {
			go agents.Run(ctx, 2)
		}
		return nil
	}
}

package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/component-base/cli"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"

	controller "github.com/podyard/podyard/internal/controller/runcommand"
	"github.com/podyard/podyard/internal/runcommand"
	"github.com/podyard/podyard/internal/runcommand/archive"
)

const runCommandExec = "run-command-exec"

// runRunCommandExec is the body of a run command's pod; the controller
// sets its environment.
func runRunCommandExec() error {
	env := runcommand.RunnerEnv{
		Name: os.Getenv(controller.EnvName), Server: os.Getenv(controller.EnvServer),
		CAPEM: os.Getenv(controller.EnvCA), Token: os.Getenv(controller.EnvToken),
	}
	if env.Name == "" || env.Server == "" || env.Token == "" {
		return fmt.Errorf("%s runs in a run command's pod, whose environment names the command, the server and a token", runCommandExec)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// The server checked the context's size when the command was created.
	code, err := runcommand.Run(ctx, env, self, archive.Limits{MaxBytes: 1 << 40, MaxFiles: 1 << 30})
	if err != nil {
		fmt.Fprintln(os.Stderr, "podyard:", err)
	}
	os.Exit(code)
	return nil
}

// runKubectl is kubectl itself, for a binary called kubectl: run commands
// find it on their PATH.
func runKubectl() {
	if err := cli.RunNoErrOutput(kubectlcmd.NewDefaultKubectlCommand()); err != nil {
		kubectlutil.CheckErr(err)
	}
}

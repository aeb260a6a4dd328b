// Command podyard is the one Podyard binary: `podyard up` runs a whole
// cluster on this machine, `podyard server` the control plane, `podyard
// agent` a node, `podyard version` says which build this is.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"k8s.io/klog/v2"

	"github.com/podyard/podyard/internal/version"
)

const usage = `usage: podyard <command> [flags]

commands:
  up        run a whole cluster here: server, embedded etcd, scheduler, controllers and one node agent
  server    run the API server and controllers (etcd embedded unless --etcd-servers)
  agent     join a cluster as a node and run its pods
  version   print the version
`

func main() {
	if filepath.Base(os.Args[0]) == "kubectl" {
		runKubectl()
		return
	}
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "up":
		err = runUp(os.Args[2:])
	case "server":
		err = runServer(os.Args[2:])
	case "agent":
		err = runAgent(os.Args[2:])
	case superviseCommand: // started by the process runtime, not by people
		err = runSupervise(os.Args[2:])
	case runCommandExec: // a run command's pod
		err = runRunCommandExec()
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

package main

import (
	"k8s.io/component-base/cli"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/podyard/podyard/internal/runcommand/runner"
)

// runCommandExec runs a RunCommand in its pod when podyard-runcommand, the
// small binary that does the same, is not installed beside podyard.
const runCommandExec = "run-command-exec"

func runRunCommandExec() error {
	runner.Main()
	return nil
}

// runnerCommand is how a command's pod starts its runner.
func runnerCommand(self string) []string {
	if sibling := siblingBinary(self, "podyard-runcommand"); sibling != "" {
		return []string{sibling}
	}
	return []string{self, runCommandExec}
}

// runKubectl is kubectl itself, for a binary called kubectl: run commands
// find it on their PATH.
func runKubectl() {
	if err := cli.RunNoErrOutput(kubectlcmd.NewDefaultKubectlCommand()); err != nil {
		kubectlutil.CheckErr(err)
	}
}

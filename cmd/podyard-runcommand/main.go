// Command podyard-runcommand is the body of a run command's pod, as a
// binary small enough to start in a couple of milliseconds; `podyard
// run-command-exec` does the same when it is not installed.
package main

import "github.com/podyard/podyard/internal/runcommand/runner"

func main() { runner.Main() }

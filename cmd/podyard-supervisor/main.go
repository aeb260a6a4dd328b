// Command podyard-supervisor runs one container of the process runtime:
// `podyard-supervisor DIR`, started by the node agent. It is `podyard
// supervise` in a binary of its own, small enough to start in a few
// milliseconds where the whole podyard binary spends ~80 ms initialising
// packages the supervisor never uses: that is most of a pod's start.
package main

import (
	"fmt"
	"os"

	"github.com/podyard/podyard/internal/runtime/process"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: podyard-supervisor DIR")
		os.Exit(2)
	}
	if err := process.Supervise(os.Args[1]); err != nil {
		os.Exit(1)
	}
}

package main

import (
	"fmt"

	"github.com/podyard/podyard/internal/runtime/process"
)

// superviseCommand runs one container of the process runtime.
const superviseCommand = "supervise"

func runSupervise(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: podyard %s DIR", superviseCommand)
	}
	return process.Supervise(args[0])
}

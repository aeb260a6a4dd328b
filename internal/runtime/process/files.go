package process

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podyard/podyard/internal/runtime"
	"github.com/podyard/podyard/internal/runtime/cgroups"
)

// The files a supervisor and the runtime share in a container's directory.
// They are how a restarted agent learns what its predecessor started.
const (
	configFile = "config.json"     // spec, written by the runtime
	stateFile  = "state.json"      // the running process, written by the supervisor
	exitFile   = "exit.json"       // how it ended, written by the supervisor
	socketFile = "supervisor.sock" // exit watch and attach
	logFile    = "supervisor.log"  // the supervisor's own stderr
)

// spec is what a supervisor runs.
type spec struct {
	runtime.ContainerConfig
	LogMaxSize  int64
	LogMaxFiles int
	// MountNamespace: the supervisor was started in a private mount
	// namespace and bind-mounts Mounts there.
	MountNamespace bool
	// Cgroup is the container's own cgroup; nil when the runtime has none
	// (not root): then the process group is all that holds it together.
	Cgroup *cgroups.Group `json:",omitempty"`
}

// state is a running container process. The process group id is the
// container's pid; SupervisorStart tells a live supervisor from a pid reuse.
type state struct {
	PID             int
	SupervisorPID   int
	SupervisorStart uint64 // clock ticks after boot, /proc/PID/stat field 22
	StartedAt       time.Time
	CreatedMounts   []string `json:",omitempty"` // mount points the supervisor made and Remove deletes
}

// exit is how a container process ended.
type exit struct {
	ExitCode   int
	Reason     string
	Message    string `json:",omitempty"`
	StartedAt  time.Time
	FinishedAt time.Time
}

// startResult is the one line a supervisor prints to the runtime.
type startResult struct {
	PID       int       `json:",omitempty"`
	StartedAt time.Time `json:",omitzero"`
	Error     string    `json:",omitempty"`
}

func writeJSON(dir, name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	tmp := filepath.Join(dir, name+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func readJSON(dir, name string, v any) error {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", filepath.Join(dir, name), err)
	}
	return nil
}

// processStart is the start time of pid in clock ticks, 0 when it does not run.
func processStart(pid int) uint64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := len(data) - 1
	for i > 0 && data[i] != ')' {
		i--
	}
	fields := strings.Fields(string(data[i+1:]))
	// fields[0] is field 3 (state); field 22 (starttime) is fields[19].
	if len(fields) < 20 || fields[0] == "Z" {
		return 0
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0
	}
	return start
}

// reasonOOMKilled is the kubelet's reason for a container the kernel
// killed at its memory limit.
const reasonOOMKilled = "OOMKilled"

// startIn starts cmd through start inside cgroup g, if there is one.
func startIn(g *cgroups.Group, cmd *exec.Cmd, start func() error) error {
	if g == nil {
		return start()
	}
	return g.Start(cmd, start)
}

// exitReason names an exit code the way the kubelet shows it.
func exitReason(code int) string {
	if code == 0 {
		return "Completed"
	}
	return "Error"
}

// maxSocketPath is the room a unix socket address has (108 bytes with the
// terminating NUL on Linux).
const maxSocketPath = 107

// withSocket calls f with an address of dir's supervisor socket that fits
// a unix socket address: the path itself, or for a deep data dir the same
// file through an O_PATH descriptor of dir, /proc/self/fd/N/supervisor.sock.
func withSocket(dir string, f func(addr string) error) error {
	full := filepath.Join(dir, socketFile)
	if len(full) <= maxSocketPath {
		return f(full)
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(fd)
	return f(fmt.Sprintf("/proc/self/fd/%d/%s", fd, socketFile))
}

// Package runtime is the interface between the node agent and whatever runs
// containers: host processes (package process), containerd through CRI, or a
// simulation. The agent decides what should run; a runtime only does it.
package runtime

import (
	"context"
	"io"
	"os"
	"syscall"
	"time"
)

// ContainerConfig is everything a runtime needs to start one container
// attempt; the agent has resolved env sources and volumes already.
type ContainerConfig struct {
	PodUID       string
	PodNamespace string
	PodName      string
	Name         string
	Attempt      int // restart count of this container in its pod

	Command    []string // command then args; Command[0] is looked up in the PATH of Env
	Env        []string // KEY=VALUE
	WorkingDir string
	Mounts     []Mount
	TTY        bool
	Stdin      bool
	StdinOnce  bool
	LogPath    string // CRI-format log file
	Resources  Resources
}

// Resources are a container's Linux resource settings, in the units of
// CRI's LinuxContainerResources (which the kubelet derives from the pod
// spec the same way). Zero values leave a setting alone.
type Resources struct {
	CPUPeriod   int64 // CFS period in µs
	CPUQuota    int64 // CFS quota in µs per period: the CPU limit
	CPUShares   int64 // relative weight: the CPU request (cgroup v1 shares; converted on v2)
	MemoryLimit int64 // bytes: the memory limit
}

// Mount makes HostPath visible at ContainerPath.
type Mount struct {
	HostPath      string
	ContainerPath string
	ReadOnly      bool
}

// State of a container attempt.
type State string

const (
	Running State = "running"
	Exited  State = "exited"
)

// ContainerStatus is what a runtime knows of one container attempt.
type ContainerStatus struct {
	ID      string
	PodUID  string
	Name    string
	Attempt int
	State   State

	StartedAt  time.Time
	FinishedAt time.Time
	ExitCode   int
	Reason     string // for exits: "Completed", "Error", "OOMKilled", "StartError", ...
	Message    string

	// Resources are the settings the attempt runs with: those it started
	// with, or the last UpdateResources.
	Resources Resources
}

// ExecOptions change how an exec runs; the zero value runs it as the
// container's own processes run. Only the API server sets them (BCS
// commands), never a client of pods/exec.
type ExecOptions struct {
	Env        []string // KEY=VALUE, added to the container's environment (same key: this wins)
	User       string   // name or uid, optionally :group or :gid, looked up in the container's view of /etc/passwd and /etc/group
	WorkingDir string   // instead of the container's
	// Privileged asks for the container's privileges to be lifted for this
	// command; what that means is the runtime's (see its doc).
	Privileged bool
}

// TerminalSize is a resize of a TTY, in characters.
type TerminalSize struct {
	Width, Height uint16
}

// Runtime runs containers.
type Runtime interface {
	// Start starts a container attempt and returns once its process runs
	// or failed to start (then the status says Exited with reason StartError).
	Start(ctx context.Context, cfg ContainerConfig) (ContainerStatus, error)
	// Stop sends SIGTERM, then SIGKILL after grace, and returns once it exited.
	Stop(ctx context.Context, id string, grace time.Duration) error
	// Remove forgets an exited container and deletes its state.
	Remove(ctx context.Context, id string) error
	// List reports every container the runtime knows, running or exited,
	// including those started before this process (an agent restart).
	List(ctx context.Context) ([]ContainerStatus, error)
	// UpdateResources changes a running container's resources in place
	// (an in-place pod resize): it keeps running, and its status reports r.
	UpdateResources(ctx context.Context, id string, r Resources) error
	// Exited delivers the final status of each container whose process ends.
	Exited() <-chan ContainerStatus

	// Exec runs cmd in the container's environment, changed by opts, until
	// it ends or ctx is done; a non-zero exit is an error with the code
	// (k8s.io/utils/exec.CodeExitError).
	Exec(ctx context.Context, id string, cmd []string, opts ExecOptions, stdin io.Reader, stdout, stderr io.WriteCloser, tty bool, resize <-chan TerminalSize) error
	// Signal sends sig to every process of the running container whose
	// name is processName, as killall matches names (the kernel's command
	// name, cut at 15 bytes, or the base name of argv[0]), and says how
	// many got it; none is not an error here.
	Signal(ctx context.Context, id string, processName string, sig syscall.Signal) (int, error)
	// WriteFile writes data to path as the running container sees its file
	// system, creating missing parent directories, with mode, owned by
	// user (as ExecOptions.User) when it is not empty.
	WriteFile(ctx context.Context, id string, path string, data []byte, mode os.FileMode, user string) error
	// Attach connects to the container's own stdin and output.
	Attach(ctx context.Context, id string, stdin io.Reader, stdout, stderr io.WriteCloser, tty bool, resize <-chan TerminalSize) error
	// PortForward connects stream to port in the pod's network.
	PortForward(ctx context.Context, podUID string, port int32, stream io.ReadWriteCloser) error
}

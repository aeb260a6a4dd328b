package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Command is a BCS command: one program run once in every target task
// (the containers of an application's or a deployment's taskgroups)
// through the node agents, with each task's outcome. It is deleted
// reserveTime minutes after it was made.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type Command struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// ID is the BCS command ID ("Application-{ns}-{name}-{unixNano}", the
	// deployment form lower-cased).
	ID     string        `json:"id"`
	Spec   CommandSpec   `json:"spec"`
	Status CommandStatus `json:"status,omitempty"`
}

// CommandSpec is BCS's BcsCommandSpec.
type CommandSpec struct {
	CommandTargetRef TargetRef `json:"commandTargetRef"`
	// Taskgroups limits the targets to these taskgroup IDs.
	// +optional
	Taskgroups []string `json:"taskgroups,omitempty"`
	Command    []string `json:"command"`
	// Env is KEY=VALUE.
	// +optional
	Env []string `json:"env,omitempty"`
	// +optional
	User string `json:"user,omitempty"`
	// +optional
	WorkingDir string `json:"workingDir,omitempty"`
	// +optional
	Privileged bool `json:"privileged,omitempty"`
	// ReserveTime is how many minutes the command is kept (default 10080).
	// +optional
	ReserveTime int32 `json:"reserveTime,omitempty"`
	// ReserveSeconds, when set, is how many seconds the command is kept,
	// instead of ReserveTime: Podyard's own field, for short retention
	// (tests). BCS has none.
	// +optional
	ReserveSeconds int32 `json:"reserveSeconds,omitempty"`
	// Timeout, when set, is how many seconds a task's command may run.
	// +optional
	Timeout int32 `json:"timeout,omitempty"`
}

// TargetRef names what a command is for.
type TargetRef struct {
	// Kind is Application or Deployment.
	Kind string `json:"kind"`
	// +optional
	ID        string `json:"id,omitempty"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Image keeps only tasks whose image contains it.
	// +optional
	Image string `json:"image,omitempty"`
}

// CommandStatus is each target task's outcome.
type CommandStatus struct {
	// +optional
	Taskgroups []TaskgroupCommandInfo `json:"taskgroups,omitempty"`
	// Summary counts the tasks per state; Podyard's own.
	// +optional
	Summary *CommandSummary `json:"summary,omitempty"`
}

// CommandSummary counts a command's tasks per state. Done is true once no
// task is staging or running.
type CommandSummary struct {
	Staging int32 `json:"staging"`
	Running int32 `json:"running"`
	Finish  int32 `json:"finish"`
	Failed  int32 `json:"failed"`
	Done    bool  `json:"done"`
}

// TaskgroupCommandInfo is the outcome in one taskgroup.
type TaskgroupCommandInfo struct {
	TaskgroupID string `json:"taskgroupId"`
	// Pod is the taskgroup's Pod (in the Command's namespace); Podyard's
	// own, the BCS view leaves it out.
	// +optional
	Pod string `json:"pod,omitempty"`
	// +optional
	Tasks []TaskCommandInfo `json:"tasks,omitempty"`
}

// TaskCommandInfo is one task's outcome.
type TaskCommandInfo struct {
	TaskID string `json:"taskId"`
	// Container is the task's container in the Pod; Podyard's own.
	// +optional
	Container string `json:"container,omitempty"`
	// Status is staging, running, finish or failed.
	Status string `json:"status"`
	// +optional
	Message string `json:"message,omitempty"`
	// +optional
	CommInspect *CommandInspectInfo `json:"commInspect,omitempty"`
}

// CommandInspectInfo is what a finished command gave.
type CommandInspectInfo struct {
	ExitCode int32 `json:"exitCode"`
	// +optional
	Stdout string `json:"stdout"`
	// +optional
	Stderr string `json:"stderr"`
	// StdoutConfigMap, when set, names the ConfigMap (binaryData key
	// "output", owned by the Command) that holds stdout, too large to keep
	// here; Stdout is then empty. Podyard's own.
	// +optional
	StdoutConfigMap string `json:"stdoutConfigMap,omitempty"`
	// +optional
	StderrConfigMap string `json:"stderrConfigMap,omitempty"`
	// StdoutDropped is how many bytes of stdout beyond the kept 1 MiB were
	// discarded. Podyard's own.
	// +optional
	StdoutDropped int64 `json:"stdoutDropped,omitempty"`
	// +optional
	StderrDropped int64 `json:"stderrDropped,omitempty"`
}

// CommandList is a list of Commands.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type CommandList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []Command `json:"items"`
}

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RunCommand is a shell command run once in the cluster, in a pod of its
// own, as the identity that created it; what the AKS Run Command API
// translates to. Its name is the command's id.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type RunCommand struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   RunCommandSpec   `json:"spec"`
	Status RunCommandStatus `json:"status,omitempty"`
}

// RunCommandSpec is what to run.
type RunCommandSpec struct {
	// Command is run by `sh -c` in the pod's working directory, with
	// kubectl on its PATH and a kubeconfig that acts as spec.user.
	Command string `json:"command"`
	// Context is a ZIP archive unpacked into the working directory first.
	// +optional
	Context []byte `json:"context,omitempty"`
	// TimeoutSeconds ends the command (reason Timeout) this long after it
	// was created; unset takes the server's default.
	// +optional
	TimeoutSeconds *int64 `json:"timeoutSeconds,omitempty"`
	// Canceled stops a command that has not finished (reason Canceled).
	// +optional
	Canceled bool `json:"canceled,omitempty"`
	// User is who the command acts as. The server sets it from the
	// identity that creates the RunCommand; it cannot be chosen.
	// +optional
	User UserInfo `json:"user,omitempty"`
}

// UserInfo is an authenticated identity, as the server saw it.
type UserInfo struct {
	// +optional
	Username string `json:"username,omitempty"`
	// +optional
	UID string `json:"uid,omitempty"`
	// +optional
	Groups []string `json:"groups,omitempty"`
	// +optional
	Extra map[string][]string `json:"extra,omitempty"`
}

// RunCommandState is where a command is in its life.
type RunCommandState string

const (
	// Pending: accepted, its pod not running yet.
	Pending RunCommandState = "Pending"
	// Running: its pod runs.
	Running RunCommandState = "Running"
	// Succeeded: the command ran to its end; exitCode says how it ended.
	Succeeded RunCommandState = "Succeeded"
	// Failed: the command could not run to its end; reason says why.
	Failed RunCommandState = "Failed"
)

// Reasons a command failed.
const (
	ReasonPodNotStarted = "PodNotStarted" // its pod did not run within the start timeout
	ReasonTimeout       = "Timeout"       // it ran longer than its timeout
	ReasonCanceled      = "Canceled"      // spec.canceled was set
	ReasonPodFailed     = "PodFailed"     // the pod ended without the command's exit code
)

// RunCommandStatus is what happened.
type RunCommandStatus struct {
	// +optional
	State RunCommandState `json:"state,omitempty"`
	// PodName is the pod that runs the command.
	// +optional
	PodName string `json:"podName,omitempty"`
	// ExitCode is the command's, once it finished.
	// +optional
	ExitCode *int32 `json:"exitCode,omitempty"`
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// Logs is the command's stdout and stderr in the order written, cut to
	// its last 512 KiB (LogsTruncated tells); pods/log of the pod has all.
	// +optional
	Logs string `json:"logs,omitempty"`
	// +optional
	LogsTruncated bool `json:"logsTruncated,omitempty"`
	// Reason says, in one word, why a command failed.
	// +optional
	Reason string `json:"reason,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// TokenHash is the SHA-256 (hex) of the bearer token the command's pod
	// uses; the server accepts that token, as spec.user, until the command
	// finishes.
	// +optional
	TokenHash string `json:"tokenHash,omitempty"`
}

// Finished tells whether the command reached its end state.
func (s RunCommandStatus) Finished() bool { return s.State == Succeeded || s.State == Failed }

// RunCommandList is a list of RunCommands.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type RunCommandList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RunCommand `json:"items"`
}

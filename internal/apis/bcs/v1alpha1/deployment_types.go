package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Deployment is a BCS deployment: one application (owned by it, named
// after it) that a rolling update replaces by a second one,
// "{name}-v{unixSeconds}", step by step. Its spec is the definition last
// posted; its status says which applications it has and where an update
// stands, so that an update survives a server restart.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type Deployment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   DeploymentSpec   `json:"spec"`
	Status DeploymentStatus `json:"status,omitempty"`
}

// DeploymentSpec is the BCS deployment definition (BcsDeployment) with
// BCS's defaults, its "spec" object lifted to this level as for
// Applications.
type DeploymentSpec struct {
	// APIVersion is the BCS one, "v4".
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`
	// Kind is the BCS one, "deployment".
	// +optional
	Kind string `json:"kind,omitempty"`
	// Metadata is the BCS metadata: the original name and namespace.
	Metadata ObjectMeta `json:"metadata"`
	// Instance is how many taskgroups the deployment's application runs.
	Instance int32 `json:"instance"`
	// Selector picks the existing application a create adopts.
	// +optional
	Selector map[string]string `json:"selector,omitempty"`
	// Template is the application's taskgroup template; without one a
	// create adopts the application the selector matches.
	// +optional
	Template *PodTemplateSpec `json:"template,omitempty"`
	// +optional
	Strategy UpgradeStrategy `json:"strategy,omitempty"`
	// PauseDeployment is recorded; BCS does not act on it.
	// +optional
	PauseDeployment bool `json:"pauseDeployment,omitempty"`
	// +optional
	UpdatePolicy UpdatePolicy `json:"updatePolicy,omitempty"`
	// +optional
	RestartPolicy RestartPolicy `json:"restartPolicy,omitempty"`
	// +optional
	KillPolicy KillPolicy `json:"killPolicy,omitempty"`
	// +optional
	Constraint *Constraint `json:"constraint,omitempty"`
}

// UpgradeStrategy is how an update replaces the application.
type UpgradeStrategy struct {
	// Type is RollingUpdate, Recreate or ForceUpdate; BCS rolls whatever
	// it says.
	// +optional
	Type string `json:"type,omitempty"`
	// +optional
	RollingUpdate *RollingUpdate `json:"rollingupdate,omitempty"`
}

// RollingUpdate paces a rolling update. MaxUnavailable's wire name is
// BCS's "maxUnavilable" (sic).
type RollingUpdate struct {
	// MaxUnavailable is how many taskgroups a step may take away.
	// +optional
	MaxUnavailable int32 `json:"maxUnavilable"`
	// MaxSurge is how many taskgroups a step may add.
	// +optional
	MaxSurge int32 `json:"maxSurge"`
	// UpgradeDuration is the seconds from one step's start to the next's.
	// +optional
	UpgradeDuration int32 `json:"upgradeDuration"`
	// RollingManually pauses the update (UpdatePaused) after every step.
	// +optional
	RollingManually bool `json:"rollingManually"`
	// RollingOrder is CreateFirst or DeleteFirst.
	// +optional
	RollingOrder string `json:"rollingOrder"`
}

// DeploymentStatus is what BCS reports of a deployment, and where its
// rolling update stands.
type DeploymentStatus struct {
	// Status is Deploying, Running, Update, UpdatePaused, UpdateSuspend,
	// Deleting or UpdateResource.
	// +optional
	Status string `json:"status,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// Application is the deployment's application (the old one during an
	// update).
	// +optional
	Application *DeploymentApplication `json:"application,omitempty"`
	// ApplicationExt is the new application of an update under way.
	// +optional
	ApplicationExt *DeploymentApplication `json:"applicationExt,omitempty"`
	// Definition is the definition the deployment's applications were
	// made from: the spec last acted on (BCS's raw_json). A spec that
	// differs from it is a change still to make.
	// +optional
	Definition *DeploymentSpec `json:"definition,omitempty"`
	// DefinitionBackup is the definition from before the update under
	// way, which cancelupdate restores (BCS's raw_json_backup).
	// +optional
	DefinitionBackup *DeploymentSpec `json:"definitionBackup,omitempty"`
	// Progress is where the rolling update stands.
	// +optional
	Progress DeploymentProgress `json:"progress,omitempty"`
	// ObservedGeneration is the spec generation acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// DeploymentApplication names one application of a deployment and its
// instance counts.
type DeploymentApplication struct {
	// Name is the application's BCS name.
	Name string `json:"name"`
	// CurrentTargetInstances is the instance count it is being taken to.
	// +optional
	CurrentTargetInstances int32 `json:"currentTargetInstances,omitempty"`
	// CurrentRollingInstances is how many taskgroups it has.
	// +optional
	CurrentRollingInstances int32 `json:"currentRollingInstances,omitempty"`
}

// DeploymentProgress is where a rolling update stands (the step under
// way and when the last began).
type DeploymentProgress struct {
	// Phase is "", START (the new application was raised) or DELETE (the
	// old one was lowered): BCS's curr_rolling_operation.
	// +optional
	Phase string `json:"phase,omitempty"`
	// StepStarted is when the step under way began or was resumed.
	// +optional
	StepStarted *metav1.MicroTime `json:"stepStarted,omitempty"`
	// LastStep is when the last step began (BCS's last_rolling_time).
	// +optional
	LastStep *metav1.MicroTime `json:"lastStep,omitempty"`
	// Steps counts the steps begun.
	// +optional
	Steps int32 `json:"steps,omitempty"`
}

// DeploymentList is a list of Deployments.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type DeploymentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []Deployment `json:"items"`
}

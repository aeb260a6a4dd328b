package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Application is a BCS application: spec.instance taskgroups (core/v1 Pods
// it owns, one per instance index) built from one template. Its name and
// namespace are DNS-safe; spec.metadata keeps the names BCS clients use.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type Application struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ApplicationSpec   `json:"spec"`
	Status ApplicationStatus `json:"status,omitempty"`
}

// ApplicationSpec is the BCS application definition (the posted JSON, with
// BCS's defaults), its "spec" object lifted to this level: instance,
// selector and template sit here beside the policies.
type ApplicationSpec struct {
	// APIVersion is the BCS one, "v4".
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`
	// Kind is the BCS one, "application".
	// +optional
	Kind string `json:"kind,omitempty"`
	// Metadata is the BCS metadata: the original name and namespace (which
	// need not be DNS names), labels and annotations.
	Metadata ObjectMeta `json:"metadata"`
	// Instance is how many taskgroups run, with instance indexes 0..n-1.
	Instance int32 `json:"instance"`
	// +optional
	Selector map[string]string `json:"selector,omitempty"`
	// Template is what each taskgroup runs.
	Template PodTemplateSpec `json:"template"`
	// +optional
	UpdatePolicy UpdatePolicy `json:"updatePolicy,omitempty"`
	// +optional
	RestartPolicy RestartPolicy `json:"restartPolicy,omitempty"`
	// +optional
	KillPolicy KillPolicy `json:"killPolicy,omitempty"`
	// Constraint places taskgroups: every intersection item must hold, and
	// within one item any union datum.
	// +optional
	Constraint *Constraint `json:"constraint,omitempty"`
}

// ObjectMeta is BCS's metadata (names as BCS clients know them).
type ObjectMeta struct {
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
	// +optional
	ClusterName string `json:"clusterName,omitempty"`
}

// PodTemplateSpec is the taskgroup template.
type PodTemplateSpec struct {
	// +optional
	Metadata ObjectMeta `json:"metadata,omitempty"`
	Spec     PodSpec    `json:"spec"`
}

// PodSpec is what one taskgroup runs: each container is a task.
type PodSpec struct {
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	Containers   []Container       `json:"containers"`
	// NetworkMode is HOST, BRIDGE, NONE or USER.
	// +optional
	NetworkMode string `json:"networkMode,omitempty"`
	// +optional
	NetworkType string `json:"networkType,omitempty"`
	// +optional
	NetLimit *NetLimit `json:"netLimit,omitempty"`
}

// NetLimit bounds a container's egress.
type NetLimit struct {
	// +optional
	EgressLimit int32 `json:"egressLimit,omitempty"`
}

// Container is one task of a taskgroup.
type Container struct {
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Hostname string `json:"hostname,omitempty"`
	// Command is the program; under the process runtime an image is not
	// run, so command (or args) must name a program on the node.
	// +optional
	Command string `json:"command,omitempty"`
	// +optional
	Args []string `json:"args,omitempty"`
	// Parameters are docker run options, recorded.
	// +optional
	Parameters []KeyToValue `json:"parameters,omitempty"`
	// Type is the executor type, e.g. MESOS.
	// +optional
	Type  string `json:"type,omitempty"`
	Image string `json:"image"`
	// +optional
	ImagePullUser string `json:"imagePullUser,omitempty"`
	// +optional
	ImagePullPasswd string `json:"imagePullPasswd,omitempty"`
	// ImagePullPolicy is Always, IfNotPresent or Never.
	// +optional
	ImagePullPolicy string `json:"imagePullPolicy,omitempty"`
	// +optional
	Privileged bool `json:"privileged,omitempty"`
	// +optional
	Env []EnvVar `json:"env,omitempty"`
	// +optional
	WorkingDir string `json:"workingDir,omitempty"`
	// +optional
	Ports []ContainerPort `json:"ports,omitempty"`
	// +optional
	HealthChecks []HealthCheck `json:"healthChecks,omitempty"`
	// Resources are in BCS units: cpu in cores, memory and storage in MB.
	// +optional
	Resources ResourceRequirements `json:"resources,omitempty"`
	// +optional
	Cpuset bool `json:"cpuset,omitempty"`
	// +optional
	Volumes []VolumeUnit `json:"volumes,omitempty"`
	// ConfigMaps are BCS configmaps given to the task as files or env.
	// +optional
	ConfigMaps []ConfigMap `json:"configmaps,omitempty"`
	// +optional
	Secrets []Secret `json:"secrets,omitempty"`
}

// KeyToValue is one docker parameter.
type KeyToValue struct {
	Key string `json:"key"`
	// +optional
	Value string `json:"value,omitempty"`
}

// EnvVar is one environment variable.
type EnvVar struct {
	Name string `json:"name"`
	// +optional
	Value string `json:"value,omitempty"`
}

// ContainerPort is one port of a task.
type ContainerPort struct {
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	HostPort int32 `json:"hostPort,omitempty"`
	// +optional
	ContainerPort int32 `json:"containerPort,omitempty"`
	// +optional
	HostIP string `json:"hostIP,omitempty"`
	// Protocol is TCP, UDP or HTTP.
	// +optional
	Protocol string `json:"protocol,omitempty"`
}

// ResourceRequirements are a task's resources in BCS units.
type ResourceRequirements struct {
	// +optional
	Limits ResourceList `json:"limits,omitempty"`
	// +optional
	Requests ResourceList `json:"requests,omitempty"`
}

// ResourceList holds decimal strings: cpu in cores, memory and storage in MB.
type ResourceList struct {
	// +optional
	CPU string `json:"cpu,omitempty"`
	// +optional
	Memory string `json:"memory,omitempty"`
	// +optional
	Storage string `json:"storage,omitempty"`
}

// VolumeUnit is a host path mounted into a task.
type VolumeUnit struct {
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Volume Volume `json:"volume,omitempty"`
}

// Volume is where a host path is mounted.
type Volume struct {
	// +optional
	HostPath string `json:"hostPath,omitempty"`
	// +optional
	MountPath string `json:"mountPath,omitempty"`
	// +optional
	SubPath string `json:"subPath,omitempty"`
	// +optional
	ReadOnly bool `json:"readOnly,omitempty"`
}

// ConfigMap names a BCS configmap and what of it a task gets.
type ConfigMap struct {
	Name string `json:"name"`
	// +optional
	Items []KeyToPath `json:"items,omitempty"`
}

// Secret names a BCS secret and what of it a task gets.
type Secret struct {
	// +optional
	SecretName string `json:"secretName,omitempty"`
	// +optional
	Items []KeyToPath `json:"items,omitempty"`
}

// KeyToPath is one item of a configmap or secret: a file at keyOrPath
// (type file) or an environment variable named keyOrPath (type env).
type KeyToPath struct {
	// Type is file or env.
	// +optional
	Type string `json:"type,omitempty"`
	// +optional
	DataKey string `json:"dataKey,omitempty"`
	// +optional
	DataKeyAlias string `json:"dataKeyAlias,omitempty"`
	// +optional
	KeyOrPath string `json:"keyOrPath,omitempty"`
	// +optional
	SubPath string `json:"subPath,omitempty"`
	// +optional
	ReadOnly bool `json:"readOnly,omitempty"`
	// +optional
	User string `json:"user,omitempty"`
}

// HealthCheck is one BCS health check of a task. HTTP, TCP and COMMAND run
// on the node; REMOTE_HTTP and REMOTE_TCP from the control plane.
type HealthCheck struct {
	Type string `json:"type"`
	// +optional
	DelaySeconds int32 `json:"delaySeconds,omitempty"`
	// +optional
	GracePeriodSeconds int32 `json:"gracePeriodSeconds,omitempty"`
	// +optional
	IntervalSeconds int32 `json:"intervalSeconds,omitempty"`
	// +optional
	TimeoutSeconds int32 `json:"timeoutSeconds,omitempty"`
	// +optional
	ConsecutiveFailures int32 `json:"consecutiveFailures,omitempty"`
	// +optional
	Command *CommandHealthCheck `json:"command,omitempty"`
	// +optional
	HTTP *HTTPHealthCheck `json:"http,omitempty"`
	// +optional
	TCP *TCPHealthCheck `json:"tcp,omitempty"`
}

// CommandHealthCheck runs value by sh -c; exit 0 is healthy.
type CommandHealthCheck struct {
	// +optional
	Value string `json:"value,omitempty"`
}

// HTTPHealthCheck is healthy on a 2xx or 3xx answer.
type HTTPHealthCheck struct {
	// +optional
	Port int32 `json:"port,omitempty"`
	// PortName names one of the task's ports (used when port is 0).
	// +optional
	PortName string `json:"portName,omitempty"`
	// +optional
	Scheme string `json:"scheme,omitempty"`
	// +optional
	Path string `json:"path,omitempty"`
	// +optional
	Headers map[string]string `json:"headers,omitempty"`
}

// TCPHealthCheck is healthy when the port accepts a connection.
type TCPHealthCheck struct {
	// +optional
	Port int32 `json:"port,omitempty"`
	// +optional
	PortName string `json:"portName,omitempty"`
}

// UpdatePolicy paces a rolling update.
type UpdatePolicy struct {
	// +optional
	UpdateDelay int32 `json:"updateDelay,omitempty"`
	// +optional
	MaxRetries int32 `json:"maxRetries,omitempty"`
	// +optional
	MaxFailovers int32 `json:"maxFailovers,omitempty"`
	// +optional
	Action string `json:"action,omitempty"`
}

// RestartPolicy says when a taskgroup is restarted: Never, Always or
// OnFailure (the default), every interval seconds plus backoff, at most
// maxtimes; hostRetainTime keeps it on its host that long.
type RestartPolicy struct {
	// +optional
	Policy string `json:"policy,omitempty"`
	// +optional
	Interval int32 `json:"interval,omitempty"`
	// +optional
	Backoff int32 `json:"backoff,omitempty"`
	// +optional
	MaxTimes int32 `json:"maxtimes,omitempty"`
	// +optional
	HostRetainTime int64 `json:"hostRetainTime,omitempty"`
}

// KillPolicy is how long a task has to stop before it is killed.
type KillPolicy struct {
	// +optional
	GracePeriod int64 `json:"gracePeriod,omitempty"`
}

// Constraint is BCS's placement rule.
type Constraint struct {
	// +optional
	IntersectionItem []ConstraintDataItem `json:"intersectionItem,omitempty"`
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
}

// ConstraintDataItem holds if any of its union data holds.
type ConstraintDataItem struct {
	// +optional
	UnionData []ConstraintData `json:"unionData,omitempty"`
}

// ConstraintData is one rule: an operator (UNIQUE, CLUSTER, GROUPBY, LIKE,
// UNLIKE, MAXPER, EXCLUDE, GREATER, TOLERATION) over an attribute (hostname,
// InnerIP or an agent setting) with a value of a type (1 scalar, 2 ranges,
// 3 text, 4 set).
type ConstraintData struct {
	Name    string `json:"name"`
	Operate string `json:"operate"`
	// +optional
	Type int32 `json:"type,omitempty"`
	// +optional
	Scalar *ConstraintScalar `json:"scalar,omitempty"`
	// +optional
	Ranges []ConstraintRange `json:"ranges,omitempty"`
	// +optional
	Text *ConstraintText `json:"text,omitempty"`
	// +optional
	Set *ConstraintSet `json:"set,omitempty"`
}

// ConstraintScalar is a number.
type ConstraintScalar struct {
	Value float64 `json:"value"`
}

// ConstraintRange is [begin, end].
type ConstraintRange struct {
	Begin int64 `json:"begin"`
	End   int64 `json:"end"`
}

// ConstraintText is a string (a regular expression for LIKE and UNLIKE).
type ConstraintText struct {
	Value string `json:"value"`
}

// ConstraintSet is a set of strings.
type ConstraintSet struct {
	// +optional
	Item []string `json:"item,omitempty"`
}

// ApplicationStatus is what BCS reports of an application, derived from its
// taskgroups.
type ApplicationStatus struct {
	// Status is Staging, Deploying, Running, Finish, Error, Operating,
	// RollingUpdate, Unknown or Abnormal.
	// +optional
	Status string `json:"status,omitempty"`
	// +optional
	SubStatus string `json:"subStatus,omitempty"`
	// +optional
	LastStatus string `json:"lastStatus,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// Instances is how many taskgroups exist.
	// +optional
	Instances int32 `json:"instances,omitempty"`
	// RunningInstances counts the Running and Restarting taskgroups.
	// +optional
	RunningInstances int32 `json:"runningInstances,omitempty"`
	// UpdateTime is when the status last changed.
	// +optional
	UpdateTime *metav1.Time `json:"updateTime,omitempty"`
	// LastUpdateTime is when the definition was last updated.
	// +optional
	LastUpdateTime *metav1.Time `json:"lastUpdateTime,omitempty"`
	// ObservedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// Application statuses.
const (
	StatusStaging       = "Staging"
	StatusDeploying     = "Deploying"
	StatusRunning       = "Running"
	StatusFinish        = "Finish"
	StatusError         = "Error"
	StatusOperating     = "Operating"
	StatusRollingUpdate = "RollingUpdate"
	StatusUnknown       = "Unknown"
	StatusAbnormal      = "Abnormal"
)

// ApplicationList is a list of Applications.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type ApplicationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Application `json:"items"`
}

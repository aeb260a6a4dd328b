package bcs

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
)

// The BCS views of an application, its taskgroups and tasks: the scheduler's
// structs, which have no JSON tags, so their keys are the Go field names
// (PascalCase, typos included: Task.Hostame). They are built from the
// Application object and its taskgroup Pods; nothing else is stored.

// AppMeta is bcs-common's ObjectMeta; creationTimestamp is always written.
type AppMeta struct {
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace"`
	CreationTimestamp time.Time         `json:"creationTimestamp"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	ClusterName       string            `json:"clusterName,omitempty"`
}

// PodIndex is bcs-common's BcsPodIndex: a taskgroup of the application.
type PodIndex struct {
	Name string `json:"name"`
}

// ApplicationView is the scheduler's Application.
type ApplicationView struct {
	Kind             string
	ID               string
	Name             string
	ObjectMeta       AppMeta
	DefineInstances  uint64
	Instances        uint64
	RunningInstances uint64
	RunAs            string
	ClusterId        string //nolint:revive // the wire name
	Status           string
	SubStatus        string
	LastStatus       string
	Created          int64
	UpdateTime       int64
	Mode             string
	LastUpdateTime   int64
	Message          string
	Pods             []*PodIndex
}

// KillPolicyView is bcs-common's KillPolicy.
type KillPolicyView struct {
	GracePeriod int64 `json:"gracePeriod"`
}

// RestartPolicyView is bcs-common's RestartPolicy.
type RestartPolicyView struct {
	Policy         string `json:"policy"`
	Interval       int32  `json:"interval,omitempty"`
	Backoff        int32  `json:"backoff,omitempty"`
	MaxTimes       int32  `json:"maxtimes,omitempty"`
	HostRetainTime int64  `json:"hostRetainTime,omitempty"`
}

// ResourceView is the scheduler's Resource: cores and MB.
type ResourceView struct {
	Cpus float64
	Mem  float64
	Disk float64
}

// TaskGroupView is the scheduler's TaskGroup; its tasks are in Taskgroup.
type TaskGroupView struct {
	Kind            string
	ID              string
	Name            string
	AppID           string
	RunAs           string
	ObjectMeta      AppMeta
	AgentID         string
	ExecutorID      string
	Status          string
	LastStatus      string
	InstanceID      uint64
	Taskgroup       []*TaskView
	KillPolicy      *KillPolicyView
	RestartPolicy   *RestartPolicyView
	VersionName     string
	LastUpdateTime  int64
	Attributes      []any
	StartTime       int64
	UpdateTime      int64
	ReschededTimes  int
	LastReschedTime int64
	HostName        string
	Message         string
	LaunchResource  *ResourceView
	CurrResource    *ResourceView
	BcsEventMsg     any
}

// PortMappingView is the scheduler's PortMapping.
type PortMappingView struct {
	ContainerPort int32
	HostPort      int32
	Name          string
	Protocol      string
}

// ParameterView is a docker parameter.
type ParameterView struct {
	Key   string
	Value string
}

// VolumeView is a host path mounted into a task; Mode is RW or R.
type VolumeView struct {
	ContainerPath string
	HostPath      string
	Mode          string
}

// DataClassView is the scheduler's DataClass.
type DataClassView struct {
	Resources         *ResourceView
	LimitResources    *ResourceView
	ExtendedResources []any
	Msgs              []any
	NetLimit          *v1alpha1.NetLimit
}

// HealthCheckStatusView is bcs-common's BcsHealthCheckStatus.
type HealthCheckStatusView struct {
	Type    string `json:"type"`
	Result  bool   `json:"result"`
	Message string `json:"message,omitempty"`
}

// TaskView is the scheduler's Task: one container of a taskgroup.
type TaskView struct {
	Kind                        string
	ID                          string
	Name                        string
	Hostame                     string // sic, as BCS spells it
	Command                     string
	Arguments                   []string
	Image                       string
	ImagePullUser               string
	ImagePullPasswd             string
	Network                     string
	NetworkType                 string
	PortMappings                []*PortMappingView
	Privileged                  bool
	Parameters                  []*ParameterView
	ForcePullImage              bool
	Volumes                     []*VolumeView
	Env                         map[string]string
	Labels                      map[string]string
	DataClass                   *DataClassView
	Cpuset                      bool
	HealthChecks                []v1alpha1.HealthCheck
	HealthCheckStatus           []*HealthCheckStatusView
	Healthy                     bool
	IsChecked                   bool
	ConsecutiveFailureTimes     uint32
	LocalMaxConsecutiveFailures uint32
	OfferId                     string //nolint:revive // the wire name
	AgentId                     string //nolint:revive // the wire name
	AgentHostname               string
	AgentIPAddress              string
	Status                      string
	LastStatus                  string
	UpdateTime                  int64
	StatusData                  string
	AppId                       string //nolint:revive // the wire name
	RunAs                       string
	KillPolicy                  *KillPolicyView
	Uris                        []string
	LastUpdateTime              int64
	Message                     string
	NetLimit                    *v1alpha1.NetLimit
}

// bcsNames are the BCS name and namespace of app: its spec's, else the
// Kubernetes ones (an Application made with kubectl may leave them out).
func bcsNames(app *v1alpha1.Application, bcsNamespace string) (name, namespace string) {
	name, namespace = app.Spec.Metadata.Name, app.Spec.Metadata.Namespace
	if name == "" {
		name = app.Name
	}
	if namespace == "" {
		namespace = bcsNamespace
	}
	return name, namespace
}

func unix(t *metav1.Time) int64 {
	if t == nil || t.IsZero() {
		return 0
	}
	return t.Unix()
}

// ToApplicationView is the BCS view of app; taskgroups are the IDs of its
// taskgroups (the Pods it owns), cluster the cluster number.
func ToApplicationView(app *v1alpha1.Application, bcsNamespace, cluster string, taskgroups []string) *ApplicationView {
	name, ns := bcsNames(app, bcsNamespace)
	v := &ApplicationView{
		Kind: app.Spec.Kind, ID: name, Name: name,
		ObjectMeta: AppMeta{
			Name: name, Namespace: ns, CreationTimestamp: app.CreationTimestamp.UTC(),
			Labels: maps.Clone(app.Spec.Metadata.Labels), Annotations: maps.Clone(app.Spec.Metadata.Annotations),
			ClusterName: app.Spec.Metadata.ClusterName,
		},
		DefineInstances:  uint64(max(app.Spec.Instance, 0)),
		Instances:        uint64(max(app.Status.Instances, 0)),
		RunningInstances: uint64(max(app.Status.RunningInstances, 0)),
		RunAs:            ns, ClusterId: cluster,
		Status: app.Status.Status, SubStatus: app.Status.SubStatus, LastStatus: app.Status.LastStatus,
		Created: app.CreationTimestamp.Unix(), UpdateTime: unix(app.Status.UpdateTime),
		LastUpdateTime: unix(app.Status.LastUpdateTime), Message: app.Status.Message,
	}
	if v.Kind == "" {
		v.Kind = application.DefaultKind
	}
	if v.Status == "" {
		v.Status = v1alpha1.StatusStaging
	}
	if app.CreationTimestamp.IsZero() {
		v.Created = 0
	}
	for _, id := range taskgroups {
		v.Pods = append(v.Pods, &PodIndex{Name: id})
	}
	return v
}

// OwnedTaskGroups are the Pods of pods that are app's taskgroups (controlled
// by it, with a taskgroup ID), in instance order then ID.
func OwnedTaskGroups(app *v1alpha1.Application, pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		ref := metav1.GetControllerOf(p)
		if ref == nil || ref.UID != app.UID || p.Annotations[application.AnnotationTaskGroupID] == "" {
			continue
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *corev1.Pod) int {
		ia, _ := application.InstanceIndex(a)
		ib, _ := application.InstanceIndex(b)
		if ia != ib {
			return ia - ib
		}
		return strings.Compare(a.Annotations[application.AnnotationTaskGroupID], b.Annotations[application.AnnotationTaskGroupID])
	})
	return out
}

// TaskGroupIDs are the taskgroup IDs of pods.
func TaskGroupIDs(pods []*corev1.Pod) []string {
	var ids []string
	for _, p := range pods {
		ids = append(ids, p.Annotations[application.AnnotationTaskGroupID])
	}
	return ids
}

// ToTaskGroupView is the BCS view of the taskgroup pod of app. What the Pod
// runs (command, image, env, resources) is read from the Pod, which may
// have been built from an older definition; what only BCS has (ports as
// declared, volumes, parameters, health checks) from the definition.
func ToTaskGroupView(app *v1alpha1.Application, bcsNamespace string, pod *corev1.Pod) *TaskGroupView {
	name, ns := bcsNames(app, bcsNamespace)
	id := pod.Annotations[application.AnnotationTaskGroupID]
	ref, err := application.ParseTaskGroupID(id)
	if err != nil { // not one the controller made; show what there is
		ref = application.TaskGroupRef{App: name, Namespace: ns}
		ref.Index, _ = application.InstanceIndex(pod)
	}
	state := application.TaskGroupState(pod)
	labels, annotations := application.PodMetadata(app.Spec)
	kill := &KillPolicyView{GracePeriod: app.Spec.KillPolicy.GracePeriod}
	rp := app.Spec.RestartPolicy
	updated := lastChange(pod)
	resched, reschedAt := application.History(pod)
	tg := &TaskGroupView{
		Kind: kindOf(app), ID: id, Name: application.TaskGroupName(name, ref.Index), AppID: name, RunAs: ns,
		ObjectMeta: AppMeta{Name: id, Namespace: ns, CreationTimestamp: pod.CreationTimestamp.UTC(), Labels: labels, Annotations: annotations},
		AgentID:    pod.Spec.NodeName, ExecutorID: id,
		Status: state.Status, InstanceID: uint64(max(ref.Index, 0)),
		KillPolicy:    kill,
		RestartPolicy: &RestartPolicyView{Policy: rp.Policy, Interval: rp.Interval, Backoff: rp.Backoff, MaxTimes: rp.MaxTimes, HostRetainTime: rp.HostRetainTime},
		VersionName:   pod.Annotations[application.AnnotationGeneration],
		StartTime:     unix(pod.Status.StartTime), UpdateTime: updated, LastUpdateTime: updated,
		HostName: pod.Spec.NodeName, Message: state.Message,
		LaunchResource: &ResourceView{}, CurrResource: &ResourceView{},
		ReschededTimes: resched, LastReschedTime: reschedAt,
	}
	for i := range pod.Spec.Containers {
		task := toTaskView(app, name, ns, ref, pod, i, kill, updated)
		tg.Taskgroup = append(tg.Taskgroup, task)
		if r := task.DataClass.Resources; r != nil {
			tg.LaunchResource.Cpus += r.Cpus
			tg.LaunchResource.Mem += r.Mem
			tg.LaunchResource.Disk += r.Disk
		}
	}
	*tg.CurrResource = *tg.LaunchResource
	return tg
}

func kindOf(app *v1alpha1.Application) string {
	if app.Spec.Kind == "" {
		return application.DefaultKind
	}
	return app.Spec.Kind
}

// lastChange is when the Pod's state last changed, as far as it says.
func lastChange(pod *corev1.Pod) int64 {
	t := unix(&pod.CreationTimestamp)
	for _, c := range pod.Status.Conditions {
		t = max(t, unix(&c.LastTransitionTime))
	}
	return t
}

func toTaskView(app *v1alpha1.Application, name, ns string, ref application.TaskGroupRef, pod *corev1.Pod, i int, kill *KillPolicyView, updated int64) *TaskView {
	c := pod.Spec.Containers[i]
	var bc v1alpha1.Container
	if i < len(app.Spec.Template.Spec.Containers) {
		bc = app.Spec.Template.Spec.Containers[i]
	}
	state := application.TaskState(pod, c.Name)
	ref.App, ref.Namespace = name, ns
	t := &TaskView{
		Kind: kindOf(app), ID: application.TaskID(ref, i), Name: application.TaskName(ref, i),
		Hostame: bc.Hostname, Arguments: c.Args, Image: c.Image,
		ImagePullUser: bc.ImagePullUser, ImagePullPasswd: bc.ImagePullPasswd,
		Network: app.Spec.Template.Spec.NetworkMode, NetworkType: app.Spec.Template.Spec.NetworkType,
		Privileged: bc.Privileged, ForcePullImage: c.ImagePullPolicy == corev1.PullAlways,
		Cpuset: bc.Cpuset, HealthChecks: bc.HealthChecks,
		AgentId: pod.Spec.NodeName, AgentHostname: pod.Spec.NodeName, AgentIPAddress: pod.Status.HostIP,
		Status: state.Status, UpdateTime: updated, LastUpdateTime: updated,
		AppId: name, RunAs: ns, KillPolicy: kill, Message: state.Message,
		NetLimit: app.Spec.Template.Spec.NetLimit,
		DataClass: &DataClassView{
			Resources:      bcsResources(c.Resources.Requests, bc.Resources.Requests.Storage),
			LimitResources: bcsResources(c.Resources.Limits, bc.Resources.Limits.Storage),
			NetLimit:       app.Spec.Template.Spec.NetLimit,
		},
	}
	if len(c.Command) > 0 {
		t.Command = strings.Join(c.Command, " ")
	}
	for _, p := range bc.Ports {
		t.PortMappings = append(t.PortMappings, &PortMappingView{ContainerPort: p.ContainerPort, HostPort: p.HostPort, Name: p.Name, Protocol: p.Protocol})
	}
	for _, p := range bc.Parameters {
		t.Parameters = append(t.Parameters, &ParameterView{Key: p.Key, Value: p.Value})
	}
	for _, v := range bc.Volumes {
		mode := "RW"
		if v.Volume.ReadOnly {
			mode = "R"
		}
		t.Volumes = append(t.Volumes, &VolumeView{ContainerPath: v.Volume.MountPath, HostPath: v.Volume.HostPath, Mode: mode})
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			if t.Env == nil {
				t.Env = map[string]string{}
			}
			t.Env[e.Name] = e.Value
		}
	}
	t.Labels, _ = application.PodMetadata(app.Spec)
	h := Health(bc, pod, c.Name)
	t.HealthCheckStatus, t.Healthy, t.IsChecked = h.Status, h.Healthy, h.IsChecked
	t.ConsecutiveFailureTimes, t.LocalMaxConsecutiveFailures = h.ConsecutiveFailureTimes, h.LocalMaxConsecutiveFailures
	return t
}

func containerStatus(pod *corev1.Pod, name string) *corev1.ContainerStatus {
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == name {
			return &pod.Status.ContainerStatuses[i]
		}
	}
	return nil
}

// bcsResources are a container's resources in BCS units (cores, MB); disk
// is not a Pod resource, so it is the definition's.
func bcsResources(l corev1.ResourceList, storage string) *ResourceView {
	r := &ResourceView{}
	if q, ok := l[corev1.ResourceCPU]; ok {
		r.Cpus = float64(q.MilliValue()) / 1000
	}
	if q, ok := l[corev1.ResourceMemory]; ok {
		r.Mem = float64(q.Value()) / (1 << 20)
	}
	if f, err := strconv.ParseFloat(storage, 64); err == nil {
		r.Disk = f
	}
	return r
}

// Tasks are the tasks of taskgroups, in their order.
func Tasks(taskgroups []*TaskGroupView) []*TaskView {
	var out []*TaskView
	for _, tg := range taskgroups {
		out = append(out, tg.Taskgroup...)
	}
	return out
}

// ToApplication reads a posted application for the request's target
// namespace: BCS's checks and defaults (application.Parse), then what the
// scheduler checks, in its order. An empty namespace in the body is the
// URL's.
func ToApplication(t Target, body []byte) (*v1alpha1.Application, *Error) {
	spec, err := application.Parse(body)
	var posted struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(body, &posted) // a JSON error is Parse's to report
	var invalid *application.InvalidError
	switch {
	case errors.Is(err, application.ErrJSON):
		return nil, Errorf(CodeJSONDecode, "json decode failed! %v", err)
	case posted.Kind != "" && posted.Kind != KindApplication: // another kind's body: say so before its parameters
		return nil, Errorf(CodeRequestData, "Kind %s is invalid: the URL is for %s", posted.Kind, KindApplication)
	case errors.As(err, &invalid):
		return nil, Errorf(CodeParameter, "there is some error in the parameters: %s", invalid.Reason)
	case err != nil:
		return nil, Errorf(CodeParameter, "there is some error in the parameters: %v", err)
	}
	if posted.Metadata.Namespace == "" {
		spec.Metadata.Namespace = t.Namespace
	}
	if spec.Metadata.Namespace != t.Namespace {
		return nil, Errorf(CodeRequestData, "metadata.namespace %q is not the URL's namespace %q", spec.Metadata.Namespace, t.Namespace)
	}
	name, kerr := KubeName(spec.Metadata.Name)
	if kerr != nil {
		return nil, kerr
	}
	if spec.Instance <= 0 {
		return nil, Errorf(CodeRequestData, "instances error: spec.instance is %d, want 1 or more", spec.Instance)
	}
	app := &v1alpha1.Application{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "Application"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: t.KubeNamespace},
		Spec:       spec,
	}
	if name != spec.Metadata.Name {
		app.Annotations = map[string]string{AnnotationName: spec.Metadata.Name}
	}
	return app, nil
}

// ParseInstances reads the {n} of a scale: a whole number of 0 or more.
func ParseInstances(s string) (int32, *Error) {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n < 0 {
		return 0, Errorf(CodeBadParameters, "instances must be specified as a number of 0 or more, not %q", s)
	}
	return int32(n), nil
}

// DeleteGrace is the grace period of a DELETE's taskgroups: enforce=1 (only
// "1", as in BCS) kills at once; otherwise the kill policy's grace, or the
// Pods' own when it has none (nil).
func DeleteGrace(enforce string, app *v1alpha1.Application) *int64 {
	if enforce == "1" {
		zero := int64(0)
		return &zero
	}
	if g := app.Spec.KillPolicy.GracePeriod; g > 0 {
		return &g
	}
	return nil
}

// Updated is current with the definition posted to PUT update or rollback
// (read by ToApplication for the same target): its spec replaced, except
// spec.instance, which stays (BCS resets a changed one silently; scale
// changes it). With resourcesOnly (args=resource) nothing but the tasks'
// resources may change.
func Updated(current, posted *v1alpha1.Application, resourcesOnly bool) (*v1alpha1.Application, *Error) {
	if posted.Name != current.Name || posted.Spec.Metadata.Name != current.Spec.Metadata.Name {
		return nil, Errorf(CodeRequestData, "application %s is not %s", posted.Spec.Metadata.Name, current.Spec.Metadata.Name)
	}
	spec := *posted.Spec.DeepCopy()
	spec.Instance = current.Spec.Instance
	if resourcesOnly && !equalButResources(current.Spec, spec) {
		return nil, Errorf(CodeParameter, "there is some error in the parameters: with args=resource only the containers' resources may change")
	}
	out := current.DeepCopy()
	out.Spec = spec
	return out, nil
}

func equalButResources(a, b v1alpha1.ApplicationSpec) bool {
	strip := func(s v1alpha1.ApplicationSpec) string {
		s = *s.DeepCopy()
		for i := range s.Template.Spec.Containers {
			s.Template.Spec.Containers[i].Resources = v1alpha1.ResourceRequirements{}
		}
		b, _ := json.Marshal(s)
		return string(b)
	}
	return strip(a) == strip(b)
}

// ParseUpdateInstances reads ?instances= of an update: how many taskgroups,
// oldest first, are rebuilt from the new definition (0 means all, as in
// BCS); more than the application defines is refused.
func ParseUpdateInstances(s string, define int32) (int, *Error) {
	n, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return 0, Errorf(CodeBadParameters, "instances must be specified as a number of 0 or more, not %q", s)
	}
	if int64(n) > int64(define) {
		return 0, Errorf(CodeBadParameters, "update instances num is more than version.Instances (%d > %d)", n, define)
	}
	return int(n), nil
}

// OldestTaskGroups are the n oldest of pods by the stamp in their taskgroup
// IDs (all of them for n 0 or more than there are), skipping those being
// deleted: what an update rebuilds.
func OldestTaskGroups(pods []*corev1.Pod, n int) []*corev1.Pod {
	type stamped struct {
		pod  *corev1.Pod
		nano int64
	}
	var live []stamped
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		ref, _ := application.ParseTaskGroupID(p.Annotations[application.AnnotationTaskGroupID])
		live = append(live, stamped{p, ref.UnixNano})
	}
	slices.SortStableFunc(live, func(a, b stamped) int {
		switch {
		case a.nano < b.nano:
			return -1
		case a.nano > b.nano:
			return 1
		}
		return 0
	})
	if n <= 0 || n > len(live) {
		n = len(live)
	}
	out := make([]*corev1.Pod, 0, n)
	for _, s := range live[:n] {
		out = append(out, s.pod)
	}
	return out
}

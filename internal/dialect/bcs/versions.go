package bcs

import (
	"context"
	"maps"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/bcs/versions"
)

// The versions of an application: GET .../applications/{name}/versions
// lists their IDs, oldest first (BCS lists zookeeper's children unsorted;
// its driver sorts them to find the newest), and .../versions/{id} is one
// Version, the scheduler's struct its driver builds from the definition
// (no JSON tags but raw_json). They are the ApplicationVersions the
// appversion controller records, owned by the Application.

// versionsResource is where ApplicationVersions are served.
var versionsResource = v1alpha1.SchemeGroupVersion.WithResource("applicationversions")

// VersionView is the scheduler's Version.
type VersionView struct {
	ID            string // the application's name
	Name          string // the version ID
	ObjectMeta    AppMeta
	PodObjectMeta AppMeta
	Instances     int32
	RunAs         string
	Container     []*VersionContainerView
	Process       []any
	Labels        map[string]string
	KillPolicy    *KillPolicyView
	RestartPolicy *RestartPolicyView
	Constraints   *v1alpha1.Constraint
	Uris          []string
	Ip            []string //nolint:revive // the wire name
	Mode          string
	Kind          string
	RawJson       *application.Definition `json:"raw_json,omitempty"` //nolint:revive // the wire name
}

// VersionContainerView is the scheduler's Container of a Version.
type VersionContainerView struct {
	Type          string
	Docker        *DockerView
	Volumes       []*VolumeView
	Resources     *ResourceView
	LimitResoures *ResourceView // sic, as BCS spells it
	DataClass     *DataClassView
	ConfigMaps    []v1alpha1.ConfigMap
	Secrets       []v1alpha1.Secret
	HealthChecks  []v1alpha1.HealthCheck
	NetLimit      *v1alpha1.NetLimit
}

// DockerView is the scheduler's Docker: what the container runs.
type DockerView struct {
	Hostname        string
	ForcePullImage  bool
	Image           string
	ImagePullUser   string
	ImagePullPasswd string
	Network         string
	NetworkType     string
	Command         string
	Arguments       []string
	Parameters      []*ParameterView
	PortMappings    []*PortMappingView
	Env             map[string]string
	Privileged      bool
}

// ToVersionView is the BCS Version of v, a version of app (the BCS names
// are the application's), as BCS's driver builds it from the definition
// (bcs-mesos-driver newVersionWithParam): the version ID as Name, the
// application's name as ID, the template's metadata as PodObjectMeta with
// the application's labels under its own, resources parsed from their
// strings, the definition itself as raw_json.
func ToVersionView(app *v1alpha1.Application, bcsNamespace string, v *v1alpha1.ApplicationVersion) *VersionView {
	spec := v.Spec
	name, ns := bcsNames(app, bcsNamespace)
	meta := spec.Metadata
	out := &VersionView{
		ID: name, Name: v.ID,
		ObjectMeta: AppMeta{
			Name: name, Namespace: ns, Labels: maps.Clone(meta.Labels),
			Annotations: maps.Clone(meta.Annotations), ClusterName: meta.ClusterName,
		},
		Instances: spec.Instance, RunAs: ns, Kind: spec.Kind,
		Process: []any{}, Uris: []string{}, Ip: []string{}, Labels: map[string]string{},
		KillPolicy:    &KillPolicyView{GracePeriod: spec.KillPolicy.GracePeriod},
		RestartPolicy: restartPolicyView(spec.RestartPolicy),
		Constraints:   spec.Constraint,
	}
	if out.Kind == "" {
		out.Kind = application.DefaultKind
	}
	tmeta := spec.Template.Metadata
	out.PodObjectMeta = AppMeta{
		Name: name, Namespace: ns, Labels: maps.Clone(tmeta.Labels),
		Annotations: maps.Clone(tmeta.Annotations), ClusterName: tmeta.ClusterName,
	}
	if out.PodObjectMeta.Labels == nil {
		out.PodObjectMeta.Labels = maps.Clone(meta.Labels)
	} else {
		for k, val := range meta.Labels {
			if _, set := out.PodObjectMeta.Labels[k]; !set {
				out.PodObjectMeta.Labels[k] = val
			}
		}
	}
	maps.Copy(out.Labels, meta.Labels)
	maps.Copy(out.Labels, tmeta.Labels)
	for i := range spec.Template.Spec.Containers {
		out.Container = append(out.Container, toVersionContainer(spec.Template.Spec, spec.Template.Spec.Containers[i]))
	}
	def := application.ToDefinition(spec)
	out.RawJson = &def
	return out
}

func restartPolicyView(rp v1alpha1.RestartPolicy) *RestartPolicyView {
	v := &RestartPolicyView{Policy: rp.Policy, Interval: rp.Interval, Backoff: rp.Backoff, MaxTimes: rp.MaxTimes, HostRetainTime: rp.HostRetainTime}
	if v.Policy == "" {
		v.Policy = application.DefaultRestartPolicy
	}
	return v
}

func toVersionContainer(pod v1alpha1.PodSpec, c v1alpha1.Container) *VersionContainerView {
	req, lim := c.Resources.Requests, c.Resources.Limits
	if req.CPU == "" && lim.CPU != "" {
		req = lim
	}
	out := &VersionContainerView{
		Type: c.Type, Volumes: []*VolumeView{},
		Resources: parsedResources(req), LimitResoures: parsedResources(lim),
		ConfigMaps: c.ConfigMaps, Secrets: c.Secrets, HealthChecks: c.HealthChecks, NetLimit: pod.NetLimit,
		Docker: &DockerView{
			Hostname: c.Hostname, ForcePullImage: c.ImagePullPolicy == "Always", Image: c.Image,
			ImagePullUser: c.ImagePullUser, ImagePullPasswd: c.ImagePullPasswd,
			Network: pod.NetworkMode, NetworkType: pod.NetworkType, Command: c.Command, Arguments: c.Args,
			Parameters: []*ParameterView{}, PortMappings: []*PortMappingView{}, Env: map[string]string{},
			Privileged: c.Privileged,
		},
	}
	out.DataClass = &DataClassView{Resources: out.Resources, LimitResources: out.LimitResoures, Msgs: []any{}, NetLimit: pod.NetLimit}
	for _, p := range c.Parameters {
		out.Docker.Parameters = append(out.Docker.Parameters, &ParameterView{Key: p.Key, Value: p.Value})
	}
	for _, p := range c.Ports {
		out.Docker.PortMappings = append(out.Docker.PortMappings, &PortMappingView{ContainerPort: p.ContainerPort, HostPort: p.HostPort, Name: p.Name, Protocol: p.Protocol})
	}
	for _, e := range c.Env {
		out.Docker.Env[e.Name] = e.Value
	}
	for _, v := range c.Volumes {
		mode := "RW"
		if v.Volume.ReadOnly {
			mode = "R"
		}
		out.Volumes = append(out.Volumes, &VolumeView{ContainerPath: v.Volume.MountPath, HostPath: v.Volume.HostPath, Mode: mode})
	}
	return out
}

// parsedResources are a definition's resources as BCS reads them: the
// strings as numbers (cores, MB), 0 for what does not parse.
func parsedResources(l v1alpha1.ResourceList) *ResourceView {
	r := &ResourceView{}
	r.Cpus, _ = strconv.ParseFloat(l.CPU, 64)
	r.Mem, _ = strconv.ParseFloat(l.Memory, 64)
	r.Disk, _ = strconv.ParseFloat(l.Storage, 64)
	return r
}

// VersionIDs are the IDs of versions, in their order; none is null.
func VersionIDs(versions []*v1alpha1.ApplicationVersion) []string {
	var ids []string
	for _, v := range versions {
		ids = append(ids, v.ID)
	}
	return ids
}

// versions answers .../versions (id "": the IDs, oldest first) and
// .../versions/{id} (the Version). An unknown application or version is
// 1405202.
func (a apps) versions(ctx context.Context, bcsName, id string) (any, *Error) {
	app, err := a.get(ctx, bcsName)
	if err != nil {
		return nil, err
	}
	mine, err := a.versionsOf(ctx, app)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return VersionIDs(mine), nil
	}
	for _, v := range mine {
		if v.ID == id {
			return ToVersionView(app, a.target.Namespace, v), nil
		}
	}
	return nil, Errorf(CodeNotFound, "version %s of application %s.%s not exist", id, a.target.Namespace, bcsName)
}

// versionsOf are app's versions, oldest first.
func (a apps) versionsOf(ctx context.Context, app *v1alpha1.Application) ([]*v1alpha1.ApplicationVersion, *Error) {
	list, err := a.dyn.Resource(versionsResource).Namespace(a.target.KubeNamespace).List(ctx,
		metav1.ListOptions{LabelSelector: application.LabelApplication + "=" + app.Name})
	if err != nil {
		return nil, fromAPIError(err, "version")
	}
	all := make([]*v1alpha1.ApplicationVersion, 0, len(list.Items))
	for i := range list.Items {
		v, err := fromUnstructured[v1alpha1.ApplicationVersion](&list.Items[i])
		if err != nil {
			return nil, err
		}
		all = append(all, v)
	}
	return versions.Of(app, all), nil
}

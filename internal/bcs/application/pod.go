package application

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

// Labels and annotations of a taskgroup's Pod.
const (
	// LabelApplication is the owning Application's (Kubernetes) name.
	LabelApplication = "bcs.podyard.io/application"
	// LabelInstance is the taskgroup's instance index.
	LabelInstance = "bcs.podyard.io/instance"
	// AnnotationTaskGroupID is the taskgroup's BCS ID (it may not be a
	// valid label value: BCS names may be long or hold '_').
	AnnotationTaskGroupID = "bcs.podyard.io/taskgroup-id"
	// AnnotationGeneration is the Application generation the Pod was built
	// from: a Pod with an older one runs an older definition.
	AnnotationGeneration = "bcs.podyard.io/generation"
	// AnnotationConstraint is the application's BCS constraint as JSON,
	// for the scheduler (internal/bcs/constraint).
	AnnotationConstraint = "bcs.podyard.io/constraint"
)

// PodOptions are what a taskgroup's Pod needs beyond its Application.
type PodOptions struct {
	Index int // instance index
	// Cluster is the numeric tail of the BCS cluster id ("10001").
	Cluster string
	// UnixNano stamps the taskgroup: its ID and its tasks' IDs.
	UnixNano int64
	// ConfigMapName and SecretName give the core/v1 name of a BCS configmap
	// or secret of the application's BCS namespace; nil keeps the name.
	ConfigMapName, SecretName func(bcsName string) string
}

// Ref is the taskgroup the options describe for app.
func (o PodOptions) Ref(app *v1alpha1.Application) TaskGroupRef {
	return TaskGroupRef{Index: o.Index, App: app.Spec.Metadata.Name, Namespace: app.Spec.Metadata.Namespace, Cluster: o.Cluster, UnixNano: o.UnixNano}
}

// PodName is the Pod of a taskgroup: {application}-{index}-{unixNano}, so a
// rebuilt taskgroup (same index, new stamp) never collides with the old.
func PodName(app string, index int, unixNano int64) string {
	return fmt.Sprintf("%s-%d-%d", app, index, unixNano)
}

// ContainerName is the container of task i: the BCS name when it is a DNS
// label, else task-{i}. Names are unique: a repeated one is task-{i} too,
// and task-* names are kept for that.
func ContainerName(containers []v1alpha1.Container, i int) string {
	n := containers[i].Name
	if n == "" || len(validation.IsDNS1123Label(n)) > 0 || strings.HasPrefix(n, "task-") {
		return fmt.Sprintf("task-%d", i)
	}
	for j := 0; j < i; j++ {
		if containers[j].Name == n {
			return fmt.Sprintf("task-%d", i)
		}
	}
	return n
}

// Pod is the core/v1 Pod of one taskgroup of app: each task a container,
// owned by app. Health checks: the first HTTP, TCP or COMMAND check of a
// task is its liveness probe (its grace period a startup probe), further
// ones extra liveness probes the agent runs, REMOTE_HTTP and REMOTE_TCP
// checks run from the control plane (checks.go).
// Storage (disk) is not requested: nodes do not report it.
func Pod(app *v1alpha1.Application, o PodOptions) *corev1.Pod {
	spec := app.Spec
	ref := o.Ref(app)
	bcsLabels, bcsAnnotations := PodMetadata(spec)
	labels := validLabels(bcsLabels)
	labels[LabelApplication] = app.Name
	labels[LabelInstance] = strconv.Itoa(o.Index)
	annotations := validAnnotations(bcsAnnotations)
	annotations[AnnotationTaskGroupID] = ref.ID()
	annotations[AnnotationGeneration] = strconv.FormatInt(app.Generation, 10)
	setCheckAnnotations(annotations, spec)

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: PodName(app.Name, o.Index, o.UnixNano), Namespace: app.Namespace,
			Labels: labels, Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "Application",
				Name: app.Name, UID: app.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: corev1.PodSpec{
			RestartPolicy: restartPolicy(spec.RestartPolicy.Policy),
			HostNetwork:   strings.EqualFold(spec.Template.Spec.NetworkMode, "HOST"),
		},
	}
	if g := spec.KillPolicy.GracePeriod; g > 0 {
		pod.Spec.TerminationGracePeriodSeconds = ptr.To(g)
	}
	placement(pod, spec.Constraint)
	for i := range spec.Template.Spec.Containers {
		c, volumes := container(spec, i, pod.Spec.HostNetwork, o)
		pod.Spec.Containers = append(pod.Spec.Containers, c)
		pod.Spec.Volumes = append(pod.Spec.Volumes, volumes...)
	}
	return pod
}

// placement carries the constraint to the scheduler: the whole of it in
// AnnotationConstraint, and each TOLERATION rule of type text (the only
// ones BCS reads) as a toleration of the NoSchedule taint an agent
// setting's noSchedule{name: text} puts on its node. A key or value no
// taint can have tolerates nothing and is left out.
func placement(pod *corev1.Pod, c *v1alpha1.Constraint) {
	if c == nil || len(c.IntersectionItem) == 0 {
		return
	}
	b, _ := json.Marshal(c) // plain structs always marshal
	pod.Annotations[AnnotationConstraint] = string(b)
	for _, item := range c.IntersectionItem {
		for _, d := range item.UnionData {
			if d.Operate == "TOLERATION" && d.Type == 3 && d.Text != nil &&
				len(validation.IsQualifiedName(d.Name)) == 0 && len(validation.IsValidLabelValue(d.Text.Value)) == 0 {
				pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{
					Key: d.Name, Operator: corev1.TolerationOpEqual, Value: d.Text.Value, Effect: corev1.TaintEffectNoSchedule,
				})
			}
		}
	}
}

// PodMetadata is the BCS labels and annotations of a taskgroup: the
// template's, plus the application's labels the template lacks (as BCS
// builds them).
func PodMetadata(spec v1alpha1.ApplicationSpec) (labels, annotations map[string]string) {
	labels = maps.Clone(spec.Template.Metadata.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	for k, v := range spec.Metadata.Labels {
		if _, ok := labels[k]; !ok {
			labels[k] = v
		}
	}
	return labels, maps.Clone(spec.Template.Metadata.Annotations)
}

// validLabels keeps the BCS labels Kubernetes accepts; the rest stay in
// the Application's spec.
func validLabels(in map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range in {
		if len(validation.IsQualifiedName(k)) == 0 && len(validation.IsValidLabelValue(v)) == 0 {
			out[k] = v
		}
	}
	return out
}

func validAnnotations(in map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range in {
		if len(validation.IsQualifiedName(strings.ToLower(k))) == 0 && !strings.HasPrefix(k, "bcs.podyard.io/") {
			out[k] = v
		}
	}
	return out
}

// restartPolicy is a taskgroup Pod's: Never, whatever BCS's policy. BCS
// restarts no task in place: its restart policy replaces an ended
// taskgroup by a new one (new ID, same index, ReschededTimes one more),
// which the application controller does (RestartDecision).
func restartPolicy(string) corev1.RestartPolicy { return corev1.RestartPolicyNever }

// container is task i and the volumes it alone uses.
func container(spec v1alpha1.ApplicationSpec, i int, hostNetwork bool, o PodOptions) (corev1.Container, []corev1.Volume) {
	bc := spec.Template.Spec.Containers[i]
	name := ContainerName(spec.Template.Spec.Containers, i)
	c := corev1.Container{
		Name: name, Image: bc.Image, Args: bc.Args, WorkingDir: bc.WorkingDir,
		ImagePullPolicy: corev1.PullPolicy(bc.ImagePullPolicy),
		Resources:       resources(bc.Resources),
	}
	if bc.Command != "" {
		c.Command = []string{bc.Command}
	}
	if bc.Privileged {
		c.SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
	}
	for _, e := range bc.Env {
		c.Env = append(c.Env, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	for _, p := range bc.Ports {
		if p.ContainerPort <= 0 {
			continue // BCS lets the executor choose; nothing to declare
		}
		cp := corev1.ContainerPort{ContainerPort: p.ContainerPort, Protocol: corev1.ProtocolTCP}
		if strings.EqualFold(p.Protocol, "UDP") {
			cp.Protocol = corev1.ProtocolUDP
		}
		if len(validation.IsValidPortName(p.Name)) == 0 {
			cp.Name = p.Name
		}
		switch {
		case hostNetwork:
			cp.HostPort = p.ContainerPort // the task listens on the node
		case p.HostPort > 0:
			cp.HostPort = p.HostPort
		}
		c.Ports = append(c.Ports, cp)
	}
	c.LivenessProbe, _ = probes(bc)

	var volumes []corev1.Volume
	for j, v := range bc.Volumes {
		vol := fmt.Sprintf("%s-volume-%d", name, j)
		volumes = append(volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: v.Volume.HostPath}}})
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: vol, MountPath: v.Volume.MountPath, SubPath: v.Volume.SubPath, ReadOnly: v.Volume.ReadOnly})
	}
	for j, cm := range bc.ConfigMaps {
		target := mapName(o.ConfigMapName, cm.Name)
		vol := fmt.Sprintf("%s-configmap-%d", name, j)
		env, mounts, items := dataItems(cm.Items, vol, func(key string) *corev1.EnvVarSource {
			return &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: target}, Key: key}}
		})
		c.Env, c.VolumeMounts = append(c.Env, env...), append(c.VolumeMounts, mounts...)
		if len(items) > 0 {
			volumes = append(volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: target}, Items: items}}})
		}
	}
	for j, s := range bc.Secrets {
		target := mapName(o.SecretName, s.SecretName)
		vol := fmt.Sprintf("%s-secret-%d", name, j)
		env, mounts, items := dataItems(s.Items, vol, func(key string) *corev1.EnvVarSource {
			return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: target}, Key: key}}
		})
		c.Env, c.VolumeMounts = append(c.Env, env...), append(c.VolumeMounts, mounts...)
		if len(items) > 0 {
			volumes = append(volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: target, Items: items}}})
		}
	}
	return c, volumes
}

func mapName(f func(string) string, name string) string {
	if f == nil {
		return name
	}
	return f(name)
}

// dataItems turns configmap or secret items into environment variables
// (type env: keyOrPath names the variable) and files (type file: one file
// at keyOrPath, projected from the volume by its key).
func dataItems(items []v1alpha1.KeyToPath, volume string, ref func(key string) *corev1.EnvVarSource) ([]corev1.EnvVar, []corev1.VolumeMount, []corev1.KeyToPath) {
	var env []corev1.EnvVar
	var mounts []corev1.VolumeMount
	var files []corev1.KeyToPath
	for _, it := range items {
		if it.Type == "env" {
			env = append(env, corev1.EnvVar{Name: it.KeyOrPath, ValueFrom: ref(it.DataKey)})
			continue
		}
		files = append(files, corev1.KeyToPath{Key: it.DataKey, Path: it.DataKey})
		mounts = append(mounts, corev1.VolumeMount{Name: volume, MountPath: it.KeyOrPath, SubPath: it.DataKey, ReadOnly: it.ReadOnly})
	}
	return env, mounts, files
}

// resources converts BCS cores and MB; limits default to the requests, as
// a Mesos task gets exactly what it was offered.
func resources(r v1alpha1.ResourceRequirements) corev1.ResourceRequirements {
	requests, limits := resourceList(r.Requests), resourceList(r.Limits)
	if len(limits) == 0 {
		limits = requests.DeepCopy()
	}
	for name, req := range requests {
		if lim, ok := limits[name]; ok && req.Cmp(lim) > 0 {
			requests[name] = lim.DeepCopy() // a request above its limit is refused
		}
	}
	out := corev1.ResourceRequirements{}
	if len(requests) > 0 {
		out.Requests = requests
	}
	if len(limits) > 0 {
		out.Limits = limits
	}
	return out
}

func resourceList(l v1alpha1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	if f, err := strconv.ParseFloat(l.CPU, 64); err == nil && f > 0 {
		out[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(math.Round(f*1000)), resource.DecimalSI)
	}
	if f, err := strconv.ParseFloat(l.Memory, 64); err == nil && f > 0 {
		out[corev1.ResourceMemory] = *resource.NewQuantity(int64(math.Round(f*1024*1024)), resource.BinarySI)
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// Package defaults fills in what a client may omit from core/v1 objects,
// with the values kube-apiserver uses, so stored objects and what kubectl
// shows (e.g. "80/TCP", "Restart Policy: Always") match a real cluster.
// k8s.io/api ships the types but not these functions.
package defaults

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// RegisterDefaults makes the scheme default these types whenever it decodes them.
func RegisterDefaults(s *runtime.Scheme) {
	s.AddTypeDefaultingFunc(&corev1.Pod{}, func(o any) { Pod(o.(*corev1.Pod)) })
	s.AddTypeDefaultingFunc(&corev1.PodList{}, func(o any) {
		for i := range o.(*corev1.PodList).Items {
			Pod(&o.(*corev1.PodList).Items[i])
		}
	})
	s.AddTypeDefaultingFunc(&corev1.Namespace{}, func(o any) { Namespace(o.(*corev1.Namespace)) })
	s.AddTypeDefaultingFunc(&corev1.Service{}, func(o any) { Service(o.(*corev1.Service)) })
	s.AddTypeDefaultingFunc(&corev1.Secret{}, func(o any) { Secret(o.(*corev1.Secret)) })
	s.AddTypeDefaultingFunc(&corev1.Node{}, func(o any) { Node(o.(*corev1.Node)) })
}

const (
	DefaultSchedulerName                 = corev1.DefaultSchedulerName
	DefaultTerminationGracePeriodSeconds = int64(corev1.DefaultTerminationGracePeriodSeconds)
	defaultVolumeMode                    = int32(corev1.SecretVolumeSourceDefaultMode) // 0644 for every projected kind
)

// Pod defaults a pod's spec as kube-apiserver does.
func Pod(pod *corev1.Pod) {
	spec := &pod.Spec
	if spec.DNSPolicy == "" {
		spec.DNSPolicy = corev1.DNSClusterFirst
	}
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	if spec.TerminationGracePeriodSeconds == nil {
		grace := DefaultTerminationGracePeriodSeconds
		spec.TerminationGracePeriodSeconds = &grace
	}
	if spec.SchedulerName == "" {
		spec.SchedulerName = DefaultSchedulerName
	}
	if spec.EnableServiceLinks == nil {
		enable := corev1.DefaultEnableServiceLinks
		spec.EnableServiceLinks = &enable
	}
	if spec.ServiceAccountName == "" && spec.DeprecatedServiceAccount != "" {
		spec.ServiceAccountName = spec.DeprecatedServiceAccount
	}
	for i := range spec.Containers {
		container(&spec.Containers[i], spec.HostNetwork)
	}
	for i := range spec.InitContainers {
		container(&spec.InitContainers[i], spec.HostNetwork)
	}
	for i := range spec.EphemeralContainers {
		ec := &spec.EphemeralContainers[i].EphemeralContainerCommon
		ec.TerminationMessagePath, ec.TerminationMessagePolicy, ec.ImagePullPolicy =
			orDefault(ec.TerminationMessagePath, corev1.TerminationMessagePathDefault),
			orDefault(ec.TerminationMessagePolicy, corev1.TerminationMessageReadFile),
			orDefault(ec.ImagePullPolicy, pullPolicyFor(ec.Image))
		env(ec.Env)
	}
	for i := range spec.Volumes {
		volume(&spec.Volumes[i])
	}
}

func container(c *corev1.Container, hostNetwork bool) {
	c.ImagePullPolicy = orDefault(c.ImagePullPolicy, pullPolicyFor(c.Image))
	c.TerminationMessagePath = orDefault(c.TerminationMessagePath, corev1.TerminationMessagePathDefault)
	c.TerminationMessagePolicy = orDefault(c.TerminationMessagePolicy, corev1.TerminationMessageReadFile)
	for i := range c.Ports {
		p := &c.Ports[i]
		p.Protocol = orDefault(p.Protocol, corev1.ProtocolTCP)
		if hostNetwork && p.HostPort == 0 {
			p.HostPort = p.ContainerPort // on the host network the two are the same port
		}
	}
	// A container that states only limits requests exactly its limits.
	for name, limit := range c.Resources.Limits {
		if _, ok := c.Resources.Requests[name]; !ok {
			if c.Resources.Requests == nil {
				c.Resources.Requests = corev1.ResourceList{}
			}
			c.Resources.Requests[name] = limit.DeepCopy()
		}
	}
	env(c.Env)
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		probe(p)
	}
	if c.Lifecycle != nil {
		lifecycleHandler(c.Lifecycle.PostStart)
		lifecycleHandler(c.Lifecycle.PreStop)
	}
}

// pullPolicyFor is Always for an untagged or :latest image, else IfNotPresent.
func pullPolicyFor(image string) corev1.PullPolicy {
	if strings.Contains(image, "@") {
		return corev1.PullIfNotPresent // pinned by digest
	}
	name := image[strings.LastIndex(image, "/")+1:]
	tag := ""
	if i := strings.LastIndex(name, ":"); i >= 0 {
		tag = name[i+1:]
	}
	if tag == "" || tag == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

func env(vars []corev1.EnvVar) {
	for i := range vars {
		if from := vars[i].ValueFrom; from != nil && from.FieldRef != nil && from.FieldRef.APIVersion == "" {
			from.FieldRef.APIVersion = "v1"
		}
	}
}

func probe(p *corev1.Probe) {
	if p == nil {
		return
	}
	p.TimeoutSeconds = orDefault(p.TimeoutSeconds, 1)
	p.PeriodSeconds = orDefault(p.PeriodSeconds, 10)
	p.SuccessThreshold = orDefault(p.SuccessThreshold, 1)
	p.FailureThreshold = orDefault(p.FailureThreshold, 3)
	httpGet(p.HTTPGet)
	if p.GRPC != nil && p.GRPC.Service == nil {
		empty := ""
		p.GRPC.Service = &empty
	}
}

func lifecycleHandler(h *corev1.LifecycleHandler) {
	if h != nil {
		httpGet(h.HTTPGet)
	}
}

func httpGet(h *corev1.HTTPGetAction) {
	if h == nil {
		return
	}
	h.Path = orDefault(h.Path, "/")
	h.Scheme = orDefault(h.Scheme, corev1.URISchemeHTTP)
}

func volume(v *corev1.Volume) {
	src := &v.VolumeSource
	if *src == (corev1.VolumeSource{}) {
		src.EmptyDir = &corev1.EmptyDirVolumeSource{} // a volume with no source is scratch space
	}
	mode := func(m **int32) {
		if *m == nil {
			d := defaultVolumeMode
			*m = &d
		}
	}
	switch {
	case src.Secret != nil:
		mode(&src.Secret.DefaultMode)
	case src.ConfigMap != nil:
		mode(&src.ConfigMap.DefaultMode)
	case src.DownwardAPI != nil:
		mode(&src.DownwardAPI.DefaultMode)
		for i := range src.DownwardAPI.Items {
			if ref := src.DownwardAPI.Items[i].FieldRef; ref != nil && ref.APIVersion == "" {
				ref.APIVersion = "v1"
			}
		}
	case src.Projected != nil:
		mode(&src.Projected.DefaultMode)
	case src.HostPath != nil:
		if src.HostPath.Type == nil {
			t := corev1.HostPathUnset
			src.HostPath.Type = &t
		}
	case src.EmptyDir != nil:
		// no defaults: medium "" is the node's disk
	}
}

// Namespace defaults the status phase; the "kubernetes" finalizer is added
// by the namespace registry on create, as in kube-apiserver.
func Namespace(ns *corev1.Namespace) {
	ns.Status.Phase = orDefault(ns.Status.Phase, corev1.NamespaceActive)
}

// Service defaults type, session affinity and ports.
func Service(s *corev1.Service) {
	s.Spec.Type = orDefault(s.Spec.Type, corev1.ServiceTypeClusterIP)
	s.Spec.SessionAffinity = orDefault(s.Spec.SessionAffinity, corev1.ServiceAffinityNone)
	for i := range s.Spec.Ports {
		p := &s.Spec.Ports[i]
		p.Protocol = orDefault(p.Protocol, corev1.ProtocolTCP)
		if p.TargetPort == (intstr.IntOrString{}) {
			p.TargetPort = intstr.FromInt32(p.Port) // kube targets the service port by default
		}
	}
	if s.Spec.Type != corev1.ServiceTypeExternalName && s.Spec.InternalTrafficPolicy == nil {
		policy := corev1.ServiceInternalTrafficPolicyCluster
		s.Spec.InternalTrafficPolicy = &policy
	}
}

// Secret defaults the type to Opaque.
func Secret(s *corev1.Secret) {
	s.Type = orDefault(s.Type, corev1.SecretTypeOpaque)
}

// Node defaults allocatable to capacity, as kube does for nodes that report
// only capacity.
func Node(n *corev1.Node) {
	if len(n.Status.Allocatable) == 0 && len(n.Status.Capacity) > 0 {
		n.Status.Allocatable = n.Status.Capacity.DeepCopy()
	}
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

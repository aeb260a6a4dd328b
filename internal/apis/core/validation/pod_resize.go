package validation

import (
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// mirrorPodAnnotation marks a static pod's mirror in the API.
const mirrorPodAnnotation = "kubernetes.io/config.mirror"

// ValidatePodResize checks an update through pods/{name}/resize as
// kube-apiserver's ValidatePodResize does (InPlacePodVerticalScaling, with
// pod-level resources and memory-backed volume resizes not enabled): only
// the cpu and memory requests and limits of containers and sidecar (restartable
// init) containers may change, none may be removed, the QoS class stays
// (qosOf computes a spec's), containers are neither added, removed, renamed
// nor reordered, and a pod whose running containers report no resources
// (a node that cannot resize) is refused. Field paths and messages are kube's.
func ValidatePodResize(pod, old *corev1.Pod, qosOf func(*corev1.PodSpec) corev1.PodQOSClass) field.ErrorList {
	errs := metaUpdate(&pod.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validatePodSpec(&pod.Spec, specPath)...)

	if _, ok := old.Annotations[mirrorPodAnnotation]; ok {
		return field.ErrorList{field.Forbidden(field.NewPath(""), "static pods cannot be resized")}
	}
	if old.Spec.OS != nil && old.Spec.OS.Name == corev1.Windows {
		return field.ErrorList{field.Forbidden(field.NewPath(""), "windows pods cannot be resized")}
	}
	oldQOS := old.Status.QOSClass
	if oldQOS == "" {
		oldQOS = qosOf(&old.Spec)
	}
	if newQOS := qosOf(&pod.Spec); newQOS != oldQOS {
		errs = append(errs, field.Invalid(specPath, newQOS, "Pod QOS Class may not change as a result of resizing"))
	}
	if !resizeSupported(old) {
		errs = append(errs, field.Forbidden(specPath, "Pod running on node without support for resize"))
	}
	podLevel := func(p *corev1.Pod) bool {
		return p.Spec.Resources != nil && len(p.Spec.Resources.Requests)+len(p.Spec.Resources.Limits) > 0
	}
	if podLevel(old) || podLevel(pod) {
		return append(errs, field.Forbidden(field.NewPath(""), "resize of pods with pod-level resources is forbidden when InPlacePodLevelResourcesVerticalScalingEnabled feature gate is disabled"))
	}

	if order := resizeContainerOrder(pod, old); order != nil {
		return append(errs, order...)
	}
	for i := range old.Spec.InitContainers {
		if !restartable(&old.Spec.InitContainers[i]) {
			continue
		}
		errs = append(errs, containerResize(&pod.Spec.InitContainers[i].Resources, &old.Spec.InitContainers[i].Resources,
			specPath.Child("initContainers").Index(i).Child("resources"))...)
	}
	for i := range old.Spec.Containers {
		errs = append(errs, containerResize(&pod.Spec.Containers[i].Resources, &old.Spec.Containers[i].Resources,
			specPath.Child("containers").Index(i).Child("resources"))...)
	}

	// What remains once cpu and memory are put back as they were must be
	// the old spec.
	rest := pod.Spec.DeepCopy()
	for i := range rest.Containers {
		keepCPUMemory(&rest.Containers[i], &old.Spec.Containers[i])
		if !apiequality.Semantic.DeepEqual(rest.Containers[i], old.Spec.Containers[i]) {
			errs = append(errs, field.Forbidden(specPath, "only cpu and memory resources are mutable"))
		}
	}
	for i := range rest.InitContainers {
		c, o := &rest.InitContainers[i], &old.Spec.InitContainers[i]
		if restartable(c) {
			keepCPUMemory(c, o)
			if !apiequality.Semantic.DeepEqual(*c, *o) {
				errs = append(errs, field.Forbidden(specPath.Child("initContainers").Index(i), "only cpu and memory resources for init or sidecar containers are mutable"))
			}
		} else if !apiequality.Semantic.DeepEqual(*c, *o) {
			errs = append(errs, field.Forbidden(specPath, "resources for non-sidecar init containers are immutable"))
		}
		*c = *o
	}
	if !apiequality.Semantic.DeepEqual(pod.Spec.Volumes, old.Spec.Volumes) {
		errs = append(errs, field.Forbidden(specPath.Child("volumes"), "volumes are immutable on resize when InPlacePodVerticalScalingMemoryBackedVolumes feature gate is disabled"))
	}
	if len(errs) > 0 {
		return errs
	}
	rest.Volumes = old.Spec.Volumes
	if !apiequality.Semantic.DeepEqual(*rest, old.Spec) {
		errs = append(errs, field.Forbidden(specPath, "only cpu and memory resources are mutable"))
	}
	return errs
}

// resizeSupported: the node runs the pod's containers with InPlacePodVerticalScaling
// when a running container reports its resources (kube's version-skew check).
func resizeSupported(pod *corev1.Pod) bool {
	for _, c := range pod.Status.ContainerStatuses {
		if c.State.Running != nil {
			return c.Resources != nil
		}
	}
	return true // nothing runs yet: assume it can
}

func resizeContainerOrder(pod, old *corev1.Pod) field.ErrorList {
	var errs field.ErrorList
	check := func(kind string, now, was []corev1.Container) {
		p := specPath.Child(kind)
		if len(now) != len(was) {
			errs = append(errs, field.Forbidden(p, kind+" may not be added or removed on resize"))
			return
		}
		for i := range was {
			if now[i].Name != was[i].Name {
				errs = append(errs, field.Forbidden(p.Index(i).Child("name"), kind+" may not be renamed or reordered on resize"))
			}
		}
	}
	check("containers", pod.Spec.Containers, old.Spec.Containers)
	check("initContainers", pod.Spec.InitContainers, old.Spec.InitContainers)
	return errs
}

func containerResize(now, was *corev1.ResourceRequirements, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if resourcesRemoved(now.Requests, was.Requests) {
		errs = append(errs, field.Forbidden(path.Child("requests"), "resource requests cannot be removed"))
	}
	if resourcesRemoved(now.Limits, was.Limits) {
		errs = append(errs, field.Forbidden(path.Child("limits"), "resource limits cannot be removed"))
	}
	return errs
}

func resourcesRemoved(now, was corev1.ResourceList) bool {
	for name := range was {
		if _, ok := now[name]; !ok {
			return true
		}
	}
	return false
}

// keepCPUMemory puts c's cpu and memory requests and limits back to o's.
func keepCPUMemory(c, o *corev1.Container) {
	c.Resources = corev1.ResourceRequirements{
		Limits:   withCPUMemoryOf(c.Resources.Limits, o.Resources.Limits),
		Requests: withCPUMemoryOf(c.Resources.Requests, o.Resources.Requests),
		Claims:   c.Resources.Claims,
	}
}

func withCPUMemoryOf(list, old corev1.ResourceList) corev1.ResourceList {
	var out corev1.ResourceList
	if list == nil {
		if old == nil {
			return nil
		}
		out = corev1.ResourceList{}
	} else {
		out = list.DeepCopy()
	}
	delete(out, corev1.ResourceCPU)
	delete(out, corev1.ResourceMemory)
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := old[name]; ok {
			out[name] = q
		}
	}
	return out
}

func restartable(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

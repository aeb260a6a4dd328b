package pod

import (
	corev1 "k8s.io/api/core/v1"
)

// QOSClass classifies a pod as the kubelet does: Guaranteed when every
// container sets cpu and memory limits equal to its requests, BestEffort when
// none sets any, Burstable otherwise.
func QOSClass(spec *corev1.PodSpec) corev1.PodQOSClass {
	if spec.Resources != nil && (len(spec.Resources.Requests) > 0 || len(spec.Resources.Limits) > 0) {
		return podLevelQOS(spec.Resources)
	}
	containers := make([]corev1.Container, 0, len(spec.Containers)+len(spec.InitContainers))
	containers = append(containers, spec.Containers...)
	containers = append(containers, spec.InitContainers...)

	anySet, guaranteed := false, true
	for _, c := range containers {
		if len(c.Resources.Requests) > 0 || len(c.Resources.Limits) > 0 {
			anySet = true
		}
		if !guaranteedResources(c.Resources) {
			guaranteed = false
		}
	}
	switch {
	case !anySet:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	default:
		return corev1.PodQOSBurstable
	}
}

func podLevelQOS(r *corev1.ResourceRequirements) corev1.PodQOSClass {
	if guaranteedResources(*r) {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

func guaranteedResources(r corev1.ResourceRequirements) bool {
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		limit, ok := r.Limits[name]
		if !ok {
			return false
		}
		if req, ok := r.Requests[name]; ok && req.Cmp(limit) != 0 {
			return false
		}
	}
	return true
}

package lifecycle

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// Resizable are the containers of a pod whose resources may change in
// place: its containers and its sidecars (restartable init containers).
func Resizable(pod *corev1.Pod) []*corev1.Container {
	var out []*corev1.Container
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			out = append(out, c)
		}
	}
	for i := range pod.Spec.Containers {
		out = append(out, &pod.Spec.Containers[i])
	}
	return out
}

// Requests is the cpu (millicores) and memory (bytes) a pod's resizable
// containers request: allocated's where it has them (what the node gave
// them), else their spec's.
func Requests(pod *corev1.Pod, allocated map[string]corev1.ResourceRequirements) (milliCPU, memory int64) {
	for _, c := range Resizable(pod) {
		req := c.Resources.Requests
		if a, ok := allocated[c.Name]; ok {
			req = a.Requests
		}
		milliCPU += req.Cpu().MilliValue()
		memory += req.Memory().Value()
	}
	return milliCPU, memory
}

// FitResize decides whether a pod whose resizable containers would request
// milliCPU and memory fits a node with allocatable whose other pods request
// usedCPU and usedMemory, as the kubelet's resize admission does: more than
// the node has at all is Infeasible ("Node didn't have enough capacity"),
// more than is left beside the other pods Deferred ("Node didn't have
// enough resource", the kubelet's predicate message). "" fits.
func FitResize(milliCPU, memory, usedCPU, usedMemory int64, allocatable corev1.ResourceList) (reason, message string) {
	cpuCap, memCap := allocatable.Cpu().MilliValue(), allocatable.Memory().Value()
	switch {
	case memory > memCap:
		return corev1.PodReasonInfeasible, fmt.Sprintf("Node didn't have enough capacity: memory, requested: %d, capacity: %d", memory, memCap)
	case milliCPU > cpuCap:
		return corev1.PodReasonInfeasible, fmt.Sprintf("Node didn't have enough capacity: cpu, requested: %d, capacity: %d", milliCPU, cpuCap)
	case milliCPU+usedCPU > cpuCap:
		return corev1.PodReasonDeferred, fmt.Sprintf("Node didn't have enough resource: cpu, requested: %d, used: %d, capacity: %d", milliCPU, usedCPU, cpuCap)
	case memory+usedMemory > memCap:
		return corev1.PodReasonDeferred, fmt.Sprintf("Node didn't have enough resource: memory, requested: %d, used: %d, capacity: %d", memory, usedMemory, memCap)
	}
	return "", ""
}

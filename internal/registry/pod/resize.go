package pod

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podyard/podyard/internal/apis/core/validation"
)

// resizeStrategy is the behaviour of /pods/{name}/resize (Kubernetes'
// InPlacePodVerticalScaling): only the containers' resources and
// resizePolicy are taken from the new object; the node agent applies them
// to the running containers without restarting them.
type resizeStrategy struct{ strategy }

func (resizeStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	newPod, oldPod := obj.(*corev1.Pod), old.(*corev1.Pod)
	*newPod = *resizeOnly(newPod, oldPod)
}

// resizeOnly is oldPod with newPod's container resources and resize
// policies, as kube's dropNonResizeUpdates: containers added, removed,
// renamed or reordered leave newPod as it is, for validation to refuse.
// The generation moves when the spec changed.
func resizeOnly(newPod, oldPod *corev1.Pod) *corev1.Pod {
	if len(newPod.Spec.Containers) != len(oldPod.Spec.Containers) || len(newPod.Spec.InitContainers) != len(oldPod.Spec.InitContainers) {
		return newPod
	}
	containers, ok := mergeResources(newPod.Spec.Containers, oldPod.Spec.Containers)
	if !ok {
		return newPod
	}
	initContainers, ok := mergeResources(newPod.Spec.InitContainers, oldPod.Spec.InitContainers)
	if !ok {
		return newPod
	}
	kept := oldPod.DeepCopy()
	kept.ResourceVersion = newPod.ResourceVersion
	kept.ManagedFields = newPod.ManagedFields
	kept.Spec.Containers = containers
	kept.Spec.InitContainers = initContainers
	if !apiequality.Semantic.DeepEqual(kept.Spec, oldPod.Spec) {
		kept.Generation++
	}
	return kept
}

func mergeResources(now, was []corev1.Container) ([]corev1.Container, bool) {
	if len(was) == 0 {
		return nil, true
	}
	out := make([]corev1.Container, len(was))
	for i := range was {
		if now[i].Name != was[i].Name {
			return nil, false
		}
		out[i] = *was[i].DeepCopy()
		out[i].Resources = *now[i].Resources.DeepCopy()
		out[i].ResizePolicy = append([]corev1.ContainerResizePolicy(nil), now[i].ResizePolicy...)
	}
	return out, true
}

func (resizeStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidatePodResize(obj.(*corev1.Pod), old.(*corev1.Pod), QOSClass)
}

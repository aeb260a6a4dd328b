// Package pod stores core/v1 Pods: the strategies of the main resource and of
// its status and ephemeralcontainers subresources, field selectors, graceful
// deletion, and the binding, eviction and log subresources.
package pod

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage/names"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/podyard/podyard/internal/apis/core/validation"
)

// strategy is the behaviour of /pods: clients own spec and metadata, the
// node agent owns status (through /status).
type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
}

func newStrategy(typer runtime.ObjectTyper) strategy {
	return strategy{ObjectTyper: typer, NameGenerator: names.SimpleNameGenerator}
}

func (strategy) NamespaceScoped() bool                         { return true }
func (strategy) AllowCreateOnUpdate(context.Context) bool      { return false }
func (strategy) AllowUnconditionalUpdate(context.Context) bool { return true }
func (strategy) Canonicalize(runtime.Object)                   {}

func (strategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{"v1": fieldpath.NewSet(fieldpath.MakePathOrDie("status"))}
}

func (strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	pod := obj.(*corev1.Pod)
	pod.Generation = 1
	pod.Status = InitialStatus(pod)
}

func (strategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	newPod, oldPod := obj.(*corev1.Pod), old.(*corev1.Pod)
	newPod.Status = oldPod.Status
	newPod.Generation = oldPod.Generation
	if !apiequality.Semantic.DeepEqual(newPod.Spec, oldPod.Spec) {
		newPod.Generation++
	}
}

func (strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validation.ValidatePodCreate(obj.(*corev1.Pod))
}

func (strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidatePodUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
}

func (strategy) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }
func (strategy) WarningsOnUpdate(context.Context, runtime.Object, runtime.Object) []string {
	return nil
}

// CheckGracefulDelete picks the grace period as kube-apiserver does: the
// request's, else the pod's terminationGracePeriodSeconds; a pod no node runs
// (unbound or already terminal) has nothing to stop and goes at once.
func (strategy) CheckGracefulDelete(_ context.Context, obj runtime.Object, options *metav1.DeleteOptions) bool {
	if options == nil {
		return false
	}
	options.GracePeriodSeconds = ptr.To(GracePeriod(obj.(*corev1.Pod), options.GracePeriodSeconds))
	return true
}

// GracePeriod is the deletion grace period for pod given the requested one.
func GracePeriod(pod *corev1.Pod, requested *int64) int64 {
	var period int64
	switch {
	case requested != nil:
		period = *requested
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		period = *pod.Spec.TerminationGracePeriodSeconds
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return 0
	}
	if period < 0 {
		// A negative grace period means "now" to old clients; kube turns it into 1s so the node still stops the pod.
		return 1
	}
	return period
}

// InitialStatus is the status of a pod just created: Pending, with its QoS
// class, and PodScheduled=False/SchedulingGated while it has scheduling gates.
func InitialStatus(pod *corev1.Pod) corev1.PodStatus {
	status := corev1.PodStatus{Phase: corev1.PodPending, QOSClass: QOSClass(&pod.Spec)}
	if len(pod.Spec.SchedulingGates) > 0 {
		status.Conditions = []corev1.PodCondition{{
			Type:    corev1.PodScheduled,
			Status:  corev1.ConditionFalse,
			Reason:  corev1.PodReasonSchedulingGated,
			Message: "Scheduling is blocked due to non-empty scheduling gates",
		}}
	}
	return status
}

// statusStrategy is the behaviour of /pods/{name}/status: only status and
// metadata change; spec stays as stored.
type statusStrategy struct{ strategy }

func (statusStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{"v1": fieldpath.NewSet(fieldpath.MakePathOrDie("spec"))}
}

func (statusStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	newPod, oldPod := obj.(*corev1.Pod), old.(*corev1.Pod)
	newPod.Spec = oldPod.Spec
	newPod.Generation = oldPod.Generation
	newPod.DeletionTimestamp = oldPod.DeletionTimestamp
	newPod.OwnerReferences = oldPod.OwnerReferences
	syncPodIPs(&newPod.Status)
}

// syncPodIPs fills podIP from podIPs or the reverse, so a client that sets
// only one (as older agents do) still leaves both consistent.
func syncPodIPs(s *corev1.PodStatus) {
	switch {
	case s.PodIP != "" && len(s.PodIPs) == 0:
		s.PodIPs = []corev1.PodIP{{IP: s.PodIP}}
	case s.PodIP == "" && len(s.PodIPs) > 0:
		s.PodIP = s.PodIPs[0].IP
	}
}

func (statusStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidatePodStatusUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
}

// ephemeralStrategy is the behaviour of /pods/{name}/ephemeralcontainers:
// only spec.ephemeralContainers may change (kubectl debug adds one).
type ephemeralStrategy struct{ strategy }

func (ephemeralStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	newPod, oldPod := obj.(*corev1.Pod), old.(*corev1.Pod)
	kept := oldPod.DeepCopy()
	kept.ObjectMeta.ResourceVersion = newPod.ResourceVersion
	kept.Spec.EphemeralContainers = newPod.Spec.EphemeralContainers
	if !apiequality.Semantic.DeepEqual(kept.Spec.EphemeralContainers, oldPod.Spec.EphemeralContainers) {
		kept.Generation++
	}
	*newPod = *kept
}

func (ephemeralStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidatePodEphemeralContainersUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
}

// SelectableFields are the fields a pod field selector may name, as kube-apiserver offers them.
func SelectableFields(obj runtime.Object) fields.Set {
	pod := obj.(*corev1.Pod)
	podIPs := ""
	if len(pod.Status.PodIPs) > 0 {
		podIPs = pod.Status.PodIPs[0].IP
	}
	return fields.Set{
		"spec.nodeName":            pod.Spec.NodeName,
		"spec.restartPolicy":       string(pod.Spec.RestartPolicy),
		"spec.schedulerName":       pod.Spec.SchedulerName,
		"spec.serviceAccountName":  pod.Spec.ServiceAccountName,
		"spec.hostNetwork":         boolString(pod.Spec.HostNetwork),
		"status.phase":             string(pod.Status.Phase),
		"status.podIP":             podIPs,
		"status.nominatedNodeName": pod.Status.NominatedNodeName,
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

var (
	_ rest.RESTCreateStrategy         = strategy{}
	_ rest.RESTUpdateStrategy         = strategy{}
	_ rest.RESTGracefulDeleteStrategy = strategy{}
	_ rest.ResetFieldsStrategy        = statusStrategy{}
)

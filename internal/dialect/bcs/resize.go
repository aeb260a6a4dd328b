package bcs

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
)

// resizeTaskGroups changes the resources of app's taskgroup Pods in place
// (BCS's `PUT .../applications?args=resource`: no container restarts):
// each Pod that is neither ending nor ended gets, through pods/resize, the
// requests and limits app's (updated) spec gives its tasks. A Pod that
// already has them is left alone; one gone meanwhile is no error. The first
// failure is returned once every Pod was tried.
func resizeTaskGroups(ctx context.Context, kube kubernetes.Interface, app *v1alpha1.Application, pods []*corev1.Pod) *Error {
	want := map[string]corev1.ResourceRequirements{}
	for _, c := range application.Pod(app, application.PodOptions{}).Spec.Containers {
		want[c.Name] = c.Resources
	}
	var first *Error
	for _, p := range pods {
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		patch := resizePatch(p, want)
		if patch == nil {
			continue
		}
		_, err := kube.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "resize")
		if err != nil && !apierrors.IsNotFound(err) && first == nil {
			first = fromAPIError(err, "taskgroup")
		}
	}
	return first
}

// resizePatch is the strategic merge patch of pods/resize that gives p's
// containers the requests and limits of want (by container name), or nil
// when they have them already.
func resizePatch(p *corev1.Pod, want map[string]corev1.ResourceRequirements) []byte {
	var containers []map[string]any
	for _, c := range p.Spec.Containers {
		w, ok := want[c.Name]
		if !ok || (covers(c.Resources.Requests, w.Requests) && covers(c.Resources.Limits, w.Limits)) {
			continue
		}
		res := map[string]any{}
		if len(w.Requests) > 0 {
			res["requests"] = w.Requests
		}
		if len(w.Limits) > 0 {
			res["limits"] = w.Limits
		}
		containers = append(containers, map[string]any{"name": c.Name, "resources": res})
	}
	if len(containers) == 0 {
		return nil
	}
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"containers": containers}})
	return patch
}

// covers: every quantity of want is in have, equal.
func covers(have, want corev1.ResourceList) bool {
	for name, q := range want {
		h, ok := have[name]
		if !ok || h.Cmp(q) != 0 {
			return false
		}
	}
	return true
}

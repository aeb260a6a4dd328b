package deployment

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
)

// Change is what a deployment's spec asks for beyond the definition its
// applications were made from.
type Change int

const (
	// ChangeNone: nothing to do.
	ChangeNone Change = iota
	// ChangeScale: only spec.instance differs: scale the application.
	ChangeScale
	// ChangeResources: only containers' resources (and perhaps the
	// instance count) differ: the dialect resized the taskgroups in place
	// (args=resource); record it.
	ChangeResources
	// ChangeRolling: anything else: a rolling update to the new definition.
	ChangeRolling
)

// Classify says what turning the definition acted on into wanted takes.
func Classify(acted, wanted v1alpha1.DeploymentSpec) Change {
	if apiequality.Semantic.DeepEqual(acted, wanted) {
		return ChangeNone
	}
	scaled := *acted.DeepCopy()
	scaled.Instance = wanted.Instance
	if apiequality.Semantic.DeepEqual(scaled, wanted) {
		return ChangeScale
	}
	if scaled.Template != nil && wanted.Template != nil && len(scaled.Template.Spec.Containers) == len(wanted.Template.Spec.Containers) {
		for i := range scaled.Template.Spec.Containers {
			scaled.Template.Spec.Containers[i].Resources = wanted.Template.Spec.Containers[i].Resources
		}
		if apiequality.Semantic.DeepEqual(scaled, wanted) {
			return ChangeResources
		}
	}
	return ChangeRolling
}

// Matches tells whether an application is one a deployment's selector
// picks: every selector label among its BCS labels. An empty selector picks
// none (BCS would have matched every application of the namespace).
func Matches(selector map[string]string, app *v1alpha1.Application) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if got, ok := app.Spec.Metadata.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// StateOf is what the rolling update needs of an application given the
// Pods of its taskgroups: its target, the taskgroups that exist (being
// killed counts: they may still hold their node's ports; a Pod no node
// takes does not, as for the application's status), and those Running
// and healthy.
func StateOf(app *v1alpha1.Application, pods []*corev1.Pod) AppState {
	s := AppState{Target: app.Spec.Instance}
	for _, p := range pods {
		if ref := metav1.GetControllerOf(p); ref == nil || ref.UID != app.UID || !application.Launched(p) {
			continue
		}
		s.Instances++
		if p.DeletionTimestamp == nil && application.TaskGroupState(p).Status == application.TaskRunning && application.Healthy(p) {
			s.Ready++
		}
	}
	return s
}

// CancelRequested tells whether a deployment under update asks for the
// update to be cancelled: cancelupdate puts the definition from before it
// back into spec (the dialect does; a kubectl edit that does the same is
// the same request).
func CancelRequested(d *v1alpha1.Deployment) bool {
	s := d.Status
	return s.DefinitionBackup != nil && d.Generation != s.ObservedGeneration &&
		apiequality.Semantic.DeepEqual(d.Spec, *s.DefinitionBackup)
}

// Updating tells whether status is one of an update under way.
func Updating(status string) bool {
	return status == StatusUpdate || status == StatusUpdatePaused || status == StatusUpdateSuspend
}

// SelectorChanged tells whether wanted changes the selector of acted,
// which an update may not do.
func SelectorChanged(acted, wanted v1alpha1.DeploymentSpec) bool {
	return !maps.Equal(acted.Selector, wanted.Selector)
}

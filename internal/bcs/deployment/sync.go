package deployment

import (
	"maps"

	apiequality "k8s.io/apimachinery/pkg/api/equality"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
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

// StateOf is what the rolling update needs of an application; settled is
// false while its status describes an older spec (its counts may not yet
// reflect the instance count last set).
func StateOf(app *v1alpha1.Application) (s AppState, settled bool) {
	if app == nil {
		return AppState{}, true
	}
	return AppState{Target: app.Spec.Instance, Instances: app.Status.Instances, Ready: app.Status.ReadyInstances},
		app.Status.ObservedGeneration >= app.Generation
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

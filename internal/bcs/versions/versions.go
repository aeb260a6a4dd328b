// Package versions is the pure part of BCS application versions
// (bcs.podyard.io ApplicationVersions): every definition an application has
// had, as BCS keeps them. Whenever an Application's spec differs from its
// newest recorded version (a create, an update or rollback that changed it,
// a scale), internal/controller/appversion records a new one; versions are
// never pruned and go with their application (the garbage collector deletes
// them through their ownerReference). Here: which versions are an
// application's, which is the newest, and what to record.
package versions

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
)

// AnnotationGeneration on a version is the Application's
// metadata.generation the controller saw when it recorded it.
const AnnotationGeneration = application.AnnotationGeneration

// Of are the versions of versions that belong to app: recorded for its name
// and owned by it (not by an earlier Application of the same name that the
// garbage collector has not yet cleared away), oldest first.
func Of(app *v1alpha1.Application, versions []*v1alpha1.ApplicationVersion) []*v1alpha1.ApplicationVersion {
	var out []*v1alpha1.ApplicationVersion
	for _, v := range versions {
		if v.Namespace != app.Namespace || v.Application != app.Name || !ownedBy(v, app) {
			continue
		}
		out = append(out, v)
	}
	Sort(out)
	return out
}

func ownedBy(v *v1alpha1.ApplicationVersion, app *v1alpha1.Application) bool {
	for _, ref := range v.OwnerReferences {
		if ref.UID == app.UID && ref.Kind == "Application" {
			return true
		}
	}
	return false
}

// Sort orders versions oldest first: by their IDs as numbers (BCS sorts
// the same-length strings), then by name.
func Sort(versions []*v1alpha1.ApplicationVersion) {
	slices.SortStableFunc(versions, func(a, b *v1alpha1.ApplicationVersion) int {
		if c := cmp.Compare(idNumber(a.ID), idNumber(b.ID)); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
}

// idNumber is a version ID as a number; one that is not (validation
// refuses those) counts as 0.
func idNumber(id string) uint64 {
	n, _ := strconv.ParseUint(id, 10, 64)
	return n
}

// Newest is the newest of versions, nil for none.
func Newest(versions []*v1alpha1.ApplicationVersion) *v1alpha1.ApplicationVersion {
	var newest *v1alpha1.ApplicationVersion
	for _, v := range versions {
		if newest == nil || idNumber(v.ID) > idNumber(newest.ID) || v.ID == newest.ID && v.Name > newest.Name {
			newest = v
		}
	}
	return newest
}

// Recorded says whether app's current definition is its newest recorded
// version's (versions are app's, as Of returns them).
func Recorded(app *v1alpha1.Application, versions []*v1alpha1.ApplicationVersion) bool {
	newest := Newest(versions)
	return newest != nil && apiequality.Semantic.DeepEqual(newest.Spec, app.Spec)
}

// Decide is the version to record for app at now, given the versions
// recorded for it (any versions: those not app's are ignored), or nil when
// there is nothing to record: app's definition is its newest version's
// (BCS does not record an update that changes nothing), or app is being
// deleted. A create has no version yet, so it is recorded; a scale changes
// spec.instance, so it is recorded. The ID is now's UnixNano, or one more
// than the newest's when the clock has not passed it.
func Decide(app *v1alpha1.Application, versions []*v1alpha1.ApplicationVersion, now time.Time) *v1alpha1.ApplicationVersion {
	if app.DeletionTimestamp != nil || app.UID == "" {
		return nil
	}
	mine := Of(app, versions)
	if Recorded(app, mine) {
		return nil
	}
	id := uint64(max(now.UnixNano(), 0))
	if newest := Newest(mine); newest != nil && id <= idNumber(newest.ID) {
		id = idNumber(newest.ID) + 1
	}
	return For(app, strconv.FormatUint(id, 10))
}

// Name is the Kubernetes name of app's version id.
func Name(app, id string) string { return app + "-" + id }

// For is the version id of app's current definition: named
// "{application}-{id}", labelled with the application's name, owned by it
// (not blocking its deletion) and annotated with the generation it records.
func For(app *v1alpha1.Application, id string) *v1alpha1.ApplicationVersion {
	return &v1alpha1.ApplicationVersion{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "ApplicationVersion"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        Name(app.Name, id),
			Namespace:   app.Namespace,
			Labels:      map[string]string{application.LabelApplication: app.Name},
			Annotations: map[string]string{AnnotationGeneration: strconv.FormatInt(app.Generation, 10)},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "Application",
				Name: app.Name, UID: app.UID,
				Controller: ptrTo(true), BlockOwnerDeletion: ptrTo(false),
			}},
		},
		Application: app.Name,
		ID:          id,
		Spec:        *app.Spec.DeepCopy(),
	}
}

func ptrTo[T any](v T) *T { return &v }

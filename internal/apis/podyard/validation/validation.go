// Package validation checks Podyard's own API objects: pure functions of
// the object (and its previous version), tested with tables.
package validation

import (
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podyard/podyard/internal/apis/podyard/v1alpha1"
	"github.com/podyard/podyard/internal/runcommand/archive"
)

var metadataPath = field.NewPath("metadata")

// MaxTimeoutSeconds bounds a run command's timeout: a day.
const MaxTimeoutSeconds = 24 * 60 * 60

// ValidateRunCommand checks a new RunCommand; its context must unpack
// within limits.
func ValidateRunCommand(rc *v1alpha1.RunCommand, limits archive.Limits) field.ErrorList {
	errs := apivalidation.ValidateObjectMeta(&rc.ObjectMeta, true, apivalidation.NameIsDNSLabel, metadataPath)
	spec := field.NewPath("spec")
	if rc.Spec.Command == "" {
		errs = append(errs, field.Required(spec.Child("command"), "the command to run"))
	}
	if len(rc.Spec.Context) > 0 {
		if err := archive.Check(rc.Spec.Context, limits); err != nil {
			errs = append(errs, field.Invalid(spec.Child("context"), "<ZIP archive>", err.Error()))
		}
	}
	if t := rc.Spec.TimeoutSeconds; t != nil && (*t < 1 || *t > MaxTimeoutSeconds) {
		errs = append(errs, field.Invalid(spec.Child("timeoutSeconds"), *t, "must be between 1 and 86400"))
	}
	return errs
}

// ValidateRunCommandUpdate allows one change to what was asked: cancelling.
func ValidateRunCommandUpdate(rc, old *v1alpha1.RunCommand) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&rc.ObjectMeta, &old.ObjectMeta, metadataPath)
	spec, oldSpec := rc.Spec, old.Spec
	if oldSpec.Canceled && !spec.Canceled {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "canceled"), "a canceled command stays canceled"))
	}
	spec.Canceled, oldSpec.Canceled = false, false
	if !apiequality.Semantic.DeepEqual(spec, oldSpec) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), "only spec.canceled may change"))
	}
	return errs
}

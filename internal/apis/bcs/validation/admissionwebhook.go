package validation

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

// ValidateAdmissionWebhook checks a BCS admission webhook configuration.
func ValidateAdmissionWebhook(w *v1alpha1.AdmissionWebhook) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if len(w.Spec.AdmissionWebhooks) == 0 {
		errs = append(errs, field.Required(spec.Child("admissionWebhooks"), "at least one webhook"))
	}
	return errs
}

// ValidateAdmissionWebhookUpdate checks an update: the BCS name and
// namespace never change.
func ValidateAdmissionWebhookUpdate(w, old *v1alpha1.AdmissionWebhook) field.ErrorList {
	errs := ValidateAdmissionWebhook(w)
	meta := field.NewPath("spec", "metadata")
	if w.Spec.Metadata.Name != old.Spec.Metadata.Name {
		errs = append(errs, field.Invalid(meta.Child("name"), w.Spec.Metadata.Name, "field is immutable"))
	}
	if w.Spec.Metadata.Namespace != old.Spec.Metadata.Namespace {
		errs = append(errs, field.Invalid(meta.Child("namespace"), w.Spec.Metadata.Namespace, "field is immutable"))
	}
	return errs
}

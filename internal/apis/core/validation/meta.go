// Package validation checks core/v1 (and the companion coordination/v1 and
// policy/v1) objects the way kube-apiserver does, for the rules users hit,
// with kube's field paths and messages. Pure functions, no I/O: objects
// arrive defaulted and leave with a field.ErrorList.
package validation

import (
	"net/netip"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	metadataPath = field.NewPath("metadata")
	specPath     = field.NewPath("spec")
	statusPath   = field.NewPath("status")
)

func namespacedMeta(m *metav1.ObjectMeta, nameFn apivalidation.ValidateNameFunc) field.ErrorList {
	return apivalidation.ValidateObjectMeta(m, true, nameFn, metadataPath)
}

func clusterMeta(m *metav1.ObjectMeta, nameFn apivalidation.ValidateNameFunc) field.ErrorList {
	return apivalidation.ValidateObjectMeta(m, false, nameFn, metadataPath)
}

func metaUpdate(m, old *metav1.ObjectMeta) field.ErrorList {
	return apivalidation.ValidateObjectMetaUpdate(m, old, metadataPath)
}

// invalid turns the messages of a utilvalidation check of value into field errors.
func invalid(check func(string) []string, value string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range check(value) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}

func dnsLabel(value string, path *field.Path) field.ErrorList {
	return invalid(utilvalidation.IsDNS1123Label, value, path)
}

func dnsSubdomain(value string, path *field.Path) field.ErrorList {
	return invalid(utilvalidation.IsDNS1123Subdomain, value, path)
}

func qualifiedName(value string, path *field.Path) field.ErrorList {
	return invalid(utilvalidation.IsQualifiedName, value, path)
}

func ipAddress(value string, path *field.Path) field.ErrorList {
	if _, err := netip.ParseAddr(value); err != nil {
		return field.ErrorList{field.Invalid(path, value, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")}
	}
	return nil
}

func nonNegative(value int64, path *field.Path) field.ErrorList {
	if value < 0 {
		return field.ErrorList{field.Invalid(path, value, "must be greater than or equal to 0")}
	}
	return nil
}

func oneOf[T ~string](value T, path *field.Path, allowed ...T) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	return field.ErrorList{field.NotSupported(path, value, names)}
}

func fileMode(mode *int32, path *field.Path) field.ErrorList {
	if mode != nil && (*mode < 0 || *mode > 0o777) {
		return field.ErrorList{field.Invalid(path, *mode, "must be a number between 0 and 0777 (octal), both inclusive")}
	}
	return nil
}

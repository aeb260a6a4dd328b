package validation

import (
	"net/netip"
	"strconv"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

// ValidateApplicationVersion checks a new ApplicationVersion: the
// application it records, a numeric ID and a valid definition.
func ValidateApplicationVersion(v *v1alpha1.ApplicationVersion) field.ErrorList {
	errs := apivalidation.ValidateObjectMeta(&v.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, metadataPath)
	if v.Application == "" {
		errs = append(errs, field.Required(field.NewPath("application"), "the application's name"))
	} else {
		for _, msg := range validation.IsDNS1123Label(v.Application) {
			errs = append(errs, field.Invalid(field.NewPath("application"), v.Application, msg))
		}
	}
	if _, err := strconv.ParseUint(v.ID, 10, 64); err != nil {
		errs = append(errs, field.Invalid(field.NewPath("id"), v.ID, "must be a decimal number (a UnixNano time)"))
	}
	return append(errs, validateSpec(&v.Spec, specPath)...)
}

// ValidateApplicationVersionUpdate refuses any change but metadata's: a
// version records what was.
func ValidateApplicationVersionUpdate(v, old *v1alpha1.ApplicationVersion) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&v.ObjectMeta, &old.ObjectMeta, metadataPath)
	if v.Application != old.Application || v.ID != old.ID || !apiequality.Semantic.DeepEqual(v.Spec, old.Spec) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), "a version never changes"))
	}
	return errs
}

// ValidateAgentSetting checks an AgentSetting: named after a valid IP, with
// attribute names and NoSchedule taints that can go on a Node.
func ValidateAgentSetting(s *v1alpha1.AgentSetting) field.ErrorList {
	errs := apivalidation.ValidateObjectMeta(&s.ObjectMeta, false, apivalidation.NameIsDNSSubdomain, metadataPath)
	spec := field.NewPath("spec")
	if ip, err := netip.ParseAddr(s.Spec.InnerIP); err != nil || ip.Zone() != "" {
		errs = append(errs, field.Invalid(spec.Child("innerIP"), s.Spec.InnerIP, "must be an IP address"))
	} else if want := v1alpha1.AgentSettingName(s.Spec.InnerIP); s.Name != want {
		errs = append(errs, field.Invalid(metadataPath.Child("name"), s.Name, "must be "+want+", the agent setting name of spec.innerIP"))
	}
	for k := range s.Spec.Strings {
		errs = append(errs, attributeName(k, spec.Child("strings").Key(k))...)
	}
	for k := range s.Spec.Scalars {
		if _, dup := s.Spec.Strings[k]; dup {
			errs = append(errs, field.Duplicate(spec.Child("scalars").Key(k), k))
		}
		errs = append(errs, attributeName(k, spec.Child("scalars").Key(k))...)
	}
	for k, v := range s.Spec.NoSchedule {
		p := spec.Child("noSchedule").Key(k)
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, field.Invalid(p, k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			errs = append(errs, field.Invalid(p, v, msg))
		}
	}
	return errs
}

// ValidateAgentSettingUpdate checks an update: the IP is the identity.
func ValidateAgentSettingUpdate(s, old *v1alpha1.AgentSetting) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&s.ObjectMeta, &old.ObjectMeta, metadataPath)
	if s.Spec.InnerIP != old.Spec.InnerIP {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "innerIP"), "cannot change"))
	}
	return append(errs, ValidateAgentSetting(s)...)
}

func attributeName(name string, path *field.Path) field.ErrorList {
	if name == "" || len(name) > 253 {
		return field.ErrorList{field.Invalid(path, name, "must be 1 to 253 characters")}
	}
	return nil
}

package validation

import (
	"slices"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

var rollingOrders = []string{"CreateFirst", "DeleteFirst"}

// ValidateDeployment checks a new Deployment. Its name is a DNS label, as
// an Application's: its application is named after it.
func ValidateDeployment(d *v1alpha1.Deployment) field.ErrorList {
	errs := apivalidation.ValidateObjectMeta(&d.ObjectMeta, true, apivalidation.NameIsDNSLabel, metadataPath)
	return append(errs, validateDeploymentSpec(&d.Spec, specPath)...)
}

// ValidateDeploymentUpdate checks an update: the BCS name, namespace and
// selector are the deployment's identity.
func ValidateDeploymentUpdate(d, old *v1alpha1.Deployment) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&d.ObjectMeta, &old.ObjectMeta, metadataPath)
	meta := specPath.Child("metadata")
	if d.Spec.Metadata.Name != old.Spec.Metadata.Name {
		errs = append(errs, field.Forbidden(meta.Child("name"), "the BCS name cannot change"))
	}
	if d.Spec.Metadata.Namespace != old.Spec.Metadata.Namespace {
		errs = append(errs, field.Forbidden(meta.Child("namespace"), "the BCS namespace cannot change"))
	}
	return append(errs, validateDeploymentSpec(&d.Spec, specPath)...)
}

// validateDeploymentSpec checks the definition as the application it
// makes would be checked, and the rolling update's numbers.
func validateDeploymentSpec(spec *v1alpha1.DeploymentSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.Template != nil {
		app := v1alpha1.ApplicationSpec{
			Metadata: spec.Metadata, Instance: spec.Instance, Selector: spec.Selector, Template: *spec.Template,
			UpdatePolicy: spec.UpdatePolicy, RestartPolicy: spec.RestartPolicy, KillPolicy: spec.KillPolicy, Constraint: spec.Constraint,
		}
		errs = append(errs, validateSpec(&app, path)...)
	} else {
		meta := path.Child("metadata")
		errs = append(errs, bcsName(spec.Metadata.Name, meta.Child("name"))...)
		errs = append(errs, bcsName(spec.Metadata.Namespace, meta.Child("namespace"))...)
		if spec.Instance < 0 {
			errs = append(errs, field.Invalid(path.Child("instance"), spec.Instance, "must be 0 or more"))
		}
	}
	if ru := spec.Strategy.RollingUpdate; ru != nil {
		rp := path.Child("strategy", "rollingupdate")
		errs = append(errs, nonNegative(int64(ru.MaxUnavailable), rp.Child("maxUnavilable"))...)
		errs = append(errs, nonNegative(int64(ru.MaxSurge), rp.Child("maxSurge"))...)
		errs = append(errs, nonNegative(int64(ru.UpgradeDuration), rp.Child("upgradeDuration"))...)
		if ru.RollingOrder != "" && !slices.Contains(rollingOrders, ru.RollingOrder) {
			errs = append(errs, field.NotSupported(rp.Child("rollingOrder"), ru.RollingOrder, rollingOrders))
		}
	}
	return errs
}

// ValidateCommand checks a new Command.
func ValidateCommand(c *v1alpha1.Command) field.ErrorList {
	errs := apivalidation.ValidateObjectMeta(&c.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, metadataPath)
	if c.ID == "" {
		errs = append(errs, field.Required(field.NewPath("id"), "the BCS command ID"))
	}
	if len(c.Spec.Command) == 0 {
		errs = append(errs, field.Required(specPath.Child("command"), "the program and its arguments"))
	}
	errs = append(errs, nonNegative(int64(c.Spec.ReserveTime), specPath.Child("reserveTime"))...)
	errs = append(errs, nonNegative(int64(c.Spec.ReserveSeconds), specPath.Child("reserveSeconds"))...)
	errs = append(errs, nonNegative(int64(c.Spec.Timeout), specPath.Child("timeout"))...)
	return errs
}

// ValidateCommandUpdate checks an update: a command's ID and spec never
// change once it runs.
func ValidateCommandUpdate(c, old *v1alpha1.Command) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta, metadataPath)
	errs = append(errs, apivalidation.ValidateImmutableField(c.ID, old.ID, field.NewPath("id"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(c.Spec, old.Spec, specPath)...)
	return errs
}

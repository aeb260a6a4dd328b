// Package validation checks bcs.podyard.io objects: pure functions of the
// object (and its previous version), tested with tables. It refuses what BCS
// refuses and what could not become a valid taskgroup pod.
package validation

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

var (
	metadataPath = field.NewPath("metadata")
	specPath     = field.NewPath("spec")

	restartPolicies  = []string{"Never", "Always", "OnFailure"}
	pullPolicies     = []string{"Always", "IfNotPresent", "Never"}
	protocols        = []string{"TCP", "UDP", "HTTP"}
	healthCheckTypes = []string{"HTTP", "TCP", "COMMAND", "REMOTE_HTTP", "REMOTE_TCP"}
	itemTypes        = []string{"file", "env"}
	operators        = []string{"UNIQUE", "CLUSTER", "GROUPBY", "LIKE", "UNLIKE", "MAXPER", "EXCLUDE", "GREATER", "TOLERATION"}
)

// ValidateApplication checks a new Application. Its name is a DNS label
// because its taskgroup pods are named after it.
func ValidateApplication(app *v1alpha1.Application) field.ErrorList {
	errs := apivalidation.ValidateObjectMeta(&app.ObjectMeta, true, apivalidation.NameIsDNSLabel, metadataPath)
	return append(errs, validateSpec(&app.Spec, specPath)...)
}

// ValidateApplicationUpdate checks an update: the BCS name and namespace
// are the application's identity (they are in every taskgroup ID).
func ValidateApplicationUpdate(app, old *v1alpha1.Application) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&app.ObjectMeta, &old.ObjectMeta, metadataPath)
	meta := specPath.Child("metadata")
	if app.Spec.Metadata.Name != old.Spec.Metadata.Name {
		errs = append(errs, field.Forbidden(meta.Child("name"), "the BCS name cannot change"))
	}
	if app.Spec.Metadata.Namespace != old.Spec.Metadata.Namespace {
		errs = append(errs, field.Forbidden(meta.Child("namespace"), "the BCS namespace cannot change"))
	}
	return append(errs, validateSpec(&app.Spec, specPath)...)
}

func validateSpec(spec *v1alpha1.ApplicationSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	meta := path.Child("metadata")
	errs = append(errs, bcsName(spec.Metadata.Name, meta.Child("name"))...)
	errs = append(errs, bcsName(spec.Metadata.Namespace, meta.Child("namespace"))...)
	if spec.Instance < 0 {
		errs = append(errs, field.Invalid(path.Child("instance"), spec.Instance, "must be 0 or more"))
	}
	if p := spec.RestartPolicy.Policy; p != "" && !slices.Contains(restartPolicies, p) {
		errs = append(errs, field.NotSupported(path.Child("restartPolicy", "policy"), p, restartPolicies))
	}
	rp, r := path.Child("restartPolicy"), spec.RestartPolicy
	errs = append(errs, nonNegative(int64(r.Interval), rp.Child("interval"))...)
	errs = append(errs, nonNegative(int64(r.Backoff), rp.Child("backoff"))...)
	errs = append(errs, nonNegative(int64(r.MaxTimes), rp.Child("maxtimes"))...)
	errs = append(errs, nonNegative(r.HostRetainTime, rp.Child("hostRetainTime"))...)
	errs = append(errs, nonNegative(spec.KillPolicy.GracePeriod, path.Child("killPolicy", "gracePeriod"))...)
	errs = append(errs, nonNegative(int64(spec.UpdatePolicy.UpdateDelay), path.Child("updatePolicy", "updateDelay"))...)
	errs = append(errs, validateConstraint(spec.Constraint, path.Child("constraint"))...)

	containers := path.Child("template", "spec", "containers")
	if len(spec.Template.Spec.Containers) == 0 {
		errs = append(errs, field.Required(containers, "an application runs at least one container"))
	}
	for i := range spec.Template.Spec.Containers {
		errs = append(errs, validateContainer(&spec.Template.Spec.Containers[i], containers.Index(i))...)
	}
	return errs
}

// bcsName: BCS IDs are dot-separated, so a name with "." cannot be parsed
// back out of a taskgroup ID.
func bcsName(name string, path *field.Path) field.ErrorList {
	switch {
	case name == "":
		return field.ErrorList{field.Required(path, "the BCS name")}
	case strings.Contains(name, "."):
		return field.ErrorList{field.Invalid(path, name, "must not contain '.' (BCS IDs are dot-separated)")}
	case strings.ContainsAny(name, "/\x00") || len(name) > 253:
		return field.ErrorList{field.Invalid(path, name, "must not contain '/' and must be at most 253 characters")}
	}
	return nil
}

func validateContainer(c *v1alpha1.Container, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.Image == "" {
		errs = append(errs, field.Required(path.Child("image"), "the container's image"))
	}
	if p := c.ImagePullPolicy; p != "" && !slices.Contains(pullPolicies, p) {
		errs = append(errs, field.NotSupported(path.Child("imagePullPolicy"), p, pullPolicies))
	}
	for i, e := range c.Env {
		if e.Name == "" {
			errs = append(errs, field.Required(path.Child("env").Index(i).Child("name"), ""))
		}
	}
	ports := sets.New[string]()
	for i, p := range c.Ports {
		pp := path.Child("ports").Index(i)
		errs = append(errs, portNumber(p.ContainerPort, pp.Child("containerPort"))...)
		errs = append(errs, portNumber(p.HostPort, pp.Child("hostPort"))...)
		if p.Protocol != "" && !slices.Contains(protocols, strings.ToUpper(p.Protocol)) {
			errs = append(errs, field.NotSupported(pp.Child("protocol"), p.Protocol, protocols))
		}
		if p.Name != "" {
			if ports.Has(p.Name) {
				errs = append(errs, field.Duplicate(pp.Child("name"), p.Name))
			}
			ports.Insert(p.Name)
		}
	}
	errs = append(errs, validateResources(c.Resources.Limits, path.Child("resources", "limits"))...)
	errs = append(errs, validateResources(c.Resources.Requests, path.Child("resources", "requests"))...)
	for i, hc := range c.HealthChecks {
		errs = append(errs, validateHealthCheck(hc, ports, path.Child("healthChecks").Index(i))...)
	}
	for i, v := range c.Volumes {
		vp := path.Child("volumes").Index(i).Child("volume")
		if v.Volume.HostPath == "" {
			errs = append(errs, field.Required(vp.Child("hostPath"), ""))
		}
		if v.Volume.MountPath == "" {
			errs = append(errs, field.Required(vp.Child("mountPath"), ""))
		}
	}
	for i, cm := range c.ConfigMaps {
		cp := path.Child("configmaps").Index(i)
		if cm.Name == "" {
			errs = append(errs, field.Required(cp.Child("name"), "the BCS configmap's name"))
		}
		errs = append(errs, validateItems(cm.Items, cp.Child("items"))...)
	}
	for i, s := range c.Secrets {
		sp := path.Child("secrets").Index(i)
		if s.SecretName == "" {
			errs = append(errs, field.Required(sp.Child("secretName"), "the BCS secret's name"))
		}
		errs = append(errs, validateItems(s.Items, sp.Child("items"))...)
	}
	return errs
}

func validateResources(r v1alpha1.ResourceList, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, q := range []struct{ name, value string }{{"cpu", r.CPU}, {"memory", r.Memory}, {"storage", r.Storage}} {
		if q.value == "" {
			continue
		}
		if f, err := strconv.ParseFloat(q.value, 64); err != nil || f < 0 {
			errs = append(errs, field.Invalid(path.Child(q.name), q.value, "must be a number of 0 or more (cpu in cores, memory and storage in MB)"))
		}
	}
	return errs
}

func validateHealthCheck(hc v1alpha1.HealthCheck, ports sets.Set[string], path *field.Path) field.ErrorList {
	var errs field.ErrorList
	// A check without a type (the seed's deployment example has one, in
	// an older schema: protocol and path) is kept and never run, as the
	// Task view already reports it; an unknown type is refused.
	if hc.Type != "" && !slices.Contains(healthCheckTypes, hc.Type) {
		return append(errs, field.NotSupported(path.Child("type"), hc.Type, healthCheckTypes))
	}
	for _, d := range []struct {
		name  string
		value int32
	}{{"delaySeconds", hc.DelaySeconds}, {"gracePeriodSeconds", hc.GracePeriodSeconds}, {"intervalSeconds", hc.IntervalSeconds},
		{"timeoutSeconds", hc.TimeoutSeconds}, {"consecutiveFailures", hc.ConsecutiveFailures}} {
		errs = append(errs, nonNegative(int64(d.value), path.Child(d.name))...)
	}
	port := func(number int32, name string, p *field.Path) {
		switch {
		case number != 0:
			errs = append(errs, portNumber(number, p.Child("port"))...)
		case name == "":
			errs = append(errs, field.Required(p.Child("port"), "a port, or portName naming one of the container's ports"))
		case !ports.Has(name):
			errs = append(errs, field.NotFound(p.Child("portName"), name))
		}
	}
	switch hc.Type {
	case "HTTP", "REMOTE_HTTP":
		if hc.HTTP == nil {
			return append(errs, field.Required(path.Child("http"), fmt.Sprintf("a %s check needs http", hc.Type)))
		}
		port(hc.HTTP.Port, hc.HTTP.PortName, path.Child("http"))
		if s := strings.ToLower(hc.HTTP.Scheme); s != "" && s != "http" && s != "https" {
			errs = append(errs, field.NotSupported(path.Child("http", "scheme"), hc.HTTP.Scheme, []string{"http", "https"}))
		}
	case "TCP", "REMOTE_TCP":
		if hc.TCP == nil {
			return append(errs, field.Required(path.Child("tcp"), fmt.Sprintf("a %s check needs tcp", hc.Type)))
		}
		port(hc.TCP.Port, hc.TCP.PortName, path.Child("tcp"))
	case "COMMAND":
		if hc.Command == nil || hc.Command.Value == "" {
			errs = append(errs, field.Required(path.Child("command", "value"), "the command to run"))
		}
	}
	return errs
}

func validateItems(items []v1alpha1.KeyToPath, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, it := range items {
		ip := path.Index(i)
		if !slices.Contains(itemTypes, it.Type) {
			errs = append(errs, field.NotSupported(ip.Child("type"), it.Type, itemTypes))
		}
		if it.DataKey == "" {
			errs = append(errs, field.Required(ip.Child("dataKey"), ""))
		}
		if it.KeyOrPath == "" {
			errs = append(errs, field.Required(ip.Child("keyOrPath"), "the variable's name or the file's path"))
		}
	}
	return errs
}

func validateConstraint(c *v1alpha1.Constraint, path *field.Path) field.ErrorList {
	if c == nil {
		return nil
	}
	var errs field.ErrorList
	for i, item := range c.IntersectionItem {
		for j, d := range item.UnionData {
			dp := path.Child("intersectionItem").Index(i).Child("unionData").Index(j)
			if d.Name == "" {
				errs = append(errs, field.Required(dp.Child("name"), "the attribute the rule is about"))
			}
			if !slices.Contains(operators, d.Operate) {
				errs = append(errs, field.NotSupported(dp.Child("operate"), d.Operate, operators))
			}
			if d.Type < 0 || d.Type > 4 {
				errs = append(errs, field.NotSupported(dp.Child("type"), d.Type, []string{"0", "1 (scalar)", "2 (ranges)", "3 (text)", "4 (set)"}))
			}
		}
	}
	return errs
}

func nonNegative(v int64, path *field.Path) field.ErrorList {
	if v < 0 {
		return field.ErrorList{field.Invalid(path, v, "must be 0 or more")}
	}
	return nil
}

func portNumber(p int32, path *field.Path) field.ErrorList {
	if p < 0 || p > 65535 {
		return field.ErrorList{field.Invalid(path, p, "must be between 0 and 65535")}
	}
	return nil
}

package validation

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/url"
	"slices"
	"strings"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

// BCS admission webhook values.
var (
	admissionOperations = []string{"Create", "Update"}
	admissionKinds      = []string{"application", "deployment"} // matched case-insensitively
	// FailurePolicy "" is BCS's behaviour for anything but Fail: the hook
	// is skipped when it fails, as with Ignore.
	failurePolicies   = []string{"Fail", "Ignore"}
	selectorOperators = []string{"In", "NotIn"}
	webhookURLSchemes = []string{"https", "http"}
)

const (
	minTimeoutSeconds = 1
	maxTimeoutSeconds = 30
	maxServicePort    = 65535
)

// ValidateAdmissionWebhook checks a BCS admission webhook configuration:
// what its hooks are called on (operation Create or Update, kind
// application or deployment in any case), and each hook: a name (unique
// in the configuration), failurePolicy Fail, Ignore or empty (= Ignore, as
// in BCS), where it is (a url with scheme https or http, or a Service's
// name and namespace with an optional port and path), a caBundle that is
// base64 of PEM certificates, a namespaceSelector In or NotIn, and
// timeoutSeconds 1 to 30.
func ValidateAdmissionWebhook(w *v1alpha1.AdmissionWebhook) field.ErrorList {
	errs := apivalidation.ValidateObjectMeta(&w.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, metadataPath)
	meta := specPath.Child("metadata")
	errs = append(errs, bcsName(w.Spec.Metadata.Name, meta.Child("name"))...)
	errs = append(errs, bcsName(w.Spec.Metadata.Namespace, meta.Child("namespace"))...)
	ref := specPath.Child("resourcesRef")
	if op := w.Spec.ResourcesRef.Operation; !slices.Contains(admissionOperations, op) {
		errs = append(errs, field.NotSupported(ref.Child("operation"), op, admissionOperations))
	}
	if kind := w.Spec.ResourcesRef.Kind; !slices.Contains(admissionKinds, strings.ToLower(kind)) {
		errs = append(errs, field.NotSupported(ref.Child("kind"), kind, admissionKinds))
	}
	hooks := specPath.Child("admissionWebhooks")
	if len(w.Spec.AdmissionWebhooks) == 0 {
		errs = append(errs, field.Required(hooks, "at least one webhook"))
	}
	seen := map[string]bool{}
	for i := range w.Spec.AdmissionWebhooks {
		hook, path := &w.Spec.AdmissionWebhooks[i], hooks.Index(i)
		switch {
		case hook.Name == "":
			errs = append(errs, field.Required(path.Child("name"), ""))
		case seen[hook.Name]:
			errs = append(errs, field.Duplicate(path.Child("name"), hook.Name))
		}
		seen[hook.Name] = true
		if p := hook.FailurePolicy; p != "" && !slices.Contains(failurePolicies, p) {
			errs = append(errs, field.NotSupported(path.Child("failurePolicy"), p, failurePolicies))
		}
		errs = append(errs, validateClientConfig(&hook.ClientConfig, path.Child("clientConfig"))...)
		if s := hook.NamespaceSelector; s != nil && !slices.Contains(selectorOperators, s.Operator) {
			errs = append(errs, field.NotSupported(path.Child("namespaceSelector", "operator"), s.Operator, selectorOperators))
		}
		if t := hook.TimeoutSeconds; t != nil && (*t < minTimeoutSeconds || *t > maxTimeoutSeconds) {
			errs = append(errs, field.Invalid(path.Child("timeoutSeconds"), *t, fmt.Sprintf("must be between %d and %d", minTimeoutSeconds, maxTimeoutSeconds)))
		}
	}
	return errs
}

func validateClientConfig(c *v1alpha1.AdmissionHookClientConfig, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	service := c.Name != "" || c.Namespace != "" || c.Path != "" || c.Port != 0
	switch {
	case c.URL != "" && service:
		errs = append(errs, field.Invalid(path.Child("url"), c.URL, "either url or the service's name and namespace, not both"))
	case c.URL != "":
		u, err := url.Parse(c.URL)
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(path.Child("url"), c.URL, err.Error()))
		case !slices.Contains(webhookURLSchemes, u.Scheme):
			errs = append(errs, field.NotSupported(path.Child("url"), u.Scheme, webhookURLSchemes))
		case u.Host == "":
			errs = append(errs, field.Invalid(path.Child("url"), c.URL, "has no host"))
		case u.User != nil:
			errs = append(errs, field.Invalid(path.Child("url"), c.URL, "must not carry user info"))
		}
	case c.Name == "" || c.Namespace == "":
		if c.Name == "" {
			errs = append(errs, field.Required(path.Child("name"), "either url or the service's name and namespace"))
		}
		if c.Namespace == "" {
			errs = append(errs, field.Required(path.Child("namespace"), "either url or the service's name and namespace"))
		}
	default:
		if c.Port < 0 || c.Port > maxServicePort {
			errs = append(errs, field.Invalid(path.Child("port"), c.Port, "must be between 1 and 65535 (0 or unset: 443)"))
		}
		if c.Path != "" && !strings.HasPrefix(c.Path, "/") {
			errs = append(errs, field.Invalid(path.Child("path"), c.Path, "must start with '/'"))
		}
		for _, f := range []struct{ what, name string }{{"name", c.Name}, {"namespace", c.Namespace}} {
			if strings.ContainsAny(f.name, "./:?#@ ") {
				errs = append(errs, field.Invalid(path.Child(f.what), f.name, "must be a BCS name (no '.', '/', ':')"))
			}
		}
	}
	if c.CABundle != "" {
		if _, err := ParseCABundle(c.CABundle); err != nil {
			errs = append(errs, field.Invalid(path.Child("caBundle"), "(omitted)", err.Error()))
		}
	}
	return errs
}

// ParseCABundle reads a caBundle: base64 of one or more PEM certificates.
func ParseCABundle(bundle string) (*x509.CertPool, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(bundle))
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	pool := x509.NewCertPool()
	n := 0
	for block, rest := pem.Decode(raw); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("no PEM certificate in it")
	}
	return pool, nil
}

// ValidateAdmissionWebhookUpdate checks an update: the BCS name and
// namespace never change.
func ValidateAdmissionWebhookUpdate(w, old *v1alpha1.AdmissionWebhook) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&w.ObjectMeta, &old.ObjectMeta, metadataPath)
	errs = append(errs, ValidateAdmissionWebhook(w)...)
	meta := field.NewPath("spec", "metadata")
	if w.Spec.Metadata.Name != old.Spec.Metadata.Name {
		errs = append(errs, field.Invalid(meta.Child("name"), w.Spec.Metadata.Name, "field is immutable"))
	}
	if w.Spec.Metadata.Namespace != old.Spec.Metadata.Namespace {
		errs = append(errs, field.Invalid(meta.Child("namespace"), w.Spec.Metadata.Namespace, "field is immutable"))
	}
	return errs
}

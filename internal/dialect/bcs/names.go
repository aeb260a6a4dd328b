package bcs

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Annotations keep what BCS has and Kubernetes does not.
const (
	// AnnotationNamespace on a Namespace is the BCS namespace it stands for,
	// when that is not the Namespace's own name.
	AnnotationNamespace = "bcs.podyard.io/namespace"
	// AnnotationName on an object is its BCS name.
	AnnotationName = "bcs.podyard.io/name"
	// annotationPrefix marks the dialect's own annotations, which the BCS
	// view never shows.
	annotationPrefix = "bcs.podyard.io/"
	hashLen          = 10 // hex digits: 40 bits of the exact original
)

// KubeNamespace is the Kubernetes namespace of a BCS namespace; see KubeName.
func KubeNamespace(bcs string) (string, *Error) { return kubeName("namespace", bcs) }

// KubeName is the Kubernetes name of a BCS object name. A name that is
// already a DNS-1123 label is itself, so RBAC, quotas and kubectl see the
// same name; any other maps to a readable lowercase prefix and a hash of
// the exact original ("defaultGroup" → "defaultgroup-<10 hex>"), so two
// names that differ only in case stay apart. The original is kept in an
// annotation. BCS IDs are dot-separated, so '.' is refused.
func KubeName(bcs string) (string, *Error) { return kubeName("name", bcs) }

func kubeName(what, bcs string) (string, *Error) {
	switch {
	case bcs == "":
		return "", Errorf(CodeBadParameters, "the %s is empty", what)
	case strings.Contains(bcs, "."):
		return "", Errorf(CodeBadParameters, "%s %q: a BCS %s can't contain '.'", what, bcs, what)
	case len(validation.IsDNS1123Label(bcs)) == 0:
		return bcs, nil
	}
	sum := sha256.Sum256([]byte(bcs))
	hash := hex.EncodeToString(sum[:])[:hashLen]
	prefix := readable(bcs, validation.DNS1123LabelMaxLength-hashLen-1)
	if prefix == "" {
		return hash, nil // a label may start with a digit
	}
	return prefix + "-" + hash, nil
}

// readable is s lowercased with every run of other characters as one '-',
// no '-' at either end, at most max bytes.
func readable(s string, max int) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	out := b.String()
	if len(out) > max {
		out = strings.TrimRight(out[:max], "-")
	}
	return out
}

// NamespaceAnnotations are what a Namespace made for a BCS namespace
// carries: the original, when the name is not it.
func NamespaceAnnotations(bcs, kube string) map[string]string {
	if bcs == kube {
		return nil
	}
	return map[string]string{AnnotationNamespace: bcs}
}

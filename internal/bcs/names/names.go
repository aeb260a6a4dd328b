// Package names maps BCS names onto Kubernetes names, for the dialect and
// the controllers that name objects after BCS ones (a deployment's
// applications).
package names

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

const hashLen = 10 // hex digits: 40 bits of the exact original

// Errors of Kube.
var (
	ErrEmpty = errors.New("is empty")
	ErrDot   = errors.New("can't contain '.'")
)

// Kube is the Kubernetes name of a BCS name. A name that is already a
// DNS-1123 label is itself, so RBAC, quotas and kubectl see the same name;
// any other maps to a readable lowercase prefix and a hash of the exact
// original ("defaultGroup" → "defaultgroup-<10 hex>"), so two names that
// differ only in case stay apart. BCS IDs are dot-separated, so '.' is
// refused.
func Kube(bcs string) (string, error) {
	switch {
	case bcs == "":
		return "", ErrEmpty
	case strings.Contains(bcs, "."):
		return "", ErrDot
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

// Service is the Kubernetes name of a BCS service. Service names are
// DNS-1035 labels (they start with a letter): Kube's name when it is one,
// else "svc-" and the rest of the hashed form, so "1st" and "_x" still
// have a Service.
func Service(bcs string) (string, error) {
	name, err := Kube(bcs)
	if err != nil || len(validation.IsDNS1035Label(name)) == 0 {
		return name, err
	}
	sum := sha256.Sum256([]byte(bcs))
	hash := hex.EncodeToString(sum[:])[:hashLen]
	prefix := readable(bcs, validation.DNS1035LabelMaxLength-hashLen-len("svc--"))
	if prefix == "" {
		return "svc-" + hash, nil
	}
	return "svc-" + prefix + "-" + hash, nil
}

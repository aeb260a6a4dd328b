package bcs

import (
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

var hashed = regexp.MustCompile(`^(.*-)?[0-9a-f]{10}$`)

func TestKubeName(t *testing.T) {
	long := strings.Repeat("Ab", 40)
	for _, tc := range []struct {
		bcs    string
		same   bool   // the name is its own Kubernetes name
		prefix string // else: the readable part before the hash
		code   int    // else: refused with this code
	}{
		{bcs: "default", same: true},
		{bcs: "configmap-test", same: true},
		{bcs: "10001", same: true},
		{bcs: "defaultGroup", prefix: "defaultgroup-"},
		{bcs: "DefaultGroup", prefix: "defaultgroup-"},
		{bcs: "test_deployment", prefix: "test-deployment-"},
		{bcs: "_a__b_", prefix: "a-b-"},
		{bcs: "-lead", prefix: "lead-"},
		{bcs: "名字", prefix: ""},
		{bcs: long, prefix: strings.Repeat("ab", 26) + "-"},
		{bcs: "a.b", code: CodeBadParameters},
		{bcs: "", code: CodeBadParameters},
	} {
		got, err := KubeName(tc.bcs)
		switch {
		case tc.code != 0:
			if err == nil || err.Code != tc.code || err.Status != 400 {
				t.Errorf("KubeName(%q) = %q, %v; want code %d", tc.bcs, got, err, tc.code)
			}
			continue
		case err != nil:
			t.Errorf("KubeName(%q): %v", tc.bcs, err)
			continue
		case tc.same && got != tc.bcs:
			t.Errorf("KubeName(%q) = %q, want itself", tc.bcs, got)
		case !tc.same && (!strings.HasPrefix(got, tc.prefix) || !hashed.MatchString(got)):
			t.Errorf("KubeName(%q) = %q, want %s<10 hex>", tc.bcs, got, tc.prefix)
		}
		if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
			t.Errorf("KubeName(%q) = %q: not a DNS label: %v", tc.bcs, got, errs)
		}
		if again, _ := KubeName(tc.bcs); again != got {
			t.Errorf("KubeName(%q) is not deterministic: %q then %q", tc.bcs, got, again)
		}
	}
}

// Names that a readable prefix alone would merge stay apart.
func TestKubeNameCollisions(t *testing.T) {
	seen := map[string]string{}
	for _, name := range []string{"defaultGroup", "DefaultGroup", "defaultgroup", "DEFAULTGROUP", "default_group", "default-group", "default__group", "Default_Group"} {
		got, err := KubeName(name)
		if err != nil {
			t.Fatalf("KubeName(%q): %v", name, err)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("%q and %q both map to %q", name, other, got)
		}
		seen[got] = name
	}
}

func TestKubeNamespace(t *testing.T) {
	ns, err := KubeNamespace("defaultGroup")
	if err != nil || !strings.HasPrefix(ns, "defaultgroup-") {
		t.Fatalf("KubeNamespace(defaultGroup) = %q, %v", ns, err)
	}
	if a := NamespaceAnnotations("defaultGroup", ns); a[AnnotationNamespace] != "defaultGroup" {
		t.Errorf("annotations of a mapped namespace: %v", a)
	}
	if a := NamespaceAnnotations("default", "default"); a != nil {
		t.Errorf("annotations of a namespace that is its own name: %v", a)
	}
	if _, err := KubeNamespace("a.b"); err == nil || !strings.Contains(err.Message, "'.'") {
		t.Errorf("KubeNamespace(a.b) = %v, want the '.' refused", err)
	}
}

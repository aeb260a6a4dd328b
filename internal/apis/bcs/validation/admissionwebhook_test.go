package validation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

// testCABundle is base64 PEM of a fresh self-signed certificate.
func testCABundle(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func validWebhook(caBundle string) *v1alpha1.AdmissionWebhook {
	return &v1alpha1.AdmissionWebhook{
		ObjectMeta: metav1.ObjectMeta{Name: "webhook-test", Namespace: "defaultgroup-0123456789"},
		Spec: v1alpha1.AdmissionWebhookSpec{
			Metadata:     v1alpha1.ObjectMeta{Name: "webhook-test", Namespace: "defaultGroup"},
			ResourcesRef: v1alpha1.AdmissionResourcesRef{Operation: "Create", Kind: "Application"},
			AdmissionWebhooks: []v1alpha1.AdmissionHook{
				{Name: "container-sidecar", FailurePolicy: "Ignore", ClientConfig: v1alpha1.AdmissionHookClientConfig{
					CABundle: caBundle, Namespace: "sidecar-webhook-namespace", Name: "sidecar-webhook-service"}},
				{Name: "container-images", FailurePolicy: "Fail", ClientConfig: v1alpha1.AdmissionHookClientConfig{
					URL: "https://127.0.0.1:8443/mutate"}, NamespaceSelector: &v1alpha1.AdmissionNamespaceSelector{Operator: "NotIn", Values: []string{"x"}}},
			},
		},
	}
}

func TestValidateAdmissionWebhook(t *testing.T) {
	ca := testCABundle(t)
	hook := func(w *v1alpha1.AdmissionWebhook, i int) *v1alpha1.AdmissionHook { return &w.Spec.AdmissionWebhooks[i] }
	for _, tc := range []struct {
		name   string
		change func(*v1alpha1.AdmissionWebhook)
		field  string // "" when valid
	}{
		{"valid", func(*v1alpha1.AdmissionWebhook) {}, ""},
		{"kind lower case", func(w *v1alpha1.AdmissionWebhook) { w.Spec.ResourcesRef.Kind = "deployment" }, ""},
		{"update", func(w *v1alpha1.AdmissionWebhook) { w.Spec.ResourcesRef.Operation = "Update" }, ""},
		{"empty failure policy", func(w *v1alpha1.AdmissionWebhook) { hook(w, 0).FailurePolicy = "" }, ""},
		{"http url", func(w *v1alpha1.AdmissionWebhook) { hook(w, 1).ClientConfig.URL = "http://hook.example.com/x" }, ""},
		{"service with port and path", func(w *v1alpha1.AdmissionWebhook) {
			hook(w, 0).ClientConfig.Port, hook(w, 0).ClientConfig.Path = 8443, "/m"
		}, ""},
		{"timeout", func(w *v1alpha1.AdmissionWebhook) { hook(w, 0).TimeoutSeconds = ptr.To[int32](30) }, ""},
		{"no object name", func(w *v1alpha1.AdmissionWebhook) { w.Name = "" }, "metadata.name"},
		{"no BCS name", func(w *v1alpha1.AdmissionWebhook) { w.Spec.Metadata.Name = "" }, "spec.metadata.name"},
		{"dotted BCS namespace", func(w *v1alpha1.AdmissionWebhook) { w.Spec.Metadata.Namespace = "a.b" }, "spec.metadata.namespace"},
		{"operation", func(w *v1alpha1.AdmissionWebhook) { w.Spec.ResourcesRef.Operation = "Delete" }, "spec.resourcesRef.operation"},
		{"operation case", func(w *v1alpha1.AdmissionWebhook) { w.Spec.ResourcesRef.Operation = "create" }, "spec.resourcesRef.operation"},
		{"kind", func(w *v1alpha1.AdmissionWebhook) { w.Spec.ResourcesRef.Kind = "configmap" }, "spec.resourcesRef.kind"},
		{"no hooks", func(w *v1alpha1.AdmissionWebhook) { w.Spec.AdmissionWebhooks = nil }, "spec.admissionWebhooks"},
		{"hook without a name", func(w *v1alpha1.AdmissionWebhook) { hook(w, 1).Name = "" }, "spec.admissionWebhooks[1].name"},
		{"duplicate hook name", func(w *v1alpha1.AdmissionWebhook) { hook(w, 1).Name = hook(w, 0).Name }, "spec.admissionWebhooks[1].name"},
		{"failure policy", func(w *v1alpha1.AdmissionWebhook) { hook(w, 0).FailurePolicy = "fail" }, "spec.admissionWebhooks[0].failurePolicy"},
		{"url scheme", func(w *v1alpha1.AdmissionWebhook) { hook(w, 1).ClientConfig.URL = "ftp://x/y" }, "spec.admissionWebhooks[1].clientConfig.url"},
		{"url without host", func(w *v1alpha1.AdmissionWebhook) { hook(w, 1).ClientConfig.URL = "https:///y" }, "spec.admissionWebhooks[1].clientConfig.url"},
		{"url and service", func(w *v1alpha1.AdmissionWebhook) { hook(w, 1).ClientConfig.Name = "svc" }, "spec.admissionWebhooks[1].clientConfig.url"},
		{"neither", func(w *v1alpha1.AdmissionWebhook) { hook(w, 1).ClientConfig.URL = "" }, "spec.admissionWebhooks[1].clientConfig.name"},
		{"service without namespace", func(w *v1alpha1.AdmissionWebhook) { hook(w, 0).ClientConfig.Namespace = "" }, "spec.admissionWebhooks[0].clientConfig.namespace"},
		{"dotted service name", func(w *v1alpha1.AdmissionWebhook) { hook(w, 0).ClientConfig.Name = "a.b" }, "spec.admissionWebhooks[0].clientConfig.name"},
		{"port", func(w *v1alpha1.AdmissionWebhook) { hook(w, 0).ClientConfig.Port = 70000 }, "spec.admissionWebhooks[0].clientConfig.port"},
		{"path", func(w *v1alpha1.AdmissionWebhook) { hook(w, 0).ClientConfig.Path = "mutate" }, "spec.admissionWebhooks[0].clientConfig.path"},
		{"caBundle not base64", func(w *v1alpha1.AdmissionWebhook) { hook(w, 0).ClientConfig.CABundle = "xxxxxxxxx" }, "spec.admissionWebhooks[0].clientConfig.caBundle"},
		{"caBundle not PEM", func(w *v1alpha1.AdmissionWebhook) {
			hook(w, 0).ClientConfig.CABundle = base64.StdEncoding.EncodeToString([]byte("hello"))
		}, "spec.admissionWebhooks[0].clientConfig.caBundle"},
		{"caBundle PEM not a certificate", func(w *v1alpha1.AdmissionWebhook) {
			bad := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})
			hook(w, 0).ClientConfig.CABundle = base64.StdEncoding.EncodeToString(bad)
		}, "spec.admissionWebhooks[0].clientConfig.caBundle"},
		{"selector operator", func(w *v1alpha1.AdmissionWebhook) { hook(w, 1).NamespaceSelector.Operator = "Exists" }, "spec.admissionWebhooks[1].namespaceSelector.operator"},
		{"timeout 0", func(w *v1alpha1.AdmissionWebhook) { hook(w, 0).TimeoutSeconds = ptr.To[int32](0) }, "spec.admissionWebhooks[0].timeoutSeconds"},
		{"timeout 31", func(w *v1alpha1.AdmissionWebhook) { hook(w, 0).TimeoutSeconds = ptr.To[int32](31) }, "spec.admissionWebhooks[0].timeoutSeconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := validWebhook(ca)
			tc.change(w)
			errs := ValidateAdmissionWebhook(w)
			if tc.field == "" {
				if len(errs) > 0 {
					t.Fatalf("errors %v, want none", errs)
				}
				return
			}
			found := false
			for _, e := range errs {
				found = found || e.Field == tc.field
			}
			if !found {
				t.Fatalf("errors %v, want one on %s", errs, tc.field)
			}
		})
	}
}

func TestValidateAdmissionWebhookUpdate(t *testing.T) {
	ca := testCABundle(t)
	old := validWebhook(ca)
	old.ResourceVersion = "1"
	w := validWebhook(ca)
	w.ResourceVersion = "1"
	if errs := ValidateAdmissionWebhookUpdate(w, old); len(errs) > 0 {
		t.Errorf("same: %v", errs)
	}
	w.Spec.Metadata.Name = "other"
	if errs := ValidateAdmissionWebhookUpdate(w, old); len(errs) == 0 || !strings.Contains(errs.ToAggregate().Error(), "spec.metadata.name") {
		t.Errorf("renamed: %v", errs)
	}
}

func TestParseCABundle(t *testing.T) {
	if _, err := ParseCABundle(testCABundle(t)); err != nil {
		t.Errorf("ParseCABundle: %v", err)
	}
	if _, err := ParseCABundle("xxxxxxxxx"); err == nil {
		t.Error("ParseCABundle of the seed's placeholder: no error")
	}
}

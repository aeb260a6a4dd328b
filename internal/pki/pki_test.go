package pki

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

func TestEnsureCreatesOnceAndReuses(t *testing.T) {
	dir := t.TempDir()
	first, err := Ensure(dir, []string{"10.1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	caBefore, _ := os.ReadFile(first.CACertFile)
	servingBefore, _ := os.ReadFile(first.ServingCertFile)

	again, err := Ensure(dir, []string{"10.1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	if again.AdminToken != first.AdminToken || again.AdminToken == "" {
		t.Errorf("admin token changed or empty: %q then %q", first.AdminToken, again.AdminToken)
	}
	if b, _ := os.ReadFile(again.CACertFile); string(b) != string(caBefore) {
		t.Error("CA was reissued on restart")
	}
	if b, _ := os.ReadFile(again.ServingCertFile); string(b) != string(servingBefore) {
		t.Error("serving certificate was reissued although its SANs still fit")
	}

	// A new listen address needs a new SAN: the serving cert is reissued, the CA kept.
	moved, err := Ensure(dir, []string{"10.9.9.9"})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(moved.ServingCertFile, moved.ServingKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	if err := leaf.VerifyHostname("10.9.9.9"); err != nil {
		t.Errorf("reissued serving cert: %v", err)
	}
	if b, _ := os.ReadFile(moved.CACertFile); string(b) != string(caBefore) {
		t.Error("CA changed when the serving cert was reissued")
	}
	if info, _ := os.Stat(moved.CAKeyFile); info.Mode().Perm() != 0o600 {
		t.Errorf("CA key mode %v, want 0600", info.Mode().Perm())
	}
}

func TestClientCertsChainToTheCA(t *testing.T) {
	b, err := Ensure(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := b.SignClientCert("alice", []string{"dev"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(b.CACertFile)
	pool.AppendCertsFromPEM(caPEM)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("client cert does not verify: %v", err)
	}
	if leaf.Subject.CommonName != "alice" || len(leaf.Subject.Organization) != 1 || leaf.Subject.Organization[0] != "dev" {
		t.Errorf("subject %v, want CN=alice O=dev", leaf.Subject)
	}
}

func TestKubeconfigUsesTheBearerToken(t *testing.T) {
	dir := t.TempDir()
	b, err := Ensure(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := dir + "/kubeconfig"
	if err := b.WriteKubeconfig(path, "https://127.0.0.1:1234"); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://127.0.0.1:1234" || cfg.BearerToken != b.AdminToken || len(cfg.CAData) == 0 {
		t.Errorf("kubeconfig: host %q token %q caData %d bytes", cfg.Host, cfg.BearerToken, len(cfg.CAData))
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("kubeconfig mode %v, want 0600", info.Mode().Perm())
	}
}

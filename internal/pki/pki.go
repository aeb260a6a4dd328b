// Package pki creates and keeps the cluster's credentials under the data
// directory: a CA, the API server's serving certificate, etcd's server and
// client certificates, the admin's client certificate and bearer token, and
// the admin kubeconfig. Everything is created once and reused on restart.
package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/csv"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// AdminUser is the user the admin credentials authenticate as; it is in
// system:masters, the group every authorizer lets through.
const (
	AdminUser  = "podyard-admin"
	AdminGroup = "system:masters"
	// AgentClientUser is the API server's identity towards node agents:
	// the only client an agent's streaming server accepts.
	AgentClientUser = "podyard-apiserver-agent-client"
)

const (
	caValidity   = 10 * 365 * 24 * time.Hour
	certValidity = 365 * 24 * time.Hour
)

// Bundle names the credential files of one data directory.
type Bundle struct {
	Dir string

	CACertFile, CAKeyFile                   string
	ServingCertFile, ServingKeyFile         string
	AdminCertFile, AdminKeyFile             string
	EtcdServerCertFile, EtcdServerKeyFile   string
	EtcdClientCertFile, EtcdClientKeyFile   string
	AgentClientCertFile, AgentClientKeyFile string
	// TokensFile is a kube-apiserver static token file (token,user,uid,"groups").
	TokensFile string
	AdminToken string

	ca    *x509.Certificate
	caKey crypto.Signer
}

// Ensure loads the credentials under dataDir/pki, creating what is missing.
// The serving certificate is valid for loopback, this host's name and
// extraSANs (IPs or DNS names); it is reissued when a SAN is missing.
func Ensure(dataDir string, extraSANs []string) (*Bundle, error) {
	dir := filepath.Join(dataDir, "pki")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	b := &Bundle{
		Dir:        dir,
		CACertFile: filepath.Join(dir, "ca.crt"), CAKeyFile: filepath.Join(dir, "ca.key"),
		ServingCertFile: filepath.Join(dir, "apiserver.crt"), ServingKeyFile: filepath.Join(dir, "apiserver.key"),
		AdminCertFile: filepath.Join(dir, "admin.crt"), AdminKeyFile: filepath.Join(dir, "admin.key"),
		EtcdServerCertFile: filepath.Join(dir, "etcd-server.crt"), EtcdServerKeyFile: filepath.Join(dir, "etcd-server.key"),
		EtcdClientCertFile: filepath.Join(dir, "etcd-client.crt"), EtcdClientKeyFile: filepath.Join(dir, "etcd-client.key"),
		AgentClientCertFile: filepath.Join(dir, "agent-client.crt"), AgentClientKeyFile: filepath.Join(dir, "agent-client.key"),
		TokensFile: filepath.Join(dir, "tokens.csv"),
	}
	if err := b.ensureCA(); err != nil {
		return nil, err
	}
	hostname, _ := os.Hostname()
	servingSANs := append([]string{"127.0.0.1", "::1", "localhost"}, extraSANs...)
	if hostname != "" {
		servingSANs = append(servingSANs, hostname)
	}
	leaves := []struct {
		cert, key string
		tmpl      *x509.Certificate
	}{
		{b.ServingCertFile, b.ServingKeyFile, serverTemplate("podyard-apiserver", servingSANs)},
		{b.EtcdServerCertFile, b.EtcdServerKeyFile, serverTemplate("podyard-etcd", []string{"127.0.0.1", "::1", "localhost"})},
		{b.EtcdClientCertFile, b.EtcdClientKeyFile, clientTemplate("podyard-apiserver-etcd-client", nil, certValidity)},
		{b.AdminCertFile, b.AdminKeyFile, clientTemplate(AdminUser, []string{AdminGroup}, certValidity)},
		{b.AgentClientCertFile, b.AgentClientKeyFile, clientTemplate(AgentClientUser, nil, certValidity)},
	}
	for _, l := range leaves {
		if err := b.ensureLeaf(l.cert, l.key, l.tmpl); err != nil {
			return nil, err
		}
	}
	if err := b.ensureTokens(); err != nil {
		return nil, err
	}
	return b, nil
}

// EnsureAgent keeps a node agent's own CA and its streaming server's
// certificate (for sans) under dataDir/pki. The agent publishes the CA on
// its Node; the API server trusts it for that node alone.
func EnsureAgent(dataDir string, sans []string) (caPEM []byte, certFile, keyFile string, err error) {
	dir := filepath.Join(dataDir, "pki")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", "", fmt.Errorf("pki: %w", err)
	}
	b := &Bundle{Dir: dir, CACertFile: filepath.Join(dir, "agent-ca.crt"), CAKeyFile: filepath.Join(dir, "agent-ca.key")}
	if err := b.ensureCA(); err != nil {
		return nil, "", "", err
	}
	certFile, keyFile = filepath.Join(dir, "agent.crt"), filepath.Join(dir, "agent.key")
	if err := b.ensureLeaf(certFile, keyFile, serverTemplate("podyard-agent", sans)); err != nil {
		return nil, "", "", err
	}
	caPEM, err = os.ReadFile(b.CACertFile)
	if err != nil {
		return nil, "", "", fmt.Errorf("pki: %w", err)
	}
	return caPEM, certFile, keyFile, nil
}

// SignClientCert issues a client certificate for user in groups, valid for
// validFor (a year when 0), and returns it and its key in PEM.
func (b *Bundle) SignClientCert(user string, groups []string, validFor time.Duration) (certPEM, keyPEM []byte, err error) {
	if validFor == 0 {
		validFor = certValidity
	}
	return b.sign(clientTemplate(user, groups, validFor))
}

// WriteKubeconfig writes an admin kubeconfig for serverURL that
// authenticates with the bearer token and trusts the cluster CA inline, so
// it works copied elsewhere. The write is atomic and the file private.
func (b *Bundle) WriteKubeconfig(path, serverURL string) error {
	caPEM, err := os.ReadFile(b.CACertFile)
	if err != nil {
		return fmt.Errorf("pki: kubeconfig: %w", err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["podyard"] = &clientcmdapi.Cluster{Server: serverURL, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[AdminUser] = &clientcmdapi.AuthInfo{Token: b.AdminToken}
	cfg.Contexts["podyard"] = &clientcmdapi.Context{Cluster: "podyard", AuthInfo: AdminUser, Namespace: "default"}
	cfg.CurrentContext = "podyard"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("pki: kubeconfig: %w", err)
	}
	return writeFileAtomic(path, data, 0o600)
}

func (b *Bundle) ensureCA() error {
	if certPEM, err := os.ReadFile(b.CACertFile); err == nil {
		keyPEM, err := os.ReadFile(b.CAKeyFile)
		if err != nil {
			return fmt.Errorf("pki: CA key: %w", err)
		}
		if b.ca, b.caKey, err = parsePair(certPEM, keyPEM); err != nil {
			return fmt.Errorf("pki: CA %s: %w", b.CACertFile, err)
		}
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("pki: CA: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("pki: CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          newSerial(),
		Subject:               pkix.Name{CommonName: "podyard-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return fmt.Errorf("pki: CA: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return err
	}
	// Key first: a cert without its key would be loaded as a broken CA.
	if err := writeFileAtomic(b.CAKeyFile, keyPEM, 0o600); err != nil {
		return err
	}
	if err := writeFileAtomic(b.CACertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	b.ca, _ = x509.ParseCertificate(der)
	b.caKey = key
	return nil
}

// ensureLeaf keeps an existing certificate that the CA signed, that is not
// about to expire and that covers tmpl's SANs; otherwise it issues a new one.
func (b *Bundle) ensureLeaf(certFile, keyFile string, tmpl *x509.Certificate) error {
	if certPEM, err := os.ReadFile(certFile); err == nil {
		if keyPEM, err := os.ReadFile(keyFile); err == nil {
			if cert, _, err := parsePair(certPEM, keyPEM); err == nil && b.stillGood(cert, tmpl) {
				return nil
			}
		}
	}
	certPEM, keyPEM, err := b.sign(tmpl)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(keyFile, keyPEM, 0o600); err != nil {
		return err
	}
	return writeFileAtomic(certFile, certPEM, 0o644)
}

func (b *Bundle) stillGood(cert, want *x509.Certificate) bool {
	if cert.CheckSignatureFrom(b.ca) != nil || time.Until(cert.NotAfter) < 30*24*time.Hour {
		return false
	}
	for _, ip := range want.IPAddresses {
		if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
			return false
		}
	}
	for _, name := range want.DNSNames {
		if !slices.Contains(cert.DNSNames, name) {
			return false
		}
	}
	return cert.Subject.CommonName == want.Subject.CommonName
}

func (b *Bundle) sign(tmpl *x509.Certificate) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: key for %s: %w", tmpl.Subject.CommonName, err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, b.ca, key.Public(), b.caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: sign %s: %w", tmpl.Subject.CommonName, err)
	}
	if keyPEM, err = encodeKey(key); err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

func (b *Bundle) ensureTokens() error {
	data, err := os.ReadFile(b.TokensFile)
	if err == nil {
		token, err := adminTokenFrom(data)
		if err != nil {
			return fmt.Errorf("pki: %s: %w", b.TokensFile, err)
		}
		b.AdminToken = token
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("pki: tokens: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("pki: token: %w", err)
	}
	b.AdminToken = hex.EncodeToString(raw)
	line := fmt.Sprintf("%s,%s,%s,%q\n", b.AdminToken, AdminUser, AdminUser, AdminGroup)
	return writeFileAtomic(b.TokensFile, []byte(line), 0o600)
}

// adminTokenFrom finds the admin's token in a static token file.
func adminTokenFrom(data []byte) (string, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	records, err := r.ReadAll()
	if err != nil {
		return "", err
	}
	for _, rec := range records {
		if len(rec) >= 2 && rec[1] == AdminUser {
			return rec[0], nil
		}
	}
	return "", fmt.Errorf("no token for %s", AdminUser)
}

func serverTemplate(cn string, sans []string) *x509.Certificate {
	t := leafTemplate(cn, nil, certValidity)
	t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	for _, san := range sans {
		if san == "" {
			continue
		}
		if ip := net.ParseIP(san); ip != nil {
			if !ip.IsUnspecified() && !slices.ContainsFunc(t.IPAddresses, ip.Equal) {
				t.IPAddresses = append(t.IPAddresses, ip)
			}
		} else if !slices.Contains(t.DNSNames, san) {
			t.DNSNames = append(t.DNSNames, san)
		}
	}
	return t
}

func clientTemplate(user string, groups []string, validFor time.Duration) *x509.Certificate {
	t := leafTemplate(user, groups, validFor)
	t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	return t
}

func leafTemplate(cn string, orgs []string, validFor time.Duration) *x509.Certificate {
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: newSerial(),
		Subject:      pkix.Name{CommonName: cn, Organization: orgs},
		NotBefore:    now.Add(-time.Hour), // tolerate small clock skew
		NotAfter:     now.Add(validFor),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
}

func newSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(fmt.Sprintf("pki: random serial: %v", err)) // crypto/rand does not fail on Linux
	}
	return n
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pki: encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func parsePair(certPEM, keyPEM []byte) (*x509.Certificate, crypto.Signer, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil {
		return nil, nil, errors.New("no PEM certificate")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, errors.New("no PEM key")
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, errors.New("key does not match certificate")
	}
	return cert, key, nil
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	return nil
}

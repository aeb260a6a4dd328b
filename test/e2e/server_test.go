package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podyard/podyard/internal/pki"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// httpClient trusts the server's CA and presents no credentials.
func (s *Server) httpClient(t *testing.T) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.Config.TLSClientConfig.CAData) {
		t.Fatal("no CA data in kubeconfig")
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func get(t *testing.T, c *http.Client, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAuthentication(t *testing.T) {
	s := StartServer(t)
	c := s.httpClient(t)

	t.Run("anonymous requests get 401 everywhere", func(t *testing.T) {
		for _, path := range []string{"/api/v1/pods", "/api/v1/namespaces/default/pods/x", "/version", "/healthz", "/readyz", "/metrics", "/openapi/v2", "/apis"} {
			code, body := get(t, c, s.URL+path, "")
			if code != http.StatusUnauthorized {
				t.Errorf("GET %s without credentials: %d %s, want 401", path, code, body)
			}
		}
	})
	t.Run("a wrong token gets 401", func(t *testing.T) {
		if code, _ := get(t, c, s.URL+"/api/v1/pods", "not-a-token"); code != http.StatusUnauthorized {
			t.Errorf("got %d, want 401", code)
		}
	})
	t.Run("the kubeconfig bearer token works with a plain HTTP client", func(t *testing.T) {
		if code, body := get(t, c, s.URL+"/api/v1/namespaces/default/pods", s.Config.BearerToken); code != http.StatusOK {
			t.Errorf("got %d %s, want 200", code, body)
		}
	})
	t.Run("client certificates signed by the cluster CA authenticate", func(t *testing.T) {
		bundle, err := pki.Ensure(s.DataDir, nil)
		if err != nil {
			t.Fatal(err)
		}
		certPEM, keyPEM, err := bundle.SignClientCert("alice", []string{"developers"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		cfg := rest.AnonymousClientConfig(s.Config)
		cfg.TLSClientConfig.CertData, cfg.TLSClientConfig.KeyData = certPEM, keyPEM
		client := kubernetes.NewForConfigOrDie(cfg)
		if _, err := client.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{}); err != nil {
			t.Fatalf("list with client cert: %v", err)
		}
	})
	t.Run("plain HTTP is refused", func(t *testing.T) {
		resp, err := http.Get(strings.Replace(s.URL, "https://", "http://", 1) + "/version")
		if err == nil {
			defer resp.Body.Close()
			if resp.StatusCode < 400 {
				t.Errorf("plain HTTP answered %d", resp.StatusCode)
			}
		}
	})
}

func TestVersionHealthMetricsAndDiscovery(t *testing.T) {
	s := StartServer(t)
	c := s.httpClient(t)
	token := s.Config.BearerToken

	code, body := get(t, c, s.URL+"/version", token)
	var info struct{ GitVersion, Major, Minor string }
	if code != 200 || json.Unmarshal([]byte(body), &info) != nil || !strings.HasPrefix(info.GitVersion, "v1.") {
		t.Fatalf("/version: %d %s", code, body)
	}
	if out := s.Kubectl("version", "-o", "json"); !strings.Contains(out, info.GitVersion) {
		t.Errorf("kubectl version does not show the server version %s:\n%s", info.GitVersion, out)
	}
	for _, path := range []string{"/healthz", "/livez", "/readyz", "/readyz/etcd"} {
		if code, body := get(t, c, s.URL+path, token); code != 200 || !strings.Contains(body, "ok") {
			t.Errorf("%s: %d %s", path, code, body)
		}
	}
	if code, body := get(t, c, s.URL+"/metrics", token); code != 200 || !strings.Contains(body, "apiserver_request_total") {
		t.Errorf("/metrics: %d, no apiserver_request_total", code)
	}
	for _, path := range []string{"/openapi/v2", "/openapi/v3", "/openapi/v3/api/v1"} {
		if code, body := get(t, c, s.URL+path, token); code != 200 || len(body) < 1000 {
			t.Errorf("%s: %d (%d bytes)", path, code, len(body))
		}
	}

	resources := s.Kubectl("api-resources", "--no-headers")
	for _, want := range []string{"pods ", "namespaces ", "nodes ", "events ", "serviceaccounts ", "configmaps ", "secrets ", "services ", "leases "} {
		if !strings.Contains(resources, want) {
			t.Errorf("kubectl api-resources lacks %q:\n%s", want, resources)
		}
	}
	if out := s.Kubectl("explain", "pod.spec.containers.ports.protocol"); !strings.Contains(out, "protocol") {
		t.Errorf("kubectl explain: %s", out)
	}
}

func TestSystemNamespacesAndDefaultServiceAccounts(t *testing.T) {
	s := StartServer(t)
	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		waitFor(t, "namespace "+ns+" and its default service account", func() bool {
			_, err := s.Client.CoreV1().ServiceAccounts(ns).Get(context.Background(), "default", metav1.GetOptions{})
			return err == nil
		})
	}
	ns, err := s.Client.CoreV1().Namespaces().Get(context.Background(), "default", metav1.GetOptions{})
	if err != nil || ns.Status.Phase != corev1.NamespaceActive {
		t.Fatalf("default namespace: %v %v", ns, err)
	}
}

func TestRestartKeepsDataAndCredentials(t *testing.T) {
	s := StartServer(t)
	ctx := context.Background()
	waitForNamespace(t, s, "default")
	if _, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(s.DataDir, "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	s.Restart()
	after, err := os.ReadFile(filepath.Join(s.DataDir, "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Errorf("kubeconfig changed across a restart")
	}
	cm, err := s.Client.CoreV1().ConfigMaps("default").Get(ctx, "kept", metav1.GetOptions{})
	if err != nil || cm.Data["k"] != "v" {
		t.Fatalf("configmap after restart: %v %v", cm, err)
	}
}

func TestServerFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"server", "--etcd-cafile", "/x"}, "need --etcd-servers"},
		{[]string{"server", "--etcd-servers", "https://127.0.0.1:1", "--etcd-certfile", "/x"}, "go together"},
		{[]string{"server", "--log-level", "loud"}, "--log-level"},
		{[]string{"server", "extra"}, "unexpected arguments"},
		{[]string{"serve"}, `unknown command "serve"`},
	} {
		out, err := exec.Command(podyardBin, tc.args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("podyard %v: %v, output %q lacks %q", tc.args, err, out, tc.want)
		}
	}
}

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/dialect/bcs"
)

// The seed's configmap and secret bodies, as a BCS client sends them.
const (
	bcsSeedConfigMap = `{
  "apiVersion": "v4",
  "kind": "configmap",
  "metadata": {
    "name": "configmap-test",
    "namespace": "defaultGroup",
    "labels": {
    }
  },
  "datas": {
    "item-one": {
      "type": "file",
      "content": "Y29uZmlnIGNvbnRleHQ="
    },
    "item-two": {
      "type": "file",
      "content": "Y29uZmlnIGNvbnRleHQ="
    }
  }
}`
	bcsSeedSecret = `{
  "apiVersion": "v4",
  "kind": "secret",
  "metadata": {
    "name": "secret-test",
    "namespace": "defaultGroup",
    "labels": {}
  },
  "type": "",
  "datas": {
    "secret-subkey": {
      "path": "SECRET_ENV_TEST",
      "content": "Y29uZmlnIGNvbnRleHQ="
    }
  }
}`
)

// bcsClient speaks the BCS v4 scheduler API over raw HTTP, as curl does.
type bcsClient struct {
	t     *testing.T
	http  *http.Client
	base  string // https://host:port/bcsapi/v4/scheduler/mesos
	token string
}

type bcsReply struct {
	status int
	body   []byte
	env    map[string]any
}

func (c *bcsClient) do(method, path, cluster, body string) bcsReply {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if cluster != "" {
		req.Header.Set(bcs.ClusterHeader, cluster)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	r := bcsReply{status: resp.StatusCode, body: data}
	_ = json.Unmarshal(data, &r.env)
	return r
}

// expect checks the HTTP status and the envelope's code, result and message.
func (r bcsReply) expect(t *testing.T, what string, status, code int) {
	t.Helper()
	if r.status != status || r.env == nil || r.env["code"] != float64(code) || r.env["result"] != (code == 0) {
		t.Errorf("%s: HTTP %d %s; want HTTP %d, code %d", what, r.status, r.body, status, code)
		return
	}
	msg, _ := r.env["message"].(string)
	if code == 0 && (msg != "success" || r.env["data"] != nil) || code != 0 && msg == "" {
		t.Errorf("%s: envelope %s", what, r.body)
	}
}

// TestBCSConfigMapsAndSecrets: the seed's configmap and secret in namespace
// defaultGroup over raw HTTP, every bad input with its code, and the same
// objects seen through kubectl.
func TestBCSConfigMapsAndSecrets(t *testing.T) {
	s := Shared(t)
	c := &bcsClient{t: t, base: s.URL + "/bcsapi/v4/scheduler/mesos", token: s.Config.BearerToken,
		http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(t, s)}}}}
	const cluster = bcs.DefaultClusterID
	ns, _ := bcs.KubeNamespace("defaultGroup")
	other, _ := bcs.KubeNamespace("otherGroup")
	cms := "/namespaces/defaultGroup/configmaps"
	secrets := "/namespaces/defaultGroup/secrets"
	ctx := context.Background()

	t.Run("bad input", func(t *testing.T) {
		anon := *c
		anon.token = ""
		if r := anon.do("POST", cms, cluster, bcsSeedConfigMap); r.status != http.StatusUnauthorized {
			t.Errorf("anonymous: HTTP %d %s, want 401", r.status, r.body)
		}
		r := c.do("POST", cms, "", bcsSeedConfigMap)
		r.expect(t, "no cluster header", 400, bcs.CodeFilter)
		if _, hasData := r.env["data"]; !hasData || r.env["data"] != nil {
			t.Errorf("the cluster header's answer has data null: %s", r.body)
		}
		c.do("POST", cms, "BCS-PODYARD-10002", bcsSeedConfigMap).expect(t, "wrong cluster header", 400, bcs.CodeFilter)
		c.do("POST", cms, cluster, `{"apiVersion": "v4", "kind": `).expect(t, "bad JSON", 400, bcs.CodeJSONDecode)
		c.do("POST", secrets, cluster, `["not", "a", "secret"]`).expect(t, "JSON of another shape", 400, bcs.CodeJSONDecode)
		c.do("POST", cms, cluster, strings.Replace(bcsSeedConfigMap, `"configmap-test"`, `"configmap.test"`, 1)).expect(t, "name with a dot", 400, bcs.CodeBadParameters)
		c.do("POST", "/namespaces/default.Group/configmaps", cluster, bcsSeedConfigMap).expect(t, "namespace with a dot", 400, bcs.CodeBadParameters)
		c.do("POST", "/namespaces/otherGroup/configmaps", cluster, bcsSeedConfigMap).expect(t, "URL and body namespaces differ", 400, bcs.CodeRequestData)
		c.do("POST", secrets, cluster, bcsSeedConfigMap).expect(t, "a configmap sent as a secret", 400, bcs.CodeRequestData)
		c.do("POST", cms, cluster, strings.Replace(bcsSeedConfigMap, `"Y29uZmlnIGNvbnRleHQ="`, `"not base64"`, 1)).expect(t, "content not base64", 400, bcs.CodeBadParameters)
		c.do("PUT", cms, cluster, bcsSeedConfigMap).expect(t, "update of a missing configmap", 404, bcs.CodeNotFound)
		c.do("PUT", secrets, cluster, bcsSeedSecret).expect(t, "update of a missing secret", 404, bcs.CodeNotFound)
		c.do("GET", "/namespaces/defaultGroup/nosuchkinds", cluster, "").expect(t, "a route not served", 404, bcs.CodeNotFound)
		for _, n := range []string{ns, other} {
			if _, err := s.Client.CoreV1().Namespaces().Get(ctx, n, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("namespace %s after failed requests: %v, want none made", n, err)
			}
		}
	})

	t.Run("configmap", func(t *testing.T) {
		c.do("POST", cms, cluster, bcsSeedConfigMap).expect(t, "create", 200, 0)
		// The driver's own prefix is the same API.
		driver := *c
		driver.base = s.URL + "/v4/scheduler/mesos"
		driver.do("POST", cms, cluster, bcsSeedConfigMap).expect(t, "create again", 409, bcs.CodeExists)

		namespace, err := s.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil || namespace.Annotations[bcs.AnnotationNamespace] != "defaultGroup" {
			t.Fatalf("namespace %s made for defaultGroup: %v %v", ns, err, namespace)
		}
		if out := s.Kubectl("get", "configmap", "-n", ns, "configmap-test"); !strings.Contains(out, "configmap-test") || !strings.Contains(out, "2") {
			t.Errorf("kubectl get configmap:\n%s", out)
		}
		cm, err := s.Client.CoreV1().ConfigMaps(ns).Get(ctx, "configmap-test", metav1.GetOptions{})
		if err != nil || cm.Data["item-one"] != "config context" {
			t.Fatalf("configmap: %v %+v", err, cm)
		}

		// "bmV3" is "new".
		c.do("PUT", cms, cluster, strings.Replace(bcsSeedConfigMap, `"Y29uZmlnIGNvbnRleHQ="`, `"bmV3"`, 1)).expect(t, "update", 200, 0)
		cm, err = s.Client.CoreV1().ConfigMaps(ns).Get(ctx, "configmap-test", metav1.GetOptions{})
		if err != nil || cm.Data["item-one"] != "new" || cm.Data["item-two"] != "config context" {
			t.Errorf("after update: %v %+v", err, cm.Data)
		}

		c.do("DELETE", cms+"/configmap-test", cluster, bcsSeedConfigMap).expect(t, "delete", 200, 0)
		if _, err := s.Client.CoreV1().ConfigMaps(ns).Get(ctx, "configmap-test", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("after delete: %v", err)
		}
		// As in the original, deleting what is not there succeeds.
		c.do("DELETE", cms+"/configmap-test", cluster, "").expect(t, "delete again", 200, 0)
	})

	t.Run("BCS names that are not Kubernetes names", func(t *testing.T) {
		body := strings.Replace(bcsSeedConfigMap, `"configmap-test"`, `"test_config"`, 1)
		c.do("POST", cms, cluster, body).expect(t, "create test_config", 200, 0)
		name, _ := bcs.KubeName("test_config")
		cm, err := s.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil || cm.Annotations[bcs.AnnotationName] != "test_config" {
			t.Fatalf("configmap %s for test_config: %v %+v", name, err, cm)
		}
		c.do("POST", cms, cluster, body).expect(t, "create test_config again", 409, bcs.CodeExists)
		// Another case is another name.
		c.do("POST", cms, cluster, strings.Replace(body, "test_config", "Test_Config", 1)).expect(t, "create Test_Config", 200, 0)
		c.do("DELETE", cms+"/test_config", cluster, "").expect(t, "delete test_config", 200, 0)
		c.do("DELETE", cms+"/Test_Config", cluster, "").expect(t, "delete Test_Config", 200, 0)
		if list, err := s.Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{}); err != nil || len(list.Items) != 0 {
			t.Errorf("configmaps left: %v %v", err, list)
		}
	})

	t.Run("secret", func(t *testing.T) {
		c.do("POST", secrets, cluster, bcsSeedSecret).expect(t, "create", 200, 0)
		c.do("POST", secrets, cluster, bcsSeedSecret).expect(t, "create again", 409, bcs.CodeExists)
		if out := s.Kubectl("get", "secret", "-n", ns, "secret-test"); !strings.Contains(out, "secret-test") || !strings.Contains(out, "Opaque") {
			t.Errorf("kubectl get secret:\n%s", out)
		}
		c.do("PUT", secrets, cluster, strings.Replace(bcsSeedSecret, `"Y29uZmlnIGNvbnRleHQ="`, `"bmV3"`, 1)).expect(t, "update", 200, 0)
		sec, err := s.Client.CoreV1().Secrets(ns).Get(ctx, "secret-test", metav1.GetOptions{})
		if err != nil || !bytes.Equal(sec.Data["secret-subkey"], []byte("new")) {
			t.Errorf("after update: %v %+v", err, sec)
		}
		c.do("DELETE", secrets+"/secret-test", cluster, bcsSeedSecret).expect(t, "delete", 200, 0)
		if _, err := s.Client.CoreV1().Secrets(ns).Get(ctx, "secret-test", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("after delete: %v", err)
		}
	})
}

// TestBCSClusterID: --bcs-cluster-id names the cluster the header must
// name, and must end in a number.
func TestBCSClusterID(t *testing.T) {
	out, err := exec.Command(podyardBin, "server", "--bcs-cluster-id", "BCS-PODYARD").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--bcs-cluster-id") {
		t.Errorf("a cluster id without a number: %v, output %q", err, out)
	}

	opts := serverOptions{dataDir: t.TempDir(), args: []string{"server", "--scheduler=false", "--bcs-cluster-id", "BCS-K8S-20042"}}
	if externalEtcd() {
		opts.etcd = StartEtcd(t)
	}
	s := startServer(t, opts)
	c := &bcsClient{t: t, base: s.URL + "/v4/scheduler/mesos", token: s.Config.BearerToken,
		http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(t, s)}}}}
	c.do("DELETE", "/namespaces/defaultGroup/secrets/none", bcs.DefaultClusterID, "").expect(t, "the default id", 400, bcs.CodeFilter)
	c.do("DELETE", "/namespaces/defaultGroup/secrets/none", "BCS-K8S-20042", "").expect(t, "the configured id", 200, 0)
}

package e2e

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/podyard/podyard/internal/runcommand"
)

// armClient speaks the AKS Run Command API to a server, as its admin.
type armClient struct {
	t      *testing.T
	s      *Server
	http   *http.Client
	token  string
	prefix string // https://host:port/subscriptions/.../managedClusters/podyard
}

func newARMClient(t *testing.T, s *Server) *armClient {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(s.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	var token string
	for _, a := range cfg.AuthInfos {
		if a.Token != "" {
			token = a.Token
		}
	}
	if token == "" {
		t.Fatal("the kubeconfig has no bearer token")
	}
	return &armClient{
		t: t, s: s, http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(t, s)}}},
		token:  token,
		prefix: s.URL + "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/podyard/providers/Microsoft.ContainerService/managedClusters/podyard",
	}
}

func caPool(t *testing.T, s *Server) *x509.CertPool {
	pem, err := os.ReadFile(filepath.Join(s.DataDir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return pool
}

type armResponse struct {
	code   int
	header http.Header
	body   []byte
}

func (r armResponse) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not JSON: %q", r.code, r.body)
	}
	return m
}

// errorOf is the CloudError's code and target.
func (r armResponse) errorOf(t *testing.T) (code, target string) {
	e, _ := r.json(t)["error"].(map[string]any)
	c, _ := e["code"].(string)
	tg, _ := e["target"].(string)
	if m, _ := e["message"].(string); m == "" {
		t.Errorf("CloudError without a message: %s", r.body)
	}
	return c, tg
}

func (c *armClient) do(method, url string, body []byte) armResponse {
	c.t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return armResponse{resp.StatusCode, resp.Header, data}
}

// post starts a command and returns its result's URL.
func (c *armClient) post(body map[string]any) string {
	c.t.Helper()
	data, _ := json.Marshal(body)
	r := c.do("POST", c.prefix+"/runCommand?api-version=2021-05-01", data)
	if r.code != http.StatusAccepted || r.header.Get("Retry-After") != "1" || !strings.HasPrefix(r.header.Get("Location"), c.prefix+"/commandResults/") {
		c.t.Fatalf("POST runCommand: %d %v %s", r.code, r.header, r.body)
	}
	return r.header.Get("Location")
}

// wait polls a result until it is done, as an ARM client does.
func (c *armClient) wait(location string) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		r := c.do("GET", location, nil)
		switch r.code {
		case http.StatusOK:
			return r.json(c.t)
		case http.StatusAccepted:
			if r.header.Get("Location") == "" {
				c.t.Fatalf("202 without Location: %v", r.header)
			}
			time.Sleep(100 * time.Millisecond)
		default:
			c.t.Fatalf("GET %s: %d %s", location, r.code, r.body)
		}
	}
	c.t.Fatalf("%s did not finish", location)
	return nil
}

func props(result map[string]any) map[string]any {
	p, _ := result["properties"].(map[string]any)
	return p
}

func zipped(t *testing.T, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for name, body := range files {
		f, err := w.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(f, body)
	}
	w.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func commandCount(t *testing.T, s *Server) int {
	t.Helper()
	c, err := runcommand.NewClient(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}

// TestRunCommand: the AKS contract end to end with raw HTTP.
func TestRunCommand(t *testing.T) {
	s, _ := SharedCluster(t)
	c := newARMClient(t, s)

	t.Run("seed example", func(t *testing.T) {
		ns := "dummy-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))[:4] + fmt.Sprint(time.Now().UnixNano()%100000)
		manifest := fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", ns)
		result := c.wait(c.post(map[string]any{"command": "kubectl apply -f ns.yaml", "context": zipped(t, map[string]string{"ns.yaml": manifest}), "clusterToken": ""}))
		p := props(result)
		if p["provisioningState"] != "succeeded" || p["exitCode"] != float64(0) || p["logs"] != "namespace/"+ns+" created\n" || p["startedAt"] == nil || p["finishedAt"] == nil {
			t.Fatalf("result: %v", result)
		}
		if _, err := s.Client.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{}); err != nil {
			t.Errorf("the command's namespace: %v", err)
		}
		if out := s.Kubectl("get", "runcommands", "-n", "podyard-command", result["id"].(string)); !strings.Contains(out, "Succeeded") {
			t.Errorf("kubectl get runcommands:\n%s", out)
		}
	})

	t.Run("non-zero exit, stdout and stderr in order", func(t *testing.T) {
		p := props(c.wait(c.post(map[string]any{"command": "echo out; echo err >&2; exit 3"})))
		if p["provisioningState"] != "succeeded" || p["exitCode"] != float64(3) || p["logs"] != "out\nerr\n" {
			t.Fatalf("result: %v", p)
		}
	})

	t.Run("output over 512 KiB is cut, marked, and whole at /logs", func(t *testing.T) {
		// Long lines: the log files hold it without rotating (short lines
		// cost a CRI log header each and rotate at 10 MiB).
		location := c.post(map[string]any{"command": "for i in 1 2 3 4 5 6 7; do head -c 99999 /dev/zero | tr '\\0' x; echo; done"})
		p := props(c.wait(location))
		logs := fmt.Sprint(p["logs"])
		if !strings.HasPrefix(logs, "[podyard: output cut to its last 524288 bytes") || !strings.HasSuffix(logs, "xx\n") || len(logs) > 524288+200 {
			t.Errorf("logs: %d bytes, starting %q", len(logs), logs[:min(len(logs), 80)])
		}
		if whole := c.do("GET", strings.Replace(location, "?", "/logs?", 1), nil); len(whole.body) != 700000 {
			t.Errorf("/logs: %d bytes, want 700000", len(whole.body))
		}
	})

	t.Run("acts as its caller", func(t *testing.T) {
		p := props(c.wait(c.post(map[string]any{"command": "kubectl auth whoami -o jsonpath='{.status.userInfo.username}'"})))
		if strings.TrimSpace(fmt.Sprint(p["logs"])) != "podyard-admin" {
			t.Fatalf("whoami in the command: %v", p)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		p := props(c.wait(c.post(map[string]any{"command": "echo started; sleep 60", "timeoutSeconds": 2})))
		if p["provisioningState"] != "failed" || !strings.HasPrefix(fmt.Sprint(p["reason"]), "Timeout") {
			t.Fatalf("result: %v", p)
		}
	})

	t.Run("cancel, then delete", func(t *testing.T) {
		location := c.post(map[string]any{"command": "echo started; sleep 60"})
		id := location[strings.LastIndex(location, "/")+1 : strings.Index(location, "?")]
		waitFor(t, "the command runs", func() bool { return props(c.do("GET", location, nil).json(t))["provisioningState"] == "running" })
		if r := c.do("DELETE", location, nil); r.code != http.StatusAccepted {
			t.Fatalf("DELETE of a running command: %d %s", r.code, r.body)
		}
		p := props(c.wait(location))
		if p["provisioningState"] != "failed" || !strings.HasPrefix(fmt.Sprint(p["reason"]), "Canceled") {
			t.Fatalf("after cancel: %v", p)
		}
		waitFor(t, "its pod gone", func() bool { return gone(s, "podyard-command", runcommand.PodName(id)) })
		if r := c.do("DELETE", location, nil); r.code != http.StatusNoContent {
			t.Fatalf("DELETE of a finished command: %d %s", r.code, r.body)
		}
		if r := c.do("GET", location, nil); r.code != http.StatusNotFound {
			t.Fatalf("GET after delete: %d %s", r.code, r.body)
		}
	})

	t.Run("follow", func(t *testing.T) {
		location := c.post(map[string]any{"command": "for i in 1 2 3; do echo line $i; sleep 1; done"})
		logs := strings.Replace(location, "?", "/logs?follow=true&", 1)
		req, _ := http.NewRequest("GET", logs, nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := c.http.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("follow: %v %v", resp, err)
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		first, _ := br.ReadString('\n')
		if first != "line 1\n" {
			t.Fatalf("first line %q", first)
		}
		if r := c.do("GET", location, nil); r.code != http.StatusAccepted {
			t.Errorf("the first line came after the command ended (%d): not streamed", r.code)
		}
		rest, _ := io.ReadAll(br)
		if string(rest) != "line 2\nline 3\n" {
			t.Errorf("rest of the output %q", rest)
		}
		whole := c.do("GET", strings.Replace(location, "?", "/logs?", 1), nil)
		if string(whole.body) != "line 1\nline 2\nline 3\n" {
			t.Errorf("logs: %d %q", whole.code, whole.body)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		before := commandCount(t, s)
		link := func() string {
			var buf bytes.Buffer
			w := zip.NewWriter(&buf)
			h := &zip.FileHeader{Name: "link"}
			h.SetMode(os.ModeSymlink | 0o777)
			f, _ := w.CreateHeader(h)
			io.WriteString(f, "/etc/passwd")
			w.Close()
			return base64.StdEncoding.EncodeToString(buf.Bytes())
		}
		many := map[string]string{}
		for i := range 21 {
			many[fmt.Sprintf("f%d", i)] = "x"
		}
		runCmd := c.prefix + "/runCommand?api-version=2021-05-01"
		tests := []struct {
			name, method, url string
			body              any
			code              int
			errCode, target   string
		}{
			{"missing command", "POST", runCmd, map[string]any{"context": ""}, 400, "InvalidParameter", "command"},
			{"context not base64", "POST", runCmd, map[string]any{"command": "true", "context": "%%%"}, 400, "InvalidParameter", "context"},
			{"context not a zip", "POST", runCmd, map[string]any{"command": "true", "context": base64.StdEncoding.EncodeToString([]byte("plain"))}, 400, "InvalidParameter", "context"},
			{"context escapes", "POST", runCmd, map[string]any{"command": "true", "context": zipped(t, map[string]string{"../x": "x"})}, 400, "InvalidParameter", "context"},
			{"context absolute", "POST", runCmd, map[string]any{"command": "true", "context": zipped(t, map[string]string{"/etc/x": "x"})}, 400, "InvalidParameter", "context"},
			{"context link", "POST", runCmd, map[string]any{"command": "true", "context": link()}, 400, "InvalidParameter", "context"},
			{"context too many files", "POST", runCmd, map[string]any{"command": "true", "context": zipped(t, many)}, 400, "InvalidParameter", "context"},
			{"context unpacks too large", "POST", runCmd, map[string]any{"command": "true", "context": zipped(t, map[string]string{"zeros": strings.Repeat("\x00", 2<<20)})}, 400, "InvalidParameter", "context"},
			{"body too large", "POST", runCmd, map[string]any{"command": "true", "context": base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 300<<10))}, 413, "RequestEntityTooLarge", ""},
			{"not JSON", "POST", runCmd, "{", 400, "InvalidRequestContent", ""},
			{"clusterToken not accepted", "POST", runCmd, map[string]any{"command": "true", "clusterToken": "nope"}, 400, "InvalidParameter", "clusterToken"},
			{"timeout out of range", "POST", runCmd, map[string]any{"command": "true", "timeoutSeconds": 0}, 400, "InvalidParameter", "timeoutSeconds"},
			{"unknown result", "GET", c.prefix + "/commandResults/0123456789abcdef0123456789abcdef?api-version=2021-05-01", nil, 404, "NotFound", "commandId"},
			{"other subscription", "POST", strings.Replace(runCmd, "00000000-0000-0000-0000-000000000000", "11111111-0000-0000-0000-000000000000", 1), map[string]any{"command": "true"}, 404, "ResourceNotFound", "resourceName"},
			{"other cluster", "POST", strings.Replace(runCmd, "managedClusters/podyard", "managedClusters/other", 1), map[string]any{"command": "true"}, 404, "ResourceNotFound", "resourceName"},
			{"no api-version", "POST", c.prefix + "/runCommand", map[string]any{"command": "true"}, 400, "MissingApiVersionParameter", "api-version"},
			{"old api-version", "POST", c.prefix + "/runCommand?api-version=2019-01-01", map[string]any{"command": "true"}, 400, "InvalidApiVersionParameter", "api-version"},
		}
		for _, tt := range tests {
			var body []byte
			if s, ok := tt.body.(string); ok {
				body = []byte(s)
			} else if tt.body != nil {
				body, _ = json.Marshal(tt.body)
			}
			r := c.do(tt.method, tt.url, body)
			if r.code != tt.code {
				t.Errorf("%s: %d %s, want %d", tt.name, r.code, r.body, tt.code)
				continue
			}
			if code, target := r.errorOf(t); code != tt.errCode || target != tt.target {
				t.Errorf("%s: error %q target %q, want %q %q: %s", tt.name, code, target, tt.errCode, tt.target, r.body)
			}
		}
		if after := commandCount(t, s); after != before {
			t.Errorf("bad requests left %d run commands behind", after-before)
		}
		anonymous := *c
		anonymous.token = ""
		if r := anonymous.do("POST", runCmd, []byte(`{"command":"true"}`)); r.code != http.StatusUnauthorized {
			t.Errorf("without credentials: %d %s", r.code, r.body)
		}
	})
}

// TestRunCommandDisabled: --disable-run-command turns POST away clearly.
func TestRunCommandDisabled(t *testing.T) {
	if externalEtcd() {
		t.Skip("runs in the embedded-etcd pass")
	}
	s := startServer(t, serverOptions{dataDir: t.TempDir(), args: []string{"server", "--scheduler=false", "--disable-run-command"}})
	c := newARMClient(t, s)
	r := c.do("POST", c.prefix+"/runCommand?api-version=2021-05-01", []byte(`{"command":"true"}`))
	if code, _ := r.errorOf(t); r.code != 400 || code != "RunCommandDisabled" {
		t.Errorf("POST with run command disabled: %d %s", r.code, r.body)
	}
}

// TestRunCommandSurvivesRestart: a command running while its server
// restarts still reports its result.
func TestRunCommandSurvivesRestart(t *testing.T) {
	if externalEtcd() {
		t.Skip("runs in the embedded-etcd pass")
	}
	s, _ := StartCluster(t)
	c := newARMClient(t, s)
	location := c.post(map[string]any{"command": "echo before; sleep 3; echo after"})
	logs := strings.Replace(location, "?", "/logs?", 1)
	waitFor(t, "the command runs", func() bool { return string(c.do("GET", logs, nil).body) == "before\n" })
	// A second user, known to the server from its next start.
	tokens, err := os.OpenFile(filepath.Join(s.DataDir, "pki", "tokens.csv"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(tokens, `alice-token-0123456789,alice,uid-alice,"devs"`)
	tokens.Close()
	s.Restart()
	p := props(c.wait(location))
	if p["provisioningState"] != "succeeded" || p["logs"] != "before\nafter\n" {
		t.Fatalf("result after the restart: %v", p)
	}

	// With a clusterToken the command acts as that token's user.
	p = props(c.wait(c.post(map[string]any{"command": "kubectl auth whoami -o jsonpath='{.status.userInfo.username} {.status.userInfo.groups}'", "clusterToken": "alice-token-0123456789"})))
	if logs := fmt.Sprint(p["logs"]); !strings.HasPrefix(logs, "alice ") || !strings.Contains(logs, "devs") {
		t.Errorf("whoami with alice's clusterToken: %v", p)
	}
}

// TestRunCommandStartTimeoutAndRetention: a command whose pod cannot run
// fails with the reason, and a result is removed after the retention time.
func TestRunCommandStartTimeoutAndRetention(t *testing.T) {
	if externalEtcd() {
		t.Skip("runs in the embedded-etcd pass")
	}
	s, _ := StartCluster(t, "--run-command-requests", "cpu=1000", "--run-command-limits", "cpu=1000", "--run-command-start-timeout", "2s", "--run-command-retention", "3s")
	c := newARMClient(t, s)
	location := c.post(map[string]any{"command": "true"})
	p := props(c.wait(location))
	if p["provisioningState"] != "failed" || !strings.Contains(fmt.Sprint(p["reason"]), "PodNotStarted") || !strings.Contains(fmt.Sprint(p["reason"]), "Insufficient cpu") {
		t.Fatalf("result: %v", p)
	}
	waitFor(t, "the result removed after its retention", func() bool { return c.do("GET", location, nil).code == http.StatusNotFound })
	id := location[strings.LastIndex(location, "/")+1 : strings.Index(location, "?")]
	waitFor(t, "its pod and secret removed", func() bool {
		_, err := s.Client.CoreV1().Secrets(runcommand.Namespace).Get(context.Background(), runcommand.PodName(id), metav1.GetOptions{})
		return gone(s, runcommand.Namespace, runcommand.PodName(id)) && err != nil
	})
}

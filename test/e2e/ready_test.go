package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// systemNamespaces are the namespaces Podyard creates, which clients may
// use the moment the server says it is ready.
var systemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease", "podyard-command"}

// TestReadyMeansUsable: the first time /readyz answers ok, and when the
// ready line is printed, the namespaces Podyard creates exist, and a run
// command (it lives in podyard-command) is accepted at once; for
// `podyard server` and `podyard up` alike.
func TestReadyMeansUsable(t *testing.T) {
	for _, mode := range []string{"server", "up"} {
		t.Run(mode, func(t *testing.T) {
			if externalEtcd() {
				t.Skip("runs in the embedded-etcd pass")
			}
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			first := make(chan firstReady, 1)
			go func() { first <- pollFirstReady(ctx, filepath.Join(dir, "kubeconfig")) }()

			var s *Server
			if mode == "up" {
				s, _ = startClusterIn(t, dir)
			} else {
				s = startServer(t, serverOptions{dataDir: dir, args: []string{"server", "--scheduler=false"}})
			}
			// Right after the ready line: post fails the test unless 202.
			c := newARMClient(t, s)
			location := c.post(map[string]any{"command": "echo ran"})
			for _, ns := range systemNamespaces {
				if _, err := s.Client.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{}); err != nil {
					t.Errorf("right after the ready line, namespace %s: %v", ns, err)
				}
			}

			if mode == "up" {
				if p := props(c.wait(location)); p["provisioningState"] != "succeeded" || p["logs"] != "ran\n" {
					t.Errorf("the command posted at once: %v", p)
				}
			}

			r := <-first
			if r.err != nil {
				t.Fatalf("polling /readyz: %v", r.err)
			}
			if len(r.missing) > 0 {
				t.Errorf("at the first /readyz ok, namespaces %v did not exist yet", r.missing)
			}
			if !strings.Contains(r.verbose, "[+]poststarthook/podyard-system-namespaces ok") {
				t.Errorf("/readyz?verbose does not gate on the system namespaces:\n%s", r.verbose)
			}
		})
	}
}

// firstReady is what the API held the first time /readyz answered ok.
type firstReady struct {
	missing []string // system namespaces that did not exist yet
	verbose string   // /readyz?verbose
	err     error
}

// pollFirstReady polls /readyz of the server whose admin kubeconfig is (or
// is about to be) written at kubeconfig, from before the server listens,
// and looks at the API right after the first ok.
func pollFirstReady(ctx context.Context, kubeconfig string) firstReady {
	var (
		cfg    *rest.Config
		client *http.Client
	)
	get := func(path string) (int, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.Host+path, nil)
		if err != nil {
			return 0, "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	for {
		if client == nil {
			// The server writes its kubeconfig (atomically) before it listens.
			if c, err := clientcmd.BuildConfigFromFlags("", kubeconfig); err == nil {
				if client, err = rest.HTTPClientFor(c); err != nil {
					return firstReady{err: err}
				}
				cfg = c
			}
		}
		if client != nil {
			if code, _, err := get("/readyz"); err == nil && code == http.StatusOK {
				break
			}
		}
		select {
		case <-ctx.Done():
			return firstReady{err: fmt.Errorf("/readyz never answered ok: %w", ctx.Err())}
		case <-time.After(5 * time.Millisecond):
		}
	}
	api, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return firstReady{err: err}
	}
	list, err := api.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return firstReady{err: fmt.Errorf("list namespaces: %w", err)}
	}
	var r firstReady
	for _, ns := range systemNamespaces {
		if !slices.ContainsFunc(list.Items, func(item corev1.Namespace) bool { return item.Name == ns }) {
			r.missing = append(r.missing, ns)
		}
	}
	if _, r.verbose, r.err = get("/readyz?verbose"); r.err != nil {
		r.err = fmt.Errorf("/readyz?verbose: %w", r.err)
	}
	return r
}

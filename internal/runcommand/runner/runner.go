// Package runner is the body of a run command's pod: it reads its command
// from the API server, unpacks the context into the working directory,
// puts kubectl on PATH with a kubeconfig that acts as the command's user,
// runs the command with sh -c and exits with its code. It starts in every
// command pod, so it keeps to the standard library: the podyard binary
// (kubectl included) takes 60 ms of CPU to start, this one 2.
package runner

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/podyard/podyard/internal/runcommand/archive"
)

// The environment a command's pod is given.
const (
	EnvCommand = "PODYARD_RUN_COMMAND" // namespace/name of the RunCommand
	EnvServer  = "PODYARD_SERVER"      // https://host:port of the API server
	EnvCA      = "PODYARD_CA"          // PEM of the CA that signed the server's certificate
	EnvToken   = "PODYARD_TOKEN"       // the command's bearer token
	EnvKubectl = "PODYARD_KUBECTL"     // the podyard binary, which is kubectl under that name
)

// Main runs the pod's command and exits with its code.
func Main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code, err := run(ctx, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "podyard:", err)
	}
	os.Exit(code)
}

// command is the part of a RunCommand the runner needs.
type command struct {
	Spec struct {
		Command string `json:"command"`
		Context []byte `json:"context"`
	} `json:"spec"`
}

func run(ctx context.Context, getenv func(string) string) (int, error) {
	ref, server, caPEM, token, kubectl := getenv(EnvCommand), getenv(EnvServer), getenv(EnvCA), getenv(EnvToken), getenv(EnvKubectl)
	ns, name, ok := strings.Cut(ref, "/")
	if !ok || server == "" || token == "" || kubectl == "" {
		return 1, errors.New("this runs in a run command's pod, whose environment names the command, the server, a token and kubectl")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(caPEM)) {
		return 1, fmt.Errorf("%s holds no CA certificate", EnvCA)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	cmd, err := fetch(ctx, client, server+"/apis/podyard.io/v1alpha1/namespaces/"+url.PathEscape(ns)+"/runcommands/"+url.PathEscape(name), token)
	if err != nil {
		return 1, fmt.Errorf("read run command %s: %w", ref, err)
	}
	workDir, err := os.Getwd()
	if err != nil {
		return 1, err
	}
	if len(cmd.Spec.Context) > 0 {
		// The server checked the context's size when the command was created.
		if err := archive.Unpack(cmd.Spec.Context, workDir, archive.Limits{MaxBytes: 1 << 40, MaxFiles: 1 << 30}); err != nil {
			return 1, fmt.Errorf("context: %w", err)
		}
	}
	tools, err := os.MkdirTemp("", "podyard-command-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(tools)
	kubeconfig := filepath.Join(tools, "kubeconfig")
	if err := writeKubeconfig(kubeconfig, server, caPEM, token); err != nil {
		return 1, err
	}
	bin := filepath.Join(tools, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		return 1, err
	}
	if err := os.Symlink(kubectl, filepath.Join(bin, "kubectl")); err != nil {
		return 1, err
	}
	return runShell(cmd.Spec.Command, CommandEnv(os.Environ(), bin, kubeconfig))
}

// fetch reads the RunCommand, asking again for a while: the server may be
// restarting.
func fetch(ctx context.Context, client *http.Client, u, token string) (*command, error) {
	var last error
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		cmd, err := get(ctx, client, u, token)
		if err == nil {
			return cmd, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, last
		case <-time.After(wait):
		}
		if wait == 5*time.Second {
			return nil, last
		}
	}
}

func get(ctx context.Context, client *http.Client, u, token string) (*command, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", resp.Status, body)
	}
	var cmd command
	if err := json.Unmarshal(body, &cmd); err != nil {
		return nil, err
	}
	return &cmd, nil
}

// runShell runs script with sh -c and returns its exit code. stdout and
// stderr share one pipe, so the output keeps the order it was written in
// (two pipes are read by two copiers, which may swap lines).
func runShell(script string, env []string) (int, error) {
	cmd := exec.Command("sh", "-c", script)
	cmd.Stdout, cmd.Stderr, cmd.Env = os.Stdout, os.Stdout, env
	if err := cmd.Start(); err != nil {
		return 127, fmt.Errorf("start sh: %w", err)
	}
	// A canceled or timed-out command's pod is stopped: the signal goes on
	// to the command.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for s := range signals {
			cmd.Process.Signal(s)
		}
	}()
	err := cmd.Wait()
	signal.Stop(signals)
	close(signals)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}

// CommandEnv is the pod's environment without the runner's own variables
// (the token reaches the command only through the kubeconfig), with
// kubectl first on PATH.
func CommandEnv(environ []string, bin, kubeconfig string) []string {
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	var out []string
	for _, kv := range environ {
		switch {
		case strings.HasPrefix(kv, "PODYARD_"), strings.HasPrefix(kv, "KUBECONFIG="):
		case strings.HasPrefix(kv, "PATH="):
			path = strings.TrimPrefix(kv, "PATH=")
		default:
			out = append(out, kv)
		}
	}
	return append(out, "PATH="+bin+":"+path, "KUBECONFIG="+kubeconfig)
}

// writeKubeconfig writes a kubeconfig (JSON, which kubectl reads as YAML)
// for the server, acting with the token.
func writeKubeconfig(path, server, caPEM, token string) error {
	type named struct {
		Name    string         `json:"name"`
		Cluster map[string]any `json:"cluster,omitempty"`
		User    map[string]any `json:"user,omitempty"`
		Context map[string]any `json:"context,omitempty"`
	}
	cfg := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"clusters":        []named{{Name: "podyard", Cluster: map[string]any{"server": server, "certificate-authority-data": []byte(caPEM)}}},
		"users":           []named{{Name: "run-command", User: map[string]any{"token": token}}},
		"contexts":        []named{{Name: "podyard", Context: map[string]any{"cluster": "podyard", "user": "run-command", "namespace": "default"}}},
		"current-context": "podyard",
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

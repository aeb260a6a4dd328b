package runcommand

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/podyard/podyard/internal/apis/podyard/v1alpha1"
	"github.com/podyard/podyard/internal/runcommand/archive"
)

// RunnerEnv is what a command's pod is given, by environment variable.
type RunnerEnv struct {
	Name, Server, CAPEM, Token string
}

// Run is the body of a command's pod (`podyard run-command-exec`): it
// unpacks the command's context into the working directory, puts kubectl
// (this binary under that name) on PATH with a kubeconfig that acts as
// the command's user, runs the command with sh -c and returns its exit
// code. self is this binary.
func Run(ctx context.Context, env RunnerEnv, self string, limits archive.Limits) (int, error) {
	cfg := &rest.Config{Host: env.Server, BearerToken: env.Token, TLSClientConfig: rest.TLSClientConfig{CAData: []byte(env.CAPEM)}}
	client, err := NewClient(cfg)
	if err != nil {
		return 1, err
	}
	// The server may be restarting: keep asking for a while.
	var rc *v1alpha1.RunCommand
	err = wait.ExponentialBackoffWithContext(ctx, wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Steps: 9, Cap: 5 * time.Second},
		func(ctx context.Context) (bool, error) {
			rc, err = client.Get(ctx, env.Name, metav1.GetOptions{})
			return err == nil, nil
		})
	if err != nil {
		return 1, fmt.Errorf("read run command %s: %w", env.Name, err)
	}
	workDir, err := os.Getwd()
	if err != nil {
		return 1, err
	}
	if len(rc.Spec.Context) > 0 {
		if err := archive.Unpack(rc.Spec.Context, workDir, limits); err != nil {
			return 1, fmt.Errorf("context: %w", err)
		}
	}
	tools, err := os.MkdirTemp("", "podyard-command-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(tools)
	kubeconfig := filepath.Join(tools, "kubeconfig")
	if err := writeKubeconfig(kubeconfig, env); err != nil {
		return 1, err
	}
	bin := filepath.Join(tools, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		return 1, err
	}
	if err := os.Symlink(self, filepath.Join(bin, "kubectl")); err != nil {
		return 1, err
	}

	cmd := exec.Command("sh", "-c", rc.Spec.Command)
	// One pipe for both: the output keeps the order it was written in
	// (two pipes are read by two copiers, which may swap lines).
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stdout
	cmd.Env = commandEnv(os.Environ(), bin, kubeconfig)
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
	err = cmd.Wait()
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

// commandEnv is the pod's environment without the runner's own variables
// (the token stays out of the command's reach but through kubeconfig),
// with kubectl first on PATH.
func commandEnv(environ []string, bin, kubeconfig string) []string {
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

func writeKubeconfig(path string, env RunnerEnv) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["podyard"] = &clientcmdapi.Cluster{Server: env.Server, CertificateAuthorityData: []byte(env.CAPEM)}
	cfg.AuthInfos["run-command"] = &clientcmdapi.AuthInfo{Token: env.Token}
	cfg.Contexts["podyard"] = &clientcmdapi.Context{Cluster: "podyard", AuthInfo: "run-command", Namespace: "default"}
	cfg.CurrentContext = "podyard"
	return clientcmd.WriteToFile(*cfg, path)
}

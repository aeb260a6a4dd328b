package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/podyard/podyard/internal/runtime/process"
)

// Nodes of test clusters renew short leases, so a stopped agent shows
// quickly, and restart crashing containers after a short first back-off.
var agentTestFlags = []string{"--lease-duration", "4s", "--crash-backoff", "1s"}

// runCommandTestFlags make the limits of run-command contexts small enough to cross in a test.
var runCommandTestFlags = []string{"--run-command-max-request-bytes", "262144", "--run-command-max-context-bytes", "1048576", "--run-command-max-context-files", "20"}

// clusterRequestTimeout is short so that a test can show that streams
// outlast it (TestStreamsOutlastRequestTimeout).
const clusterRequestTimeout = 4 * time.Second

var (
	clusterOnce sync.Once
	cluster     *Server
	clusterNode string
)

// SharedCluster returns the all-in-one cluster (`podyard up`: server,
// scheduler, controllers and one node agent) that the workload tests share,
// each in its own namespace.
func SharedCluster(t *testing.T) (*Server, string) {
	t.Helper()
	if externalEtcd() {
		t.Skip("workload tests run in the embedded-etcd pass; `podyard up` embeds etcd")
	}
	clusterOnce.Do(func() { cluster, clusterNode = StartCluster(suite) })
	if cluster == nil {
		t.Fatal("the shared cluster failed to start")
	}
	return cluster.For(t), clusterNode
}

// StartCluster starts `podyard up` on a free port and returns it and its
// node's name. Containers outlive the agent by design, so the cleanup kills
// whatever the node still runs once the cluster has stopped.
func StartCluster(t tester, extraArgs ...string) (*Server, string) {
	t.Helper()
	return startClusterIn(t, t.TempDir(), extraArgs...)
}

// startClusterIn is StartCluster on the given data dir.
func startClusterIn(t tester, dir string, extraArgs ...string) (*Server, string) {
	t.Helper()
	node := "yard-" + rand.String(5)
	t.Cleanup(func() { reapContainers(filepath.Join(dir, "agent")) })
	args := append([]string{"up", "--node-name", node, "--request-timeout", clusterRequestTimeout.String()}, agentTestFlags...)
	args = append(append(args, runCommandTestFlags...), extraArgs...)
	return startServer(t, serverOptions{dataDir: dir, args: args}), node
}

// reapContainers kills every container process (and its supervisor) an
// agent with this data dir started.
func reapContainers(agentDir string) {
	process.KillAll(filepath.Join(agentDir, "containers"))
}

// Agent is a `podyard agent` process started by a test.
type Agent struct {
	Node    string
	DataDir string
	cmd     *exec.Cmd
	done    chan error
	logs    *lockedBuffer
}

// StartAgent joins a node agent to s, on a fresh data dir or the given one.
func StartAgent(t *testing.T, s *Server, node, dataDir string) *Agent {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
		t.Cleanup(func() { reapContainers(dataDir) })
	}
	a := &Agent{Node: node, DataDir: dataDir, logs: &lockedBuffer{}, done: make(chan error, 1)}
	args := append([]string{"agent", "--kubeconfig", s.Kubeconfig, "--node-name", node, "--data-dir", dataDir}, agentTestFlags...)
	a.cmd = exec.Command(podyardBin, args...)
	a.cmd.Stdout, a.cmd.Stderr = a.logs, a.logs
	a.cmd.SysProcAttr = dieWithTest()
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start agent: %v", err)
	}
	go func() { a.done <- a.cmd.Wait() }()
	t.Cleanup(func() { a.Kill(syscall.SIGTERM) })
	// A restarted agent listens on a new port: the node says so once it
	// has registered again.
	waitFor(t, "agent registration", func() bool { return strings.Contains(a.logs.String(), `msg="node registered"`) })
	waitNodeReady(t, s, node, a)
	return a
}

// Kill sends sig and waits for the agent to exit.
func (a *Agent) Kill(sig syscall.Signal) {
	if a.cmd == nil {
		return
	}
	_ = a.cmd.Process.Signal(sig)
	select {
	case <-a.done:
	case <-time.After(30 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
	a.cmd = nil
}

func waitNodeReady(t *testing.T, s *Server, node string, a *Agent) {
	t.Helper()
	waitFor(t, "node "+node+" Ready", func() bool {
		if a != nil {
			select {
			case err := <-a.done:
				a.done <- err
				t.Fatalf("agent exited: %v\n%s", err, a.logs.String())
			default:
			}
		}
		n, err := s.Client.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
		return err == nil && nodeReady(n) == corev1.ConditionTrue
	})
}

func nodeReady(n *corev1.Node) corev1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return ""
}

// waitPod polls the pod until cond holds, failing after 60 s with the pod.
func waitPod(t *testing.T, s *Server, ns, name, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		p, err := s.Client.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil && cond(p) {
			return p
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(p, "", "  ")
			t.Fatalf("pod %s/%s: timed out waiting for %s (err %v):\n%s", ns, name, what, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func running(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning }

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// shPod is a pod of one container running script with sh.
func shPod(name, script string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: new(int64(5)),
			Containers: []corev1.Container{{
				Name: "main", Image: "busybox", Command: []string{"sh", "-c", script},
			}},
		},
	}
}

func createPod(t *testing.T, s *Server, ns string, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	p, err := s.Client.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s: %v", pod.Name, err)
	}
	return p
}

// processesWith counts live processes running program with env (KEY=VALUE)
// in their environment.
func processesWith(program, env string) int {
	n := 0
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, err1 := os.ReadFile(filepath.Join(d, "cmdline"))
		environ, err2 := os.ReadFile(filepath.Join(d, "environ"))
		if err1 == nil && err2 == nil && bytes.HasPrefix(cmdline, []byte(program+"\x00")) &&
			bytes.Contains(append([]byte{0}, environ...), []byte("\x00"+env+"\x00")) {
			n++
		}
	}
	return n
}

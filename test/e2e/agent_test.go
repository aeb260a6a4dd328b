package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
)

// TestAgentRestartAndLoss: a node agent killed with SIGKILL while its pods
// run leaves them running; a new agent on the same data dir takes them back
// (same processes, no duplicate, no restart). An agent that stays away
// makes its node NotReady and its pods not Ready.
func TestAgentRestartAndLoss(t *testing.T) {
	if externalEtcd() {
		t.Skip("runs in the embedded-etcd pass")
	}
	s := startServer(t, serverOptions{dataDir: t.TempDir(), args: []string{"server", "--pod-eviction-timeout=3s"}})
	node := "agent-" + rand.String(5)
	agentDir := t.TempDir()
	t.Cleanup(func() { reapContainers(agentDir) })
	agent := StartAgent(t, s, node, agentDir)
	ns := s.Namespace(t)
	ctx := context.Background()

	work := t.TempDir()
	marker := "podyard-e2e-marker-" + rand.String(8)
	pod := shPod("survivor", "echo $$$$ > pid; exec sleep 3600")
	pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "MARKER", Value: marker}}
	pod.Spec.Containers[0].WorkingDir = work
	pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}},
		PeriodSeconds: 1,
	}
	p0 := createPod(t, s, ns, pod)
	waitPod(t, s, ns, "survivor", "Ready", podReady)
	pid := readPID(t, filepath.Join(work, "pid"))
	s.Kubectl("logs", "survivor", "-n", ns) // logs are served before the restart...

	// A finished pod costs its agent nothing: it once spun a core per pod.
	createPod(t, s, ns, shPod("finished", "true"))
	waitPod(t, s, ns, "finished", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	before := cpuTime(t, agent.cmd.Process.Pid)
	time.Sleep(time.Second) // a measurement interval, not a wait for a condition
	if used := cpuTime(t, agent.cmd.Process.Pid) - before; used > 300*time.Millisecond {
		t.Errorf("the agent used %v of CPU in a second with one pod running and one finished", used)
	}

	// A container whose supervisor dies while no agent runs: as root, the
	// next agent kills all it left, also what escaped its process group.
	orphanWork := t.TempDir()
	orphan := shPod("orphan", "setsid sh -c 'echo $$$$ > daemon; exec sleep 3600' & echo $$$$ > main; exec sleep 3600")
	orphan.Spec.Containers[0].WorkingDir = orphanWork
	orphanPod := createPod(t, s, ns, orphan)
	waitPod(t, s, ns, "orphan", "Running", running)
	orphanPIDs := []int{readPID(t, filepath.Join(orphanWork, "main")), readPID(t, filepath.Join(orphanWork, "daemon"))}
	var orphanState struct{ SupervisorPID int }
	readJSONFile(t, filepath.Join(agentDir, "containers", string(orphanPod.UID)+"_main_0", "state.json"), &orphanState)

	agent.Kill(syscall.SIGKILL)
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("container process %d died with its agent: %v", pid, err)
	}
	syscall.Kill(orphanState.SupervisorPID, syscall.SIGKILL)
	waitFor(t, "the orphan's supervisor gone", func() bool { return !alive(orphanState.SupervisorPID) })
	agent = StartAgent(t, s, node, agentDir)
	if os.Geteuid() == 0 {
		for _, pid := range orphanPIDs {
			waitFor(t, "the orphan's processes ended by the new agent", func() bool { return !alive(pid) })
		}
		p := waitPod(t, s, ns, "orphan", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
		if term := p.Status.ContainerStatuses[0].State.Terminated; term == nil || term.ExitCode != 137 {
			t.Errorf("a container that lost its supervisor: %+v", p.Status.ContainerStatuses[0].State)
		}
	}
	// ...and after it, and exec reaches the same process tree.
	if out := s.Kubectl("exec", "survivor", "-n", ns, "--", "cat", "pid"); strings.TrimSpace(out) != strconv.Itoa(pid) {
		t.Errorf("exec after the agent restart: %q", out)
	}
	p := waitPod(t, s, ns, "survivor", "Ready after the restart", podReady)
	if st := p.Status.ContainerStatuses[0]; st.RestartCount != 0 || st.State.Running == nil {
		t.Errorf("container after the agent restart: %+v", st)
	}
	if n := processesWith("sleep", "MARKER="+marker); n != 1 {
		t.Errorf("%d processes of the container after the agent restart, want 1", n)
	}
	if readPID(t, filepath.Join(work, "pid")) != pid {
		t.Errorf("the container was started again")
	}

	// An exec whose agent dies before the command ends is an error for
	// the client, over either protocol, never a success.
	execs := map[string]chan error{}
	for _, ws := range []string{"true", "false"} {
		done := make(chan error, 1)
		execs[ws] = done
		go func() {
			out, errOut, err := s.KubectlEnv([]string{"KUBECTL_REMOTE_COMMAND_WEBSOCKETS=" + ws}, "",
				"exec", "survivor", "-n", ns, "--", "sh", "-c", "echo started > started-"+ws+"; sleep 20; echo finished")
			if err == nil {
				err = fmt.Errorf("kubectl exec succeeded: %q", out)
			} else if !strings.Contains(errOut, "connection to the node agent was lost") {
				err = fmt.Errorf("kubectl exec failed without saying why: %v: %s", err, errOut)
			} else {
				err = nil
			}
			done <- err
		}()
	}
	for _, ws := range []string{"true", "false"} {
		readFile(t, filepath.Join(work, "started-"+ws))
	}

	// The agent stops for good: its lease goes stale (4 s in tests).
	agent.Kill(syscall.SIGKILL)
	for ws, done := range execs {
		if err := <-done; err != nil {
			t.Errorf("websockets=%s: %v", ws, err)
		}
	}
	waitFor(t, "node NotReady", func() bool {
		n, err := s.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		return err == nil && nodeReady(n) == corev1.ConditionUnknown
	})
	if out := s.Kubectl("get", "node", node); !strings.Contains(out, "NotReady") {
		t.Errorf("kubectl get node:\n%s", out)
	}
	waitPod(t, s, ns, "survivor", "not Ready on a lost node", func(p *corev1.Pod) bool { return !podReady(p) })
	// After the eviction timeout (3 s here) its pods are deleted; they stay
	// Terminating until an agent confirms they stopped.
	waitPod(t, s, ns, "survivor", "evicted", func(p *corev1.Pod) bool { return p.DeletionTimestamp != nil })

	// Nothing runs where nothing can be watched: a new pod is not placed there.
	createPod(t, s, ns, shPod("newcomer", "sleep 1"))
	p = waitPod(t, s, ns, "newcomer", "unschedulable", func(p *corev1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				return strings.Contains(c.Message, "node(s) were not ready")
			}
		}
		return false
	})

	// Deleted for good while no agent runs: the next agent removes what the
	// pod left, its process, container state and logs.
	if err := s.Client.CoreV1().Pods(ns).Delete(ctx, "survivor", metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "survivor gone from the API", func() bool { return gone(s, ns, "survivor") })
	if !alive(pid) {
		t.Fatalf("container process %d ended while no agent ran", pid)
	}
	StartAgent(t, s, node, agentDir)
	waitFor(t, "the orphan's process ended", func() bool { return !alive(pid) })
	for _, left := range []string{"containers/" + string(p0.UID) + "_*", "logs/*_" + string(p0.UID), "pods/" + string(p0.UID)} {
		waitFor(t, "the orphan's "+left+" removed", func() bool {
			m, _ := filepath.Glob(filepath.Join(agentDir, left))
			return len(m) == 0
		})
	}
}

func readJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(readFile(t, path)), v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// procStat is the fields of /proc/PID/stat after the command name (the
// first is the state), or nil when the process is gone.
func procStat(pid int) []string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	return strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
}

// cpuTime is the user and system CPU time a process has used.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	fields := procStat(pid)
	if fields == nil {
		t.Fatalf("process %d is gone", pid)
	}
	utime, _ := strconv.Atoi(fields[11])
	stime, _ := strconv.Atoi(fields[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ is 100
}

// alive tells whether a process runs (a zombie has ended).
func alive(pid int) bool {
	fields := procStat(pid)
	return fields != nil && fields[0] != "Z" && fields[0] != "X"
}

// readFile waits for the file and returns its content.
func readFile(t *testing.T, path string) string {
	t.Helper()
	var b []byte
	waitFor(t, "file "+path, func() bool {
		var err error
		b, err = os.ReadFile(path)
		return err == nil
	})
	return string(b)
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	waitFor(t, "pid file "+path, func() bool {
		b, err := os.ReadFile(path)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	})
	return pid
}

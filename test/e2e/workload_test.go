package e2e

import (
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestKubectlRunLogsExec is the first thing a user does: run a pod, look at
// it, read its logs (also live), run commands in it.
func TestKubectlRunLogsExec(t *testing.T) {
	s, node := SharedCluster(t)
	ns := s.Namespace(t)

	s.Kubectl("run", "web", "-n", ns, "--image=busybox", "--restart=Never", "--command", "--",
		"sh", "-c", `echo line 1; echo line 2; echo oops >&2; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done`)
	s.Kubectl("wait", "-n", ns, "--for=condition=Ready", "pod/web", "--timeout=60s")

	out := s.Kubectl("get", "pod", "web", "-n", ns, "-o", "wide")
	if !regexp.MustCompile(`(?m)^web\s+1/1\s+Running\s+0\s+\S+\s+\S+\s+` + node + `\s`).MatchString(out) {
		t.Errorf("kubectl get -o wide:\n%s", out)
	}
	out = s.Kubectl("describe", "pod", "web", "-n", ns)
	for _, want := range []string{"Node:         " + node, "Status:       Running", "Successfully assigned " + ns + "/web to " + node, "Started container web"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl describe lacks %q:\n%s", want, out)
		}
	}

	// stdout and stderr are separate pipes, so only each stream keeps its order.
	logs := s.Kubectl("logs", "web", "-n", ns)
	if !strings.HasPrefix(strings.Replace(logs, "oops\n", "", 1), "line 1\nline 2\n") || !strings.Contains(logs, "oops\n") {
		t.Errorf("kubectl logs:\n%s", logs)
	}
	if out := s.Kubectl("logs", "web", "-n", ns, "--limit-bytes=4"); out != logs[:4] {
		t.Errorf("--limit-bytes=4: %q", out)
	}
	if out := s.Kubectl("logs", "web", "-n", ns, "--tail=1"); !regexp.MustCompile(`^tick \d+\n$`).MatchString(out) {
		t.Errorf("--tail=1: %q", out)
	}
	if out := s.Kubectl("logs", "web", "-n", ns, "--timestamps", "--tail=1"); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\S+Z tick \d+\n$`).MatchString(out) {
		t.Errorf("--timestamps: %q", out)
	}
	if out := s.Kubectl("logs", "web", "-n", ns, "--since=1h", "--insecure-skip-tls-verify-backend"); !strings.HasPrefix(strings.Replace(out, "oops\n", "", 1), "line 1\n") {
		t.Errorf("--since=1h: %q", out)
	}
	if out := s.Kubectl("logs", "web", "-n", ns, "--since-time="+time.Now().Add(time.Hour).Format(time.RFC3339)); out != "" {
		t.Errorf("--since-time in the future: %q", out)
	}
	// logs -f shows lines written after it started.
	follow := s.KubectlStream(t, "logs", "-f", "web", "-n", ns, "--tail=1")
	first := follow.waitForLine(t, regexp.MustCompile(`^tick \d+$`))
	n, _ := strconv.Atoi(strings.TrimPrefix(first, "tick "))
	follow.waitForLine(t, regexp.MustCompile(fmt.Sprintf(`^tick %d$`, n+3)))

	// exec over WebSocket (kubectl's default) and SPDY: output, exit code, stdin.
	for _, protocol := range []string{"websocket", "spdy"} {
		t.Run(protocol, func(t *testing.T) {
			kubectl := func(stdin string, args ...string) (string, string, error) {
				env := "KUBECTL_REMOTE_COMMAND_WEBSOCKETS=" + strconv.FormatBool(protocol == "websocket")
				return s.KubectlEnv([]string{env}, stdin, args...)
			}
			out, errOut, err := kubectl("", "exec", "web", "-n", ns, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
			if out != "out\n" || !strings.Contains(errOut, "err\n") || exitCode(err) != 3 {
				t.Errorf("exec exit 3: out %q err %q %v", out, errOut, err)
			}
			out, _, err = kubectl("hello from stdin\n", "exec", "-i", "web", "-n", ns, "--", "cat")
			if out != "hello from stdin\n" || err != nil {
				t.Errorf("exec -i cat: %q %v", out, err)
			}
			out, _, err = kubectl("", "exec", "web", "-n", ns, "--", "sh", "-c", "echo $HOSTNAME $MY_NODE")
			if out != "web\n" || err != nil {
				t.Errorf("exec env: %q %v", out, err)
			}
		})
	}
}

// exitCode is the exit status of a command that ran, else -1.
func exitCode(err error) int {
	var exit *exec.ExitError
	if err == nil {
		return 0
	}
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	return -1
}

// TestUnschedulable: a pod that fits no node says why, and is placed once a
// node changes so that it fits.
func TestUnschedulable(t *testing.T) {
	s, node := SharedCluster(t)
	ns := s.Namespace(t)
	label := "podyard-e2e-" + ns
	pod := shPod("picky", "sleep 3600")
	pod.Spec.NodeSelector = map[string]string{label: "yes"}
	createPod(t, s, ns, pod)
	p := waitPod(t, s, ns, "picky", "PodScheduled=False", func(p *corev1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				return true
			}
		}
		return false
	})
	var cond corev1.PodCondition
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled {
			cond = c
		}
	}
	if cond.Reason != "Unschedulable" || !strings.Contains(cond.Message, "node(s) didn't match Pod's node affinity/selector") || !strings.HasPrefix(cond.Message, "0/") {
		t.Errorf("PodScheduled condition: %+v", cond)
	}
	waitFor(t, "FailedScheduling event", func() bool {
		return strings.Contains(s.Kubectl("get", "events", "-n", ns), "FailedScheduling")
	})
	if out := s.Kubectl("get", "pod", "picky", "-n", ns); !strings.Contains(out, "Pending") {
		t.Errorf("unschedulable pod:\n%s", out)
	}

	s.Kubectl("label", "node", node, label+"=yes")
	t.Cleanup(func() { s.KubectlResult("", "label", "node", node, label+"-") })
	waitPod(t, s, ns, "picky", "Running after the node got the label", running)
}

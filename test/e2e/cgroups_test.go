package e2e

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestContainerCgroups: as root, a pod's containers are held by cgroups:
// the spec's limits apply (a container past its memory limit is OOMKilled
// with 137, its CPU limit is a CFS quota), and deleting the pod ends even
// the processes that left the container's process group.
func TestContainerCgroups(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("cgroups need root")
	}
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)

	// tail keeps all of a line that never ends: it grows until the limit.
	hog := shPod("hog", "exec tail /dev/zero")
	hog.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")}
	createPod(t, s, ns, hog)
	p := waitPod(t, s, ns, "hog", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	term := p.Status.ContainerStatuses[0].State.Terminated
	if term == nil || term.Reason != "OOMKilled" || term.ExitCode != 137 {
		t.Errorf("want terminated OOMKilled with exit code 137, got %+v", p.Status.ContainerStatuses[0].State)
	}
	if out := s.Kubectl("get", "pod", "hog", "-n", ns); !regexp.MustCompile(`hog\s+0/1\s+OOMKilled\s`).MatchString(out) {
		t.Errorf("kubectl get shows:\n%s", out)
	}

	// A daemon escapes the process group with setsid; the CPU limit shows
	// in the container's own cgroup, which exec joins.
	daemon := shPod("daemon", "setsid sh -c 'echo daemon $$$$; exec sleep 300' & exec sleep 300") // $$ is $ after the kubelet's $(VAR) expansion
	daemon.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}
	createPod(t, s, ns, daemon)
	waitPod(t, s, ns, "daemon", "Running", running)
	var pid int
	var logs string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("daemon's log:\n%s", logs)
		}
	})
	waitFor(t, "the daemon's pid in the log", func() bool {
		logs = s.Kubectl("logs", "daemon", "-n", ns)
		m := regexp.MustCompile(`daemon (\d+)`).FindStringSubmatch(logs)
		if m != nil {
			pid, _ = strconv.Atoi(m[1])
		}
		return m != nil
	})
	quota := s.Kubectl("exec", "daemon", "-n", ns, "--", "sh", "-c",
		`if [ -f /sys/fs/cgroup/cgroup.controllers ]; then cat /sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)/cpu.max; `+
			`else cat /sys/fs/cgroup/cpu$(grep -E '^[0-9]+:([^:]*,)?cpu(,[^:]*)?:' /proc/self/cgroup | cut -d: -f3)/cpu.cfs_quota_us; fi`)
	if q := strings.TrimSpace(quota); q != "25000" && q != "25000 100000" {
		t.Errorf("CPU limit 250m: want a quota of 25000 µs per 100000, got %q", q)
	}
	s.Kubectl("delete", "pod", "daemon", "-n", ns, "--grace-period=1")
	waitFor(t, "the daemon to end with its pod", func() bool { return !alive(pid) })
}

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestPodSpec: init containers in order, env from every source, volumes
// of every kind the process runtime supports, visible at their mount paths.
func TestPodSpec(t *testing.T) {
	s, node := SharedCluster(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	if _, err := s.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"greeting": "hello", "app.conf": "mode=fast"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "sec"}, Data: map[string][]byte{"password": []byte("hunter2")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "from-host"), []byte("host file"), 0o644)
	base := "/tmp/podyard-e2e-" + ns // mount points: created for the pod, removed with it
	// The runtime removes the mount points it made but not base, their
	// parent: once the pod is gone, so does the test.
	t.Cleanup(func() {
		zero := int64(0)
		_ = s.Client.CoreV1().Pods(ns).Delete(ctx, "spec", metav1.DeleteOptions{GracePeriodSeconds: &zero})
		waitFor(t, "pod spec gone", func() bool {
			_, err := s.Client.CoreV1().Pods(ns).Get(ctx, "spec", metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
		// The agent confirms the deletion before the runtime has removed
		// every mount point: poll until base is empty and goes.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if err := os.Remove(base); err == nil || os.IsNotExist(err) {
				return
			}
		}
		t.Logf("mount points under %s still there", base)
	})
	pod := shPod("spec", "")
	pod.Labels = map[string]string{"app": "spec"}
	pod.Spec.Volumes = []corev1.Volume{
		{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
		{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sec"}}},
		{Name: "meta", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
		}}}},
		{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: host}}},
	}
	work := corev1.VolumeMount{Name: "work", MountPath: base + "/work"}
	pod.Spec.InitContainers = []corev1.Container{
		{Name: "first", Image: "busybox", Command: []string{"sh", "-c", "echo first > " + base + "/work/order"}, VolumeMounts: []corev1.VolumeMount{work}},
		{Name: "second", Image: "busybox", Command: []string{"sh", "-c", "echo second >> " + base + "/work/order"}, VolumeMounts: []corev1.VolumeMount{work}},
	}
	c := &pod.Spec.Containers[0]
	c.Command = []string{"sh", "-c", strings.Join([]string{
		"cat " + base + "/work/order",
		"echo greeting=$GREETING password=$PASSWORD pod=$POD_NAME ns=$POD_NAMESPACE node=$NODE expanded=$EXPANDED",
		"cat " + base + "/cfg/app.conf; echo",
		"cat " + base + "/sec/password; echo",
		"cat " + base + "/meta/labels; echo",
		"cat " + base + "/host/from-host; echo",
		"echo wrote > " + base + "/host/from-pod",
		"pwd",
	}, "; ")}
	c.WorkingDir = host
	c.Env = []corev1.EnvVar{
		{Name: "GREETING", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "greeting"}}},
		{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}, Key: "password"}}},
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
		{Name: "EXPANDED", Value: "$(GREETING)-world"},
	}
	c.VolumeMounts = []corev1.VolumeMount{
		work,
		{Name: "cfg", MountPath: base + "/cfg"},
		{Name: "sec", MountPath: base + "/sec"},
		{Name: "meta", MountPath: base + "/meta"},
		{Name: "host", MountPath: base + "/host"},
	}
	createPod(t, s, ns, pod)
	p := waitPod(t, s, ns, "spec", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })

	want := strings.Join([]string{
		"first", "second",
		"greeting=hello password=hunter2 pod=spec ns=" + ns + " node=" + node + " expanded=hello-world",
		"mode=fast", "hunter2", `app="spec"`, "host file", host, "",
	}, "\n")
	if logs := s.Kubectl("logs", "spec", "-n", ns); logs != want {
		t.Errorf("logs:\n%s\nwant:\n%s", logs, want)
	}
	if b, err := os.ReadFile(filepath.Join(host, "from-pod")); err != nil || string(b) != "wrote\n" {
		t.Errorf("file the pod wrote to its hostPath volume: %q %v", b, err)
	}
	if len(p.Status.InitContainerStatuses) != 2 || p.Status.InitContainerStatuses[1].State.Terminated == nil ||
		p.Status.InitContainerStatuses[1].State.Terminated.Reason != "Completed" {
		t.Errorf("init container statuses: %+v", p.Status.InitContainerStatuses)
	}
	if st := p.Status.ContainerStatuses; len(st) != 1 || st[0].State.Terminated == nil || st[0].State.Terminated.ExitCode != 0 {
		t.Errorf("container status: %+v", st)
	}
}

// TestCrashLoop: a container that keeps failing is restarted with back-off;
// its restart count, last state and previous logs say what happened.
func TestCrashLoop(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	pod := shPod("crash", `echo "run at $(date +%s%N)"; exit 2`)
	pod.Spec.RestartPolicy = corev1.RestartPolicyAlways
	createPod(t, s, ns, pod)
	p := waitPod(t, s, ns, "crash", "two restarts", func(p *corev1.Pod) bool {
		st := p.Status.ContainerStatuses
		return len(st) == 1 && st[0].RestartCount >= 2
	})
	st := p.Status.ContainerStatuses[0]
	if st.LastTerminationState.Terminated == nil || st.LastTerminationState.Terminated.ExitCode != 2 || st.LastTerminationState.Terminated.Reason != "Error" {
		t.Errorf("last state: %+v", st.LastTerminationState)
	}
	if p.Status.Phase != corev1.PodRunning {
		t.Errorf("phase %s, want Running (restartPolicy Always)", p.Status.Phase)
	}
	waitPod(t, s, ns, "crash", "CrashLoopBackOff", func(p *corev1.Pod) bool {
		w := p.Status.ContainerStatuses[0].State.Waiting
		return w != nil && w.Reason == "CrashLoopBackOff" && strings.Contains(w.Message, "back-off")
	})
	if out := s.Kubectl("get", "pod", "crash", "-n", ns); !strings.Contains(out, "CrashLoopBackOff") {
		t.Errorf("kubectl get:\n%s", out)
	}
	if prev := s.Kubectl("logs", "crash", "-n", ns, "--previous"); !strings.HasPrefix(prev, "run at ") {
		t.Errorf("logs --previous: %q", prev)
	}
}

// TestProbes: readiness follows its probe, a failing liveness probe
// restarts the container.
func TestProbes(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	pod := shPod("probed", "sleep 3600")
	pod.Spec.RestartPolicy = corev1.RestartPolicyAlways
	pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"test", "-f", "ready"}}},
		PeriodSeconds: 1, FailureThreshold: 1,
	}
	createPod(t, s, ns, pod)
	p := waitPod(t, s, ns, "probed", "Running", running)
	if podReady(p) {
		t.Fatalf("pod Ready before its readiness probe passed")
	}
	s.Kubectl("exec", "probed", "-n", ns, "--", "touch", "ready")
	waitPod(t, s, ns, "probed", "Ready", podReady)
	s.Kubectl("exec", "probed", "-n", ns, "--", "rm", "ready")
	waitPod(t, s, ns, "probed", "not Ready", func(p *corev1.Pod) bool { return !podReady(p) })

	live := shPod("live", "sleep 3600")
	live.Spec.RestartPolicy = corev1.RestartPolicyAlways
	live.Spec.Containers[0].LivenessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "echo probe says no; exit 1"}}},
		PeriodSeconds: 1, FailureThreshold: 2,
	}
	createPod(t, s, ns, live)
	waitPod(t, s, ns, "live", "a restart by the liveness probe", func(p *corev1.Pod) bool {
		st := p.Status.ContainerStatuses
		return len(st) == 1 && st[0].RestartCount >= 1
	})
	waitFor(t, "Unhealthy event", func() bool {
		return strings.Contains(s.Kubectl("get", "events", "-n", ns, "--field-selector", "involvedObject.name=live"), "Liveness probe failed: ")
	})
}

// TestActiveDeadline: a pod active longer than activeDeadlineSeconds fails.
func TestActiveDeadline(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	pod := shPod("deadline", "sleep 3600")
	pod.Spec.ActiveDeadlineSeconds = new(int64(1))
	createPod(t, s, ns, pod)
	p := waitPod(t, s, ns, "deadline", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if p.Status.Reason != "DeadlineExceeded" {
		t.Errorf("reason %q, want DeadlineExceeded", p.Status.Reason)
	}
}

// TestGracefulStop: delete --wait runs the preStop hook, sends SIGTERM,
// waits for the process to end, and returns once the pod is gone.
func TestGracefulStop(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	dir := t.TempDir()
	pod := shPod("graceful", `echo $$$$ > pid; trap 'echo term > got-term; exit 0' TERM; while true; do sleep 0.1; done`)
	pod.Spec.Containers[0].WorkingDir = dir
	pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
		Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "echo prestop > prestop"}},
	}}
	createPod(t, s, ns, pod)
	waitPod(t, s, ns, "graceful", "Running", running)
	var pid int
	waitFor(t, "pid file", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "pid"))
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	})

	start := time.Now()
	s.Kubectl("delete", "pod", "graceful", "-n", ns, "--wait=true", "--timeout=60s")
	took := time.Since(start)
	for _, f := range []string{"prestop", "got-term"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("the container process %d still runs after delete --wait returned", pid)
	}
	t.Logf("delete --wait took %s", took)
	if _, err := s.Client.CoreV1().Pods(ns).Get(context.Background(), "graceful", metav1.GetOptions{}); err == nil {
		t.Errorf("pod still exists after delete --wait")
	}
}

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
)

// executors are the two protocols a Go client may speak, by name.
func executors(t *testing.T, s *Server, u *url.URL) map[string]remotecommand.Executor {
	t.Helper()
	spdy, err := remotecommand.NewSPDYExecutor(s.Config, "POST", u)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := remotecommand.NewWebSocketExecutor(s.Config, "GET", u.String())
	if err != nil {
		t.Fatal(err)
	}
	return map[string]remotecommand.Executor{"spdy": spdy, "websocket": ws}
}

type sizeQueue struct {
	sizes chan remotecommand.TerminalSize
}

func (q sizeQueue) Next() *remotecommand.TerminalSize {
	s, ok := <-q.sizes
	if !ok {
		return nil
	}
	return &s
}

// TestExecTTYAndNodePath drives exec from a Go client: with a terminal
// (resized), through the pod API and through the node path in both its
// forms, over SPDY and WebSocket.
func TestExecTTYAndNodePath(t *testing.T) {
	s, node := SharedCluster(t)
	ns := s.Namespace(t)
	createPod(t, s, ns, shPod("sh", "sleep 3600"))
	pod := waitPod(t, s, ns, "sh", "Running", running)

	ttyURL := s.Client.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Name("sh").SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: "main", Command: []string{"sh", "-c", `tty; while [ "$(stty size)" = "0 0" ]; do sleep 0.01; done; stty size`}, Stdout: true, Stdin: true, TTY: true}, scheme.ParameterCodec).URL()
	for name, ex := range executors(t, s, ttyURL) {
		t.Run("tty/"+name, func(t *testing.T) {
			// The size reaches the terminal a moment after the session
			// opens: the command waits for it.
			sizes := sizeQueue{make(chan remotecommand.TerminalSize, 1)}
			sizes.sizes <- remotecommand.TerminalSize{Width: 100, Height: 40}
			defer close(sizes.sizes)
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: strings.NewReader(""), Stdout: &out, Tty: true, TerminalSizeQueue: sizes})
			if err != nil || !regexp.MustCompile(`^/dev/pts/\d+\r\n40 100\r\n$`).MatchString(out.String()) {
				t.Errorf("tty exec: %q %v", out.String(), err)
			}
		})
	}

	paths := map[string]string{
		"api":    fmt.Sprintf("/api/v1/nodes/%s/proxy/exec/%s/sh/main", node, ns),
		"legacy": fmt.Sprintf("/proxy/nodes/%s/exec/%s/sh/main", node, ns),
		"uid":    fmt.Sprintf("/api/v1/nodes/%s/proxy/exec/%s/sh/%s/main", node, ns, pod.UID),
	}
	for pathName, p := range paths {
		u, _ := url.Parse(s.URL + p)
		u.RawQuery = url.Values{"command": {"sh", "-c", "cat; echo err >&2; exit 4"}, "stdin": {"true"}, "stdout": {"true"}, "stderr": {"true"}}.Encode()
		for name, ex := range executors(t, s, u) {
			t.Run("node-path/"+pathName+"/"+name, func(t *testing.T) {
				var out, errOut bytes.Buffer
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: strings.NewReader("via the node\n"), Stdout: &out, Stderr: &errOut})
				var exit interface{ ExitStatus() int }
				if out.String() != "via the node\n" || errOut.String() != "err\n" || !asExit(err, &exit) || exit.ExitStatus() != 4 {
					t.Errorf("node path exec: out %q err %q %v", out.String(), errOut.String(), err)
				}
			})
		}
	}
	// Every WebSocket session ends with the server hanging up: not an error.
	if logs := s.Logs(); strings.Contains(logs, "Error on socket receive") {
		t.Errorf("the server logged the normal end of a WebSocket session as an error:\n%s", logs)
	}
}

func asExit(err error, target *interface{ ExitStatus() int }) bool {
	e, ok := err.(interface{ ExitStatus() int })
	if ok {
		*target = e
	}
	return ok
}

// TestAttach: kubectl attach reaches a container's stdin and stdout.
func TestAttach(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	pod := shPod("cat", "")
	pod.Spec.Containers[0].Command = []string{"sh", "-c", "echo started; cat; echo stdin closed"}
	pod.Spec.Containers[0].Stdin, pod.Spec.Containers[0].StdinOnce = true, true
	createPod(t, s, ns, pod)
	waitPod(t, s, ns, "cat", "Running", running)
	out, errOut, err := s.KubectlResult("through attach\n", "attach", "-i", "cat", "-n", ns)
	if err != nil || !strings.Contains(out, "through attach\nstdin closed\n") {
		t.Errorf("kubectl attach -i: %v\nstdout %q\nstderr %q", err, out, errOut)
	}
	// stdinOnce: the container saw its stdin close and finished.
	waitPod(t, s, ns, "cat", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
}

// TestPortForward: kubectl port-forward reaches a server in the pod; a
// port nothing listens on is a clear error.
func TestPortForward(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	port := freePort(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("served from the pod\n"), 0o644)
	pod := shPod("web", "")
	pod.Spec.Containers[0].Command = []string{"python3", "-m", "http.server", "--bind", "127.0.0.1", fmt.Sprint(port)}
	pod.Spec.Containers[0].WorkingDir = dir
	pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Host: "127.0.0.1", Port: intOrStr(port)}},
		PeriodSeconds: 1,
	}
	createPod(t, s, ns, pod)
	waitPod(t, s, ns, "web", "Ready", podReady)

	pf := s.KubectlStream(t, "port-forward", "-n", ns, "pod/web", fmt.Sprintf(":%d", port), fmt.Sprintf(":%d", freePort(t)))
	var locals []string
	for range 2 {
		m := regexp.MustCompile(`^Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)$`).FindStringSubmatch(pf.waitForLine(t, regexp.MustCompile(`^Forwarding from 127\.0\.0\.1:`)))
		locals = append(locals, m[1])
	}
	for range 3 { // several connections over the one forward
		body, err := httpGet("http://127.0.0.1:" + locals[0] + "/hello.txt")
		if err != nil || body != "served from the pod\n" {
			t.Fatalf("GET through port-forward: %q %v", body, err)
		}
	}
	// The second port has no listener in the pod: the connection fails
	// and kubectl reports why.
	if body, err := httpGet("http://127.0.0.1:" + locals[1] + "/"); err == nil {
		t.Errorf("GET to a port nothing listens on answered %q", body)
	}
}

func httpGet(u string) (string, error) {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestCpAndDebug: kubectl cp both ways through a volume; kubectl debug runs
// an ephemeral container as a new process in the pod.
func TestCpAndDebug(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	mount := "/tmp/podyard-e2e-" + ns
	// The runtime removes the mount point with the container; the shared
	// cluster may stop before the namespace's pods are gone.
	t.Cleanup(func() { _ = os.Remove(mount) })
	pod := shPod("box", "echo $$$$ > main.pid; sleep 3600")
	pod.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: mount}}
	createPod(t, s, ns, pod)
	waitPod(t, s, ns, "box", "Running", running)

	local := t.TempDir()
	os.WriteFile(filepath.Join(local, "up.txt"), []byte("copied up\n"), 0o644)
	s.Kubectl("cp", filepath.Join(local, "up.txt"), ns+"/box:"+mount+"/up.txt")
	if out := s.Kubectl("exec", "box", "-n", ns, "--", "cat", mount+"/up.txt"); out != "copied up\n" {
		t.Errorf("file copied into the pod: %q", out)
	}
	s.Kubectl("exec", "box", "-n", ns, "--", "sh", "-c", "echo made in the pod > "+mount+"/down.txt")
	s.Kubectl("cp", ns+"/box:"+mount+"/down.txt", filepath.Join(local, "down.txt"))
	if b, err := os.ReadFile(filepath.Join(local, "down.txt")); err != nil || string(b) != "made in the pod\n" {
		t.Errorf("file copied out of the pod: %q %v", b, err)
	}

	out := s.Kubectl("debug", "box", "-n", ns, "--image=busybox", "--container=dbg", "--", "sh", "-c", "echo debugging; cat main.pid")
	if !strings.Contains(out, "Defaulting debug container name") && out != "" {
		t.Logf("kubectl debug: %s", out)
	}
	p := waitPod(t, s, ns, "box", "the ephemeral container to finish", func(p *corev1.Pod) bool {
		st := p.Status.EphemeralContainerStatuses
		return len(st) == 1 && st[0].State.Terminated != nil
	})
	if st := p.Status.EphemeralContainerStatuses[0]; st.Name != "dbg" || st.State.Terminated.ExitCode != 0 {
		t.Errorf("ephemeral container status: %+v", st)
	}
	if logs := s.Kubectl("logs", "box", "-n", ns, "-c", "dbg"); !regexp.MustCompile(`^debugging\n\d+\n$`).MatchString(logs) {
		t.Errorf("debug container logs (it shares the pod's working directory): %q", logs)
	}
	// The pod's own container runs on, untouched.
	if p.Status.ContainerStatuses[0].RestartCount != 0 || p.Status.ContainerStatuses[0].State.Running == nil {
		t.Errorf("main container after debug: %+v", p.Status.ContainerStatuses[0])
	}
}

// TestStreamingBadInput: each wrong exec, attach or port-forward gets a
// clear error.
func TestStreamingBadInput(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	createPod(t, s, ns, shPod("run", "sleep 3600"))
	createPod(t, s, ns, shPod("done", "true"))
	waitPod(t, s, ns, "run", "Running", running)
	waitPod(t, s, ns, "done", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown container", []string{"exec", "run", "-c", "nope", "--", "true"}, "container nope is not valid for pod run"},
		{"completed pod", []string{"exec", "done", "--", "true"}, "cannot exec into a container in a completed pod; current phase is Succeeded"},
		{"missing command", []string{"exec", "run", "--", "no-such-command"}, `"no-such-command": executable file not found in $PATH`},
		{"missing pod", []string{"exec", "ghost", "--", "true"}, `pods "ghost" not found`},
		{"attach to a container without stdin", []string{"attach", "-i", "run"}, "stdin"},
		{"logs of an unknown container", []string{"logs", "run", "-c", "nope"}, "container nope is not valid for pod run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, ws := range []string{"true", "false"} {
				_, errOut, err := s.KubectlEnv([]string{"KUBECTL_REMOTE_COMMAND_WEBSOCKETS=" + ws}, "", append([]string{"-n", ns}, tt.args...)...)
				if err == nil || !strings.Contains(errOut, tt.want) {
					t.Errorf("websockets=%s: kubectl %v: %v, stderr %q, want it to say %q", ws, tt.args, err, errOut, tt.want)
				}
			}
		})
	}
}

func intOrStr(port int) intstr.IntOrString { return intstr.FromInt32(int32(port)) }

// TestStreamsOutlastRequestTimeout: exec (pod and node paths, both
// protocols) and a followed log run for as long as their client wants, not
// only for the server's request timeout, which ends ordinary requests.
func TestStreamsOutlastRequestTimeout(t *testing.T) {
	s, node := SharedCluster(t)
	ns := s.Namespace(t)
	outlast := clusterRequestTimeout + 2*time.Second
	ticks := int(outlast / time.Second)
	createPod(t, s, ns, shPod("sh", "sleep 3600"))
	createPod(t, s, ns, shPod("ticker", fmt.Sprintf("for i in $(seq %d); do echo tick $i; sleep 1; done", ticks)))
	waitPod(t, s, ns, "sh", "Running", running)
	waitPod(t, s, ns, "ticker", "Running", running)

	command := []string{"sh", "-c", fmt.Sprintf("sleep %d; echo outlasted", int(outlast/time.Second))}
	podURL := s.Client.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Name("sh").SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: "main", Command: command, Stdout: true, Stderr: true}, scheme.ParameterCodec).URL()
	nodeURL, _ := url.Parse(s.URL + fmt.Sprintf("/proxy/nodes/%s/exec/%s/sh/main", node, ns))
	nodeURL.RawQuery = url.Values{"command": command, "stdout": {"true"}, "stderr": {"true"}}.Encode()
	for pathName, u := range map[string]*url.URL{"pod": podURL, "legacy-node": nodeURL} {
		for name, ex := range executors(t, s, u) {
			t.Run("exec/"+pathName+"/"+name, func(t *testing.T) {
				t.Parallel()
				var out, errOut bytes.Buffer
				ctx, cancel := context.WithTimeout(context.Background(), outlast+30*time.Second)
				defer cancel()
				err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out, Stderr: &errOut})
				if err != nil || out.String() != "outlasted\n" {
					t.Errorf("exec longer than the request timeout: out %q err %q %v", out.String(), errOut.String(), err)
				}
			})
		}
	}
	t.Run("logs -f", func(t *testing.T) {
		t.Parallel()
		out, errOut, err := s.KubectlResult("", "logs", "-f", "ticker", "-n", ns)
		if want := fmt.Sprintf("tick %d\n", ticks); err != nil || !strings.HasSuffix(out, want) {
			t.Errorf("kubectl logs -f longer than the request timeout: %v\nstdout %q\nstderr %q", err, out, errOut)
		}
	})
}

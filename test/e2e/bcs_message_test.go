package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/dialect/bcs"
	"github.com/podyard/podyard/internal/nodeclient"
)

// signalApp is an application of instances taskgroups whose one task is
// the script usr2-trap from bin (its process name), with bin alone as its
// PATH: no killall is there to be found.
func signalApp(ns, name, bin string, instances int) string {
	return fmt.Sprintf(`{"apiVersion":"v4","kind":"application","metadata":{"name":%q,"namespace":%q},
		"restartPolicy":{"policy":"Never"},"killPolicy":{"gracePeriod":1},
		"spec":{"instance":%d,"template":{"spec":{"containers":[
			{"image":"busybox","command":"usr2-trap","env":[{"name":"PATH","value":%q}],
			 "resources":{"limits":{"cpu":"0.02","memory":"16"}}}]}}}}`, name, ns, instances, bin)
}

// lines is the number of lines of a file (0 when it is missing).
func lines(path string) int {
	data, _ := os.ReadFile(path)
	return strings.Count(string(data), "\n")
}

// TestBCSMessage: signals by process name to every taskgroup of an
// application and to one taskgroup, without killall in the containers;
// local and remote files; and what is refused or listed as not reached.
func TestBCSMessage(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	c := newTaskGroupClient(t, s, ns)

	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(sleep, filepath.Join(bin, "sleep")); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\ntrap 'echo got >> " + dir + "/usr2-$HOSTNAME' USR2\necho $$ > " + dir + "/ready-$HOSTNAME\nwhile :; do sleep 0.1; done\n"
	if err := os.WriteFile(filepath.Join(bin, "usr2-trap"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(bin, "killall")); err == nil {
		t.Fatal("killall must not be on the containers' PATH")
	}

	c.do("POST", c.base, bcs.DefaultClusterID, signalApp(ns, "sig", bin, 2)).expect(t, "create", 200, 0)
	var ids map[int]string
	waitFor(t, "two taskgroups Running", func() bool {
		var running bool
		ids, running = byIndex(c.taskgroups("sig"))
		return running && len(ids) == 2
	})
	// The taskgroup ID of each Pod, whose name is the task's HOSTNAME.
	pods, err := s.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: application.LabelApplication})
	if err != nil || len(pods.Items) != 2 {
		t.Fatalf("pods: %v %v", pods, err)
	}
	host := map[string]string{} // taskgroup ID → pod name
	for _, p := range pods.Items {
		host[p.Annotations[application.AnnotationTaskGroupID]] = p.Name
	}
	waitFor(t, "both scripts trapping", func() bool {
		for _, h := range host {
			if lines(filepath.Join(dir, "ready-"+h)) != 1 {
				return false
			}
		}
		return true
	})

	usr2 := `{"msgtype":"signal","msgdata":{"processname":"usr2-trap","signal":12}}`
	if data := c.do("POST", c.base+"/sig/message", bcs.DefaultClusterID, usr2).ok(t, "signal the application"); data != nil {
		t.Errorf("every taskgroup got it, data must be null: %v", data)
	}
	waitFor(t, "every taskgroup trapping SIGUSR2", func() bool {
		for _, h := range host {
			if lines(filepath.Join(dir, "usr2-"+h)) != 1 {
				return false
			}
		}
		return true
	})

	// One taskgroup (PUT, as the seed's curl does).
	one, other := ids[0], ids[1]
	if data := c.do("PUT", c.base+"/sig/taskgroups/"+one+"/message", bcs.DefaultClusterID, usr2).ok(t, "signal one taskgroup"); data != nil {
		t.Errorf("data must be null: %v", data)
	}
	waitFor(t, "the one taskgroup trapping it again", func() bool { return lines(filepath.Join(dir, "usr2-"+host[one])) == 2 })
	if n := lines(filepath.Join(dir, "usr2-"+host[other])); n != 1 {
		t.Errorf("the other taskgroup got %d signals, want 1", n)
	}

	// No process of that name: each taskgroup is listed, still a success.
	data := c.do("POST", c.base+"/sig/message", bcs.DefaultClusterID, `{"msgtype":"signal","msgdata":{"processname":"no-such-proc","signal":12}}`).ok(t, "signal nobody")
	failures, _ := data.([]any)
	if len(failures) != 2 {
		t.Fatalf("want both taskgroups listed: %v", data)
	}
	for _, f := range failures {
		f := f.(map[string]any)
		if f["Status"] != "Running" || !strings.Contains(f["Err"].(string), "no process named no-such-proc") || (f["ID"] != one && f["ID"] != other) {
			t.Errorf("failure %v", f)
		}
	}

	c.do("POST", c.base+"/sig/taskgroups/no-such-taskgroup/message", bcs.DefaultClusterID, usr2).expect(t, "unknown taskgroup", 404, bcs.CodeNotFound)
	c.do("POST", c.base+"/nosuchapp/message", bcs.DefaultClusterID, usr2).expect(t, "unknown application", 404, bcs.CodeNotFound)
	c.do("POST", c.base+"/sig/message", bcs.DefaultClusterID, `{"msgtype":"foo","msgdata":{}}`).expect(t, "msgtype foo", 400, bcs.CodeMessageType)
	c.do("POST", c.base+"/sig/message", bcs.DefaultClusterID, `{"msgtype":"env-key","msgdata":{"env-key":"A","env-value":"1"}}`).expect(t, "env-key", 400, bcs.CodeParameter)
	c.do("POST", c.base+"/sig/message", bcs.DefaultClusterID, `{"msgtype":"signal","msgdata":{"processname":"x","signal":"12"}}`).expect(t, "a signal that is not a number", 400, bcs.CodeJSONDecode)
	c.do("POST", c.base+"/sig/message", bcs.DefaultClusterID, `{"msgtype":"signal","msgdata":{"processname":"x","signal":99}}`).expect(t, "signal 99", 400, bcs.CodeBadParameters)

	// A local file, in every task (here one host path, the process
	// runtime sharing the host's file system).
	local := filepath.Join(dir, "files", "deep", "app.conf")
	body := fmt.Sprintf(`{"msgtype":"local","msgdata":{"to":%q,"right":"0600","ctx":%q}}`, local, base64.StdEncoding.EncodeToString([]byte("key=value\n")))
	if data := c.do("POST", c.base+"/sig/message", bcs.DefaultClusterID, body).ok(t, "local file"); data != nil {
		t.Errorf("local: %v", data)
	}
	if got, err := os.ReadFile(local); err != nil || string(got) != "key=value\n" {
		t.Errorf("local file: %q %v", got, err)
	}
	if fi, err := os.Stat(local); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("local file mode: %v %v", fi, err)
	}
	if os.Geteuid() == 0 {
		owned := filepath.Join(dir, "files", "owned")
		body := fmt.Sprintf(`{"msgtype":"local","msgdata":{"to":%q,"user":"4321:4321","right":"rw","ctx":"eA=="}}`, owned)
		c.do("POST", c.base+"/sig/taskgroups/"+one+"/message", bcs.DefaultClusterID, body).expect(t, "local file with an owner", 200, 0)
		if fi, err := os.Stat(owned); err != nil || fi.Sys().(*syscall.Stat_t).Uid != 4321 || fi.Mode().Perm() != 0o644 {
			t.Errorf("owned file: %v %v", fi, err)
		}
	}

	// A remote file, fetched by the server.
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/conf" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "from afar\n")
	}))
	defer remote.Close()
	remoteTo := filepath.Join(dir, "files", "remote.conf")
	body = fmt.Sprintf(`{"msgtype":"remote","msgdata":{"to":%q,"right":"rw","remote":%q}}`, remoteTo, remote.URL+"/conf")
	if data := c.do("POST", c.base+"/sig/message", bcs.DefaultClusterID, body).ok(t, "remote file"); data != nil {
		t.Errorf("remote: %v", data)
	}
	if got, err := os.ReadFile(remoteTo); err != nil || string(got) != "from afar\n" {
		t.Errorf("remote file: %q %v", got, err)
	}
	body = fmt.Sprintf(`{"msgtype":"remote","msgdata":{"to":%q,"remote":%q}}`, remoteTo, remote.URL+"/missing")
	c.do("POST", c.base+"/sig/message", bcs.DefaultClusterID, body).expect(t, "a remote file that is not there", 502, bcs.CodeCommon)

	// A taskgroup that never runs (its command is missing, and it is
	// not restarted) is listed as not reached.
	c.do("POST", c.base, bcs.DefaultClusterID, signalApp(ns, "broken", filepath.Join(dir, "empty"), 1)).expect(t, "create broken", 200, 0)
	var brokenID string
	waitFor(t, "the broken taskgroup Failed", func() bool {
		tgs := c.taskgroups("broken")
		if len(tgs) == 1 && tgs[0]["Status"] == "Failed" {
			brokenID = tgs[0]["ID"].(string)
			return true
		}
		return false
	})
	data = c.do("POST", c.base+"/broken/message", bcs.DefaultClusterID, usr2).ok(t, "signal a failed taskgroup")
	failures, _ = data.([]any)
	if len(failures) != 1 {
		t.Fatalf("want the failed taskgroup listed: %v", data)
	}
	if f := failures[0].(map[string]any); f["ID"] != brokenID || f["Status"] != "Failed" || f["Err"] != "taskgroup "+brokenID+" must be running" {
		t.Errorf("failure %v", f)
	}

	// A caller refused pods/exec is refused (403) in the route's unit
	// test: this server lets every authenticated user do everything.
}

// TestBCSMessageExecOptions: the node path of the API server's own
// commands (nodeclient.Connector, as the server uses it, with the server's
// agent client certificate): exec with env, workingDir and user, signal,
// file; and a client's pods/exec or nodes/proxy exec cannot set the
// options.
func TestBCSMessageExecOptions(t *testing.T) {
	s, node := SharedCluster(t)
	ns := s.Namespace(t)
	createPod(t, s, ns, shPod("opts", "sleep 3600"))
	pod := waitPod(t, s, ns, "opts", "Running", running)

	pki := filepath.Join(s.DataDir, "pki")
	cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "agent-client.crt"), filepath.Join(pki, "agent-client.key"))
	if err != nil {
		t.Fatal(err)
	}
	agents := nodeclient.New(nodeGetter{s.Client}, cert)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Not t.TempDir: its parent is closed to other users.
	wd, err := os.MkdirTemp("", "podyard-exec-wd-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(wd)
	os.Chmod(wd, 0o755)
	var out, errOut bytes.Buffer
	opts := nodeclient.ExecOptions{Env: []string{"FOO=from-options", "HOME=/nowhere"}, WorkingDir: wd}
	if os.Geteuid() == 0 {
		opts.User = "65534:65534"
	}
	err = agents.Exec(ctx, pod, "main", []string{"sh", "-c", "echo $FOO $HOME; pwd; id -u; id -g"}, opts, nil, &out, &errOut)
	want := fmt.Sprintf("from-options /nowhere\n%s\n%d\n%d\n", wd, os.Geteuid(), os.Getegid())
	if os.Geteuid() == 0 {
		want = fmt.Sprintf("from-options /nowhere\n%s\n65534\n65534\n", wd)
	}
	if err != nil || out.String() != want {
		t.Errorf("exec with options: %q (stderr %q) %v; want %q", out.String(), errOut.String(), err, want)
	}
	out.Reset()
	err = agents.Exec(ctx, pod, "main", []string{"sh", "-c", "exit 3"}, nodeclient.ExecOptions{}, strings.NewReader(""), &out, nil)
	if code, ok := err.(interface{ ExitStatus() int }); !ok || code.ExitStatus() != 3 {
		t.Errorf("exit code: %v", err)
	}
	if err := agents.Exec(ctx, pod, "main", []string{"true"}, nodeclient.ExecOptions{WorkingDir: "relative"}, nil, &out, nil); err == nil {
		t.Error("a relative workingDir must be refused")
	}
	// A timeout ends the command on the node, not only the session.
	start := time.Now()
	err = agents.Exec(ctx, pod, "main", []string{"sleep", "31337"}, nodeclient.ExecOptions{Timeout: time.Second}, nil, &out, nil)
	if err == nil || time.Since(start) > 20*time.Second {
		t.Errorf("exec with a timeout of 1s: %v after %s", err, time.Since(start))
	}
	waitFor(t, "the timed-out command gone from the node", func() bool { return !processWithArgs("sleep\x0031337") })

	n, err := agents.Signal(ctx, pod, "main", "sleep", int(syscall.SIGCONT))
	if err != nil || n != 1 {
		t.Errorf("signal: %d %v", n, err)
	}
	if n, err := agents.Signal(ctx, pod, "main", "nothing-by-this-name", 15); err != nil || n != 0 {
		t.Errorf("signal nobody: %d %v", n, err)
	}
	file := filepath.Join(t.TempDir(), "x", "y")
	if err := agents.WriteFile(ctx, pod, "main", file, []byte("content"), 0o640, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(file); string(got) != "content" {
		t.Errorf("file: %q", got)
	}
	if _, err := agents.Signal(ctx, pod, "nosuch", "sleep", 15); err == nil {
		t.Error("an unknown container must be an error")
	}

	// Clients cannot set the options: pods/exec has no such parameters,
	// and the node path drops them.
	run := func(u *url.URL) map[string]string {
		t.Helper()
		outs := map[string]string{}
		for name, ex := range executors(t, s, u) {
			var out bytes.Buffer
			if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out}); err != nil {
				t.Errorf("exec over %s: %v", name, err)
			}
			outs[name] = out.String()
		}
		return outs
	}
	script := `echo ${FOO:-unset}; pwd; id -u`
	plain := s.Client.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Name("opts").SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: "main", Command: []string{"sh", "-c", script}, Stdout: true}, scheme.ParameterCodec)
	baseline := run(plain.URL())["spdy"]
	if !strings.HasPrefix(baseline, "unset\n") || strings.Contains(baseline, wd) {
		t.Fatalf("baseline exec: %q", baseline)
	}
	withOptions := plain.Param("env", "FOO=evil").Param("user", "65534").Param("workingDir", wd).Param("privileged", "1").URL()
	for name, got := range run(withOptions) {
		if got != baseline {
			t.Errorf("pods/exec over %s: %q, want %q: a client's exec options must not reach the agent", name, got, baseline)
		}
	}
	u, _ := url.Parse(s.URL + fmt.Sprintf("/api/v1/nodes/%s/proxy/exec/%s/opts/%s/main", node, ns, pod.UID))
	u.RawQuery = url.Values{"command": {"sh", "-c", script}, "stdout": {"true"}, "env": {"FOO=evil"}, "user": {"65534"}, "workingDir": {wd}, "privileged": {"1"}}.Encode()
	for name, got := range run(u) {
		if got != baseline {
			t.Errorf("nodes/proxy exec over %s: %q, want %q: a client's exec options must not reach the agent", name, got, baseline)
		}
	}
	// The agent's own endpoints are not for clients of the node proxy.
	for _, p := range []string{
		fmt.Sprintf("/api/v1/nodes/%s/proxy/podyard/signal/%s/opts/%s/main?process=sleep&signal=15", node, ns, pod.UID),
		fmt.Sprintf("/proxy/nodes/%s/podyard/file/%s/opts/%s/main?path=/tmp/x", node, ns, pod.UID),
	} {
		if out, errOut, err := s.KubectlResult("", "create", "--raw", p, "-f", "/dev/null"); err == nil || !strings.Contains(errOut, "not served through the node proxy") {
			t.Errorf("POST %s: %q %q %v, want Forbidden", p, out, errOut, err)
		}
	}
}

// nodeGetter reads Nodes for a nodeclient.Connector through the API.
type nodeGetter struct{ c kubernetes.Interface }

func (g nodeGetter) Get(ctx context.Context, name string, opts *metav1.GetOptions) (runtime.Object, error) {
	return g.c.CoreV1().Nodes().Get(ctx, name, *opts)
}

// processWithArgs tells whether a process runs whose command line (its
// arguments NUL-separated) contains args.
func processWithArgs(args string) bool {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if b, err := os.ReadFile(filepath.Join(d, "cmdline")); err == nil && strings.Contains(string(b), args) {
			return true
		}
	}
	return false
}

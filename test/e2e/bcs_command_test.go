package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/bcs/clients"
	"github.com/podyard/podyard/internal/dialect/bcs"
)

// The BCS wire of commands (CT/command.go), written from BCS's structs.
type (
	bcsCommandInfo struct {
		ID         string `json:"id"`
		CreateTime int64  `json:"createTime"`
		Spec       struct {
			CommandTargetRef struct{ Kind, Name, Namespace string } `json:"commandTargetRef"`
			Command          []string                               `json:"command"`
			ReserveTime      int                                    `json:"reserveTime"`
		} `json:"spec"`
		Status struct {
			Taskgroups []struct {
				TaskgroupID string `json:"taskgroupId"`
				Tasks       []struct {
					TaskID      string `json:"taskId"`
					Status      string `json:"status"`
					Message     string `json:"message"`
					CommInspect *struct {
						ExitCode int    `json:"exitCode"`
						Stdout   string `json:"stdout"`
						Stderr   string `json:"stderr"`
					} `json:"commInspect"`
				} `json:"tasks"`
			} `json:"taskgroups"`
			Summary struct {
				Staging, Running, Finish, Failed int
				Done                             bool
			} `json:"summary"`
		} `json:"status"`
	}
)

func commandPath(target, ns, name string) string {
	return "/command/" + target + "/" + ns + "/" + name
}

// commandBody is the seed's command body for target with spec fields extra
// (JSON members ending in a comma).
func commandBody(kind, ns, name, extra string, command ...string) string {
	return commandBodyImage(kind, ns, name, "", extra, command...)
}

// commandBodyImage is commandBody with commandTargetRef.image.
func commandBodyImage(kind, ns, name, image, extra string, command ...string) string {
	cmd := `[`
	for i, c := range command {
		if i > 0 {
			cmd += ","
		}
		cmd += fmt.Sprintf("%q", c)
	}
	return fmt.Sprintf(`{"apiVersion":"v4","kind":"Command","spec":{"commandTargetRef":{"kind":%q,"namespace":%q,"name":%q,"image":%q},%s"command":%s]}}`,
		kind, ns, name, image, extra, cmd)
}

// runCommand posts a command and waits until its summary says done.
func runCommand(t *testing.T, api *bcsAPI, target, ns, name, body string) bcsCommandInfo {
	t.Helper()
	ctx := context.Background()
	var id string
	if err := api.Raw(ctx, http.MethodPost, commandPath(target, ns, name), body, &id); err != nil {
		t.Fatalf("POST command: %v", err)
	}
	var info bcsCommandInfo
	waitFor(t, "command "+id+" done", func() bool {
		info = bcsCommandInfo{}
		if err := api.Raw(ctx, http.MethodGet, commandPath(target, ns, name)+"?id="+id, nil, &info); err != nil {
			t.Fatalf("GET command: %v", err)
		}
		return info.Status.Summary.Done
	})
	if info.ID != id || info.CreateTime == 0 {
		t.Errorf("command %s: id %q createTime %d", id, info.ID, info.CreateTime)
	}
	return info
}

// TestBCSCommand: commands to an application of 3 taskgroups of two tasks
// each (images busybox and alpine): output longer than BCS's 256 bytes
// (and one of 300 KiB) returned whole, an exit code per task, the image
// filter, env/workingDir (and user as root), spec.taskgroups, a task that
// is not Running, a timeout, retention, and the request errors.
func TestBCSCommand(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	c := newTaskGroupClient(t, s, ns)
	api := newBCSAPI(t, s)

	app := func(name string, instances int, extra string) string {
		return fmt.Sprintf(`{"apiVersion":"v4","kind":"application","metadata":{"name":%q,"namespace":%q},%s
			"restartPolicy":{"policy":"Never"},"killPolicy":{"gracePeriod":1},
			"spec":{"instance":%d,"template":{"spec":{"containers":[
				{"image":"busybox:1.36","command":"sleep","args":["3600"],"resources":{"limits":{"cpu":"0.02","memory":"16"}}},
				{"image":"alpine:3","command":"sleep","args":["3600"],"resources":{"limits":{"cpu":"0.02","memory":"16"}}}]}}}}`,
			name, ns, extra, instances)
	}
	c.do("POST", c.base, bcs.DefaultClusterID, app("cmd", 3, "")).expect(t, "create", 200, 0)
	var ids map[int]string
	waitFor(t, "three taskgroups Running", func() bool {
		var running bool
		ids, running = byIndex(c.taskgroups("cmd"))
		return running && len(ids) == 3
	})
	index := map[string]int{} // taskgroup ID → instance index
	for i, id := range ids {
		index[id] = i
	}

	// Every busybox task: 4,000 bytes and more of stdout, stderr, its
	// instance index (from its Pod's name, its HOSTNAME) as exit code.
	// A directory every user may enter (t.TempDir's parent is 0700).
	dir, err := os.MkdirTemp("", "bcs-command-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = `"user":"nobody",`
	}
	script := `printf '%04000d' 0 | tr 0 a; echo; echo "$GREETING from $(pwd) as $(id -un)"; echo oops >&2; exit $(echo $HOSTNAME | cut -d- -f2)`
	info := runCommand(t, api, "application", ns, "cmd",
		commandBodyImage("Application", ns, "cmd", "busybox", `"env":["GREETING=hello"],"workingDir":"`+dir+`",`+user, "sh", "-c", script))
	if !strings.HasPrefix(info.ID, "Application-"+ns+"-cmd-") || info.Spec.ReserveTime != 10080 {
		t.Errorf("id %s reserveTime %d", info.ID, info.Spec.ReserveTime)
	}
	if len(info.Status.Taskgroups) != 3 || info.Status.Summary.Finish != 3 {
		t.Fatalf("want 3 taskgroups finished: %+v", info.Status)
	}
	wantUser := "as "
	if user != "" {
		wantUser = "as nobody"
	}
	for _, tg := range info.Status.Taskgroups {
		if len(tg.Tasks) != 1 {
			t.Errorf("taskgroup %s: %d tasks, want only the busybox one", tg.TaskgroupID, len(tg.Tasks))
			continue
		}
		task := tg.Tasks[0]
		ref, _ := application.ParseTaskGroupID(tg.TaskgroupID)
		if task.TaskID != application.TaskID(ref, 0) || task.Status != "finish" || task.CommInspect == nil {
			t.Errorf("task %+v", task)
			continue
		}
		out := task.CommInspect
		if out.ExitCode != index[tg.TaskgroupID] {
			t.Errorf("taskgroup %s: exit code %d, want %d", tg.TaskgroupID, out.ExitCode, index[tg.TaskgroupID])
		}
		if !strings.HasPrefix(out.Stdout, strings.Repeat("a", 4000)+"\nhello from "+dir+" "+wantUser) || out.Stderr != "oops\n" {
			t.Errorf("taskgroup %s: stdout %d bytes ending %q, stderr %q", tg.TaskgroupID, len(out.Stdout), out.Stdout[max(0, len(out.Stdout)-60):], out.Stderr)
		}
	}

	// spec.taskgroups and a 300 KiB output (kept in a ConfigMap).
	info = runCommand(t, api, "application", ns, "cmd",
		commandBody("Application", ns, "cmd", `"taskgroups":["`+ids[1]+`"],`, "sh", "-c", "head -c 307200 /dev/zero | tr '\\0' b"))
	if len(info.Status.Taskgroups) != 1 || info.Status.Taskgroups[0].TaskgroupID != ids[1] || len(info.Status.Taskgroups[0].Tasks) != 2 {
		t.Fatalf("want both tasks of taskgroup %s: %+v", ids[1], info.Status)
	}
	for _, task := range info.Status.Taskgroups[0].Tasks {
		if task.Status != "finish" || task.CommInspect == nil || task.CommInspect.Stdout != strings.Repeat("b", 307200) {
			t.Errorf("task %s: %s %q, stdout of %d bytes", task.TaskID, task.Status, task.Message, len(task.CommInspect.Stdout))
		}
	}

	// A timeout: the task fails, naming it, long before the command would end.
	start := time.Now()
	info = runCommand(t, api, "application", ns, "cmd",
		commandBody("Application", ns, "cmd", `"taskgroups":["`+ids[0]+`"],"timeout":1,`, "sleep", "30.0417"))
	for _, task := range info.Status.Taskgroups[0].Tasks {
		if task.Status != "failed" || !strings.Contains(task.Message, "timeout of 1s") {
			t.Errorf("timed-out task: %s %q", task.Status, task.Message)
		}
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("a 1 s timeout took %v", took)
	}
	waitFor(t, "the timed-out command ended on the node", func() bool {
		return exec.Command("pgrep", "-f", "sleep 30.0417").Run() != nil
	})

	// A task that is not Running: a taskgroup no node can take.
	c.do("POST", c.base, bcs.DefaultClusterID, app("pending", 1,
		`"constraint":{"intersectionItem":[{"unionData":[{"name":"hostname","operate":"CLUSTER","type":3,"text":{"value":"no-such-node"}}]}]},`)).expect(t, "create pending", 200, 0)
	waitFor(t, "the pending taskgroup", func() bool { return len(c.taskgroups("pending")) == 1 })
	info = runCommand(t, api, "application", ns, "pending", commandBody("Application", ns, "pending", "", "true"))
	if len(info.Status.Taskgroups) != 1 || len(info.Status.Taskgroups[0].Tasks) != 2 || info.Status.Summary.Failed != 2 {
		t.Fatalf("not Running: %+v", info.Status)
	}
	for _, task := range info.Status.Taskgroups[0].Tasks {
		if task.Status != "failed" || !strings.HasPrefix(task.Message, "task not in running status") {
			t.Errorf("not Running task: %s %q", task.Status, task.Message)
		}
	}

	// Retention: reserveSeconds (Podyard's) ends the record; so does DELETE.
	info = runCommand(t, api, "application", ns, "cmd", commandBody("Application", ns, "cmd", `"reserveSeconds":2,`, "true"))
	waitFor(t, "the command expired", func() bool {
		err := api.Raw(ctx, http.MethodGet, commandPath("application", ns, "cmd")+"?id="+info.ID, nil, nil)
		return bcsCode(err) == bcs.CodeNotFound
	})
	info = runCommand(t, api, "application", ns, "cmd", commandBody("Application", ns, "cmd", "", "true"))
	name, _ := bcs.CommandName(info.ID)
	if err := api.Raw(ctx, http.MethodDelete, commandPath("application", ns, "cmd")+"?id="+info.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := api.Raw(ctx, http.MethodGet, commandPath("application", ns, "cmd")+"?id="+info.ID, nil, nil); bcsCode(err) != bcs.CodeNotFound {
		t.Errorf("GET after DELETE: %v", err)
	}
	if err := api.Raw(ctx, http.MethodDelete, commandPath("application", ns, "cmd")+"?id="+info.ID, nil, nil); err != nil {
		t.Errorf("DELETE of a deleted command: %v", err)
	}
	// The spilled outputs go with their Commands (garbage collector).
	waitFor(t, "no command output left", func() bool {
		cms, err := s.Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: "bcs.podyard.io/command=" + name})
		return err == nil && len(cms.Items) == 0
	})

	// Request errors.
	for _, tc := range []struct {
		what, path, body string
		code             int
	}{
		{"URL and commandTargetRef differ", commandPath("application", ns, "cmd"), commandBody("Application", ns, "other", "", "true"), bcs.CodeRequestData},
		{"deployment URL, Application ref", commandPath("deployment", ns, "cmd"), commandBody("Application", ns, "cmd", "", "true"), bcs.CodeRequestData},
		{"not JSON", commandPath("application", ns, "cmd"), `{"spec":`, bcs.CodeJSONDecode},
		{"empty command", commandPath("application", ns, "cmd"), commandBody("Application", ns, "cmd", ""), bcs.CodeBadParameters},
		{"unknown application", commandPath("application", ns, "nosuch"), commandBody("Application", ns, "nosuch", "", "true"), bcs.CodeNotFound},
		{"unknown taskgroup", commandPath("application", ns, "cmd"), commandBody("Application", ns, "cmd", `"taskgroups":["9.cmd.`+ns+`.10001.1"],`, "true"), bcs.CodeBadParameters},
	} {
		if err := api.Raw(ctx, http.MethodPost, tc.path, tc.body, nil); bcsCode(err) != tc.code {
			t.Errorf("%s: %v, want code %d", tc.what, err, tc.code)
		}
	}
	if err := api.Raw(ctx, http.MethodGet, commandPath("application", ns, "cmd")+"?id=Application-"+ns+"-cmd-1", nil, nil); bcsCode(err) != bcs.CodeNotFound {
		t.Errorf("unknown id: %v", err)
	}
	var id string
	if err := api.Raw(ctx, http.MethodPost, commandPath("application", ns, "cmd"), commandBody("Application", ns, "cmd", "", "true"), &id); err != nil {
		t.Fatal(err)
	}
	if err := api.Raw(ctx, http.MethodGet, commandPath("application", ns, "pending")+"?id="+id, nil, nil); bcsCode(err) != bcs.CodeRequestData {
		t.Errorf("another application's command: %v", err)
	}
}

// TestBCSCommandDeployment: a command to a deployment paused in the middle
// of a rolling update reaches the taskgroups of both its applications
// (VERSION v1 and v2); its ID is the lower-cased form.
func TestBCSCommandDeployment(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	tg := newTaskGroupClient(t, s, ns)
	d := deploymentClient{tg.bcsClient, ns, "/namespaces/" + ns + "/deployments"}
	api := newBCSAPI(t, s)

	d.do("POST", d.base, bcs.DefaultClusterID, deploymentBody(ns, "web", 2, "v1", `"rollingOrder":"CreateFirst"`)).expect(t, "create", 200, 0)
	d.waitStatus("web", "Running")
	waitFor(t, "2 taskgroups of web Running", func() bool {
		ids, running := byIndex(tg.taskgroups("web"))
		return running && len(ids) == 2
	})
	d.update("web", deploymentBody(ns, "web", 2, "v2",
		`"maxUnavilable":0,"maxSurge":1,"upgradeDuration":0,"rollingManually":true,"rollingOrder":"CreateFirst"`)).expect(t, "update", 200, 0)
	v := d.waitStatus("web", "UpdatePaused")
	if v.Application == nil || v.ApplicationExt == nil {
		t.Fatalf("paused update: application %+v, ext %+v", v.Application, v.ApplicationExt)
	}
	waitFor(t, "the new application's taskgroup Running", func() bool {
		ids, running := byIndex(tg.taskgroups(v.ApplicationExt.Name))
		return running && len(ids) >= 1
	})

	info := runCommand(t, api, "deployment", ns, "web", commandBody("Deployment", ns, "web", "", "sh", "-c", "echo $VERSION"))
	if !strings.HasPrefix(info.ID, strings.ToLower("deployment-"+ns+"-web-")) || info.ID != strings.ToLower(info.ID) {
		t.Errorf("id %s, want the lower-cased deployment form", info.ID)
	}
	apps, versions := map[string]int{}, map[string]int{}
	for _, g := range info.Status.Taskgroups {
		ref, err := application.ParseTaskGroupID(g.TaskgroupID)
		if err != nil {
			t.Fatal(err)
		}
		apps[ref.App]++
		for _, task := range g.Tasks {
			if task.Status != "finish" || task.CommInspect == nil {
				t.Errorf("task %s: %s %q", task.TaskID, task.Status, task.Message)
				continue
			}
			versions[strings.TrimSpace(task.CommInspect.Stdout)]++
		}
	}
	if apps[v.Application.Name] == 0 || apps[v.ApplicationExt.Name] == 0 || versions["v1"] == 0 || versions["v2"] == 0 {
		t.Errorf("targets by application %v, outputs %v: want both applications, v1 and v2", apps, versions)
	}
	if err := api.Raw(context.Background(), http.MethodPost, commandPath("deployment", ns, "nosuch"), commandBody("Deployment", ns, "nosuch", "", "true"), nil); bcsCode(err) != bcs.CodeNotFound {
		t.Errorf("unknown deployment: %v", err)
	}
}

// TestBCSCommandRestart: a task whose command was running when the server
// stopped is reported failed by the next server (its outcome is unknown),
// and the command is done.
func TestBCSCommandRestart(t *testing.T) {
	if externalEtcd() {
		t.Skip("workload tests run in the embedded-etcd pass; `podyard up` embeds etcd")
	}
	s, node := StartCluster(t) // its own: restarted (and reports to t already)
	ns := s.Namespace(t)
	c := newTaskGroupClient(t, s, ns)
	api := newBCSAPI(t, s)
	ctx := context.Background()

	c.do("POST", c.base, bcs.DefaultClusterID, sleeperApp(ns, "long", 1, "", "v1")).expect(t, "create", 200, 0)
	waitFor(t, "the taskgroup Running", func() bool {
		ids, running := byIndex(c.taskgroups("long"))
		return running && len(ids) == 1
	})
	path := commandPath("application", ns, "long")
	var id string
	if err := api.Raw(ctx, http.MethodPost, path, commandBody("Application", ns, "long", "", "sleep", "20.0731"), &id); err != nil {
		t.Fatal(err)
	}
	var info bcsCommandInfo
	waitFor(t, "the task running", func() bool {
		info = bcsCommandInfo{}
		return api.Raw(ctx, http.MethodGet, path+"?id="+id, nil, &info) == nil && info.Status.Summary.Running == 1
	})
	restarted := time.Now()
	s.Restart()
	waitFor(t, "the task failed after the restart", func() bool {
		info = bcsCommandInfo{}
		return api.Raw(ctx, http.MethodGet, path+"?id="+id, nil, &info) == nil && info.Status.Summary.Done
	})
	task := info.Status.Taskgroups[0].Tasks[0]
	if task.Status != "failed" || !strings.Contains(task.Message, "restarted") {
		t.Errorf("task after the restart: %s %q", task.Status, task.Message)
	}
	// Stopping podyard before its agent has registered again fails the stop.
	waitFor(t, "the node agent back", func() bool {
		lease, err := s.Client.CoordinationV1().Leases("kube-node-lease").Get(ctx, node, metav1.GetOptions{})
		return err == nil && lease.Spec.RenewTime != nil && lease.Spec.RenewTime.After(restarted)
	})
}

// TestBCSCommandForeignTarget: a Command made through the Kubernetes API
// (not the BCS route) whose targets name another application's taskgroup
// runs nothing there: only the taskgroups of the application it names.
func TestBCSCommandForeignTarget(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	c := newTaskGroupClient(t, s, ns)
	for _, app := range []string{"mine", "other"} {
		c.do("POST", c.base, bcs.DefaultClusterID, sleeperApp(ns, app, 1, "", "v1")).expect(t, "create "+app, 200, 0)
	}
	var other *corev1.Pod
	waitFor(t, "the other application's taskgroup Running", func() bool {
		pods, err := s.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: application.LabelApplication + "=other"})
		if err != nil || len(pods.Items) != 1 || pods.Items[0].Status.Phase != corev1.PodRunning {
			return false
		}
		other = &pods.Items[0]
		return true
	})
	commands, err := clients.NewCommands(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	cmd := &v1alpha1.Command{
		ObjectMeta: metav1.ObjectMeta{Name: "forged"},
		ID:         "Application-" + ns + "-mine-1",
		Spec: v1alpha1.CommandSpec{
			CommandTargetRef: v1alpha1.TargetRef{Kind: "Application", Name: "mine", Namespace: ns},
			Command:          []string{"touch", filepath.Join(t.TempDir(), "ran")},
		},
		Status: v1alpha1.CommandStatus{Taskgroups: []v1alpha1.TaskgroupCommandInfo{{
			TaskgroupID: other.Annotations[application.AnnotationTaskGroupID], Pod: other.Name,
			Tasks: []v1alpha1.TaskCommandInfo{{TaskID: "t", Container: other.Spec.Containers[0].Name, Status: "staging"}},
		}}},
	}
	if _, err := commands.Namespace(ns).Create(context.Background(), cmd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var task v1alpha1.TaskCommandInfo
	waitFor(t, "the forged task ended", func() bool {
		got, err := commands.Namespace(ns).Get(context.Background(), "forged", metav1.GetOptions{})
		if err != nil || len(got.Status.Taskgroups) == 0 || len(got.Status.Taskgroups[0].Tasks) == 0 {
			return false
		}
		task = got.Status.Taskgroups[0].Tasks[0]
		return task.Status == "failed" || task.Status == "finish"
	})
	if task.Status != "failed" || !strings.Contains(task.Message, "is not a taskgroup of Application") {
		t.Errorf("a task in another application's taskgroup: %s %q, want failed, not a taskgroup of the target", task.Status, task.Message)
	}
}

package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/dialect/bcs"
)

// TestBCSApplicationRunning: with the application controller and a node,
// an application posted over the BCS API gets its taskgroups, which reach
// Running as GET taskgroups shows them (on the node, with its address);
// kubectl sees them as Pods and execs into them; an update with
// args=resource resizes them in place; scale and DELETE
// ?enforce=1 take them away. The seed's image-only
// application cannot run under the process runtime: its taskgroups fail
// with a message and the application is Abnormal.
func TestBCSApplicationRunning(t *testing.T) {
	s, node := SharedCluster(t)
	ns := s.Namespace(t) // a DNS label: the BCS namespace is that namespace
	c := &bcsClient{t: t, base: s.URL + "/bcsapi/v4/scheduler/mesos", token: s.Config.BearerToken,
		http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(t, s)}}}}
	const cluster = bcs.DefaultClusterID
	base := "/namespaces/" + ns + "/applications"
	ctx := context.Background()

	body := `{"apiVersion":"v4","kind":"application","metadata":{"name":"sleeper","namespace":"` + ns + `"},
		"restartPolicy":{"policy":"Always"},"killPolicy":{"gracePeriod":1},
		"spec":{"instance":2,"template":{"spec":{"containers":[
			{"image":"busybox","command":"sh","args":["-c","exec sleep 3600"],"resources":{"limits":{"cpu":"0.05","memory":"16"}}}]}}}}`
	c.do("POST", base, cluster, body).expect(t, "create", 200, 0)

	taskgroups := func(app string) []map[string]any {
		list, _ := c.do("GET", base+"/"+app+"/taskgroups", cluster, "").ok(t, "taskgroups").([]any)
		var out []map[string]any
		for _, tg := range list {
			out = append(out, tg.(map[string]any))
		}
		return out
	}
	waitFor(t, "two taskgroups Running", func() bool {
		tgs := taskgroups("sleeper")
		if len(tgs) != 2 {
			return false
		}
		for _, tg := range tgs {
			tasks, _ := tg["Taskgroup"].([]any)
			if tg["Status"] != "Running" || len(tasks) != 1 || tasks[0].(map[string]any)["Status"] != "Running" {
				return false
			}
		}
		return true
	})
	for i, tg := range taskgroups("sleeper") {
		task := tg["Taskgroup"].([]any)[0].(map[string]any)
		if tg["HostName"] != node || tg["InstanceID"] != float64(i) || !strings.HasPrefix(tg["ID"].(string), fmt.Sprintf("%d.sleeper.%s.10001.", i, ns)) ||
			task["AgentIPAddress"] == "" || task["Command"] != "sh" {
			t.Errorf("taskgroup %d: %v", i, tg)
		}
	}
	waitFor(t, "the application Running", func() bool {
		app, _ := c.do("GET", base+"/sleeper", cluster, "").ok(t, "get").(map[string]any)
		return app["Status"] == "Running" && app["RunningInstances"] == float64(2) && app["Instances"] == float64(2)
	})

	// The same taskgroups through kubectl: Pods of the application, Running,
	// and exec runs in a task's container.
	out := s.Kubectl("get", "pods", "-n", ns, "-l", application.LabelApplication+"=sleeper", "--no-headers", "-o", "custom-columns=NAME:.metadata.name,PHASE:.status.phase")
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[1] == "Running" {
			names = append(names, f[0])
		}
	}
	if len(names) != 2 {
		t.Fatalf("kubectl get pods: %q, want the two taskgroup Pods Running", out)
	}
	if got := strings.TrimSpace(s.Kubectl("exec", "-n", ns, names[0], "--", "sh", "-c", "echo in-$0", "taskgroup")); got != "in-taskgroup" {
		t.Errorf("kubectl exec into taskgroup %s: %q", names[0], got)
	}

	// args=resource: the running taskgroups get the new limits in place,
	// same IDs, no container restarted.
	idsBefore := map[string]bool{}
	for _, tg := range taskgroups("sleeper") {
		idsBefore[tg["ID"].(string)] = true
	}
	bigger := strings.NewReplacer(`"cpu":"0.05"`, `"cpu":"0.1"`, `"memory":"16"`, `"memory":"24"`).Replace(body)
	c.do("PUT", base+"?args=resource", cluster, bigger).expect(t, "update args=resource", 200, 0)
	waitFor(t, "both taskgroup Pods resized in place", func() bool {
		for _, name := range names {
			pod, err := s.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil || len(pod.Status.ContainerStatuses) != 1 {
				return false
			}
			st := pod.Status.ContainerStatuses[0]
			if st.RestartCount != 0 || st.Resources == nil || st.Resources.Limits.Cpu().MilliValue() != 100 ||
				st.Resources.Limits.Memory().Value() != 24<<20 || pod.Spec.Containers[0].Resources.Limits.Cpu().MilliValue() != 100 {
				return false
			}
		}
		return true
	})
	for _, tg := range taskgroups("sleeper") {
		if !idsBefore[tg["ID"].(string)] {
			t.Errorf("args=resource replaced a taskgroup: %s not among %v", tg["ID"], idsBefore)
		}
	}

	c.do("PUT", base+"/sleeper/scale/1", cluster, "").expect(t, "scale to 1", 200, 0)
	waitFor(t, "one taskgroup left, index 0", func() bool {
		tgs := taskgroups("sleeper")
		return len(tgs) == 1 && tgs[0]["InstanceID"] == float64(0)
	})

	// The seed's application names an image and no command.
	seedBytes, err := os.ReadFile(filepath.Join(repoRoot(), "internal/bcs/application/testdata/seed-application.json"))
	if err != nil {
		t.Fatal(err)
	}
	seed := strings.ReplaceAll(string(seedBytes), `"defaultGroup"`, `"`+ns+`"`)
	seed = strings.Replace(seed, `"instance": 2`, `"instance": 1`, 1)
	seed = strings.Replace(seed, `"cpu": "2"`, `"cpu": "0.05"`, 1) // the node may have no 2 cores free
	c.do("POST", base, cluster, seed).expect(t, "create the seed's application", 200, 0)
	var last []map[string]any
	defer func() {
		if t.Failed() {
			t.Logf("the seed's taskgroups: %v", last)
		}
	}()
	waitFor(t, "the seed's taskgroup failed with a message", func() bool {
		last = taskgroups("app-test")
		return len(last) == 1 && last[0]["Status"] == "Failed" && last[0]["Message"] != ""
	})
	waitFor(t, "the seed's application Abnormal", func() bool {
		app, _ := c.do("GET", base+"/app-test", cluster, "").ok(t, "get").(map[string]any)
		return app["Status"] == "Abnormal" && app["Message"] != ""
	})

	for _, app := range []string{"sleeper", "app-test"} {
		c.do("DELETE", base+"/"+app+"?enforce=1", cluster, "").expect(t, "delete "+app, 200, 0)
	}
	waitFor(t, "every taskgroup Pod gone", func() bool {
		pods, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: application.LabelApplication})
		return err == nil && len(pods.Items) == 0
	})
}

package e2e

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/dialect/bcs"
)

// taskGroupClient is a BCS client of one namespace's applications on the
// shared cluster.
type taskGroupClient struct {
	*bcsClient
	base string // /namespaces/{ns}/applications
}

func newTaskGroupClient(t *testing.T, s *Server, ns string) taskGroupClient {
	c := &bcsClient{t: t, base: s.URL + "/bcsapi/v4/scheduler/mesos", token: s.Config.BearerToken,
		http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(t, s)}}}}
	return taskGroupClient{c, "/namespaces/" + ns + "/applications"}
}

func (c taskGroupClient) taskgroups(app string) []map[string]any {
	c.t.Helper()
	list, _ := c.do("GET", c.base+"/"+app+"/taskgroups", bcs.DefaultClusterID, "").ok(c.t, "taskgroups").([]any)
	var out []map[string]any
	for _, tg := range list {
		out = append(out, tg.(map[string]any))
	}
	return out
}

func (c taskGroupClient) app(name string) map[string]any {
	c.t.Helper()
	app, _ := c.do("GET", c.base+"/"+name, bcs.DefaultClusterID, "").ok(c.t, "get").(map[string]any)
	return app
}

// byIndex is the taskgroup IDs by instance index; ok is false when an
// index has more than one or a taskgroup is not Running.
func byIndex(tgs []map[string]any) (ids map[int]string, running bool) {
	ids, running = map[int]string{}, true
	for _, tg := range tgs {
		i := int(tg["InstanceID"].(float64))
		if _, dup := ids[i]; dup {
			running = false
		}
		ids[i] = tg["ID"].(string)
		running = running && tg["Status"] == "Running"
	}
	return ids, running
}

// stamp is the nanosecond stamp at the end of a taskgroup ID.
func stamp(t *testing.T, id string) time.Time {
	t.Helper()
	ref, err := application.ParseTaskGroupID(id)
	if err != nil {
		t.Fatal(err)
	}
	return time.Unix(0, ref.UnixNano)
}

func sleeperApp(ns, name string, instances int, extra, env string) string {
	return `{"apiVersion":"v4","kind":"application","metadata":{"name":"` + name + `","namespace":"` + ns + `"},` + extra + `
		"killPolicy":{"gracePeriod":1},
		"spec":{"instance":` + strconv.Itoa(instances) + `,"template":{"spec":{"containers":[
			{"image":"busybox","command":"sh","args":["-c","exec sleep 3600"],"env":[{"name":"VERSION","value":"` + env + `"}],
			 "resources":{"limits":{"cpu":"0.02","memory":"16"}}}]}}}}`
}

// TestBCSTaskGroupUpdate: PUT ?instances=N with updatePolicy.updateDelay
// replaces the taskgroups one at a time, oldest first, at least
// updateDelay apart, each at its index with a new ID from the new
// definition; the application is Operating ("application in updating")
// meanwhile and Running afterwards. A second update meanwhile is refused.
func TestBCSTaskGroupUpdate(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	c := newTaskGroupClient(t, s, ns)
	const delay = 3 * time.Second
	policy := `"restartPolicy":{"policy":"Always"},"updatePolicy":{"updateDelay":3},`
	c.do("POST", c.base, bcs.DefaultClusterID, sleeperApp(ns, "paced", 3, policy, "v1")).expect(t, "create", 200, 0)
	var before map[int]string
	waitFor(t, "three taskgroups Running", func() bool {
		ids, running := byIndex(c.taskgroups("paced"))
		before = ids
		return running && len(ids) == 3
	})
	waitFor(t, "the application Running", func() bool { return c.app("paced")["Status"] == "Running" })

	start := time.Now()
	c.do("PUT", c.base+"?instances=3", bcs.DefaultClusterID, sleeperApp(ns, "paced", 3, policy, "v2")).expect(t, "update", 200, 0)
	c.do("PUT", c.base+"?instances=3", bcs.DefaultClusterID, sleeperApp(ns, "paced", 3, policy, "v3")).expect(t, "an update during an update", 409, bcs.CodeCommon)

	// Watch it closely: which new IDs appear, and the application's status.
	var statuses []string
	var after map[int]string
	deadline := time.Now().Add(60 * time.Second)
	for {
		app := c.app("paced")
		if st := fmt.Sprint(app["Status"], ": ", app["Message"]); len(statuses) == 0 || statuses[len(statuses)-1] != st {
			statuses = append(statuses, st)
		}
		ids, running := byIndex(c.taskgroups("paced"))
		fresh := 0
		for i, id := range ids {
			if id != before[i] {
				fresh++
			}
		}
		if fresh == 3 && running && len(ids) == 3 && app["Status"] == "Running" {
			after = ids
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("update not done after 60 s: taskgroups %v, statuses %v", ids, statuses)
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(start)
	t.Logf("update of 3 with updateDelay 3 s: %v; statuses %v", took.Round(100*time.Millisecond), statuses)
	if !slices.Contains(statuses, "Operating: "+application.MessageUpdating) {
		t.Errorf("never Operating while updating: %v", statuses)
	}
	// Rebuilt in the order of age, each one at least updateDelay after the last.
	order := []int{0, 1, 2}
	slices.SortFunc(order, func(a, b int) int { return stamp(t, before[a]).Compare(stamp(t, before[b])) })
	for k, i := range order {
		if !strings.HasPrefix(after[i], fmt.Sprintf("%d.paced.%s.10001.", i, ns)) || after[i] == before[i] {
			t.Errorf("index %d: %s, was %s", i, after[i], before[i])
		}
		if k > 0 {
			prev := order[k-1]
			if gap := stamp(t, after[i]).Sub(stamp(t, after[prev])); gap < delay {
				t.Errorf("index %d rebuilt %v after index %d, want at least %v", i, gap, prev, delay)
			}
		}
	}
	if took < 2*delay {
		t.Errorf("the update took %v, want at least 2 × updateDelay", took)
	}
	// The new taskgroups run the new definition.
	for _, tg := range c.taskgroups("paced") {
		task := tg["Taskgroup"].([]any)[0].(map[string]any)
		if env, _ := task["Env"].(map[string]any); env["VERSION"] != "v2" {
			t.Errorf("taskgroup %s env %v", tg["ID"], task["Env"])
		}
	}
	if app := c.app("paced"); app["Message"] != "application is running" || app["RunningInstances"] != float64(3) {
		t.Errorf("after the update: %v", app)
	}
	c.do("DELETE", c.base+"/paced?enforce=1", bcs.DefaultClusterID, "").expect(t, "delete", 200, 0)
}

// TestBCSTaskGroupRescheduler: PUT .../taskgroups/{id}/rescheduler kills
// the taskgroup and makes a new one at its index with a new ID and
// ReschededTimes 1; the other taskgroup is untouched. hostRetainTime keeps
// the new one to the old node; an unknown taskgroup is 1405202.
func TestBCSTaskGroupRescheduler(t *testing.T) {
	s, node := SharedCluster(t)
	ns := s.Namespace(t)
	c := newTaskGroupClient(t, s, ns)
	c.do("POST", c.base, bcs.DefaultClusterID, sleeperApp(ns, "moved", 2, `"restartPolicy":{"policy":"OnFailure"},`, "v1")).expect(t, "create", 200, 0)
	var before map[int]string
	waitFor(t, "two taskgroups Running", func() bool {
		ids, running := byIndex(c.taskgroups("moved"))
		before = ids
		return running && len(ids) == 2
	})

	c.do("PUT", c.base+"/moved/taskgroups/"+before[1]+"/rescheduler", bcs.DefaultClusterID, "").expect(t, "rescheduler", 200, 0)
	var tgs []map[string]any
	waitFor(t, "index 1 rescheduled and Running", func() bool {
		tgs = c.taskgroups("moved")
		ids, running := byIndex(tgs)
		return running && len(tgs) == 2 && ids[0] == before[0] && ids[1] != before[1]
	})
	for _, tg := range tgs {
		want := 0.0
		if tg["InstanceID"] == float64(1) {
			want = 1
			if !strings.HasPrefix(tg["ID"].(string), "1.moved."+ns+".10001.") || tg["LastReschedTime"].(float64) < float64(time.Now().Add(-time.Minute).Unix()) {
				t.Errorf("rescheduled taskgroup %v", tg)
			}
		}
		if tg["ReschededTimes"] != want {
			t.Errorf("taskgroup %s ReschededTimes %v, want %v", tg["ID"], tg["ReschededTimes"], want)
		}
	}

	// hostRetainTime: kept to the node it was on (the only one here, so
	// this shows the replacement is placed, not held).
	c.do("PUT", c.base+"/moved/taskgroups/"+before[0]+"/rescheduler?hostRetainTime=30", bcs.DefaultClusterID, "").expect(t, "rescheduler with hostRetainTime", 200, 0)
	waitFor(t, "index 0 rescheduled on its node", func() bool {
		tgs = c.taskgroups("moved")
		ids, running := byIndex(tgs)
		return running && len(tgs) == 2 && ids[0] != before[0]
	})
	for _, tg := range tgs {
		if tg["InstanceID"] == float64(0) && (tg["HostName"] != node || tg["ReschededTimes"] != float64(1)) {
			t.Errorf("taskgroup 0 after rescheduler with hostRetainTime: %v", tg)
		}
	}

	c.do("PUT", c.base+"/moved/taskgroups/0.moved."+ns+".10001.1/rescheduler", bcs.DefaultClusterID, "").expect(t, "unknown taskgroup", 404, bcs.CodeNotFound)
	c.do("PUT", c.base+"/moved/taskgroups/"+before[0]+"/rescheduler?hostRetainTime=soon", bcs.DefaultClusterID, "").expect(t, "bad hostRetainTime", 400, bcs.CodeBadParameters)
	c.do("DELETE", c.base+"/moved?enforce=1", bcs.DefaultClusterID, "").expect(t, "delete", 200, 0)
}

// TestBCSTaskGroupRestartPolicy: a task that exits 1. OnFailure with
// maxtimes 2: the taskgroup is replaced (new ID, same index) twice and
// then left Failed with ReschededTimes 2, the application Abnormal. Never:
// the failed taskgroup stays as it is.
func TestBCSTaskGroupRestartPolicy(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	c := newTaskGroupClient(t, s, ns)
	failing := func(name, policy string) string {
		return `{"apiVersion":"v4","kind":"application","metadata":{"name":"` + name + `","namespace":"` + ns + `"},
			"restartPolicy":` + policy + `,"killPolicy":{"gracePeriod":1},
			"spec":{"instance":1,"template":{"spec":{"containers":[
				{"image":"busybox","command":"sh","args":["-c","exit 1"],"resources":{"limits":{"cpu":"0.02","memory":"16"}}}]}}}}`
	}
	c.do("POST", c.base, bcs.DefaultClusterID, failing("crasher", `{"policy":"OnFailure","interval":0,"backoff":1,"maxtimes":2}`)).expect(t, "create crasher", 200, 0)
	c.do("POST", c.base, bcs.DefaultClusterID, failing("once", `{"policy":"Never"}`)).expect(t, "create once", 200, 0)

	seen := map[string]bool{}
	var last map[string]any
	waitFor(t, "crasher Failed after 2 restarts", func() bool {
		tgs := c.taskgroups("crasher")
		for _, tg := range tgs {
			seen[tg["ID"].(string)] = true
		}
		if len(tgs) != 1 {
			return false
		}
		last = tgs[0]
		return last["Status"] == "Failed" && last["ReschededTimes"] == float64(2)
	})
	waitFor(t, "once Failed", func() bool {
		tgs := c.taskgroups("once")
		return len(tgs) == 1 && tgs[0]["Status"] == "Failed"
	})
	once := c.taskgroups("once")[0]
	// Watch both for longer than the next restart would take (Podyard's
	// floor after 2 restarts is 4 s, after none 1 s): nothing changes.
	for end := time.Now().Add(6 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		if tgs := c.taskgroups("crasher"); len(tgs) != 1 || tgs[0]["ID"] != last["ID"] {
			t.Fatalf("crasher restarted past maxtimes: %v", tgs)
		}
		if tgs := c.taskgroups("once"); len(tgs) != 1 || tgs[0]["ID"] != once["ID"] {
			t.Fatalf("a Never taskgroup was replaced: %v", tgs)
		}
	}
	for id := range seen {
		if !strings.HasPrefix(id, "0.crasher."+ns+".10001.") {
			t.Errorf("crasher taskgroup %s not at index 0", id)
		}
	}
	if len(seen) < 2 || len(seen) > 3 {
		t.Errorf("crasher taskgroups seen: %v, want the first and up to 2 replacements", seen)
	}
	if once["ReschededTimes"] != float64(0) || !strings.Contains(fmt.Sprint(once["Message"]), "exit code 1") {
		t.Errorf("once: %v", once)
	}
	if app := c.app("crasher"); app["Status"] != "Abnormal" {
		t.Errorf("crasher application %v", app)
	}
	for _, name := range []string{"crasher", "once"} {
		c.do("DELETE", c.base+"/"+name+"?enforce=1", bcs.DefaultClusterID, "").expect(t, "delete "+name, 200, 0)
	}
}

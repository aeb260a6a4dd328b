package e2e

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/bcs/attributes"
	"github.com/podyard/podyard/internal/dialect/bcs"
)

// The cluster views and agent settings as BCS sends them (bcs-common's
// BcsClusterResource, ClusterEndpoints, BcsClusterAgentSetting and the
// scheduler's OfferWithDelta over mesos.Offer), written from the wire.

type bcsAgentAttribute struct {
	Name   string `json:"name"`
	Type   int    `json:"type"`
	Scalar *struct {
		Value float64 `json:"value"`
	} `json:"scalar"`
	Text *struct {
		Value string `json:"value"`
	} `json:"text"`
}

type bcsClusterAgent struct {
	HostName   string              `json:"hostname"`
	IP         string              `json:"ip"`
	CpuTotal   float64             `json:"cputotal"` //nolint:revive // the wire name
	MemTotal   float64             `json:"memtotal"`
	CpuUsed    float64             `json:"cpuused"` //nolint:revive // the wire name
	MemUsed    float64             `json:"memused"`
	Disabled   bool                `json:"disabled"`
	Attributes []bcsAgentAttribute `json:"attributes"`
}

type bcsClusterResource struct {
	CpuTotal float64           `json:"cputotal"` //nolint:revive // the wire name
	MemTotal float64           `json:"memtotal"`
	CpuUsed  float64           `json:"cpuused"` //nolint:revive // the wire name
	MemUsed  float64           `json:"memused"`
	Agents   []bcsClusterAgent `json:"agents"`
}

type bcsServerInfo struct {
	IP      string `json:"ip"`
	Port    uint   `json:"port"`
	Scheme  string `json:"scheme"`
	Cluster string `json:"cluster"`
	Pid     int    `json:"pid"`
}

type bcsClusterEndpoints struct {
	MesosSchedulers []bcsServerInfo `json:"mesosscheduler"`
	MesosMasters    []bcsServerInfo `json:"mesosmaster"`
}

type bcsOffer struct {
	Hostname  string `json:"hostname"`
	Resources []struct {
		Name   string `json:"name"`
		Scalar *struct {
			Value float64 `json:"value"`
		} `json:"scalar"`
	} `json:"resources"`
	Attributes []bcsAgentAttribute `json:"attributes"`
}

// scalar is the offer's resource name (0 when it has none).
func (o bcsOffer) scalar(name string) float64 {
	for _, r := range o.Resources {
		if r.Name == name && r.Scalar != nil {
			return r.Scalar.Value
		}
	}
	return 0
}

// text is the text attribute name of attrs ("" when none).
func text(attrs []bcsAgentAttribute, name string) string {
	for _, a := range attrs {
		if a.Name == name && a.Text != nil {
			return a.Text.Value
		}
	}
	return ""
}

type bcsAgentSetting struct {
	InnerIP  string `json:"innerIP"`
	Disabled bool   `json:"disabled"`
	Strings  map[string]struct {
		Value string `json:"value"`
	} `json:"strings"`
	Scalars map[string]struct {
		Value float64 `json:"value"`
	} `json:"scalars"`
	NoSchedule map[string]string `json:"noSchedule"`
	Pods       []string          `json:"pods"`
}

// The health fields of a Task.
type bcsTaskHealth struct {
	ID                string
	Status            string
	HealthCheckStatus []struct {
		Type    string `json:"type"`
		Result  bool   `json:"result"`
		Message string `json:"message"`
	}
	Healthy                     bool
	IsChecked                   bool
	ConsecutiveFailureTimes     uint32
	LocalMaxConsecutiveFailures uint32
	Message                     string
}

type bcsTaskGroupHealth struct {
	ID             string
	Status         string
	InstanceID     uint64
	ReschededTimes int
	Message        string
	Taskgroup      []bcsTaskHealth
}

func sameFloat(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// TestBCSCluster: on a cluster of its own (its node is disabled and
// tainted), cluster/resources, cluster/endpoints and cluster/current/offers
// show the node and this server; agent settings keyed by the node's
// InternalIP reach the Node (attributes as annotation and labels, disable
// as a cordon that keeps running taskgroups and holds new ones, taint as a
// NoSchedule taint) and DELETE takes all of it back; a setting for an IP no
// node has is kept; bad bodies and IPs get their codes.
func TestBCSCluster(t *testing.T) {
	s, node := StartCluster(t)
	ctx := context.Background()
	api := newBCSAPI(t, s)
	ns := s.Namespace(t)
	nodes := s.Client.CoreV1().Nodes()

	n, err := nodes.Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip := attributes.InternalIP(n)
	if ip == "" {
		t.Fatalf("node %s has no InternalIP: %v", node, n.Status.Addresses)
	}
	ips := "?ips=" + url.QueryEscape(ip)

	resources := func() (bcsClusterResource, bcsClusterAgent) {
		t.Helper()
		var r bcsClusterResource
		if err := api.Raw(ctx, http.MethodGet, "/cluster/resources", nil, &r); err != nil {
			t.Fatalf("cluster/resources: %v", err)
		}
		if len(r.Agents) != 1 || r.Agents[0].IP != ip || r.Agents[0].HostName != node {
			t.Fatalf("cluster/resources: agents %+v, want the node %s (%s) alone", r.Agents, node, ip)
		}
		return r, r.Agents[0]
	}
	offers := func() []bcsOffer {
		t.Helper()
		var o []bcsOffer
		if err := api.Raw(ctx, http.MethodGet, "/cluster/current/offers", nil, &o); err != nil {
			t.Fatalf("cluster/current/offers: %v", err)
		}
		return o
	}
	settings := func(q string) []bcsAgentSetting {
		t.Helper()
		var list []bcsAgentSetting
		if err := api.Raw(ctx, http.MethodGet, "/agentsettings"+q, nil, &list); err != nil {
			t.Fatalf("GET agentsettings%s: %v", q, err)
		}
		return list
	}
	call := func(method, path string, body any) {
		t.Helper()
		if err := api.Raw(ctx, method, path, body, nil); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	getNode := func() *corev1.Node {
		t.Helper()
		n, err := nodes.Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	app := func(name string, cpu string) string {
		return fmt.Sprintf(`{"apiVersion":"v4","kind":"application","metadata":{"name":%q,"namespace":%q},
			"restartPolicy":{"policy":"Always"},"killPolicy":{"gracePeriod":1},
			"spec":{"instance":1,"template":{"spec":{"containers":[
				{"image":"busybox","command":"sleep","args":["3600"],"resources":{"limits":{"cpu":%q,"memory":"16"}}}]}}}}`, name, ns, cpu)
	}
	taskgroup := func(name string) *bcsTaskGroup {
		tgs, err := api.TaskGroups(ctx, ns, name)
		if err != nil {
			t.Fatalf("taskgroups of %s: %v", name, err)
		}
		if len(tgs) != 1 {
			return nil
		}
		return &tgs[0]
	}
	running := func(name string) func() bool {
		return func() bool { tg := taskgroup(name); return tg != nil && tg.Status == "Running" }
	}

	// Resources: the node's totals; a running taskgroup's 0.1 core and 16 MB used.
	before, agent := resources()
	if agent.CpuTotal <= 0 || agent.MemTotal <= 0 || !sameFloat(before.CpuTotal, agent.CpuTotal) || !sameFloat(before.MemTotal, agent.MemTotal) {
		t.Errorf("cluster/resources: %+v", before)
	}
	if agent.Disabled || text(agent.Attributes, attributes.InnerIP) != ip {
		t.Errorf("agent %+v: want enabled with InnerIP %s", agent, ip)
	}
	if err := api.CreateApplication(ctx, ns, app("sleeper", "0.1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "sleeper Running", running("sleeper"))
	after, agent := resources()
	if !sameFloat(agent.CpuUsed, before.Agents[0].CpuUsed+0.1) || !sameFloat(agent.MemUsed, before.Agents[0].MemUsed+16) ||
		!sameFloat(after.CpuUsed, agent.CpuUsed) {
		t.Errorf("after a taskgroup of 0.1 core and 16 MB: %+v, before %+v", after, before)
	}

	// Endpoints: this server, as scheduler and master.
	var ep bcsClusterEndpoints
	if err := api.Raw(ctx, http.MethodGet, "/cluster/endpoints", nil, &ep); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(s.URL)
	host, port, _ := net.SplitHostPort(u.Host)
	for what, list := range map[string][]bcsServerInfo{"mesosscheduler": ep.MesosSchedulers, "mesosmaster": ep.MesosMasters} {
		if len(list) != 1 || list[0].IP != host || strconv.Itoa(int(list[0].Port)) != port || list[0].Scheme != "https" ||
			list[0].Cluster != bcs.DefaultClusterID || list[0].Pid <= 0 {
			t.Errorf("cluster/endpoints %s: %+v, want %s", what, list, s.URL)
		}
	}

	// Offers: what the node has free, with its InnerIP.
	findOffer := func(list []bcsOffer) *bcsOffer {
		for i := range list {
			if list[i].Hostname == node {
				return &list[i]
			}
		}
		return nil
	}
	o := findOffer(offers())
	if o == nil {
		t.Fatalf("no offer for %s", node)
	}
	if !sameFloat(o.scalar("cpus"), agent.CpuTotal-agent.CpuUsed) || !sameFloat(o.scalar("mem"), agent.MemTotal-agent.MemUsed) ||
		o.scalar("mem") <= 0 || text(o.Attributes, attributes.InnerIP) != ip {
		t.Errorf("offer %+v: want cpus %v, mem %v, InnerIP %s", o, agent.CpuTotal-agent.CpuUsed, agent.MemTotal-agent.MemUsed, ip)
	}

	// Attributes: strings and scalars on the Node, in the views.
	call(http.MethodPost, "/agentsettings", `[{"innerIP":"`+ip+`","strings":{"zone":{"value":"a"}},"scalars":{"cores":{"value":8}}}]`)
	list := settings(ips)
	if len(list) != 1 || list[0].InnerIP != ip || list[0].Disabled || list[0].Strings["zone"].Value != "a" ||
		list[0].Scalars["cores"].Value != 8 || len(list[0].Strings) != 1 || len(list[0].Scalars) != 1 {
		t.Fatalf("agentsettings?ips=%s: %+v", ip, list)
	}
	if sleeper := taskgroup("sleeper"); sleeper == nil || !slices.Contains(list[0].Pods, sleeper.ID) {
		t.Errorf("setting's pods %v lack the sleeper's taskgroup %+v", list[0].Pods, sleeper)
	}
	waitFor(t, "the attributes on the Node", func() bool {
		n := getNode()
		set, err := attributes.Decode(n.Annotations[attributes.Annotation])
		return err == nil && set.Strings["zone"] == "a" && set.Scalars["cores"] == 8 &&
			n.Labels[attributes.LabelPrefix+"zone"] == "a" && n.Labels[attributes.LabelPrefix+"cores"] == "8"
	})
	if _, agent = resources(); text(agent.Attributes, "zone") != "a" {
		t.Errorf("cluster/resources attributes %+v lack zone a", agent.Attributes)
	}
	if o := findOffer(offers()); o == nil || text(o.Attributes, "zone") != "a" {
		t.Errorf("offer %+v lacks zone a", o)
	}

	// Disabled: cordoned; the running taskgroup stays, a new one waits.
	call(http.MethodPost, "/agentsettings/disable"+ips, nil)
	waitFor(t, "kubectl get nodes: SchedulingDisabled", func() bool {
		return strings.Contains(s.Kubectl("get", "nodes", node), "SchedulingDisabled")
	})
	if list := settings(ips); len(list) != 1 || !list[0].Disabled || list[0].Strings["zone"].Value != "a" {
		t.Errorf("disabled setting: %+v", list)
	}
	if _, agent = resources(); !agent.Disabled {
		t.Errorf("cluster/resources of a disabled node: %+v", agent)
	}
	if o := findOffer(offers()); o != nil {
		t.Errorf("a disabled node has an offer: %+v", o)
	}
	if err := api.CreateApplication(ctx, ns, app("late", "0.05")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "late refused by the scheduler", func() bool {
		pods, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: application.LabelApplication + "=late"})
		if err != nil || len(pods.Items) != 1 {
			return false
		}
		c := podCondition(&pods.Items[0], corev1.PodScheduled)
		return c != nil && c.Status == corev1.ConditionFalse && strings.Contains(c.Message, "unschedulable")
	})
	if tg := taskgroup("late"); tg == nil || tg.Status != "Staging" || tg.HostName != "" {
		t.Errorf("late on a disabled node: %+v, want Staging", tg)
	}
	if tg := taskgroup("sleeper"); tg == nil || tg.Status != "Running" {
		t.Errorf("sleeper on the disabled node: %+v, want Running", tg)
	}
	call(http.MethodPost, "/agentsettings/enable"+ips, nil)
	waitFor(t, "late Running once enabled", running("late"))
	if out := s.Kubectl("get", "nodes", node); strings.Contains(out, "SchedulingDisabled") {
		t.Errorf("enabled node: %s", out)
	}

	// Taint: noSchedule as a NoSchedule taint.
	call(http.MethodPut, "/agentsettings/taint", `[{"innerIP":"`+ip+`","noSchedule":{"dedicated":"gpu"}}]`)
	waitFor(t, "the NoSchedule taint", func() bool {
		for _, taint := range getNode().Spec.Taints {
			if taint.Key == "dedicated" && taint.Value == "gpu" && taint.Effect == corev1.TaintEffectNoSchedule {
				return true
			}
		}
		return false
	})
	if list := settings(ips); len(list) != 1 || list[0].NoSchedule["dedicated"] != "gpu" || list[0].Strings["zone"].Value != "a" {
		t.Errorf("tainted setting: %+v", list)
	}

	// Delete: the node is as it was.
	call(http.MethodDelete, "/agentsettings"+ips, nil)
	if list := settings(ips); list != nil {
		t.Errorf("after DELETE: %+v", list)
	}
	waitFor(t, "the node without the setting", func() bool {
		n := getNode()
		for k := range n.Labels {
			if strings.HasPrefix(k, attributes.LabelPrefix) {
				return false
			}
		}
		_, annotated := n.Annotations[attributes.Annotation]
		return len(n.Spec.Taints) == 0 && !n.Spec.Unschedulable && !annotated
	})
	if _, agent = resources(); agent.Disabled || text(agent.Attributes, "zone") != "" {
		t.Errorf("cluster/resources after DELETE: %+v", agent)
	}

	// An IP that no node has: kept.
	const nobody = "10.255.255.1"
	call(http.MethodPost, "/agentsettings", `[{"innerIP":"`+nobody+`","strings":{"rack":{"value":"r1"}}}]`)
	call(http.MethodPost, "/agentsettings/disable?ips="+nobody, nil)
	if list := settings("?ips=" + nobody + "," + ip); len(list) != 1 || list[0].InnerIP != nobody || !list[0].Disabled ||
		list[0].Strings["rack"].Value != "r1" || list[0].Pods != nil {
		t.Errorf("setting of %s: %+v", nobody, list)
	}
	if all := settings(""); len(all) != 1 || all[0].InnerIP != nobody {
		t.Errorf("all settings: %+v", all)
	}
	if _, agent = resources(); agent.Disabled {
		t.Errorf("another IP's setting disabled %s: %+v", node, agent)
	}

	// Bad requests. A body that does not decode is 1405010, as everywhere
	// in the dialect (BCS's scheduler answered 1405008 here).
	bad := []struct {
		what, method, path string
		body               any
		code               int
	}{
		{"bad JSON", http.MethodPost, "/agentsettings", `[{"innerIP":`, bcs.CodeJSONDecode},
		{"an object, not a list", http.MethodPost, "/agentsettings", `{"innerIP":"` + ip + `"}`, bcs.CodeJSONDecode},
		{"taint: bad JSON", http.MethodPut, "/agentsettings/taint", `not json`, bcs.CodeJSONDecode},
		{"innerIP not an IP", http.MethodPost, "/agentsettings", `[{"innerIP":"node-1"}]`, bcs.CodeBadParameters},
		{"ips not an IP", http.MethodPost, "/agentsettings/disable?ips=" + ip + ",x.y", nil, bcs.CodeBadParameters},
		{"GET ips not an IP", http.MethodGet, "/agentsettings?ips=300.1.1.1", nil, bcs.CodeBadParameters},
		{"update: bad valuetype", http.MethodPost, "/agentsettings/update", `{"ips":["` + ip + `"],"name":"zone","valuetype":102}`, bcs.CodeRequestData},
	}
	for _, b := range bad {
		err := api.Raw(ctx, b.method, b.path, b.body, nil)
		var be *bcsError
		if bcsCode(err) != b.code || !errors.As(err, &be) || be.Status != http.StatusBadRequest {
			t.Errorf("%s: %v, want code %d with HTTP 400", b.what, err, b.code)
		}
	}
	if _, agent = resources(); agent.Disabled || text(agent.Attributes, "zone") != "" {
		t.Errorf("a refused request changed the node: %+v", agent)
	}
	if all := settings(""); len(all) != 1 || all[0].InnerIP != nobody {
		t.Errorf("a refused request left settings: %+v", all)
	}

	call(http.MethodDelete, "/agentsettings?ips="+nobody, nil)
	for _, name := range []string{"sleeper", "late"} {
		if err := api.DeleteApplication(ctx, ns, name, true); err != nil {
			t.Errorf("delete %s: %v", name, err)
		}
	}
}

// TestBCSHealth: a task serving HTTP with an HTTP check (run on the node)
// and a REMOTE_TCP check (run from the control plane) shows both passing
// (IsChecked, Healthy, a HealthCheckStatus each); a task whose HTTP check
// finds nobody, with consecutiveFailures 2, becomes unhealthy, is killed,
// and its taskgroup is replaced as restartPolicy says (OnFailure, maxtimes
// 1: one replacement with ReschededTimes 1, which fails the same way and
// stays Failed).
func TestBCSHealth(t *testing.T) {
	s, node := SharedCluster(t)
	ctx := context.Background()
	api := newBCSAPI(t, s)
	ns := s.Namespace(t)
	n, err := s.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip := attributes.InternalIP(n)

	freePort := func() int {
		_, p, _ := net.SplitHostPort(freeAddr(t))
		port, _ := strconv.Atoi(p)
		return port
	}
	taskgroups := func(name string) []bcsTaskGroupHealth {
		t.Helper()
		var tgs []bcsTaskGroupHealth
		if err := api.Raw(ctx, http.MethodGet, nsPath(ns, "applications")+"/"+name+"/taskgroups", nil, &tgs); err != nil {
			t.Fatalf("taskgroups of %s: %v", name, err)
		}
		return tgs
	}

	// The web server and its checks. Grace 5 s: python starts well within it.
	port := freePort()
	web := fmt.Sprintf(`{"apiVersion":"v4","kind":"application","metadata":{"name":"web","namespace":%q},
		"restartPolicy":{"policy":"Never"},"killPolicy":{"gracePeriod":1},
		"spec":{"instance":1,"template":{"spec":{"containers":[
			{"image":"python","command":"/usr/bin/python3","args":["-m","http.server","%d","--bind","0.0.0.0"],
			 "ports":[{"name":"web","containerPort":%d,"protocol":"HTTP"}],
			 "resources":{"limits":{"cpu":"0.05","memory":"32"}},
			 "healthChecks":[
				{"type":"HTTP","http":{"portName":"web","path":"/","scheme":"http"},
				 "delaySeconds":1,"gracePeriodSeconds":5,"intervalSeconds":1,"timeoutSeconds":2,"consecutiveFailures":3},
				{"type":"REMOTE_TCP","tcp":{"portName":"web"},
				 "delaySeconds":1,"gracePeriodSeconds":1,"intervalSeconds":1,"timeoutSeconds":2,"consecutiveFailures":3}]}]}}}}`,
		ns, port, port)
	if err := api.CreateApplication(ctx, ns, web); err != nil {
		t.Fatal(err)
	}
	var last []bcsTaskGroupHealth
	defer func() {
		if t.Failed() {
			t.Logf("last taskgroups: %+v", last)
		}
	}()
	remoteOK := fmt.Sprintf("check endpoint %s tcp ok", net.JoinHostPort(ip, strconv.Itoa(port)))
	waitFor(t, "web's task checked and healthy", func() bool {
		last = taskgroups("web")
		if len(last) != 1 || last[0].Status != "Running" || len(last[0].Taskgroup) != 1 {
			return false
		}
		task := last[0].Taskgroup[0]
		return task.IsChecked && task.Healthy && len(task.HealthCheckStatus) == 2 && task.HealthCheckStatus[1].Message == remoteOK
	})
	task := last[0].Taskgroup[0]
	if st := task.HealthCheckStatus; st[0].Type != "HTTP" || !st[0].Result || st[0].Message != "http check by executor" ||
		st[1].Type != "REMOTE_TCP" || !st[1].Result {
		t.Errorf("web's HealthCheckStatus: %+v", st)
	}
	if task.ConsecutiveFailureTimes != 0 || task.LocalMaxConsecutiveFailures != 3 {
		t.Errorf("web's task: %+v", task)
	}

	// A check that finds nobody: unhealthy, killed, replaced once.
	dead := freePort()
	broken := fmt.Sprintf(`{"apiVersion":"v4","kind":"application","metadata":{"name":"broken","namespace":%q},
		"restartPolicy":{"policy":"OnFailure","interval":0,"backoff":0,"maxtimes":1},"killPolicy":{"gracePeriod":1},
		"spec":{"instance":1,"template":{"spec":{"containers":[
			{"image":"busybox","command":"sleep","args":["3600"],
			 "resources":{"limits":{"cpu":"0.02","memory":"8"}},
			 "healthChecks":[
				{"type":"HTTP","http":{"port":%d,"path":"/healthz","scheme":"http"},
				 "delaySeconds":1,"gracePeriodSeconds":1,"intervalSeconds":1,"timeoutSeconds":1,"consecutiveFailures":2}]}]}}}}`,
		ns, dead)
	if err := api.CreateApplication(ctx, ns, broken); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{} // taskgroup ID → ReschededTimes
	unhealthy := map[string]bcsTaskHealth{}
	observe := func() []bcsTaskGroupHealth {
		last = taskgroups("broken")
		for _, tg := range last {
			seen[tg.ID] = tg.ReschededTimes
			if len(tg.Taskgroup) == 1 && !tg.Taskgroup[0].Healthy {
				unhealthy[tg.ID] = tg.Taskgroup[0]
			}
		}
		return last
	}
	waitFor(t, "broken's first taskgroup unhealthy", func() bool { observe(); return len(unhealthy) > 0 })
	waitFor(t, "broken's taskgroup replaced and Failed at maxtimes", func() bool {
		tgs := observe()
		return len(tgs) == 1 && tgs[0].ReschededTimes == 1 && tgs[0].Status == "Failed" && unhealthy[tgs[0].ID].IsChecked
	})
	final := last[0]
	if len(seen) != 2 || final.InstanceID != 0 {
		t.Errorf("broken's taskgroups seen %v, want the first (0) and its replacement (1) at index 0", seen)
	}
	for id, task := range unhealthy {
		if !task.IsChecked || task.ConsecutiveFailureTimes < 1 || task.LocalMaxConsecutiveFailures != 2 || len(task.HealthCheckStatus) != 1 ||
			task.HealthCheckStatus[0].Result || task.HealthCheckStatus[0].Message == "" || task.HealthCheckStatus[0].Message == "http check by executor" {
			t.Errorf("unhealthy task of %s: %+v", id, task)
		}
	}
	ft := final.Taskgroup[0]
	if ft.Healthy || ft.ConsecutiveFailureTimes < 2 || ft.HealthCheckStatus[0].Result ||
		!strings.Contains(ft.HealthCheckStatus[0].Message, strconv.Itoa(dead)) {
		t.Errorf("the replacement's task at the end: %+v", ft)
	}
	// No further replacement: maxtimes is 1. Watched for longer than the
	// next restart would take (Podyard's floor after one restart is 2 s).
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		if tgs := taskgroups("broken"); len(tgs) != 1 || tgs[0].ID != final.ID {
			t.Fatalf("broken replaced past maxtimes: %+v", tgs)
		}
	}

	for _, name := range []string{"web", "broken"} {
		if err := api.DeleteApplication(ctx, ns, name, true); err != nil {
			t.Errorf("delete %s: %v", name, err)
		}
	}
	waitFor(t, "every taskgroup Pod gone", func() bool {
		pods, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: application.LabelApplication})
		return err == nil && len(pods.Items) == 0
	})
}

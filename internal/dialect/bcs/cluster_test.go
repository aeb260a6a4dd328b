package bcs

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

func TestParseClusterPath(t *testing.T) {
	cases := []struct {
		path, route string
		methods     []string
		ok          bool
	}{
		{"/bcsapi/v4/scheduler/mesos/cluster/resources", RouteClusterResources, []string{"GET"}, true},
		{"/v4/scheduler/mesos/cluster/endpoints", RouteClusterEndpoints, []string{"GET"}, true},
		{"/v4/scheduler/mesos/cluster/current/offers", RouteClusterOffers, []string{"GET"}, true},
		{"/v4/scheduler/mesos/agentsettings/", RouteAgentSettings, []string{"GET", "POST", "DELETE"}, true},
		{"/bcsapi/v4/scheduler/mesos/agentsettings", RouteAgentSettings, []string{"GET", "POST", "DELETE"}, true},
		{"/v4/scheduler/mesos/agentsettings/update", RouteAgentUpdate, []string{"POST"}, true},
		{"/v4/scheduler/mesos/agentsettings/disable", RouteAgentDisable, []string{"POST"}, true},
		{"/v4/scheduler/mesos/agentsettings/enable", RouteAgentEnable, []string{"POST"}, true},
		{"/v4/scheduler/mesos/agentsettings/taint", RouteAgentTaint, []string{"PUT"}, true},
		{"/v4/scheduler/mesos/agentsettings/extendedresource", "", nil, false},
		{"/v4/scheduler/mesos/cluster", "", nil, false},
		{"/v4/scheduler/mesos/namespaces/ns/applications", "", nil, false},
		{"/api/v1/nodes", "", nil, false},
	}
	for _, tc := range cases {
		route, methods, ok := ParseClusterPath(tc.path)
		if ok != tc.ok || (ok && (route != tc.route || !reflect.DeepEqual(methods, tc.methods))) {
			t.Errorf("ParseClusterPath(%q) = %q %v %v, want %q %v %v", tc.path, route, methods, ok, tc.route, tc.methods, tc.ok)
		}
	}
}

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testNode(name, ip string, ready bool, alloc corev1.ResourceList) *corev1.Node {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), ResourceVersion: "7",
			CreationTimestamp: metav1.NewTime(epoch), Labels: map[string]string{corev1.LabelHostname: name}},
		Status: corev1.NodeStatus{
			Capacity: alloc, Allocatable: alloc,
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}},
			Conditions:      []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status, LastTransitionTime: metav1.NewTime(epoch.Add(time.Second))}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
		},
	}
}

func resources(cpu, mem, disk string) corev1.ResourceList {
	l := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
	if disk != "" {
		l[corev1.ResourceEphemeralStorage] = resource.MustParse(disk)
	}
	return l
}

func testPod(name, node string, phase corev1.PodPhase, req corev1.ResourceList, hostPorts ...int32) *corev1.Pod {
	c := corev1.Container{Name: "c", Resources: corev1.ResourceRequirements{Requests: req}}
	for _, p := range hostPorts {
		c.Ports = append(c.Ports, corev1.ContainerPort{ContainerPort: p, HostPort: p})
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{c}},
		Status:     corev1.PodStatus{Phase: phase},
	}
}

func testSetting(ip string, mutate func(*v1alpha1.AgentSettingSpec)) *v1alpha1.AgentSetting {
	s := &v1alpha1.AgentSetting{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.AgentSettingName(ip)}, Spec: v1alpha1.AgentSettingSpec{InnerIP: ip}}
	if mutate != nil {
		mutate(&s.Spec)
	}
	return s
}

func testState() ClusterState {
	return ClusterState{
		Nodes: []*corev1.Node{
			testNode("b", "10.0.0.2", true, resources("2", "1Gi", "")),
			testNode("a", "10.0.0.1", true, resources("4", "8Gi", "100Gi")),
		},
		Pods: []*corev1.Pod{
			testPod("run", "a", corev1.PodRunning, resources("500m", "256Mi", "1Gi"), 31000, 31002),
			testPod("pending", "a", corev1.PodPending, resources("250m", "64Mi", "")),
			testPod("done", "a", corev1.PodSucceeded, resources("1", "1Gi", "")),
			testPod("unbound", "", corev1.PodPending, resources("1", "1Gi", "")),
			testPod("other", "b", corev1.PodRunning, resources("1", "512Mi", "")),
		},
		Settings: []*v1alpha1.AgentSetting{
			testSetting("10.0.0.1", func(s *v1alpha1.AgentSettingSpec) {
				s.Strings = map[string]string{"zone": "z1", "city": "shenzhen"}
				s.Scalars = map[string]float64{"score": 9.5}
				s.NoSchedule = map[string]string{"gpu": "only"}
			}),
			testSetting("10.0.0.2", func(s *v1alpha1.AgentSettingSpec) { s.Disabled = true }),
			testSetting("10.0.0.9", nil), // no node yet
		},
	}
}

func TestClusterResources(t *testing.T) {
	got := ClusterResources(testState())
	if len(got.Agents) != 2 || got.Agents[0].HostName != "a" || got.Agents[1].HostName != "b" {
		t.Fatalf("agents: %+v", got.Agents)
	}
	a, b := got.Agents[0], got.Agents[1]
	// a: 4 cores, 8 GiB, 100 GiB; the running and the pending pod count,
	// the ended and the unbound do not.
	if a.IP != "10.0.0.1" || a.CpuTotal != 4 || a.MemTotal != 8192 || a.DiskTotal != 102400 ||
		a.CpuUsed != 0.75 || a.MemUsed != 320 || a.DiskUsed != 1024 || a.Disabled {
		t.Errorf("agent a: %+v", a)
	}
	if b.CpuTotal != 2 || b.MemTotal != 1024 || b.DiskTotal != 0 || b.CpuUsed != 1 || b.MemUsed != 512 || !b.Disabled {
		t.Errorf("agent b: %+v", b)
	}
	if got.CpuTotal != 6 || got.MemTotal != 9216 || got.DiskTotal != 102400 || got.CpuUsed != 1.75 || got.MemUsed != 832 || got.DiskUsed != 1024 {
		t.Errorf("totals: %+v", got)
	}
	if a.RegisteredTime != epoch.UnixNano() || a.ReRegisteredTime != epoch.Add(time.Second).UnixNano() {
		t.Errorf("registered times: %d %d", a.RegisteredTime, a.ReRegisteredTime)
	}
	js, _ := json.Marshal(a.Attributes)
	want := `[{"name":"InnerIP","type":103,"text":{"value":"10.0.0.1"}},{"name":"city","type":103,"text":{"value":"shenzhen"}},` +
		`{"name":"zone","type":103,"text":{"value":"z1"}},{"name":"score","type":101,"scalar":{"value":9.5}}]`
	if string(js) != want {
		t.Errorf("attributes:\n%s\nwant\n%s", js, want)
	}
	js, _ = json.Marshal(b)
	want = `{"hostname":"b","ip":"10.0.0.2","disktotal":0,"memtotal":1024,"cputotal":2,"diskused":0,"memused":512,"cpuused":1,` +
		`"disabled":true,"host_attributes":[{"name":"InnerIP","type":103,"text":{"value":"10.0.0.2"}}],` +
		`"attributes":[{"name":"InnerIP","type":103,"text":{"value":"10.0.0.2"}}],` +
		`"registered_time":1767323045000000000,"reregistered_time":1767323046000000000}`
	if string(js) != want {
		t.Errorf("agent b JSON:\n%s\nwant\n%s", js, want)
	}

	// A cordoned node is disabled too.
	s := testState()
	s.Nodes[1].Spec.Unschedulable = true
	if !ClusterResources(s).Agents[0].Disabled {
		t.Error("a cordoned node is not disabled")
	}

	js, _ = json.Marshal(ClusterResources(ClusterState{}))
	if string(js) != `{"disktotal":0,"memtotal":0,"cputotal":0,"diskused":0,"memused":0,"cpuused":0,"agents":null}` {
		t.Errorf("no agents: %s", js)
	}
}

func TestOffers(t *testing.T) {
	s := testState()
	s.Nodes = append(s.Nodes,
		testNode("c-notready", "10.0.0.3", false, resources("4", "1Gi", "")),
		testNode("d-full", "10.0.0.4", true, resources("1", "1Gi", "")),
		testNode("e-cordoned", "10.0.0.5", true, resources("1", "1Gi", "")),
	)
	s.Nodes[4].Spec.Unschedulable = true
	s.Pods = append(s.Pods, testPod("fill", "d-full", corev1.PodRunning, resources("960m", "1Mi", "")))
	offers := Offers(s, "BCS-PODYARD-10001")
	if len(offers) != 1 {
		t.Fatalf("offers: want only node a's (b disabled, c not ready, d full, e cordoned): %+v", offers)
	}
	js, _ := json.Marshal(offers[0])
	want := `{"id":{"value":"uid-a-O7"},"framework_id":{"value":"BCS-PODYARD-10001"},"agent_id":{"value":"uid-a"},"hostname":"a",` +
		`"url":{"scheme":"https","address":{"hostname":"a","ip":"10.0.0.1","port":10250},"path":"/"},` +
		`"resources":[{"name":"cpus","type":0,"scalar":{"value":3.25},"role":"*"},{"name":"mem","type":0,"scalar":{"value":7872},"role":"*"},` +
		`{"name":"disk","type":0,"scalar":{"value":101376},"role":"*"},` +
		`{"name":"ports","type":1,"ranges":{"range":[{"begin":31001,"end":31001},{"begin":31003,"end":32000}]},"role":"*"}],` +
		`"attributes":[{"name":"InnerIP","type":3,"text":{"value":"10.0.0.1"}},{"name":"city","type":3,"text":{"value":"shenzhen"}},` +
		`{"name":"zone","type":3,"text":{"value":"z1"}},{"name":"score","type":0,"scalar":{"value":9.5}},` +
		`{"name":"NoSchedule","type":2,"set":{"item":["gpu=only"]}}],"deltaResource":{"Cpus":0,"Mem":0,"Disk":0}}`
	if string(js) != want {
		t.Errorf("offer:\n%s\nwant\n%s", js, want)
	}
	js, _ = json.Marshal(Offers(ClusterState{}, "x"))
	if string(js) != "[]" {
		t.Errorf("no offers: %s, want []", js)
	}
}

func TestFreeRanges(t *testing.T) {
	cases := []struct {
		used map[int32]bool
		want []RangeValue
	}{
		{nil, []RangeValue{{10, 20}}},
		{map[int32]bool{10: true}, []RangeValue{{11, 20}}},
		{map[int32]bool{20: true, 15: true, 16: true, 99: true}, []RangeValue{{10, 14}, {17, 19}}},
	}
	for _, tc := range cases {
		if got := FreeRanges(10, 20, tc.used); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("FreeRanges(%v) = %v, want %v", tc.used, got, tc.want)
		}
	}
	all := map[int32]bool{}
	for p := int32(10); p <= 20; p++ {
		all[p] = true
	}
	if got := FreeRanges(10, 20, all); got != nil {
		t.Errorf("all used: %v", got)
	}
}

func TestEndpoints(t *testing.T) {
	e, err := Endpoints(Server{URL: "https://127.0.0.1:6443", HostName: "h", Version: "0.1.0", Cluster: "BCS-PODYARD-10001", Pid: 42})
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(e)
	info := `{"ip":"127.0.0.1","ipv6":"","port":6443,"grpc_port":0,"metric_port":6443,"hostname":"h","scheme":"https",` +
		`"version":"0.1.0","cluster":"BCS-PODYARD-10001","pid":42,"external_ip":"","external_ipv6":"","external_port":0}`
	if want := `{"mesosscheduler":[` + info + `],"mesosmaster":[` + info + `]}`; string(js) != want {
		t.Errorf("endpoints:\n%s\nwant\n%s", js, want)
	}
	e, err = Endpoints(Server{URL: "https://[fd00::1]:443"})
	if err != nil || e.MesosSchedulers[0].IPv6 != "fd00::1" || e.MesosSchedulers[0].IP != "" || e.MesosSchedulers[0].Port != 443 {
		t.Errorf("IPv6: %+v %v", e, err)
	}
	for _, bad := range []string{"", "not a url", "https://host", "https://host:http"} {
		if _, err := Endpoints(Server{URL: bad}); err == nil || !strings.Contains(err.Error(), "server URL") {
			t.Errorf("Endpoints(%q): %v", bad, err)
		}
	}
}

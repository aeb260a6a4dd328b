package bcs

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/attributes"
	"github.com/podyard/podyard/internal/scheduler"
)

// The cluster views (bcs-common's BcsClusterResource, ClusterEndpoints and
// the Mesos offers of the scheduler's offer pool), built purely from the
// Nodes, the Pods bound to them and the AgentSettings. Units are BCS's:
// cores, and MB for memory and disk.

// Cluster routes: what a path outside any namespace names.
const (
	RouteClusterResources = "cluster/resources"
	RouteClusterEndpoints = "cluster/endpoints"
	RouteClusterOffers    = "cluster/current/offers"
	RouteAgentSettings    = "agentsettings"
	RouteAgentUpdate      = "agentsettings/update"
	RouteAgentDisable     = "agentsettings/disable"
	RouteAgentEnable      = "agentsettings/enable"
	RouteAgentTaint       = "agentsettings/taint"
)

// clusterRoutes are the cluster routes and the method each takes (GET,
// POST and DELETE for agentsettings itself).
var clusterRoutes = map[string][]string{
	RouteClusterResources: {"GET"},
	RouteClusterEndpoints: {"GET"},
	RouteClusterOffers:    {"GET"},
	RouteAgentSettings:    {"GET", "POST", "DELETE"},
	RouteAgentUpdate:      {"POST"},
	RouteAgentDisable:     {"POST"},
	RouteAgentEnable:      {"POST"},
	RouteAgentTaint:       {"PUT"},
}

// ParseClusterPath reads a path of the cluster and agent setting routes,
// which have no namespace (a trailing slash is allowed, as in the seed's
// GET agentsettings/?ips=). ok is false for any other path; methods are
// the route's methods.
func ParseClusterPath(p string) (route string, methods []string, ok bool) {
	for _, prefix := range PathPrefixes {
		if rest, found := strings.CutPrefix(p, prefix); found {
			route = strings.TrimSuffix(rest, "/")
			methods, ok = clusterRoutes[route]
			return route, methods, ok
		}
	}
	return "", nil, false
}

// Mesos value types as BCS's MesosValue_Type numbers them (attributes of
// cluster/resources, valuetype of agentsettings/update).
const (
	ValueTypeScalar = 101
	ValueTypeRanges = 102
	ValueTypeText   = 103
	ValueTypeSet    = 104
)

// Mesos's own value types (mesos.Value_Type), in offers.
const (
	mesosScalar = 0
	mesosRanges = 1
	mesosSet    = 2
	mesosText   = 3
)

// TextValue is MesosValue_Text.
type TextValue struct {
	Value string `json:"value"`
}

// ScalarValue is MesosValue_Scalar.
type ScalarValue struct {
	Value float64 `json:"value"`
}

// RangeValue is MesosValue_Ranges (one range).
type RangeValue struct {
	Begin uint64 `json:"begin"`
	End   uint64 `json:"end"`
}

// SetValue is MesosValue_Set.
type SetValue struct {
	Item []string `json:"item"`
}

// AgentAttribute is BcsAgentAttribute.
type AgentAttribute struct {
	Name   string        `json:"name,omitempty"`
	Type   int32         `json:"type,omitempty"`
	Scalar *ScalarValue  `json:"scalar,omitempty"`
	Ranges []*RangeValue `json:"ranges,omitempty"`
	Set    *SetValue     `json:"set,omitempty"`
	Text   *TextValue    `json:"text,omitempty"`
}

// ClusterAgent is BcsClusterAgentInfo: one node.
type ClusterAgent struct {
	HostName         string            `json:"hostname"`
	IP               string            `json:"ip"`
	DiskTotal        float64           `json:"disktotal"`
	MemTotal         float64           `json:"memtotal"`
	CpuTotal         float64           `json:"cputotal"` //nolint:revive // the wire name
	DiskUsed         float64           `json:"diskused"`
	MemUsed          float64           `json:"memused"`
	CpuUsed          float64           `json:"cpuused"` //nolint:revive // the wire name
	Disabled         bool              `json:"disabled"`
	HostAttributes   []*AgentAttribute `json:"host_attributes"`
	Attributes       []*AgentAttribute `json:"attributes"`
	RegisteredTime   int64             `json:"registered_time"`
	ReRegisteredTime int64             `json:"reregistered_time"`
}

// ClusterResource is BcsClusterResource: the cluster's totals and its
// agents. No agents is "agents":null, as in the original.
type ClusterResource struct {
	DiskTotal float64        `json:"disktotal"`
	MemTotal  float64        `json:"memtotal"`
	CpuTotal  float64        `json:"cputotal"` //nolint:revive // the wire name
	DiskUsed  float64        `json:"diskused"`
	MemUsed   float64        `json:"memused"`
	CpuUsed   float64        `json:"cpuused"` //nolint:revive // the wire name
	Agents    []ClusterAgent `json:"agents"`
}

// ClusterState is what the cluster views are built from.
type ClusterState struct {
	Nodes    []*corev1.Node
	Pods     []*corev1.Pod // any; those bound to a node and not ended count
	Settings []*v1alpha1.AgentSetting
}

// agentUsage is one node's totals and what its pods request, in BCS units.
type agentUsage struct {
	cpuTotal, memTotal, diskTotal float64
	cpuUsed, memUsed, diskUsed    float64
	hostPorts                     map[int32]bool
}

func (s ClusterState) podsByNode() map[string][]*corev1.Pod {
	out := map[string][]*corev1.Pod{}
	for _, p := range s.Pods {
		if p.Spec.NodeName == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		out[p.Spec.NodeName] = append(out[p.Spec.NodeName], p)
	}
	return out
}

func (s ClusterState) settingsByIP() map[string]*v1alpha1.AgentSetting {
	out := map[string]*v1alpha1.AgentSetting{}
	for _, st := range s.Settings {
		out[st.Spec.InnerIP] = st
	}
	return out
}

// sortedNodes is the nodes by name.
func (s ClusterState) sortedNodes() []*corev1.Node {
	nodes := slices.Clone(s.Nodes)
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	return nodes
}

// usage is a node's totals (allocatable, else capacity; disk is
// ephemeral-storage, 0 when not reported) and the requests of pods, summed
// as the scheduler sums them.
func usage(node *corev1.Node, pods []*corev1.Pod) agentUsage {
	total := func(name corev1.ResourceName) resource.Quantity {
		if q, ok := node.Status.Allocatable[name]; ok {
			return q
		}
		return node.Status.Capacity[name]
	}
	u := agentUsage{
		cpuTotal:  cores(total(corev1.ResourceCPU)),
		memTotal:  megabytes(total(corev1.ResourceMemory)),
		diskTotal: megabytes(total(corev1.ResourceEphemeralStorage)),
		hostPorts: map[int32]bool{},
	}
	for _, p := range pods {
		req := scheduler.Requests(p)
		u.cpuUsed += cores(req[corev1.ResourceCPU])
		u.memUsed += megabytes(req[corev1.ResourceMemory])
		u.diskUsed += megabytes(req[corev1.ResourceEphemeralStorage])
		for _, c := range slices.Concat(p.Spec.InitContainers, p.Spec.Containers) {
			for _, port := range c.Ports {
				if port.HostPort > 0 {
					u.hostPorts[port.HostPort] = true
				}
			}
		}
	}
	return u
}

func cores(q resource.Quantity) float64 { return float64(q.MilliValue()) / 1000 }

func megabytes(q resource.Quantity) float64 { return float64(q.Value()) / (1 << 20) }

// hostName is the node's host name as its attributes give it.
func hostName(node *corev1.Node) string {
	if h := node.Labels[corev1.LabelHostname]; h != "" {
		return h
	}
	return node.Name
}

// disabled is whether the node takes no new taskgroups: its setting says
// so, or it is cordoned.
func disabled(node *corev1.Node, setting *v1alpha1.AgentSetting) bool {
	return node.Spec.Unschedulable || setting != nil && setting.Spec.Disabled
}

// settingAttributes are a setting's strings (type 103) then scalars (101),
// each by name.
func settingAttributes(setting *v1alpha1.AgentSetting) []*AgentAttribute {
	if setting == nil {
		return nil
	}
	var out []*AgentAttribute
	for _, k := range slices.Sorted(maps.Keys(setting.Spec.Strings)) {
		out = append(out, &AgentAttribute{Name: k, Type: ValueTypeText, Text: &TextValue{Value: setting.Spec.Strings[k]}})
	}
	for _, k := range slices.Sorted(maps.Keys(setting.Spec.Scalars)) {
		out = append(out, &AgentAttribute{Name: k, Type: ValueTypeScalar, Scalar: &ScalarValue{Value: setting.Spec.Scalars[k]}})
	}
	return out
}

// ClusterResources is cluster/resources: each node (by name) with its
// totals, what the pods bound to it request, its InnerIP as a host
// attribute, that plus its agent setting's attributes, and disabled.
func ClusterResources(s ClusterState) ClusterResource {
	var out ClusterResource
	pods, settings := s.podsByNode(), s.settingsByIP()
	for _, node := range s.sortedNodes() {
		ip := attributes.InternalIP(node)
		setting := settings[ip]
		u := usage(node, pods[node.Name])
		host := []*AgentAttribute{{Name: attributes.InnerIP, Type: ValueTypeText, Text: &TextValue{Value: ip}}}
		agent := ClusterAgent{
			HostName: hostName(node), IP: ip,
			DiskTotal: u.diskTotal, MemTotal: u.memTotal, CpuTotal: u.cpuTotal,
			DiskUsed: u.diskUsed, MemUsed: u.memUsed, CpuUsed: u.cpuUsed,
			Disabled:       disabled(node, setting),
			HostAttributes: host,
			Attributes:     append(slices.Clone(host), settingAttributes(setting)...),
			RegisteredTime: node.CreationTimestamp.UnixNano(),
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				agent.ReRegisteredTime = c.LastTransitionTime.UnixNano()
			}
		}
		out.CpuTotal += agent.CpuTotal
		out.MemTotal += agent.MemTotal
		out.DiskTotal += agent.DiskTotal
		out.CpuUsed += agent.CpuUsed
		out.MemUsed += agent.MemUsed
		out.DiskUsed += agent.DiskUsed
		out.Agents = append(out.Agents, agent)
	}
	return out
}

// ServerInfo is bcs-common's ServerInfo.
type ServerInfo struct {
	IP           string `json:"ip"`
	IPv6         string `json:"ipv6"`
	Port         uint   `json:"port"`
	GRPCPort     uint   `json:"grpc_port"`
	MetricPort   uint   `json:"metric_port"`
	HostName     string `json:"hostname"`
	Scheme       string `json:"scheme"`
	Version      string `json:"version"`
	Cluster      string `json:"cluster"`
	Pid          int    `json:"pid"`
	ExternalIP   string `json:"external_ip"`
	ExternalIPv6 string `json:"external_ipv6"`
	ExternalPort uint   `json:"external_port"`
}

// ClusterEndpoints is bcs-common's ClusterEndpoints.
type ClusterEndpoints struct {
	MesosSchedulers []ServerInfo `json:"mesosscheduler,omitempty"`
	MesosMasters    []ServerInfo `json:"mesosmaster,omitempty"`
	KubeNodes       []ServerInfo `json:"kubenodes,omitempty"`
}

// Server is what the endpoints view says about this server.
type Server struct {
	URL      string // https://host:port, as clients reach it
	HostName string
	Version  string
	Cluster  string // the BCS cluster id
	Pid      int
}

// Endpoints is cluster/endpoints: the API server is both the scheduler and
// the master of a Podyard cluster, so it is listed as each; metrics are
// served on the same port. Its metric port is its port.
func Endpoints(s Server) (ClusterEndpoints, error) {
	u, err := url.Parse(s.URL)
	if err != nil || u.Host == "" {
		return ClusterEndpoints{}, fmt.Errorf("server URL %q: not an absolute URL", s.URL)
	}
	host, portText, err := net.SplitHostPort(u.Host)
	if err != nil {
		return ClusterEndpoints{}, fmt.Errorf("server URL %q: %w", s.URL, err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return ClusterEndpoints{}, fmt.Errorf("server URL %q: port: %w", s.URL, err)
	}
	info := ServerInfo{Port: uint(port), MetricPort: uint(port), HostName: s.HostName, Scheme: u.Scheme,
		Version: s.Version, Cluster: s.Cluster, Pid: s.Pid}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() && !ip.Is4In6() {
		info.IPv6 = ip.String()
	} else {
		info.IP = host
	}
	return ClusterEndpoints{MesosSchedulers: []ServerInfo{info}, MesosMasters: []ServerInfo{info}}, nil
}

// OfferValue is a Mesos ID ({"value": ...}).
type OfferValue struct {
	Value string `json:"value"`
}

// OfferAddress and OfferURL are the agent's address in an offer.
type OfferAddress struct {
	Hostname string `json:"hostname"`
	IP       string `json:"ip"`
	Port     int32  `json:"port"`
}

// OfferURL is mesos.URL.
type OfferURL struct {
	Scheme  string       `json:"scheme"`
	Address OfferAddress `json:"address"`
	Path    string       `json:"path"`
}

// OfferRanges is mesos.Value_Ranges.
type OfferRanges struct {
	Range []RangeValue `json:"range"`
}

// OfferResource is mesos.Resource.
type OfferResource struct {
	Name   string       `json:"name"`
	Type   int32        `json:"type"`
	Scalar *ScalarValue `json:"scalar,omitempty"`
	Ranges *OfferRanges `json:"ranges,omitempty"`
	Role   string       `json:"role"`
}

// OfferAttribute is mesos.Attribute.
type OfferAttribute struct {
	Name   string       `json:"name"`
	Type   int32        `json:"type"`
	Scalar *ScalarValue `json:"scalar,omitempty"`
	Set    *SetValue    `json:"set,omitempty"`
	Text   *TextValue   `json:"text,omitempty"`
}

// Offer is the scheduler's OfferWithDelta: a mesos.Offer (its protobuf
// JSON names) and the resources the scheduler has promised but the agent
// not yet reported (always none here: a Pod counts once bound).
type Offer struct {
	ID            OfferValue       `json:"id"`
	FrameworkID   OfferValue       `json:"framework_id"`
	AgentID       OfferValue       `json:"agent_id"`
	Hostname      string           `json:"hostname"`
	URL           OfferURL         `json:"url"`
	Resources     []OfferResource  `json:"resources"`
	Attributes    []OfferAttribute `json:"attributes"`
	DeltaResource *ResourceView    `json:"deltaResource"`
}

// Offer ports and the smallest offer, as Mesos and BCS have them.
const (
	// OfferPortsBegin and OfferPortsEnd are the Mesos agent's default port
	// resource; an offer carries those of them no pod on the node holds
	// as a hostPort.
	OfferPortsBegin = 31000
	OfferPortsEnd   = 32000
	// minOfferCPU: the offer pool declines an offer of this many free
	// cores or fewer (DefaultMiniResourceCpu).
	minOfferCPU = 0.05
)

// Offers is cluster/current/offers: what each node (by name) has free now,
// as the scheduler's offer pool holds it. As there, a node gets no offer
// when it cannot take taskgroups: not Ready, disabled (or cordoned), or
// with no more than 0.05 cores free. Attributes are InnerIP, the agent
// setting's strings (text) and scalars, and its noSchedule taints as the
// set NoSchedule of k=v.
func Offers(s ClusterState, clusterID string) []Offer {
	out := []Offer{}
	pods, settings := s.podsByNode(), s.settingsByIP()
	for _, node := range s.sortedNodes() {
		ip := attributes.InternalIP(node)
		setting := settings[ip]
		if !scheduler.Ready(node) || disabled(node, setting) {
			continue
		}
		u := usage(node, pods[node.Name])
		cpu := max(u.cpuTotal-u.cpuUsed, 0)
		if cpu <= minOfferCPU {
			continue
		}
		o := Offer{
			ID:          OfferValue{Value: fmt.Sprintf("%s-O%s", node.UID, node.ResourceVersion)},
			FrameworkID: OfferValue{Value: clusterID},
			AgentID:     OfferValue{Value: string(node.UID)},
			Hostname:    hostName(node),
			URL: OfferURL{Scheme: "https", Path: "/",
				Address: OfferAddress{Hostname: hostName(node), IP: ip, Port: node.Status.DaemonEndpoints.KubeletEndpoint.Port}},
			Resources: []OfferResource{
				{Name: "cpus", Type: mesosScalar, Scalar: &ScalarValue{Value: cpu}, Role: "*"},
				{Name: "mem", Type: mesosScalar, Scalar: &ScalarValue{Value: max(u.memTotal-u.memUsed, 0)}, Role: "*"},
				{Name: "disk", Type: mesosScalar, Scalar: &ScalarValue{Value: max(u.diskTotal-u.diskUsed, 0)}, Role: "*"},
			},
			Attributes:    []OfferAttribute{{Name: attributes.InnerIP, Type: mesosText, Text: &TextValue{Value: ip}}},
			DeltaResource: &ResourceView{},
		}
		if free := FreeRanges(OfferPortsBegin, OfferPortsEnd, u.hostPorts); len(free) > 0 {
			o.Resources = append(o.Resources, OfferResource{Name: "ports", Type: mesosRanges, Ranges: &OfferRanges{Range: free}, Role: "*"})
		}
		for _, a := range settingAttributes(setting) {
			if a.Type == ValueTypeText {
				o.Attributes = append(o.Attributes, OfferAttribute{Name: a.Name, Type: mesosText, Text: a.Text})
			} else {
				o.Attributes = append(o.Attributes, OfferAttribute{Name: a.Name, Type: mesosScalar, Scalar: a.Scalar})
			}
		}
		if setting != nil && len(setting.Spec.NoSchedule) > 0 {
			var items []string
			for _, k := range slices.Sorted(maps.Keys(setting.Spec.NoSchedule)) {
				items = append(items, k+"="+setting.Spec.NoSchedule[k])
			}
			o.Attributes = append(o.Attributes, OfferAttribute{Name: "NoSchedule", Type: mesosSet, Set: &SetValue{Item: items}})
		}
		out = append(out, o)
	}
	return out
}

// FreeRanges is [begin, end] without the ports in used, as ranges.
func FreeRanges(begin, end uint64, used map[int32]bool) []RangeValue {
	var out []RangeValue
	for p := begin; p <= end; p++ {
		if used[int32(p)] {
			continue
		}
		if n := len(out); n > 0 && out[n-1].End == p-1 {
			out[n-1].End = p
		} else {
			out = append(out, RangeValue{Begin: p, End: p})
		}
	}
	return out
}

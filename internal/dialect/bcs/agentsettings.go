package bcs

import (
	"encoding/json"
	"net/netip"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/bcs/attributes"
)

// Agent settings are bcs.podyard.io AgentSettings, one per InnerIP (a
// Node's InternalIP); the agent setting controller applies them to the
// Nodes with that address. What follows is pure: the BCS wire shapes and
// what each route does to a setting.
//
// Unknown IPs. BCS at HEAD (since bk-bcs 7fdc4323, 2021-05) answers
// 1405004 "store: Not Found" for an IP that has no setting yet; before
// that, as its API documentation still says, GET skipped such IPs and
// set, update, disable, enable and taint created the setting. Podyard
// does the documented thing: a setting for an IP that no node has yet is
// made and kept, and applies when a node with that InternalIP registers.

// AgentSettingView is BcsClusterAgentSetting. ExtendedResources has no
// JSON tag in the original, so its key is the Go name.
type AgentSettingView struct {
	InnerIP           string                       `json:"innerIP"`
	Disabled          bool                         `json:"disabled"`
	Strings           map[string]TextValue         `json:"strings"`
	Scalars           map[string]ScalarValue       `json:"scalars"`
	NoSchedule        map[string]string            `json:"noSchedule"`
	Pods              []string                     `json:"pods"`
	ExtendedResources map[string]*ExtendedResource `json:"ExtendedResources"` //nolint:tagliatelle // the wire name
}

// ExtendedResource is bcs-common's ExtendedResource (no JSON tags).
type ExtendedResource struct {
	InnerIP  string
	Name     string
	Value    float64
	Capacity float64
	Socket   string
}

// AgentSettingUpdate is BcsClusterAgentSettingUpdate, the body of
// agentsettings/update: one attribute for many IPs.
type AgentSettingUpdate struct {
	IPs         []string     `json:"ips"`
	Name        string       `json:"name"`
	ValueType   int32        `json:"valuetype"`
	ValueText   *TextValue   `json:"text"`
	ValueScalar *ScalarValue `json:"scalar"`
}

// SettingView is s as BCS shows it; pods are the taskgroups on its nodes.
func SettingView(s *v1alpha1.AgentSetting, pods []string) AgentSettingView {
	v := AgentSettingView{InnerIP: s.Spec.InnerIP, Disabled: s.Spec.Disabled, Pods: pods}
	if len(s.Spec.Strings) > 0 {
		v.Strings = map[string]TextValue{}
		for k, x := range s.Spec.Strings {
			v.Strings[k] = TextValue{Value: x}
		}
	}
	if len(s.Spec.Scalars) > 0 {
		v.Scalars = map[string]ScalarValue{}
		for k, x := range s.Spec.Scalars {
			v.Scalars[k] = ScalarValue{Value: x}
		}
	}
	if len(s.Spec.NoSchedule) > 0 {
		v.NoSchedule = map[string]string{}
		for k, x := range s.Spec.NoSchedule {
			v.NoSchedule[k] = x
		}
	}
	return v
}

// SettingViews are the views of settings in the order of ips (all
// settings, by IP, when ips is empty). An IP without a setting is left
// out, as the original's documentation says; none is nil (data:null).
func SettingViews(settings []*v1alpha1.AgentSetting, ips []string, podsByIP map[string][]string) []AgentSettingView {
	byIP := map[string]*v1alpha1.AgentSetting{}
	for _, s := range settings {
		byIP[s.Spec.InnerIP] = s
	}
	if len(ips) == 0 {
		for ip := range byIP {
			ips = append(ips, ip)
		}
		sort.Strings(ips)
	}
	var out []AgentSettingView
	for _, ip := range ips {
		if s, ok := byIP[ip]; ok {
			out = append(out, SettingView(s, podsByIP[ip]))
		}
	}
	return out
}

// TaskGroupsByIP are the BCS IDs of the taskgroups (Pods with a taskgroup
// ID that have not ended) on the nodes of each InternalIP, sorted.
func TaskGroupsByIP(nodes []*corev1.Node, pods []*corev1.Pod) map[string][]string {
	ipOf := map[string]string{}
	for _, n := range nodes {
		ipOf[n.Name] = attributes.InternalIP(n)
	}
	out := map[string][]string{}
	for _, p := range pods {
		id := p.Annotations[application.AnnotationTaskGroupID]
		ip := ipOf[p.Spec.NodeName]
		if id == "" || ip == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		out[ip] = append(out[ip], id)
	}
	for _, ids := range out {
		sort.Strings(ids)
	}
	return out
}

// ParseIPs reads the ips query parameter: IPs separated by commas (empty
// items skipped, duplicates once). A value that is not an IP is 1405007.
func ParseIPs(q string) ([]string, *Error) {
	var out []string
	for _, item := range strings.Split(q, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		ip, err := checkIP(item)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, ip) {
			out = append(out, ip)
		}
	}
	return out, nil
}

// checkIP is ip in its canonical form, or 1405007.
func checkIP(s string) (string, *Error) {
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" {
		return "", Errorf(CodeBadParameters, "%q is not an IP address", s)
	}
	return ip.String(), nil
}

// Change is what a route does to one IP's setting; exists says whether
// the setting was there before (spec is then a copy of it, else only
// innerIP is set).
type Change func(spec *v1alpha1.AgentSettingSpec, exists bool)

// Changed applies change to the setting of ip (existing nil: none yet),
// returning the setting to write and whether it differs from existing.
func Changed(existing *v1alpha1.AgentSetting, ip string, change Change) (*v1alpha1.AgentSetting, bool) {
	var s *v1alpha1.AgentSetting
	if existing != nil {
		s = existing.DeepCopy()
	} else {
		s = &v1alpha1.AgentSetting{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "AgentSetting"},
			ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.AgentSettingName(ip)},
			Spec:       v1alpha1.AgentSettingSpec{InnerIP: ip},
		}
	}
	change(&s.Spec, existing != nil)
	normalize(&s.Spec)
	if existing == nil {
		return s, true
	}
	old := existing.Spec.DeepCopy()
	normalize(old)
	return s, !specEqual(*old, s.Spec)
}

// normalize drops empty maps, so an empty and an absent one compare equal.
func normalize(spec *v1alpha1.AgentSettingSpec) {
	if len(spec.Strings) == 0 {
		spec.Strings = nil
	}
	if len(spec.Scalars) == 0 {
		spec.Scalars = nil
	}
	if len(spec.NoSchedule) == 0 {
		spec.NoSchedule = nil
	}
}

func specEqual(a, b v1alpha1.AgentSettingSpec) bool {
	ja, _ := json.Marshal(a) // maps marshal sorted
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// SetDisabled is disable (true) or enable (false).
func SetDisabled(disabled bool) Change {
	return func(spec *v1alpha1.AgentSettingSpec, _ bool) { spec.Disabled = disabled }
}

// SetAttributes is POST agentsettings for one posted setting: an existing
// setting gets the posted strings and scalars (as BCS does: disabled and
// noSchedule have routes of their own); a new one is the posted setting.
func SetAttributes(v AgentSettingView) Change {
	return func(spec *v1alpha1.AgentSettingSpec, exists bool) {
		spec.Strings, spec.Scalars = nil, nil
		for k, x := range v.Strings {
			if spec.Strings == nil {
				spec.Strings = map[string]string{}
			}
			spec.Strings[k] = x.Value
		}
		for k, x := range v.Scalars {
			if spec.Scalars == nil {
				spec.Scalars = map[string]float64{}
			}
			spec.Scalars[k] = x.Value
		}
		if !exists {
			spec.Disabled = v.Disabled
			spec.NoSchedule = copyMap(v.NoSchedule)
		}
	}
}

// SetTaints is PUT agentsettings/taint for one posted setting: its
// noSchedule replaces the setting's.
func SetTaints(v AgentSettingView) Change {
	return func(spec *v1alpha1.AgentSettingSpec, _ bool) { spec.NoSchedule = copyMap(v.NoSchedule) }
}

// SetAttribute is agentsettings/update for one IP: the attribute is set
// (a text for 103, a scalar for 101) and no longer the other type.
func SetAttribute(u AgentSettingUpdate) Change {
	return func(spec *v1alpha1.AgentSettingSpec, _ bool) {
		if u.ValueType == ValueTypeText {
			if spec.Strings == nil {
				spec.Strings = map[string]string{}
			}
			spec.Strings[u.Name] = u.ValueText.Value
			delete(spec.Scalars, u.Name)
			return
		}
		if spec.Scalars == nil {
			spec.Scalars = map[string]float64{}
		}
		spec.Scalars[u.Name] = u.ValueScalar.Value
		delete(spec.Strings, u.Name)
	}
}

func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ParseSettings reads the body of POST agentsettings and PUT
// agentsettings/taint: a list of settings, each with an IP. A body that
// is not such a list is 1405010 like every body that does not decode (the
// original answered 1405008 here); a bad IP 1405007.
func ParseSettings(body []byte) ([]AgentSettingView, *Error) {
	var list []AgentSettingView
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, Errorf(CodeJSONDecode, "decoding the agent settings: %v", err)
	}
	for i := range list {
		ip, err := checkIP(list[i].InnerIP)
		if err != nil {
			return nil, Errorf(CodeBadParameters, "setting %d: innerIP %q is not an IP address", i, list[i].InnerIP)
		}
		list[i].InnerIP = ip
	}
	return list, nil
}

// ParseUpdate reads the body of agentsettings/update, refusing what the
// original refuses (1405008): no IPs, no name, a value type other than
// 103 with text or 101 with scalar.
func ParseUpdate(body []byte) (AgentSettingUpdate, *Error) {
	var u AgentSettingUpdate
	if err := json.Unmarshal(body, &u); err != nil {
		return u, Errorf(CodeJSONDecode, "decoding the update: %v", err)
	}
	switch {
	case len(u.IPs) == 0:
		return u, Errorf(CodeRequestData, "no ips to update")
	case u.Name == "":
		return u, Errorf(CodeRequestData, "no settingName to update")
	case u.ValueType == ValueTypeText && u.ValueText == nil:
		return u, Errorf(CodeRequestData, "text is nil")
	case u.ValueType == ValueTypeScalar && u.ValueScalar == nil:
		return u, Errorf(CodeRequestData, "scalar is nil")
	case u.ValueType != ValueTypeText && u.ValueType != ValueTypeScalar:
		return u, Errorf(CodeRequestData, "value type error")
	}
	var ips []string
	for _, s := range u.IPs {
		ip, err := checkIP(s)
		if err != nil {
			return u, err
		}
		if !slices.Contains(ips, ip) {
			ips = append(ips, ip)
		}
	}
	u.IPs = ips
	return u, nil
}

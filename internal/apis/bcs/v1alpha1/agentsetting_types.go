package v1alpha1

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AgentSetting is what BCS keeps about one agent (node), keyed by its
// InnerIP (the Node's InternalIP): whether it takes new taskgroups, its
// attributes for constraints, and its NoSchedule taints. Cluster-scoped; its
// name is the IP (an IPv6 address with ':' written as '-'). A setting may
// exist before its node does and applies when the node registers.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type AgentSetting struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AgentSettingSpec `json:"spec"`
	// +optional
	Status AgentSettingStatus `json:"status,omitempty"`
}

// AgentSettingSpec is BCS's BcsClusterAgentSetting.
type AgentSettingSpec struct {
	// InnerIP is the agent's IP, the Node's InternalIP.
	InnerIP string `json:"innerIP"`
	// Disabled nodes take no new taskgroups; running ones stay.
	// +optional
	Disabled bool `json:"disabled,omitempty"`
	// Strings are text attributes (BCS value type 103).
	// +optional
	Strings map[string]string `json:"strings,omitempty"`
	// Scalars are number attributes (BCS value type 101).
	// +optional
	Scalars map[string]float64 `json:"scalars,omitempty"`
	// NoSchedule are taints key → value with effect NoSchedule.
	// +optional
	NoSchedule map[string]string `json:"noSchedule,omitempty"`
}

// AgentSettingStatus says where the setting applies.
type AgentSettingStatus struct {
	// NodeName is the Node whose InternalIP is spec.innerIP ("" while there
	// is none).
	// +optional
	NodeName string `json:"nodeName,omitempty"`
}

// AgentSettingList is a list of AgentSettings.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type AgentSettingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []AgentSetting `json:"items"`
}

// AgentSettingName is the name of the AgentSetting of the agent at ip.
func AgentSettingName(ip string) string {
	return strings.ReplaceAll(ip, ":", "-")
}

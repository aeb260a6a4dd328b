package printers

import (
	"fmt"
	"sort"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/registry/rest"
)

// Namespaces shows NAME STATUS AGE.
func Namespaces() rest.TableConvertor {
	return newTable([]metav1.TableColumnDefinition{
		nameColumn(), column("Status", "The status of the namespace"), ageColumn(),
	}, func(ns *corev1.Namespace, now time.Time) []any {
		return []any{ns.Name, string(ns.Status.Phase), age(ns.CreationTimestamp, now)}
	})
}

// Nodes shows NAME STATUS ROLES AGE VERSION, and addresses, OS, kernel and
// runtime with -o wide.
func Nodes() rest.TableConvertor {
	info := corev1.NodeSystemInfo{}.SwaggerDoc()
	return newTable([]metav1.TableColumnDefinition{
		nameColumn(),
		column("Status", "The status of the node"),
		column("Roles", "The roles of the node"),
		ageColumn(),
		column("Version", info["kubeletVersion"]),
		wideColumn("Internal-IP", corev1.NodeStatus{}.SwaggerDoc()["addresses"]),
		wideColumn("External-IP", corev1.NodeStatus{}.SwaggerDoc()["addresses"]),
		wideColumn("OS-Image", info["osImage"]),
		wideColumn("Kernel-Version", info["kernelVersion"]),
		wideColumn("Container-Runtime", info["containerRuntimeVersion"]),
	}, func(n *corev1.Node, now time.Time) []any {
		i := n.Status.NodeInfo
		return []any{n.Name, nodeStatus(n), nodeRoles(n), age(n.CreationTimestamp, now), i.KubeletVersion,
			nodeAddress(n, corev1.NodeInternalIP), nodeAddress(n, corev1.NodeExternalIP),
			orUnknown(i.OSImage), orUnknown(i.KernelVersion), orUnknown(i.ContainerRuntimeVersion)}
	})
}

func nodeStatus(n *corev1.Node) string {
	status := "Unknown"
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			status = "NotReady"
			if c.Status == corev1.ConditionTrue {
				status = "Ready"
			}
		}
	}
	if n.Spec.Unschedulable {
		status += ",SchedulingDisabled"
	}
	return status
}

const (
	nodeRolePrefix = "node-role.kubernetes.io/"
	nodeRoleLabel  = "kubernetes.io/role"
)

func nodeRoles(n *corev1.Node) string {
	var roles []string
	for k, v := range n.Labels {
		switch {
		case strings.HasPrefix(k, nodeRolePrefix):
			if role := strings.TrimPrefix(k, nodeRolePrefix); role != "" {
				roles = append(roles, role)
			}
		case k == nodeRoleLabel && v != "":
			roles = append(roles, v)
		}
	}
	if len(roles) == 0 {
		return "<none>"
	}
	sort.Strings(roles)
	return strings.Join(roles, ",")
}

func nodeAddress(n *corev1.Node, typ corev1.NodeAddressType) string {
	for _, a := range n.Status.Addresses {
		if a.Type == typ {
			return a.Address
		}
	}
	return "<none>"
}

func orUnknown(s string) string {
	if s == "" {
		return "<unknown>"
	}
	return s
}

// Events shows LAST SEEN TYPE REASON OBJECT MESSAGE, and more with -o wide.
func Events() rest.TableConvertor {
	doc := corev1.Event{}.SwaggerDoc()
	name := nameColumn()
	name.Priority = 1
	return newTable([]metav1.TableColumnDefinition{
		column("Last Seen", doc["lastTimestamp"]),
		column("Type", doc["type"]),
		column("Reason", doc["reason"]),
		column("Object", doc["involvedObject"]),
		wideColumn("Subobject", corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]),
		wideColumn("Source", doc["source"]),
		column("Message", doc["message"]),
		wideColumn("First Seen", doc["firstTimestamp"]),
		wideColumn("Count", doc["count"]),
		name,
	}, func(e *corev1.Event, now time.Time) []any {
		first := age(e.FirstTimestamp, now)
		if e.FirstTimestamp.IsZero() {
			first = age(metav1.Time(e.EventTime), now)
		}
		last := age(e.LastTimestamp, now)
		if e.LastTimestamp.IsZero() {
			last = first
		}
		count := e.Count
		if e.Series != nil {
			last, count = age(metav1.Time(e.Series.LastObservedTime), now), e.Series.Count
		}
		object := fmt.Sprintf("%s/%s", strings.ToLower(e.InvolvedObject.Kind), e.InvolvedObject.Name)
		return []any{last, e.Type, e.Reason, object, e.InvolvedObject.FieldPath, eventSource(e), strings.TrimSpace(e.Message), first, int64(count), e.Name}
	})
}

func eventSource(e *corev1.Event) string {
	component, host := e.Source.Component, e.Source.Host
	if component == "" {
		component, host = e.ReportingController, e.ReportingInstance
	}
	if host == "" {
		return component
	}
	return component + ", " + host
}

// ServiceAccounts shows NAME SECRETS AGE.
func ServiceAccounts() rest.TableConvertor {
	return newTable([]metav1.TableColumnDefinition{
		nameColumn(), column("Secrets", corev1.ServiceAccount{}.SwaggerDoc()["secrets"]), ageColumn(),
	}, func(sa *corev1.ServiceAccount, now time.Time) []any {
		return []any{sa.Name, int64(len(sa.Secrets)), age(sa.CreationTimestamp, now)}
	})
}

// ConfigMaps shows NAME DATA AGE.
func ConfigMaps() rest.TableConvertor {
	return newTable([]metav1.TableColumnDefinition{
		nameColumn(), column("Data", corev1.ConfigMap{}.SwaggerDoc()["data"]), ageColumn(),
	}, func(c *corev1.ConfigMap, now time.Time) []any {
		return []any{c.Name, int64(len(c.Data) + len(c.BinaryData)), age(c.CreationTimestamp, now)}
	})
}

// Secrets shows NAME TYPE DATA AGE.
func Secrets() rest.TableConvertor {
	doc := corev1.Secret{}.SwaggerDoc()
	return newTable([]metav1.TableColumnDefinition{
		nameColumn(), column("Type", doc["type"]), column("Data", doc["data"]), ageColumn(),
	}, func(s *corev1.Secret, now time.Time) []any {
		return []any{s.Name, string(s.Type), int64(len(s.Data)), age(s.CreationTimestamp, now)}
	})
}

// Services shows NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE, and SELECTOR with -o wide.
func Services() rest.TableConvertor {
	doc := corev1.ServiceSpec{}.SwaggerDoc()
	return newTable([]metav1.TableColumnDefinition{
		nameColumn(),
		column("Type", doc["type"]),
		column("Cluster-IP", doc["clusterIP"]),
		column("External-IP", doc["externalIPs"]),
		column("Port(s)", doc["ports"]),
		ageColumn(),
		wideColumn("Selector", doc["selector"]),
	}, func(s *corev1.Service, now time.Time) []any {
		selector := "<none>"
		if len(s.Spec.Selector) > 0 {
			selector = labels.FormatLabels(s.Spec.Selector)
		}
		return []any{s.Name, string(s.Spec.Type), orNone(s.Spec.ClusterIP), serviceExternalIP(s), servicePorts(s), age(s.CreationTimestamp, now), selector}
	})
}

func serviceExternalIP(s *corev1.Service) string {
	switch s.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		return orNone(strings.Join(s.Spec.ExternalIPs, ","))
	case corev1.ServiceTypeLoadBalancer:
		var ips []string
		for _, in := range s.Status.LoadBalancer.Ingress {
			if in.IP != "" {
				ips = append(ips, in.IP)
			} else if in.Hostname != "" {
				ips = append(ips, in.Hostname)
			}
		}
		ips = append(ips, s.Spec.ExternalIPs...)
		if len(ips) == 0 {
			return "<pending>"
		}
		return strings.Join(ips, ",")
	case corev1.ServiceTypeExternalName:
		return s.Spec.ExternalName
	}
	return "<unknown>"
}

func servicePorts(s *corev1.Service) string {
	ports := make([]string, 0, len(s.Spec.Ports))
	for _, p := range s.Spec.Ports {
		if p.NodePort != 0 {
			ports = append(ports, fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol))
		} else {
			ports = append(ports, fmt.Sprintf("%d/%s", p.Port, p.Protocol))
		}
	}
	return orNone(strings.Join(ports, ","))
}

// Leases shows NAME HOLDER AGE.
func Leases() rest.TableConvertor {
	return newTable([]metav1.TableColumnDefinition{
		nameColumn(), column("Holder", coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]), ageColumn(),
	}, func(l *coordinationv1.Lease, now time.Time) []any {
		holder := ""
		if l.Spec.HolderIdentity != nil {
			holder = *l.Spec.HolderIdentity
		}
		return []any{l.Name, holder, age(l.CreationTimestamp, now)}
	})
}

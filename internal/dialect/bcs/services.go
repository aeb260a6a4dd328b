package bcs

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	corevalidation "github.com/podyard/podyard/internal/apis/core/validation"
	"github.com/podyard/podyard/internal/bcs/names"
)

// KindService is the kind of a BCS service body.
const KindService = "service"

// annotationService holds, as JSON, what of a BCS service core/v1 has no
// field for: its type, cluster IPs and each port's BCS name, protocol,
// domain name, path and target and node ports.
const annotationService = "bcs.podyard.io/service"

// Service is a BCS service (bcs-common BcsService).
type Service struct {
	APIVersion string      `json:"apiVersion"`
	Kind       string      `json:"kind"`
	Metadata   Meta        `json:"metadata"`
	Spec       ServiceSpec `json:"spec"`
}

// ServiceSpec is what a BCS service selects and exposes. The original's
// clusterIP tag is misspelled ("omitemtpy"), so it is always there.
type ServiceSpec struct {
	Selector  map[string]string `json:"selector"`
	Type      string            `json:"type,omitempty"` // Kubernetes clusters only
	ClusterIP []string          `json:"clusterIP"`
	Ports     []ServicePort     `json:"ports"`
}

// ServicePort is one port of a BCS service. BCS matches it to the
// application's container port of the same name.
type ServicePort struct {
	Name       string `json:"name"`
	DomainName string `json:"domainName,omitempty"`
	Path       string `json:"path"`
	Protocol   string `json:"protocol"`
	Port       int32  `json:"servicePort"`
	TargetPort int32  `json:"targetPort,omitempty"`
	NodePort   int32  `json:"nodePort,omitempty"`
}

// serviceExtras is what annotationService keeps. Ports are the posted
// ones by index, servicePort left out (the Service has it).
type serviceExtras struct {
	Type      string        `json:"type,omitempty"`
	ClusterIP []string      `json:"clusterIP,omitempty"`
	Ports     []ServicePort `json:"ports,omitempty"`
}

// ServiceName is the Kubernetes name of a BCS service (names.Service).
func ServiceName(bcs string) (string, *Error) {
	if _, err := KubeName(bcs); err != nil {
		return "", err
	}
	name, err := names.Service(bcs)
	if err != nil {
		return "", internalError(err)
	}
	return name, nil
}

// ToService translates a BCS service in the request's target to a
// core/v1 Service over the application's taskgroups: spec.selector is the
// Service's selector (BCS selects by the application's labels, which the
// taskgroup Pods carry), each port a Service port whose target is the
// container port of the same name (BCS's rule), or targetPort when set,
// or else the service port itself. It has no cluster IP yet; a service
// without ports is headless.
func ToService(t Target, s Service) (*corev1.Service, *Error) {
	if _, err := checkMeta(t, s.Kind, &s.Metadata); err != nil {
		return nil, err
	}
	name, err := ServiceName(s.Metadata.Name)
	if err != nil {
		return nil, err
	}
	for k, v := range s.Spec.Selector {
		if len(validation.IsQualifiedName(k)) > 0 || len(validation.IsValidLabelValue(v)) > 0 {
			return nil, Errorf(CodeBadParameters, "spec.selector %s=%s is not a Kubernetes label, so no taskgroup carries it", k, v)
		}
	}
	svc := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Selector: maps.Clone(s.Spec.Selector)}}
	if len(s.Spec.Ports) == 0 {
		svc.Spec.ClusterIP = corev1.ClusterIPNone
	}
	extras := serviceExtras{Type: s.Spec.Type, ClusterIP: s.Spec.ClusterIP}
	used := map[string]bool{}
	for i, p := range s.Spec.Ports {
		sp := corev1.ServicePort{Name: servicePortName(p.Name, i, used), Protocol: serviceProtocol(p.Protocol), Port: p.Port}
		switch {
		case p.TargetPort > 0:
			sp.TargetPort = intstr.FromInt32(p.TargetPort)
		case len(validation.IsValidPortName(p.Name)) == 0:
			sp.TargetPort = intstr.FromString(p.Name) // the taskgroup's container port of that name
		default:
			sp.TargetPort = intstr.FromInt32(p.Port)
		}
		svc.Spec.Ports = append(svc.Spec.Ports, sp)
		p.Port = 0
		extras.Ports = append(extras.Ports, p)
	}
	extrasJSON, _ := json.Marshal(extras)
	svc.ObjectMeta = objectMeta(t, name, s.Metadata, map[string]string{
		annotationService: string(extrasJSON), annotationAPIVersion: apiVersionOr(s.APIVersion),
	})
	if errs := corevalidation.ValidateService(svc); len(errs) > 0 {
		return nil, Errorf(CodeBadParameters, "service %s: %v", s.Metadata.Name, errs.ToAggregate())
	}
	return svc, nil
}

// servicePortName is port i's Kubernetes name: the BCS name when it is a
// DNS label not used yet, else port-{i} (Kubernetes requires names when a
// Service has more than one port).
func servicePortName(bcs string, i int, used map[string]bool) string {
	name := bcs
	if len(validation.IsDNS1123Label(name)) > 0 || used[name] {
		name = fmt.Sprintf("port-%d", i)
	}
	used[name] = true
	return name
}

// serviceProtocol is the transport of a BCS protocol: udp and sctp are
// theirs, anything else (tcp, http, https) is TCP.
func serviceProtocol(p string) corev1.Protocol {
	switch strings.ToUpper(p) {
	case "UDP":
		return corev1.ProtocolUDP
	case "SCTP":
		return corev1.ProtocolSCTP
	}
	return corev1.ProtocolTCP
}

// FromService is the BCS view of a Service made by ToService.
func FromService(bcsNamespace string, svc *corev1.Service) Service {
	var extras serviceExtras
	_ = json.Unmarshal([]byte(svc.Annotations[annotationService]), &extras)
	out := Service{APIVersion: apiVersionOr(svc.Annotations[annotationAPIVersion]), Kind: KindService,
		Metadata: bcsMeta(bcsNamespace, svc.ObjectMeta),
		Spec:     ServiceSpec{Selector: maps.Clone(svc.Spec.Selector), Type: extras.Type, ClusterIP: extras.ClusterIP}}
	if ip := svc.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
		out.Spec.ClusterIP = svc.Spec.ClusterIPs
		if len(out.Spec.ClusterIP) == 0 {
			out.Spec.ClusterIP = []string{ip}
		}
	}
	for i, sp := range svc.Spec.Ports {
		p := ServicePort{Name: sp.Name, Protocol: strings.ToLower(string(sp.Protocol))}
		if i < len(extras.Ports) {
			p = extras.Ports[i]
		}
		p.Port = sp.Port
		out.Spec.Ports = append(out.Spec.Ports, p)
	}
	return out
}

// objectName is the Kubernetes name of a BCS object of a kind.
func objectName(kind, bcs string) (string, *Error) {
	if kind == KindService {
		return ServiceName(bcs)
	}
	return KubeName(bcs)
}

// updateService replaces a Service's BCS view. What the cluster gave it
// (its cluster IPs) stays.
func (c objects) updateService(ctx context.Context, svc *corev1.Service) error {
	client := c.kube.CoreV1().Services(svc.Namespace)
	old, err := client.Get(ctx, svc.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	svc.ResourceVersion = old.ResourceVersion
	if old.Spec.ClusterIP != "" {
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = old.Spec.ClusterIP, old.Spec.ClusterIPs
		svc.Spec.IPFamilies, svc.Spec.IPFamilyPolicy = old.Spec.IPFamilies, old.Spec.IPFamilyPolicy
	}
	_, err = client.Update(ctx, svc, metav1.UpdateOptions{})
	return err
}

func (c objects) deleteService(ctx context.Context, name string) error {
	return c.kube.CoreV1().Services(c.target.KubeNamespace).Delete(ctx, name, metav1.DeleteOptions{})
}

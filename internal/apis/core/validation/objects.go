package validation

import (
	"net"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateNamespace checks a new namespace.
func ValidateNamespace(ns *corev1.Namespace) field.ErrorList {
	errs := clusterMeta(&ns.ObjectMeta, apivalidation.ValidateNamespaceName)
	for i, f := range ns.Spec.Finalizers {
		errs = append(errs, qualifiedName(string(f), specPath.Child("finalizers").Index(i))...)
	}
	return errs
}

// ValidateNamespaceUpdate checks an update of a namespace's metadata.
func ValidateNamespaceUpdate(ns, old *corev1.Namespace) field.ErrorList {
	return metaUpdate(&ns.ObjectMeta, &old.ObjectMeta)
}

// ValidateNamespaceStatusUpdate checks namespaces/status.
func ValidateNamespaceStatusUpdate(ns, old *corev1.Namespace) field.ErrorList {
	errs := metaUpdate(&ns.ObjectMeta, &old.ObjectMeta)
	if ns.DeletionTimestamp.IsZero() && ns.Status.Phase != corev1.NamespaceActive {
		errs = append(errs, field.Invalid(statusPath.Child("phase"), ns.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty"))
	} else if !ns.DeletionTimestamp.IsZero() && ns.Status.Phase != corev1.NamespaceTerminating {
		errs = append(errs, field.Invalid(statusPath.Child("phase"), ns.Status.Phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"))
	}
	return errs
}

// ValidateNamespaceFinalizeUpdate checks namespaces/finalize.
func ValidateNamespaceFinalizeUpdate(ns, old *corev1.Namespace) field.ErrorList {
	errs := metaUpdate(&ns.ObjectMeta, &old.ObjectMeta)
	for i, f := range ns.Spec.Finalizers {
		errs = append(errs, qualifiedName(string(f), specPath.Child("finalizers").Index(i))...)
	}
	return errs
}

// ValidateNode checks a new node.
func ValidateNode(n *corev1.Node) field.ErrorList {
	errs := clusterMeta(&n.ObjectMeta, apivalidation.NameIsDNSSubdomain)
	for i, t := range n.Spec.Taints {
		p := specPath.Child("taints").Index(i)
		errs = append(errs, qualifiedName(t.Key, p.Child("key"))...)
		errs = append(errs, oneOf(t.Effect, p.Child("effect"), corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute)...)
	}
	for i, cidr := range append([]string{n.Spec.PodCIDR}, n.Spec.PodCIDRs...) {
		if cidr == "" {
			continue
		}
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			p := specPath.Child("podCIDR")
			if i > 0 {
				p = specPath.Child("podCIDRs").Index(i - 1)
			}
			errs = append(errs, field.Invalid(p, cidr, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"))
		}
	}
	for name, q := range n.Status.Capacity {
		if q.Sign() < 0 {
			errs = append(errs, field.Invalid(statusPath.Child("capacity").Key(string(name)), q.String(), "must be greater than or equal to 0"))
		}
	}
	return errs
}

// ValidateNodeUpdate checks a node update: podCIDR and providerID are set once.
func ValidateNodeUpdate(n, old *corev1.Node) field.ErrorList {
	errs := append(metaUpdate(&n.ObjectMeta, &old.ObjectMeta), ValidateNode(n)...)
	if old.Spec.PodCIDR != "" && n.Spec.PodCIDR != old.Spec.PodCIDR {
		errs = append(errs, field.Forbidden(specPath.Child("podCIDR"), "node updates may not change podCIDR except from \"\" to valid"))
	}
	if old.Spec.ProviderID != "" && n.Spec.ProviderID != old.Spec.ProviderID {
		errs = append(errs, field.Forbidden(specPath.Child("providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	return errs
}

// ValidateService checks a new service.
func ValidateService(s *corev1.Service) field.ErrorList {
	errs := namespacedMeta(&s.ObjectMeta, apivalidation.NameIsDNS1035Label)
	spec, path := &s.Spec, specPath
	errs = append(errs, oneOf(spec.Type, path.Child("type"), corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeExternalName)...)
	if spec.Type == corev1.ServiceTypeExternalName {
		if spec.ExternalName == "" {
			errs = append(errs, field.Required(path.Child("externalName"), ""))
		} else {
			errs = append(errs, dnsSubdomain(spec.ExternalName, path.Child("externalName"))...)
		}
	} else if len(spec.Ports) == 0 && spec.ClusterIP != corev1.ClusterIPNone {
		errs = append(errs, field.Required(path.Child("ports"), ""))
	}
	names := sets.New[string]()
	for i, p := range spec.Ports {
		pp := path.Child("ports").Index(i)
		if len(spec.Ports) > 1 && p.Name == "" {
			errs = append(errs, field.Required(pp.Child("name"), ""))
		} else if p.Name != "" {
			errs = append(errs, dnsLabel(p.Name, pp.Child("name"))...)
			if names.Has(p.Name) {
				errs = append(errs, field.Duplicate(pp.Child("name"), p.Name))
			}
			names.Insert(p.Name)
		}
		if len(utilvalidation.IsValidPortNum(int(p.Port))) > 0 {
			errs = append(errs, field.Invalid(pp.Child("port"), p.Port, utilvalidation.InclusiveRangeError(1, 65535)))
		}
		errs = append(errs, oneOf(p.Protocol, pp.Child("protocol"), corev1.ProtocolSCTP, corev1.ProtocolTCP, corev1.ProtocolUDP)...)
		if p.TargetPort != (intstr.IntOrString{}) {
			errs = append(errs, portNumOrName(p.TargetPort, pp.Child("targetPort"))...)
		}
		if p.NodePort != 0 && spec.Type != corev1.ServiceTypeNodePort && spec.Type != corev1.ServiceTypeLoadBalancer {
			errs = append(errs, field.Forbidden(pp.Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
		}
	}
	errs = append(errs, metavalidation.ValidateLabels(spec.Selector, path.Child("selector"))...)
	if spec.SessionAffinity != "" {
		errs = append(errs, oneOf(spec.SessionAffinity, path.Child("sessionAffinity"), corev1.ServiceAffinityClientIP, corev1.ServiceAffinityNone)...)
	}
	if ip := spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
		errs = append(errs, ipAddress(ip, path.Child("clusterIP"))...)
	}
	for i, ip := range spec.ExternalIPs {
		errs = append(errs, ipAddress(ip, path.Child("externalIPs").Index(i))...)
	}
	return errs
}

// ValidateServiceUpdate checks a service update: a set clusterIP stays.
func ValidateServiceUpdate(s, old *corev1.Service) field.ErrorList {
	errs := append(metaUpdate(&s.ObjectMeta, &old.ObjectMeta), ValidateService(s)...)
	if old.Spec.ClusterIP != "" && s.Spec.ClusterIP != old.Spec.ClusterIP && s.Spec.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Invalid(specPath.Child("clusterIP"), s.Spec.ClusterIP, "field is immutable"))
	}
	return errs
}

// ValidateServiceStatusUpdate checks services/status.
func ValidateServiceStatusUpdate(s, old *corev1.Service) field.ErrorList {
	errs := metaUpdate(&s.ObjectMeta, &old.ObjectMeta)
	for i, in := range s.Status.LoadBalancer.Ingress {
		if in.IP != "" {
			errs = append(errs, ipAddress(in.IP, statusPath.Child("loadBalancer", "ingress").Index(i).Child("ip"))...)
		}
	}
	return errs
}

// maxDataBytes bounds a configmap's or secret's data, as etcd's request limit requires.
const maxDataBytes = 1024 * 1024

// ValidateConfigMap checks a new configmap.
func ValidateConfigMap(c *corev1.ConfigMap) field.ErrorList {
	errs := namespacedMeta(&c.ObjectMeta, apivalidation.NameIsDNSSubdomain)
	size := 0
	for k, v := range c.Data {
		errs = append(errs, dataKey(k, field.NewPath("data").Key(k))...)
		if _, dup := c.BinaryData[k]; dup {
			errs = append(errs, field.Invalid(field.NewPath("data").Key(k), k, "duplicate of key present in binaryData"))
		}
		size += len(k) + len(v)
	}
	for k, v := range c.BinaryData {
		errs = append(errs, dataKey(k, field.NewPath("binaryData").Key(k))...)
		size += len(k) + len(v)
	}
	if size > maxDataBytes {
		errs = append(errs, field.TooLong(field.NewPath(""), "", maxDataBytes))
	}
	return errs
}

// ValidateConfigMapUpdate keeps an immutable configmap's data.
func ValidateConfigMapUpdate(c, old *corev1.ConfigMap) field.ErrorList {
	errs := append(metaUpdate(&c.ObjectMeta, &old.ObjectMeta), ValidateConfigMap(c)...)
	if isTrue(old.Immutable) {
		errs = append(errs, immutableData(isTrue(c.Immutable), apiequality.Semantic.DeepEqual(c.Data, old.Data) && apiequality.Semantic.DeepEqual(c.BinaryData, old.BinaryData))...)
	}
	return errs
}

// ValidateSecret checks a new secret, including the keys each type requires.
func ValidateSecret(s *corev1.Secret) field.ErrorList {
	errs := namespacedMeta(&s.ObjectMeta, apivalidation.NameIsDNSSubdomain)
	dataPath := field.NewPath("data")
	size := 0
	for k, v := range s.Data {
		errs = append(errs, dataKey(k, dataPath.Key(k))...)
		size += len(v)
	}
	if size > maxDataBytes {
		errs = append(errs, field.TooLong(dataPath, "", maxDataBytes))
	}
	require := func(keys ...string) {
		for _, k := range keys {
			if _, ok := s.Data[k]; !ok {
				errs = append(errs, field.Required(dataPath.Key(k), ""))
			}
		}
	}
	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			errs = append(errs, field.Required(metadataPath.Child("annotations").Key(corev1.ServiceAccountNameKey), ""))
		}
	case corev1.SecretTypeDockercfg:
		require(corev1.DockerConfigKey)
	case corev1.SecretTypeDockerConfigJson:
		require(corev1.DockerConfigJsonKey)
	case corev1.SecretTypeBasicAuth:
		if s.Data[corev1.BasicAuthUsernameKey] == nil && s.Data[corev1.BasicAuthPasswordKey] == nil {
			errs = append(errs, field.Required(dataPath.Key(corev1.BasicAuthUsernameKey), ""), field.Required(dataPath.Key(corev1.BasicAuthPasswordKey), ""))
		}
	case corev1.SecretTypeSSHAuth:
		require(corev1.SSHAuthPrivateKey)
	case corev1.SecretTypeTLS:
		require(corev1.TLSCertKey, corev1.TLSPrivateKeyKey)
	}
	return errs
}

// ValidateSecretUpdate keeps the type, and an immutable secret's data.
func ValidateSecretUpdate(s, old *corev1.Secret) field.ErrorList {
	errs := append(metaUpdate(&s.ObjectMeta, &old.ObjectMeta), ValidateSecret(s)...)
	if s.Type != old.Type {
		errs = append(errs, field.Invalid(field.NewPath("type"), s.Type, "field is immutable"))
	}
	if isTrue(old.Immutable) {
		errs = append(errs, immutableData(isTrue(s.Immutable), apiequality.Semantic.DeepEqual(s.Data, old.Data))...)
	}
	return errs
}

func dataKey(k string, path *field.Path) field.ErrorList {
	return invalid(utilvalidation.IsConfigMapKey, k, path)
}

func immutableData(stillImmutable, sameData bool) field.ErrorList {
	var errs field.ErrorList
	if !stillImmutable {
		errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
	}
	if !sameData {
		errs = append(errs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
	}
	return errs
}

func isTrue(b *bool) bool { return b != nil && *b }

// ValidateServiceAccount checks a new service account.
func ValidateServiceAccount(sa *corev1.ServiceAccount) field.ErrorList {
	return namespacedMeta(&sa.ObjectMeta, apivalidation.NameIsDNSSubdomain)
}

// ValidateServiceAccountUpdate checks a service account update.
func ValidateServiceAccountUpdate(sa, old *corev1.ServiceAccount) field.ErrorList {
	return append(metaUpdate(&sa.ObjectMeta, &old.ObjectMeta), ValidateServiceAccount(sa)...)
}

// ValidateEvent checks a core/v1 event: it must sit in its object's namespace.
func ValidateEvent(e *corev1.Event) field.ErrorList {
	errs := namespacedMeta(&e.ObjectMeta, apivalidation.NameIsDNSSubdomain)
	if ns := e.InvolvedObject.Namespace; ns != "" && ns != e.Namespace {
		errs = append(errs, field.Invalid(field.NewPath("involvedObject", "namespace"), ns, "does not match event.namespace"))
	}
	if e.Type != "" && e.Type != corev1.EventTypeNormal && e.Type != corev1.EventTypeWarning && !e.EventTime.IsZero() {
		errs = append(errs, field.NotSupported(field.NewPath("type"), e.Type, []string{corev1.EventTypeNormal, corev1.EventTypeWarning}))
	}
	if len(e.Message) > 4096 && !e.EventTime.IsZero() {
		errs = append(errs, field.TooLong(field.NewPath("message"), "", 4096))
	}
	return errs
}

// ValidateEventUpdate checks an event update.
func ValidateEventUpdate(e, old *corev1.Event) field.ErrorList {
	return append(metaUpdate(&e.ObjectMeta, &old.ObjectMeta), ValidateEvent(e)...)
}

// ValidateLease checks a coordination/v1 lease.
func ValidateLease(l *coordinationv1.Lease) field.ErrorList {
	errs := namespacedMeta(&l.ObjectMeta, apivalidation.NameIsDNSSubdomain)
	if d := l.Spec.LeaseDurationSeconds; d != nil && *d <= 0 {
		errs = append(errs, field.Invalid(specPath.Child("leaseDurationSeconds"), *d, "must be greater than 0"))
	}
	if t := l.Spec.LeaseTransitions; t != nil {
		errs = append(errs, nonNegative(int64(*t), specPath.Child("leaseTransitions"))...)
	}
	return errs
}

// ValidateLeaseUpdate checks a lease update.
func ValidateLeaseUpdate(l, old *coordinationv1.Lease) field.ErrorList {
	return append(metaUpdate(&l.ObjectMeta, &old.ObjectMeta), ValidateLease(l)...)
}

// ValidateEviction checks the delete options an eviction carries.
func ValidateEviction(e *policyv1.Eviction) field.ErrorList {
	if e.DeleteOptions == nil {
		return nil
	}
	errs := metavalidation.ValidateDeleteOptions(e.DeleteOptions)
	if g := e.DeleteOptions.GracePeriodSeconds; g != nil && *g < 0 {
		errs = append(errs, field.Invalid(field.NewPath("deleteOptions", "gracePeriodSeconds"), *g, "must be greater than or equal to 0"))
	}
	return errs
}

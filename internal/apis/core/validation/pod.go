package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidatePodCreate checks a new pod.
func ValidatePodCreate(pod *corev1.Pod) field.ErrorList {
	errs := namespacedMeta(&pod.ObjectMeta, apivalidation.NameIsDNSSubdomain)
	errs = append(errs, validatePodSpec(&pod.Spec, specPath)...)
	if len(pod.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(specPath.Child("ephemeralContainers"), "cannot be set on create"))
	}
	return errs
}

func validatePodSpec(spec *corev1.PodSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	volumes, volErrs := validateVolumes(spec.Volumes, path.Child("volumes"))
	errs = append(errs, volErrs...)

	names := sets.New[string]()
	portNames := sets.New[string]()
	if len(spec.Containers) == 0 {
		errs = append(errs, field.Required(path.Child("containers"), ""))
	}
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		p := path.Child("initContainers").Index(i)
		errs = append(errs, validateContainer(c, p, names, portNames, volumes)...)
		sidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		if c.RestartPolicy != nil && !sidecar {
			errs = append(errs, field.NotSupported(p.Child("restartPolicy"), *c.RestartPolicy, []string{string(corev1.ContainerRestartPolicyAlways)}))
		}
		if !sidecar {
			// Only sidecars keep running, so only they can be probed or have a postStart/preStop.
			for name, set := range map[string]bool{"livenessProbe": c.LivenessProbe != nil, "readinessProbe": c.ReadinessProbe != nil, "startupProbe": c.StartupProbe != nil, "lifecycle": c.Lifecycle != nil} {
				if set {
					errs = append(errs, field.Forbidden(p.Child(name), "may not be set for init containers without restartPolicy=Always"))
				}
			}
		}
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		p := path.Child("containers").Index(i)
		errs = append(errs, validateContainer(c, p, names, portNames, volumes)...)
		if c.RestartPolicy != nil {
			errs = append(errs, field.Forbidden(p.Child("restartPolicy"), "may not be set for non-init containers"))
		}
	}

	errs = append(errs, oneOf(spec.RestartPolicy, path.Child("restartPolicy"), corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever)...)
	errs = append(errs, oneOf(spec.DNSPolicy, path.Child("dnsPolicy"), corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone)...)
	if spec.DNSPolicy == corev1.DNSNone && (spec.DNSConfig == nil || len(spec.DNSConfig.Nameservers) == 0) {
		errs = append(errs, field.Required(path.Child("dnsConfig").Child("nameservers"), "must provide at least one DNS nameserver when DNSPolicy is None"))
	}
	if spec.DNSConfig != nil {
		for i, ns := range spec.DNSConfig.Nameservers {
			errs = append(errs, ipAddress(ns, path.Child("dnsConfig", "nameservers").Index(i))...)
		}
	}
	if spec.ActiveDeadlineSeconds != nil && *spec.ActiveDeadlineSeconds <= 0 {
		errs = append(errs, field.Invalid(path.Child("activeDeadlineSeconds"), *spec.ActiveDeadlineSeconds, "must be between 1 and 2147483647, inclusive"))
	}
	if spec.TerminationGracePeriodSeconds != nil {
		errs = append(errs, nonNegative(*spec.TerminationGracePeriodSeconds, path.Child("terminationGracePeriodSeconds"))...)
	}
	errs = append(errs, metavalidation.ValidateLabels(spec.NodeSelector, path.Child("nodeSelector"))...)
	if spec.ServiceAccountName != "" {
		errs = append(errs, dnsSubdomain(spec.ServiceAccountName, path.Child("serviceAccountName"))...)
	}
	if spec.NodeName != "" {
		errs = append(errs, dnsSubdomain(spec.NodeName, path.Child("nodeName"))...)
	}
	if spec.Hostname != "" {
		errs = append(errs, dnsLabel(spec.Hostname, path.Child("hostname"))...)
	}
	if spec.Subdomain != "" {
		errs = append(errs, dnsLabel(spec.Subdomain, path.Child("subdomain"))...)
	}
	if spec.SchedulerName != "" {
		errs = append(errs, dnsSubdomain(spec.SchedulerName, path.Child("schedulerName"))...)
	}
	errs = append(errs, validateTolerations(spec.Tolerations, path.Child("tolerations"))...)
	if spec.Affinity != nil && spec.Affinity.NodeAffinity != nil {
		errs = append(errs, validateNodeAffinity(spec.Affinity.NodeAffinity, path.Child("affinity", "nodeAffinity"))...)
	}
	for i, g := range spec.SchedulingGates {
		errs = append(errs, qualifiedName(g.Name, path.Child("schedulingGates").Index(i).Child("name"))...)
	}
	return errs
}

// validateContainer checks one container; names and portNames collect
// what must be unique across the pod.
func validateContainer(c *corev1.Container, path *field.Path, names, portNames sets.Set[string], volumes sets.Set[string]) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateContainerName(c.Name, path.Child("name"), names)...)
	if strings.TrimSpace(c.Image) == "" {
		errs = append(errs, field.Required(path.Child("image"), ""))
	}
	errs = append(errs, validatePorts(c.Ports, path.Child("ports"), portNames)...)
	errs = append(errs, validateEnv(c.Env, path.Child("env"))...)
	errs = append(errs, validateEnvFrom(c.EnvFrom, path.Child("envFrom"))...)
	errs = append(errs, validateResources(&c.Resources, path.Child("resources"))...)
	errs = append(errs, validateVolumeMounts(c.VolumeMounts, volumes, path.Child("volumeMounts"))...)
	errs = append(errs, validateProbe(c.LivenessProbe, path.Child("livenessProbe"))...)
	errs = append(errs, validateProbe(c.ReadinessProbe, path.Child("readinessProbe"))...)
	errs = append(errs, validateProbe(c.StartupProbe, path.Child("startupProbe"))...)
	if c.LivenessProbe != nil && c.LivenessProbe.SuccessThreshold != 1 {
		errs = append(errs, field.Invalid(path.Child("livenessProbe", "successThreshold"), c.LivenessProbe.SuccessThreshold, "must be 1"))
	}
	if c.Lifecycle != nil {
		errs = append(errs, validateHandler(c.Lifecycle.PostStart, path.Child("lifecycle", "postStart"))...)
		errs = append(errs, validateHandler(c.Lifecycle.PreStop, path.Child("lifecycle", "preStop"))...)
	}
	errs = append(errs, oneOf(c.TerminationMessagePolicy, path.Child("terminationMessagePolicy"), corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError)...)
	errs = append(errs, oneOf(c.ImagePullPolicy, path.Child("imagePullPolicy"), corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever)...)
	return errs
}

func validateContainerName(name string, path *field.Path, names sets.Set[string]) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	errs := dnsLabel(name, path)
	if names.Has(name) {
		errs = append(errs, field.Duplicate(path, name))
	}
	names.Insert(name)
	return errs
}

func validatePorts(ports []corev1.ContainerPort, path *field.Path, portNames sets.Set[string]) field.ErrorList {
	var errs field.ErrorList
	for i, p := range ports {
		ip := path.Index(i)
		if p.Name != "" {
			errs = append(errs, invalid(utilvalidation.IsValidPortName, p.Name, ip.Child("name"))...)
			if portNames.Has(p.Name) {
				errs = append(errs, field.Duplicate(ip.Child("name"), p.Name))
			}
			portNames.Insert(p.Name)
		}
		if p.ContainerPort == 0 {
			errs = append(errs, field.Required(ip.Child("containerPort"), ""))
		} else if len(utilvalidation.IsValidPortNum(int(p.ContainerPort))) > 0 {
			errs = append(errs, field.Invalid(ip.Child("containerPort"), p.ContainerPort, utilvalidation.InclusiveRangeError(1, 65535)))
		}
		if p.HostPort != 0 && len(utilvalidation.IsValidPortNum(int(p.HostPort))) > 0 {
			errs = append(errs, field.Invalid(ip.Child("hostPort"), p.HostPort, utilvalidation.InclusiveRangeError(1, 65535)))
		}
		if p.HostIP != "" {
			errs = append(errs, ipAddress(p.HostIP, ip.Child("hostIP"))...)
		}
		errs = append(errs, oneOf(p.Protocol, ip.Child("protocol"), corev1.ProtocolSCTP, corev1.ProtocolTCP, corev1.ProtocolUDP)...)
	}
	return errs
}

func validateEnv(vars []corev1.EnvVar, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, v := range vars {
		p := path.Index(i)
		if v.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else {
			errs = append(errs, invalid(utilvalidation.IsRelaxedEnvVarName, v.Name, p.Child("name"))...)
		}
		if v.ValueFrom == nil {
			continue
		}
		from, fp := v.ValueFrom, p.Child("valueFrom")
		sources := 0
		if from.FieldRef != nil {
			sources++
			if from.FieldRef.FieldPath == "" {
				errs = append(errs, field.Required(fp.Child("fieldRef", "fieldPath"), ""))
			}
		}
		if from.ResourceFieldRef != nil {
			sources++
			if from.ResourceFieldRef.Resource == "" {
				errs = append(errs, field.Required(fp.Child("resourceFieldRef", "resource"), ""))
			}
		}
		if from.ConfigMapKeyRef != nil {
			sources++
			errs = append(errs, keyRef(from.ConfigMapKeyRef.Name, from.ConfigMapKeyRef.Key, fp.Child("configMapKeyRef"))...)
		}
		if from.SecretKeyRef != nil {
			sources++
			errs = append(errs, keyRef(from.SecretKeyRef.Name, from.SecretKeyRef.Key, fp.Child("secretKeyRef"))...)
		}
		if from.FileKeyRef != nil {
			sources++
		}
		switch {
		case sources == 0:
			errs = append(errs, field.Invalid(fp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
		case sources > 1:
			errs = append(errs, field.Invalid(fp, "", "may not have more than one field specified at a time"))
		}
		if v.Value != "" {
			errs = append(errs, field.Invalid(fp, "", "may not be specified when `value` is not empty"))
		}
	}
	return errs
}

func keyRef(name, key string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(path.Child("name"), ""))
	}
	if key == "" {
		errs = append(errs, field.Required(path.Child("key"), ""))
	} else {
		errs = append(errs, dataKey(key, path.Child("key"))...)
	}
	return errs
}

func validateEnvFrom(sources []corev1.EnvFromSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, s := range sources {
		p := path.Index(i)
		switch {
		case s.ConfigMapRef != nil && s.SecretRef != nil:
			errs = append(errs, field.Invalid(p, "", "may not have more than one field specified at a time"))
		case s.ConfigMapRef == nil && s.SecretRef == nil:
			errs = append(errs, field.Invalid(p, "", "must specify one of: `configMapRef` or `secretRef`"))
		case s.ConfigMapRef != nil && s.ConfigMapRef.Name == "":
			errs = append(errs, field.Required(p.Child("configMapRef", "name"), ""))
		case s.SecretRef != nil && s.SecretRef.Name == "":
			errs = append(errs, field.Required(p.Child("secretRef", "name"), ""))
		}
	}
	return errs
}

func validateResources(r *corev1.ResourceRequirements, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	check := func(list corev1.ResourceList, p *field.Path) {
		for name, q := range list {
			kp := p.Key(string(name))
			errs = append(errs, qualifiedName(string(name), kp)...)
			if q.Sign() < 0 {
				errs = append(errs, field.Invalid(kp, q.String(), "must be greater than or equal to 0"))
			}
		}
	}
	check(r.Limits, path.Child("limits"))
	check(r.Requests, path.Child("requests"))
	for name, req := range r.Requests {
		limit, ok := r.Limits[name]
		if ok && req.Cmp(limit) > 0 {
			errs = append(errs, field.Invalid(path.Child("requests").Key(string(name)), req.String(),
				fmt.Sprintf("must be less than or equal to %s limit of %s", name, limit.String())))
		}
	}
	return errs
}

func validateVolumeMounts(mounts []corev1.VolumeMount, volumes sets.Set[string], path *field.Path) field.ErrorList {
	var errs field.ErrorList
	paths := sets.New[string]()
	for i, m := range mounts {
		p := path.Index(i)
		if m.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else if !volumes.Has(m.Name) {
			errs = append(errs, field.NotFound(p.Child("name"), m.Name))
		}
		if m.MountPath == "" {
			errs = append(errs, field.Required(p.Child("mountPath"), ""))
		} else if paths.Has(m.MountPath) {
			errs = append(errs, field.Invalid(p.Child("mountPath"), m.MountPath, "must be unique"))
		}
		paths.Insert(m.MountPath)
		if strings.Contains(m.SubPath, "..") || strings.HasPrefix(m.SubPath, "/") {
			errs = append(errs, field.Invalid(p.Child("subPath"), m.SubPath, "must be a relative path without '..'"))
		}
	}
	return errs
}

// validateVolumes returns the volume names for the mounts to refer to.
func validateVolumes(volumes []corev1.Volume, path *field.Path) (sets.Set[string], field.ErrorList) {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, v := range volumes {
		p := path.Index(i)
		if v.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else {
			errs = append(errs, dnsLabel(v.Name, p.Child("name"))...)
			if names.Has(v.Name) {
				errs = append(errs, field.Duplicate(p.Child("name"), v.Name))
			}
			names.Insert(v.Name)
		}
		errs = append(errs, validateVolumeSource(&v.VolumeSource, p)...)
	}
	return names, errs
}

func validateVolumeSource(src *corev1.VolumeSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	sources := 0
	if src.EmptyDir != nil {
		sources++
		if l := src.EmptyDir.SizeLimit; l != nil && l.Sign() < 0 {
			errs = append(errs, field.Invalid(path.Child("emptyDir", "sizeLimit"), l.String(), "must be greater than or equal to 0"))
		}
	}
	if src.HostPath != nil {
		sources++
		if src.HostPath.Path == "" {
			errs = append(errs, field.Required(path.Child("hostPath", "path"), ""))
		}
	}
	if src.ConfigMap != nil {
		sources++
		if src.ConfigMap.Name == "" {
			errs = append(errs, field.Required(path.Child("configMap", "name"), ""))
		}
		errs = append(errs, fileMode(src.ConfigMap.DefaultMode, path.Child("configMap", "defaultMode"))...)
		errs = append(errs, keyToPaths(src.ConfigMap.Items, path.Child("configMap", "items"))...)
	}
	if src.Secret != nil {
		sources++
		if src.Secret.SecretName == "" {
			errs = append(errs, field.Required(path.Child("secret", "secretName"), ""))
		}
		errs = append(errs, fileMode(src.Secret.DefaultMode, path.Child("secret", "defaultMode"))...)
		errs = append(errs, keyToPaths(src.Secret.Items, path.Child("secret", "items"))...)
	}
	if src.DownwardAPI != nil {
		sources++
		errs = append(errs, fileMode(src.DownwardAPI.DefaultMode, path.Child("downwardAPI", "defaultMode"))...)
		for i, item := range src.DownwardAPI.Items {
			ip := path.Child("downwardAPI", "items").Index(i)
			errs = append(errs, relativePath(item.Path, ip.Child("path"))...)
			if (item.FieldRef == nil) == (item.ResourceFieldRef == nil) {
				errs = append(errs, field.Invalid(ip, "", "fieldRef and resourceFieldRef can not be specified simultaneously"))
			}
		}
	}
	if src.PersistentVolumeClaim != nil {
		sources++
		if src.PersistentVolumeClaim.ClaimName == "" {
			errs = append(errs, field.Required(path.Child("persistentVolumeClaim", "claimName"), ""))
		}
	}
	if src.Projected != nil {
		sources++
		errs = append(errs, fileMode(src.Projected.DefaultMode, path.Child("projected", "defaultMode"))...)
	}
	// The remaining (network and cloud) sources are stored as given.
	for _, set := range []bool{src.GCEPersistentDisk != nil, src.AWSElasticBlockStore != nil, src.GitRepo != nil, src.NFS != nil,
		src.ISCSI != nil, src.Glusterfs != nil, src.RBD != nil, src.FlexVolume != nil, src.Cinder != nil, src.CephFS != nil,
		src.Flocker != nil, src.FC != nil, src.AzureFile != nil, src.VsphereVolume != nil, src.Quobyte != nil, src.AzureDisk != nil,
		src.PhotonPersistentDisk != nil, src.PortworxVolume != nil, src.ScaleIO != nil, src.StorageOS != nil, src.CSI != nil,
		src.Ephemeral != nil, src.Image != nil} {
		if set {
			sources++
		}
	}
	switch {
	case sources == 0:
		errs = append(errs, field.Required(path, "must specify a volume type"))
	case sources > 1:
		errs = append(errs, field.Forbidden(path, "may not specify more than 1 volume type"))
	}
	return errs
}

func keyToPaths(items []corev1.KeyToPath, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, item := range items {
		ip := path.Index(i)
		if item.Key == "" {
			errs = append(errs, field.Required(ip.Child("key"), ""))
		}
		errs = append(errs, relativePath(item.Path, ip.Child("path"))...)
		errs = append(errs, fileMode(item.Mode, ip.Child("mode"))...)
	}
	return errs
}

func relativePath(p string, path *field.Path) field.ErrorList {
	switch {
	case p == "":
		return field.ErrorList{field.Required(path, "")}
	case strings.HasPrefix(p, "/"):
		return field.ErrorList{field.Invalid(path, p, "must be a relative path")}
	case strings.Contains(p, ".."):
		return field.ErrorList{field.Invalid(path, p, "must not contain '..'")}
	}
	return nil
}

func validateProbe(p *corev1.Probe, path *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	errs := validateProbeHandler(&p.ProbeHandler, path)
	for name, v := range map[string]int32{"initialDelaySeconds": p.InitialDelaySeconds, "timeoutSeconds": p.TimeoutSeconds, "periodSeconds": p.PeriodSeconds, "successThreshold": p.SuccessThreshold, "failureThreshold": p.FailureThreshold} {
		errs = append(errs, nonNegative(int64(v), path.Child(name))...)
	}
	if p.TerminationGracePeriodSeconds != nil && *p.TerminationGracePeriodSeconds <= 0 {
		errs = append(errs, field.Invalid(path.Child("terminationGracePeriodSeconds"), *p.TerminationGracePeriodSeconds, "must be greater than 0"))
	}
	return errs
}

func validateProbeHandler(h *corev1.ProbeHandler, path *field.Path) field.ErrorList {
	handlers, errs := validateActions(h.Exec, h.HTTPGet, h.TCPSocket, path)
	if h.GRPC != nil {
		handlers++
		if len(utilvalidation.IsValidPortNum(int(h.GRPC.Port))) > 0 {
			errs = append(errs, field.Invalid(path.Child("grpc", "port"), h.GRPC.Port, utilvalidation.InclusiveRangeError(1, 65535)))
		}
	}
	return append(errs, exactlyOneHandler(handlers, path)...)
}

func validateHandler(h *corev1.LifecycleHandler, path *field.Path) field.ErrorList {
	if h == nil {
		return nil
	}
	handlers, errs := validateActions(h.Exec, h.HTTPGet, h.TCPSocket, path)
	if h.Sleep != nil {
		handlers++
		errs = append(errs, nonNegative(h.Sleep.Seconds, path.Child("sleep", "seconds"))...)
	}
	return append(errs, exactlyOneHandler(handlers, path)...)
}

// validateActions checks the actions probes and lifecycle hooks share and
// counts those that are set.
func validateActions(exec *corev1.ExecAction, httpGet *corev1.HTTPGetAction, tcp *corev1.TCPSocketAction, path *field.Path) (int, field.ErrorList) {
	var errs field.ErrorList
	handlers := 0
	if exec != nil {
		handlers++
		if len(exec.Command) == 0 {
			errs = append(errs, field.Required(path.Child("exec", "command"), ""))
		}
	}
	if httpGet != nil {
		handlers++
		errs = append(errs, validateHTTPGet(httpGet, path.Child("httpGet"))...)
	}
	if tcp != nil {
		handlers++
		errs = append(errs, portNumOrName(tcp.Port, path.Child("tcpSocket", "port"))...)
	}
	return handlers, errs
}

func exactlyOneHandler(handlers int, path *field.Path) field.ErrorList {
	switch {
	case handlers == 0:
		return field.ErrorList{field.Required(path, "must specify a handler type")}
	case handlers > 1:
		return field.ErrorList{field.Forbidden(path, "may not specify more than 1 handler type")}
	}
	return nil
}

func validateHTTPGet(h *corev1.HTTPGetAction, path *field.Path) field.ErrorList {
	errs := portNumOrName(h.Port, path.Child("port"))
	if h.Path == "" {
		errs = append(errs, field.Required(path.Child("path"), ""))
	}
	return append(errs, oneOf(h.Scheme, path.Child("scheme"), corev1.URISchemeHTTP, corev1.URISchemeHTTPS)...)
}

func portNumOrName(port intstr.IntOrString, path *field.Path) field.ErrorList {
	if port.Type == intstr.Int {
		if len(utilvalidation.IsValidPortNum(port.IntValue())) > 0 {
			return field.ErrorList{field.Invalid(path, port.IntValue(), utilvalidation.InclusiveRangeError(1, 65535))}
		}
		return nil
	}
	return invalid(utilvalidation.IsValidPortName, port.StrVal, path)
}

func validateTolerations(tolerations []corev1.Toleration, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range tolerations {
		p := path.Index(i)
		if t.Key != "" {
			errs = append(errs, qualifiedName(t.Key, p.Child("key"))...)
		}
		switch t.Operator {
		case corev1.TolerationOpEqual, "":
			if t.Key == "" {
				errs = append(errs, field.Invalid(p.Child("operator"), t.Operator, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
			}
		case corev1.TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, field.Invalid(p.Child("operator"), t.Value, "value must be empty when `operator` is 'Exists'"))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("operator"), t.Operator, []string{string(corev1.TolerationOpEqual), string(corev1.TolerationOpExists)}))
		}
		if t.Effect != "" {
			errs = append(errs, oneOf(t.Effect, p.Child("effect"), corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute)...)
		}
		if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
			errs = append(errs, field.Invalid(p.Child("effect"), t.Effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
	}
	return errs
}

func validateNodeAffinity(a *corev1.NodeAffinity, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if req := a.RequiredDuringSchedulingIgnoredDuringExecution; req != nil {
		rp := path.Child("requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
		if len(req.NodeSelectorTerms) == 0 {
			errs = append(errs, field.Required(rp, "must have at least one node selector term"))
		}
		for i, term := range req.NodeSelectorTerms {
			errs = append(errs, validateNodeSelectorTerm(term, rp.Index(i))...)
		}
	}
	for i, pref := range a.PreferredDuringSchedulingIgnoredDuringExecution {
		pp := path.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
		if pref.Weight < 1 || pref.Weight > 100 {
			errs = append(errs, field.Invalid(pp.Child("weight"), pref.Weight, "must be in the range 1-100"))
		}
		errs = append(errs, validateNodeSelectorTerm(pref.Preference, pp.Child("preference"))...)
	}
	return errs
}

func validateNodeSelectorTerm(term corev1.NodeSelectorTerm, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, r := range term.MatchExpressions {
		p := path.Child("matchExpressions").Index(i)
		errs = append(errs, qualifiedName(r.Key, p.Child("key"))...)
		switch r.Operator {
		case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
			if len(r.Values) == 0 {
				errs = append(errs, field.Required(p.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
			}
		case corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist:
			if len(r.Values) > 0 {
				errs = append(errs, field.Forbidden(p.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
			}
		case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
			if len(r.Values) != 1 {
				errs = append(errs, field.Required(p.Child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'"))
			} else if _, err := resource.ParseQuantity(r.Values[0]); err != nil {
				errs = append(errs, field.Invalid(p.Child("values").Index(0), r.Values[0], "must be an integer"))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("operator"), r.Operator, []string{"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"}))
		}
	}
	return errs
}

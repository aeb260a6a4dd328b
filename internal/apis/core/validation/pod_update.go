package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// podUpdateForbidden is kube-apiserver's message for a spec change a pod
// update may not make; clients (and users' scripts) match on it.
const podUpdateForbidden = "pod updates may not change fields other than `spec.containers[*].image`," +
	"`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations)," +
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"

// ValidatePodUpdate checks an update through the pod itself: only images,
// activeDeadlineSeconds, added tolerations, removed scheduling gates and
// (for a pod being deleted) terminationGracePeriodSeconds may change.
func ValidatePodUpdate(pod, old *corev1.Pod) field.ErrorList {
	errs := metaUpdate(&pod.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validatePodSpec(&pod.Spec, specPath)...)

	if d := pod.Spec.ActiveDeadlineSeconds; old.Spec.ActiveDeadlineSeconds != nil {
		if d == nil {
			errs = append(errs, field.Invalid(specPath.Child("activeDeadlineSeconds"), nil, "must not update from a positive integer to nil value"))
		} else if *d > *old.Spec.ActiveDeadlineSeconds {
			errs = append(errs, field.Invalid(specPath.Child("activeDeadlineSeconds"), *d, "must be less than or equal to previous value"))
		}
	}
	errs = append(errs, validateTolerationsUpdate(pod.Spec.Tolerations, old.Spec.Tolerations, specPath.Child("tolerations"))...)
	if !sets.New(gateNames(old.Spec.SchedulingGates)...).IsSuperset(sets.New(gateNames(pod.Spec.SchedulingGates)...)) {
		errs = append(errs, field.Forbidden(specPath.Child("schedulingGates"), "only deletion is allowed, but found new scheduling gate"))
	}

	// Copy what may change from the new spec onto the old one: anything
	// that still differs is a forbidden change.
	mutable := old.Spec.DeepCopy()
	if len(mutable.Containers) == len(pod.Spec.Containers) {
		for i := range mutable.Containers {
			mutable.Containers[i].Image = pod.Spec.Containers[i].Image
		}
	}
	if len(mutable.InitContainers) == len(pod.Spec.InitContainers) {
		for i := range mutable.InitContainers {
			mutable.InitContainers[i].Image = pod.Spec.InitContainers[i].Image
		}
	}
	mutable.ActiveDeadlineSeconds = pod.Spec.ActiveDeadlineSeconds
	mutable.Tolerations = pod.Spec.Tolerations
	mutable.SchedulingGates = pod.Spec.SchedulingGates
	if g := old.Spec.TerminationGracePeriodSeconds; g != nil && *g < 0 && pod.Spec.TerminationGracePeriodSeconds != nil && *pod.Spec.TerminationGracePeriodSeconds == 1 {
		mutable.TerminationGracePeriodSeconds = pod.Spec.TerminationGracePeriodSeconds
	}
	if len(old.Spec.SchedulingGates) > 0 {
		// A gated pod's placement constraints may still change, as in kube.
		mutable.NodeSelector = pod.Spec.NodeSelector
		mutable.Affinity = pod.Spec.Affinity
	}
	if !apiequality.Semantic.DeepEqual(*mutable, pod.Spec) {
		errs = append(errs, field.Forbidden(specPath, podUpdateForbidden+"\n"+specDiff(mutable, &pod.Spec)))
	}
	return errs
}

func gateNames(gates []corev1.PodSchedulingGate) []string {
	out := make([]string, len(gates))
	for i, g := range gates {
		out[i] = g.Name
	}
	return out
}

// specDiff names the top-level spec fields that differ, so the user sees
// what the update tried to change.
func specDiff(a, b *corev1.PodSpec) string {
	var changed []string
	check := func(name string, x, y any) {
		if !apiequality.Semantic.DeepEqual(x, y) {
			changed = append(changed, name)
		}
	}
	check("containers", a.Containers, b.Containers)
	check("initContainers", a.InitContainers, b.InitContainers)
	check("ephemeralContainers", a.EphemeralContainers, b.EphemeralContainers)
	check("volumes", a.Volumes, b.Volumes)
	check("restartPolicy", a.RestartPolicy, b.RestartPolicy)
	check("terminationGracePeriodSeconds", a.TerminationGracePeriodSeconds, b.TerminationGracePeriodSeconds)
	check("dnsPolicy", a.DNSPolicy, b.DNSPolicy)
	check("nodeSelector", a.NodeSelector, b.NodeSelector)
	check("serviceAccountName", a.ServiceAccountName, b.ServiceAccountName)
	check("nodeName", a.NodeName, b.NodeName)
	check("hostNetwork", a.HostNetwork, b.HostNetwork)
	check("affinity", a.Affinity, b.Affinity)
	check("schedulerName", a.SchedulerName, b.SchedulerName)
	check("priority", a.Priority, b.Priority)
	check("securityContext", a.SecurityContext, b.SecurityContext)
	if len(changed) == 0 {
		return "  other fields of spec changed"
	}
	return "  changed: spec." + strings.Join(changed, ", spec.")
}

// validateTolerationsUpdate allows additions; an existing NoExecute
// toleration may only shorten its tolerationSeconds.
func validateTolerationsUpdate(tolerations, old []corev1.Toleration, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, o := range old {
		found := false
		for _, t := range tolerations {
			if t.Key != o.Key || t.Operator != o.Operator || t.Value != o.Value || t.Effect != o.Effect {
				continue
			}
			if o.TolerationSeconds == nil && t.TolerationSeconds == nil ||
				o.TolerationSeconds != nil && t.TolerationSeconds != nil && (o.Effect != corev1.TaintEffectNoExecute && *t.TolerationSeconds == *o.TolerationSeconds || o.Effect == corev1.TaintEffectNoExecute && *t.TolerationSeconds <= *o.TolerationSeconds) {
				found = true
				break
			}
		}
		if !found {
			errs = append(errs, field.Forbidden(path, fmt.Sprintf("existing toleration can not be modified except its tolerationSeconds: %s=%s:%s", o.Key, o.Value, o.Effect)))
		}
	}
	return errs
}

// ValidatePodStatusUpdate checks an update through pods/status.
func ValidatePodStatusUpdate(pod, old *corev1.Pod) field.ErrorList {
	errs := metaUpdate(&pod.ObjectMeta, &old.ObjectMeta)
	s := &pod.Status
	if s.NominatedNodeName != "" {
		errs = append(errs, dnsSubdomain(s.NominatedNodeName, statusPath.Child("nominatedNodeName"))...)
	}
	if s.Phase != "" {
		errs = append(errs, oneOf(s.Phase, statusPath.Child("phase"), corev1.PodPending, corev1.PodRunning, corev1.PodSucceeded, corev1.PodFailed, corev1.PodUnknown)...)
	}
	if terminal(old.Status.Phase) && s.Phase != old.Status.Phase {
		errs = append(errs, field.Forbidden(statusPath.Child("phase"), fmt.Sprintf("cannot transition from terminal phase %s to %s", old.Status.Phase, s.Phase)))
	}
	if s.PodIP != "" {
		errs = append(errs, ipAddress(s.PodIP, statusPath.Child("podIP"))...)
	}
	for i, ip := range s.PodIPs {
		errs = append(errs, ipAddress(ip.IP, statusPath.Child("podIPs").Index(i).Child("ip"))...)
	}
	if len(s.PodIPs) > 0 && s.PodIPs[0].IP != s.PodIP {
		errs = append(errs, field.Invalid(statusPath.Child("podIPs").Index(0).Child("ip"), s.PodIPs[0].IP, "must be equal to `podIP`"))
	}
	if s.HostIP != "" {
		errs = append(errs, ipAddress(s.HostIP, statusPath.Child("hostIP"))...)
	}
	errs = append(errs, containerStatuses(s.ContainerStatuses, pod.Spec.Containers, statusPath.Child("containerStatuses"))...)
	errs = append(errs, containerStatuses(s.InitContainerStatuses, pod.Spec.InitContainers, statusPath.Child("initContainerStatuses"))...)
	ephemeral := make([]corev1.Container, len(pod.Spec.EphemeralContainers))
	for i, ec := range pod.Spec.EphemeralContainers {
		ephemeral[i] = corev1.Container{Name: ec.Name}
	}
	errs = append(errs, containerStatuses(s.EphemeralContainerStatuses, ephemeral, statusPath.Child("ephemeralContainerStatuses"))...)
	for i, c := range s.Conditions {
		cp := statusPath.Child("conditions").Index(i)
		if c.Type == "" {
			errs = append(errs, field.Required(cp.Child("type"), ""))
		}
		if c.Status != "" {
			errs = append(errs, oneOf(c.Status, cp.Child("status"), corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown)...)
		}
	}
	return errs
}

func terminal(p corev1.PodPhase) bool { return p == corev1.PodSucceeded || p == corev1.PodFailed }

func containerStatuses(statuses []corev1.ContainerStatus, containers []corev1.Container, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for _, c := range containers {
		names.Insert(c.Name)
	}
	for i, s := range statuses {
		p := path.Index(i)
		if !names.Has(s.Name) {
			errs = append(errs, field.NotFound(p.Child("name"), s.Name))
		}
		errs = append(errs, nonNegative(int64(s.RestartCount), p.Child("restartCount"))...)
	}
	return errs
}

// ValidatePodEphemeralContainersUpdate checks an update through
// pods/ephemeralcontainers: ephemeral containers may be added, never
// changed or removed, and nothing else may change.
func ValidatePodEphemeralContainersUpdate(pod, old *corev1.Pod) field.ErrorList {
	errs := metaUpdate(&pod.ObjectMeta, &old.ObjectMeta)
	path := specPath.Child("ephemeralContainers")

	byName := map[string]*corev1.EphemeralContainer{}
	for i := range pod.Spec.EphemeralContainers {
		byName[pod.Spec.EphemeralContainers[i].Name] = &pod.Spec.EphemeralContainers[i]
	}
	for _, o := range old.Spec.EphemeralContainers {
		n, ok := byName[o.Name]
		if !ok {
			errs = append(errs, field.Forbidden(path, fmt.Sprintf("existing ephemeral containers %q may not be removed", o.Name)))
		} else if !apiequality.Semantic.DeepEqual(o, *n) {
			errs = append(errs, field.Forbidden(path, fmt.Sprintf("existing ephemeral containers %q may not be changed", o.Name)))
		}
	}

	names := sets.New[string]()
	for _, c := range pod.Spec.Containers {
		names.Insert(c.Name)
	}
	for _, c := range pod.Spec.InitContainers {
		names.Insert(c.Name)
	}
	appNames := sets.New(names.UnsortedList()...)
	volumes := sets.New[string]()
	for _, v := range pod.Spec.Volumes {
		volumes.Insert(v.Name)
	}
	for i := range pod.Spec.EphemeralContainers {
		ec := &pod.Spec.EphemeralContainers[i]
		errs = append(errs, validateEphemeralContainer(ec, path.Index(i), names, volumes, appNames)...)
	}

	// Everything but the ephemeral containers stays as it was.
	rest := pod.Spec.DeepCopy()
	rest.EphemeralContainers = old.Spec.EphemeralContainers
	if !apiequality.Semantic.DeepEqual(*rest, old.Spec) {
		errs = append(errs, field.Forbidden(specPath, "only ephemeral containers may be changed through the ephemeralcontainers subresource"))
	}
	return errs
}

func validateEphemeralContainer(ec *corev1.EphemeralContainer, path *field.Path, names, volumes, targets sets.Set[string]) field.ErrorList {
	c := corev1.Container(ec.EphemeralContainerCommon)
	errs := validateContainer(&c, path, names, sets.New[string](), volumes)
	forbidden := map[string]bool{
		"ports":          len(c.Ports) > 0,
		"livenessProbe":  c.LivenessProbe != nil,
		"readinessProbe": c.ReadinessProbe != nil,
		"startupProbe":   c.StartupProbe != nil,
		"lifecycle":      c.Lifecycle != nil,
		"resources":      len(c.Resources.Limits) > 0 || len(c.Resources.Requests) > 0,
		"resizePolicy":   len(c.ResizePolicy) > 0,
		"restartPolicy":  c.RestartPolicy != nil,
	}
	for _, name := range []string{"ports", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "resources", "resizePolicy", "restartPolicy"} {
		if forbidden[name] {
			errs = append(errs, field.Forbidden(path.Child(name), "cannot be set for an Ephemeral Container"))
		}
	}
	for i, m := range c.VolumeMounts {
		if m.SubPath != "" {
			errs = append(errs, field.Forbidden(path.Child("volumeMounts").Index(i).Child("subPath"), "cannot be set for an Ephemeral Container"))
		}
	}
	if ec.TargetContainerName != "" && !targets.Has(ec.TargetContainerName) {
		errs = append(errs, field.NotFound(path.Child("targetContainerName"), ec.TargetContainerName))
	}
	return errs
}

// ValidatePodBinding checks a pods/binding request.
func ValidatePodBinding(b *corev1.Binding) field.ErrorList {
	var errs field.ErrorList
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		errs = append(errs, field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node", "<empty>"}))
	}
	if b.Target.Name == "" {
		errs = append(errs, field.Required(field.NewPath("target", "name"), ""))
	}
	return errs
}

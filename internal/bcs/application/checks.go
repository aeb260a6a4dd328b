package application

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/podyard/podyard/internal/agent/probeinfo"
	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

// How a task's health checks run and where their results are.
const (
	// AnnotationRemoteChecks holds the REMOTE_HTTP and REMOTE_TCP checks of
	// each task, ports resolved, as JSON: container name → []HealthCheck.
	// The remote check controller runs them.
	AnnotationRemoteChecks = "bcs.podyard.io/remote-checks"
	// RemoteConditionPrefix starts the type of the Pod condition holding
	// the results of a task's remote checks, in order, as probeinfo
	// states: bcs.podyard.io/remote-checks-<container>.
	RemoteConditionPrefix = "bcs.podyard.io/remote-checks-"
)

// probes maps the task's checks that run on the node (HTTP, TCP,
// COMMAND). The first is the liveness probe, each further one an extra
// liveness probe. Every one first runs after max(delaySeconds,
// gracePeriodSeconds) (BCS's executor waits the grace period before its
// first check, so no failure counts within it) and kills the task after
// consecutiveFailures failures in a row. There is no startup probe: one
// kills when it has failed its threshold, so a task would be killed at the
// end of its grace period after a single failure, whatever
// consecutiveFailures says, and without its check ever reporting a
// failure. BCS ran only the first local check of a task and dropped the
// others; Podyard runs them all. consecutiveFailures 0 never kills (BCS's
// scheduler kills only when it is positive): the threshold is then out of
// reach and failures are only reported.
func probes(c v1alpha1.Container) (liveness *corev1.Probe, extra []corev1.Probe) {
	for _, hc := range c.HealthChecks {
		handler, ok := probeHandler(hc, c.Ports)
		if !ok {
			continue
		}
		failures := hc.ConsecutiveFailures
		if failures <= 0 {
			failures = math.MaxInt32
		}
		p := &corev1.Probe{
			ProbeHandler: handler, InitialDelaySeconds: max(hc.DelaySeconds, hc.GracePeriodSeconds), PeriodSeconds: max(hc.IntervalSeconds, 1),
			TimeoutSeconds: max(hc.TimeoutSeconds, 1), FailureThreshold: failures, SuccessThreshold: 1,
		}
		if liveness != nil {
			extra = append(extra, *p)
			continue
		}
		liveness = p
	}
	return liveness, extra
}

// IsLocalCheck says whether hc runs on the node as a probe of its task's
// container. A task's local checks, in order, are its liveness probe and
// then its extra liveness probes.
func IsLocalCheck(hc v1alpha1.HealthCheck, ports []v1alpha1.ContainerPort) bool {
	_, ok := probeHandler(hc, ports)
	return ok
}

// IsRemoteCheck says whether hc runs from the control plane.
func IsRemoteCheck(hc v1alpha1.HealthCheck) bool {
	return hc.Type == "REMOTE_HTTP" || hc.Type == "REMOTE_TCP"
}

// RemoteChecks are the checks of a task run from the control plane, in
// order, each port resolved (portName → the task's container port); one
// whose port does not resolve keeps port 0, and fails.
func RemoteChecks(c v1alpha1.Container) []v1alpha1.HealthCheck {
	var out []v1alpha1.HealthCheck
	for _, hc := range c.HealthChecks {
		if !IsRemoteCheck(hc) {
			continue
		}
		hc = *hc.DeepCopy()
		switch {
		case hc.Type == "REMOTE_HTTP" && hc.HTTP != nil:
			if p, ok := probePort(hc.HTTP.Port, hc.HTTP.PortName, c.Ports); ok {
				hc.HTTP.Port = p.IntVal
			}
		case hc.Type == "REMOTE_TCP" && hc.TCP != nil:
			if p, ok := probePort(hc.TCP.Port, hc.TCP.PortName, c.Ports); ok {
				hc.TCP.Port = p.IntVal
			}
		}
		out = append(out, hc)
	}
	return out
}

// setCheckAnnotations sets the annotations that carry what probes cannot:
// the extra liveness probes (for the agent) and the remote checks (for
// the remote check controller), by container name. A template annotation
// with the agent's key is dropped.
func setCheckAnnotations(annotations map[string]string, spec v1alpha1.ApplicationSpec) {
	delete(annotations, probeinfo.AnnotationExtraLivenessProbes)
	maps.Copy(annotations, checkAnnotations(spec))
}

// checkAnnotations are those annotations.
func checkAnnotations(spec v1alpha1.ApplicationSpec) map[string]string {
	extra := map[string][]corev1.Probe{}
	remote := map[string][]v1alpha1.HealthCheck{}
	for i, bc := range spec.Template.Spec.Containers {
		name := ContainerName(spec.Template.Spec.Containers, i)
		if _, e := probes(bc); len(e) > 0 {
			extra[name] = e
		}
		if r := RemoteChecks(bc); len(r) > 0 {
			remote[name] = r
		}
	}
	out := map[string]string{}
	// Plain structs: encoding never fails.
	if v, _ := probeinfo.EncodeExtraLivenessProbes(extra); v != "" {
		out[probeinfo.AnnotationExtraLivenessProbes] = v
	}
	if len(remote) > 0 {
		b, _ := json.Marshal(remote)
		out[AnnotationRemoteChecks] = string(b)
	}
	return out
}

// PodRemoteChecks decodes the remote checks of a taskgroup Pod.
func PodRemoteChecks(pod *corev1.Pod) (map[string][]v1alpha1.HealthCheck, error) {
	raw := pod.Annotations[AnnotationRemoteChecks]
	if raw == "" {
		return nil, nil
	}
	var out map[string][]v1alpha1.HealthCheck
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, fmt.Errorf("annotation %s: %w", AnnotationRemoteChecks, err)
	}
	return out, nil
}

func probeHandler(hc v1alpha1.HealthCheck, ports []v1alpha1.ContainerPort) (corev1.ProbeHandler, bool) {
	switch hc.Type {
	case "HTTP":
		if hc.HTTP == nil {
			return corev1.ProbeHandler{}, false
		}
		port, ok := probePort(hc.HTTP.Port, hc.HTTP.PortName, ports)
		if !ok {
			return corev1.ProbeHandler{}, false
		}
		get := &corev1.HTTPGetAction{Path: hc.HTTP.Path, Port: port, Scheme: corev1.URISchemeHTTP}
		if strings.EqualFold(hc.HTTP.Scheme, "https") {
			get.Scheme = corev1.URISchemeHTTPS
		}
		if get.Path == "" {
			get.Path = "/"
		}
		for _, k := range sortedKeys(hc.HTTP.Headers) {
			get.HTTPHeaders = append(get.HTTPHeaders, corev1.HTTPHeader{Name: k, Value: hc.HTTP.Headers[k]})
		}
		return corev1.ProbeHandler{HTTPGet: get}, true
	case "TCP":
		if hc.TCP == nil {
			return corev1.ProbeHandler{}, false
		}
		port, ok := probePort(hc.TCP.Port, hc.TCP.PortName, ports)
		if !ok {
			return corev1.ProbeHandler{}, false
		}
		return corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: port}}, true
	case "COMMAND":
		if hc.Command == nil || hc.Command.Value == "" {
			return corev1.ProbeHandler{}, false
		}
		return corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/bin/sh", "-c", hc.Command.Value}}}, true
	}
	return corev1.ProbeHandler{}, false
}

// probePort is the port number: given, or that of the named port (BCS
// names need not be valid Kubernetes port names, so never by name).
func probePort(port int32, name string, ports []v1alpha1.ContainerPort) (intstr.IntOrString, bool) {
	if port > 0 {
		return intstr.FromInt32(port), true
	}
	for _, p := range ports {
		if p.Name == name && name != "" && p.ContainerPort > 0 {
			return intstr.FromInt32(p.ContainerPort), true
		}
	}
	return intstr.IntOrString{}, false
}

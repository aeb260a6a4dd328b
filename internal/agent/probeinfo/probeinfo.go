// Package probeinfo is what a Pod says to the agent about probes beyond
// core/v1's, and what the agent says back: extra liveness probes in an
// annotation, and the results of a container's liveness probes in a pod
// status condition. Pure: encoding, decoding and tallying, no I/O.
package probeinfo

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// AnnotationExtraLivenessProbes holds liveness probes a container has
// beyond spec.containers[].livenessProbe, as JSON: container name →
// []corev1.Probe. The agent runs each beside the liveness probe (after the
// startup probe, as the liveness probe) and a failure acts as a liveness
// failure: the container is killed and the restart policy decides.
const AnnotationExtraLivenessProbes = "podyard.io/extra-liveness-probes"

// LivenessConditionPrefix starts the type of the condition in which the
// agent reports a container's liveness probes: podyard.io/liveness-<name>.
const LivenessConditionPrefix = "podyard.io/liveness-"

// Condition reasons: every probe has passed its last run, one has failed
// its last run, or none has run yet.
const (
	ReasonHealthy    = "Healthy"
	ReasonUnhealthy  = "Unhealthy"
	ReasonNotChecked = "NotChecked"
)

// ExtraLivenessProbes decodes the annotation of pod; no annotation is none.
func ExtraLivenessProbes(pod *corev1.Pod) (map[string][]corev1.Probe, error) {
	raw := pod.Annotations[AnnotationExtraLivenessProbes]
	if raw == "" {
		return nil, nil
	}
	var out map[string][]corev1.Probe
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, fmt.Errorf("annotation %s: %w", AnnotationExtraLivenessProbes, err)
	}
	return out, nil
}

// EncodeExtraLivenessProbes is the annotation's value; "" when there are none.
func EncodeExtraLivenessProbes(probes map[string][]corev1.Probe) (string, error) {
	for k, v := range probes {
		if len(v) == 0 {
			delete(probes, k)
		}
	}
	if len(probes) == 0 {
		return "", nil
	}
	b, err := json.Marshal(probes)
	if err != nil {
		return "", fmt.Errorf("encode extra liveness probes: %w", err)
	}
	return string(b), nil
}

// State is what the runs of one probe (or check) have found so far.
type State struct {
	// Checked: it has run at least once.
	Checked bool `json:"checked"`
	// Healthy: its last run passed (true before the first).
	Healthy bool `json:"healthy"`
	// Failures in a row, up to the last run.
	Failures int32 `json:"failures"`
	// Message of the last failure, or of the last run when the prober says.
	Message string `json:"message,omitempty"`
}

// NewState is a probe that has not run: healthy until shown otherwise.
func NewState() State { return State{Healthy: true} }

// Observe records one run.
func (s State) Observe(ok bool, message string) State {
	s.Checked, s.Healthy, s.Message = true, ok, message
	if ok {
		s.Failures = 0
	} else {
		s.Failures++
	}
	return s
}

// ConditionType is the type of the condition of a container's liveness
// results; prefix is LivenessConditionPrefix, or another component's own.
func ConditionType(prefix, container string) corev1.PodConditionType {
	return corev1.PodConditionType(prefix + container)
}

// Condition says states (in the order of the probes) as a condition:
// status True when every probe that ran passed its last run, False when
// one failed, Unknown when none ran; the message is the states as JSON.
func Condition(typ corev1.PodConditionType, states []State) corev1.PodCondition {
	c := corev1.PodCondition{Type: typ, Status: corev1.ConditionUnknown, Reason: ReasonNotChecked}
	for _, s := range states {
		if !s.Checked {
			continue
		}
		if c.Status == corev1.ConditionUnknown {
			c.Status, c.Reason = corev1.ConditionTrue, ReasonHealthy
		}
		if !s.Healthy {
			c.Status, c.Reason = corev1.ConditionFalse, ReasonUnhealthy
		}
	}
	b, _ := json.Marshal(states) // plain structs: never fails
	c.Message = string(b)
	return c
}

// States reads the condition of type typ from status; ok is false when
// there is none or it does not hold states.
func States(status *corev1.PodStatus, typ corev1.PodConditionType) (states []State, ok bool) {
	for _, c := range status.Conditions {
		if c.Type != typ {
			continue
		}
		if !strings.HasPrefix(c.Message, "[") || json.Unmarshal([]byte(c.Message), &states) != nil {
			return nil, false
		}
		return states, true
	}
	return nil, false
}

// SetCondition puts c into conditions (replacing one of its type) and
// says whether anything changed; the transition time moves with the
// status only.
func SetCondition(conditions []corev1.PodCondition, c corev1.PodCondition) ([]corev1.PodCondition, bool) {
	for i := range conditions {
		old := &conditions[i]
		if old.Type != c.Type {
			continue
		}
		if old.Status == c.Status && old.Reason == c.Reason && old.Message == c.Message {
			return conditions, false
		}
		if old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		out := append([]corev1.PodCondition(nil), conditions...)
		out[i] = c
		return out, true
	}
	return append(append([]corev1.PodCondition(nil), conditions...), c), true
}

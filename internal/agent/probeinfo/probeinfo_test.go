package probeinfo

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestObserve(t *testing.T) {
	type run struct {
		ok  bool
		msg string
	}
	tests := []struct {
		name string
		runs []run
		want State
	}{
		{"not run", nil, State{Healthy: true}},
		{"passed", []run{{true, ""}}, State{Checked: true, Healthy: true}},
		{"two failures", []run{{false, "a"}, {false, "b"}}, State{Checked: true, Failures: 2, Message: "b"}},
		{"recovered", []run{{false, "a"}, {false, "b"}, {true, ""}}, State{Checked: true, Healthy: true}},
		{"failed again", []run{{false, "a"}, {true, ""}, {false, "c"}}, State{Checked: true, Failures: 1, Message: "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewState()
			for _, r := range tt.runs {
				s = s.Observe(r.ok, r.msg)
			}
			if s != tt.want {
				t.Errorf("state %+v, want %+v", s, tt.want)
			}
		})
	}
}

func TestConditionRoundTrip(t *testing.T) {
	typ := ConditionType(LivenessConditionPrefix, "web")
	if typ != "podyard.io/liveness-web" {
		t.Fatalf("type %q", typ)
	}
	tests := []struct {
		name   string
		states []State
		status corev1.ConditionStatus
		reason string
	}{
		{"none ran", []State{NewState(), NewState()}, corev1.ConditionUnknown, ReasonNotChecked},
		{"one ran and passed", []State{NewState(), NewState().Observe(true, "")}, corev1.ConditionTrue, ReasonHealthy},
		{"one failed", []State{NewState().Observe(true, ""), NewState().Observe(false, "refused")}, corev1.ConditionFalse, ReasonUnhealthy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Condition(typ, tt.states)
			if c.Status != tt.status || c.Reason != tt.reason {
				t.Errorf("condition %+v", c)
			}
			got, ok := States(&corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: "Ready"}, c}}, typ)
			if !ok || !reflect.DeepEqual(got, tt.states) {
				t.Errorf("states %+v %v, want %+v", got, ok, tt.states)
			}
		})
	}
	if _, ok := States(&corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: typ, Message: "not json"}}}, typ); ok {
		t.Error("a message that is no state list was read")
	}
	if _, ok := States(&corev1.PodStatus{}, typ); ok {
		t.Error("a missing condition was read")
	}
}

func TestSetCondition(t *testing.T) {
	t0, t1 := metav1.NewTime(time.Unix(100, 0)), metav1.NewTime(time.Unix(200, 0))
	ready := corev1.PodCondition{Type: "Ready", Status: corev1.ConditionTrue}
	c := corev1.PodCondition{Type: "x", Status: corev1.ConditionTrue, Message: "m", LastTransitionTime: t0}
	tests := []struct {
		name    string
		in      []corev1.PodCondition
		set     corev1.PodCondition
		want    []corev1.PodCondition
		changed bool
	}{
		{"added", []corev1.PodCondition{ready}, c, []corev1.PodCondition{ready, c}, true},
		{"same", []corev1.PodCondition{ready, c}, withTime(c, t1), []corev1.PodCondition{ready, c}, false},
		{"message changed keeps the time", []corev1.PodCondition{c}, withMessage(withTime(c, t1), "n"), []corev1.PodCondition{withMessage(c, "n")}, true},
		{"status changed moves the time", []corev1.PodCondition{c}, withStatus(withTime(c, t1), corev1.ConditionFalse), []corev1.PodCondition{withStatus(withTime(c, t1), corev1.ConditionFalse)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]corev1.PodCondition(nil), tt.in...)
			got, changed := SetCondition(in, tt.set)
			if changed != tt.changed || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v %v, want %+v %v", got, changed, tt.want, tt.changed)
			}
			if !reflect.DeepEqual(in, tt.in) {
				t.Error("input changed")
			}
		})
	}
}

func withTime(c corev1.PodCondition, t metav1.Time) corev1.PodCondition {
	c.LastTransitionTime = t
	return c
}

func withMessage(c corev1.PodCondition, m string) corev1.PodCondition {
	c.Message = m
	return c
}

func withStatus(c corev1.PodCondition, s corev1.ConditionStatus) corev1.PodCondition {
	c.Status = s
	return c
}

func TestExtraLivenessProbes(t *testing.T) {
	probes := map[string][]corev1.Probe{
		"web":  {{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}}, PeriodSeconds: 2}},
		"none": nil,
	}
	v, err := EncodeExtraLivenessProbes(probes)
	if err != nil || v == "" {
		t.Fatalf("encode %q %v", v, err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{AnnotationExtraLivenessProbes: v}}}
	got, err := ExtraLivenessProbes(pod)
	if err != nil || len(got) != 1 || got["web"][0].TCPSocket.Port.IntVal != 80 || got["web"][0].PeriodSeconds != 2 {
		t.Errorf("decoded %+v %v", got, err)
	}
	if v, _ := EncodeExtraLivenessProbes(map[string][]corev1.Probe{"a": nil}); v != "" {
		t.Errorf("no probes encoded as %q", v)
	}
	if got, err := ExtraLivenessProbes(&corev1.Pod{}); got != nil || err != nil {
		t.Errorf("no annotation: %v %v", got, err)
	}
	pod.Annotations[AnnotationExtraLivenessProbes] = "["
	if _, err := ExtraLivenessProbes(pod); err == nil {
		t.Error("bad JSON decoded")
	}
}

package nodelifecycle

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	node := func(status corev1.ConditionStatus, heartbeat, transition time.Time) *corev1.Node {
		return &corev1.Node{Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: status,
			LastHeartbeatTime: metav1.NewTime(heartbeat), LastTransitionTime: metav1.NewTime(transition),
		}}}}
	}
	lease := func(renewed time.Time, seconds int32) *coordinationv1.Lease {
		return &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{
			RenewTime: ptr.To(metav1.NewMicroTime(renewed)), LeaseDurationSeconds: ptr.To(seconds),
		}}
	}
	evict := 5 * time.Minute
	tests := []struct {
		name  string
		node  *corev1.Node
		lease *coordinationv1.Lease
		want  Action
	}{
		{"fresh lease", node(corev1.ConditionTrue, ago(time.Minute), ago(time.Hour)), lease(ago(5*time.Second), 40), Action{}},
		{"stale lease", node(corev1.ConditionTrue, ago(time.Minute), ago(time.Hour)), lease(ago(41*time.Second), 40), Action{MarkLost: true}},
		{"lease duration from the lease", node(corev1.ConditionTrue, ago(time.Minute), ago(time.Hour)), lease(ago(5*time.Second), 4), Action{MarkLost: true}},
		{"recent heartbeat beats an old lease", node(corev1.ConditionTrue, ago(time.Second), ago(time.Hour)), lease(ago(time.Minute), 40), Action{}},
		{"no lease, old heartbeat", node(corev1.ConditionTrue, ago(time.Minute), ago(time.Hour)), nil, Action{MarkLost: true}},
		{"already lost, not yet evicting", node(corev1.ConditionUnknown, ago(time.Minute), ago(time.Minute)), lease(ago(time.Minute), 40), Action{}},
		{"lost past the eviction timeout", node(corev1.ConditionUnknown, ago(time.Hour), ago(6*time.Minute)), lease(ago(time.Hour), 40), Action{Evict: true}},
		{"reported NotReady long ago is evicted too", node(corev1.ConditionFalse, ago(time.Second), ago(6*time.Minute)), lease(ago(time.Second), 40), Action{Evict: true}},
		{"never reported", &corev1.Node{}, nil, Action{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(tt.node, tt.lease, now, evict); got != tt.want {
				t.Fatalf("Decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

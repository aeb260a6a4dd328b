package lifecycle

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestKeepReported: what the agent reported wins over an older copy for the
// start time and the conditions it owns; other components' conditions stay
// as the API has them.
func TestKeepReported(t *testing.T) {
	at := func(s int64) metav1.Time { return metav1.NewTime(time.Unix(s, 0)) }
	ptr := func(t metav1.Time) *metav1.Time { return &t }
	cond := func(typ corev1.PodConditionType, status corev1.ConditionStatus, s int64) corev1.PodCondition {
		return corev1.PodCondition{Type: typ, Status: status, LastTransitionTime: at(s)}
	}
	liveness := func(t corev1.PodConditionType) bool { return strings.HasPrefix(string(t), "podyard.io/liveness-") }
	reported := &corev1.PodStatus{StartTime: ptr(at(15)), Conditions: []corev1.PodCondition{
		cond(corev1.PodScheduled, corev1.ConditionTrue, 1),
		cond(corev1.PodReady, corev1.ConditionTrue, 15),
		cond("podyard.io/liveness-c", corev1.ConditionTrue, 15),
		cond("bcs.podyard.io/remote-checks-c", corev1.ConditionTrue, 15),
	}}
	for _, tc := range []struct {
		name      string
		api       corev1.PodStatus
		owned     func(corev1.PodConditionType) bool
		wantStart int64
		want      map[corev1.PodConditionType]int64 // transition time by type
	}{
		{"an older copy", corev1.PodStatus{StartTime: ptr(at(16)), Conditions: []corev1.PodCondition{
			cond(corev1.PodScheduled, corev1.ConditionTrue, 2), cond(corev1.PodReady, corev1.ConditionTrue, 16),
			cond("podyard.io/liveness-c", corev1.ConditionTrue, 16), cond("bcs.podyard.io/remote-checks-c", corev1.ConditionFalse, 20),
		}}, liveness, 15, map[corev1.PodConditionType]int64{
			corev1.PodScheduled: 2, corev1.PodReady: 15, "podyard.io/liveness-c": 15, "bcs.podyard.io/remote-checks-c": 20,
		}},
		{"a copy from before the first write", corev1.PodStatus{Conditions: []corev1.PodCondition{cond(corev1.PodScheduled, corev1.ConditionTrue, 2)}},
			liveness, 15, map[corev1.PodConditionType]int64{corev1.PodScheduled: 2, corev1.PodReady: 15, "podyard.io/liveness-c": 15}},
		{"only Status's own without owned", corev1.PodStatus{}, nil, 15, map[corev1.PodConditionType]int64{corev1.PodReady: 15}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := *tc.api.DeepCopy()
			KeepReported(&st, reported, tc.owned)
			if st.StartTime == nil || st.StartTime.Unix() != tc.wantStart {
				t.Errorf("start time %v, want %d", st.StartTime, tc.wantStart)
			}
			got := map[corev1.PodConditionType]int64{}
			for _, c := range st.Conditions {
				got[c.Type] = c.LastTransitionTime.Unix()
			}
			if len(got) != len(tc.want) {
				t.Errorf("conditions %v, want %v", got, tc.want)
			}
			for typ, s := range tc.want {
				if got[typ] != s {
					t.Errorf("%s at %d, want %d", typ, got[typ], s)
				}
			}
		})
	}
	st := corev1.PodStatus{StartTime: ptr(at(16))}
	KeepReported(&st, nil, liveness)
	if st.StartTime.Unix() != 16 {
		t.Error("nothing reported yet changed the status")
	}
}

package bcs

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/podyard/podyard/internal/agent/probeinfo"
	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
)

// TaskHealth is what a Task says about its health checks.
type TaskHealth struct {
	Status                      []*HealthCheckStatusView
	Healthy, IsChecked          bool
	ConsecutiveFailureTimes     uint32
	LocalMaxConsecutiveFailures uint32
}

// Health reads the results of the checks of task bc (container name of
// pod) as BCS reports them. Every check that runs has a status, in the
// definition's order, healthy until a run says otherwise, with BCS's
// messages until there is one to tell (a local check's "<type> check by
// executor", a remote one's "remote <type> check, not reported"). The
// local checks (HTTP, TCP, COMMAND: the agent's liveness probes, in
// order, reported in the Pod condition podyard.io/liveness-<container>)
// make Healthy (all pass), IsChecked (one ran) and ConsecutiveFailureTimes
// (the most failures in a row); LocalMaxConsecutiveFailures is the first
// local check's consecutiveFailures. Remote ones (the remote check
// controller's condition) only have their status, as in BCS.
func Health(bc v1alpha1.Container, pod *corev1.Pod, name string) TaskHealth {
	h := TaskHealth{Healthy: true}
	local, _ := probeinfo.States(&pod.Status, probeinfo.ConditionType(probeinfo.LivenessConditionPrefix, name))
	remote, _ := probeinfo.States(&pod.Status, probeinfo.ConditionType(application.RemoteConditionPrefix, name))
	var nLocal, nRemote int
	for _, hc := range bc.HealthChecks {
		kind := strings.ToLower(strings.TrimPrefix(hc.Type, "REMOTE_"))
		st, message := probeinfo.NewState(), ""
		switch {
		case application.IsLocalCheck(hc, bc.Ports):
			if nLocal == 0 {
				h.LocalMaxConsecutiveFailures = uint32(max(hc.ConsecutiveFailures, 0))
			}
			if nLocal < len(local) {
				st = local[nLocal]
			}
			nLocal++
			message = kind + " check by executor"
			if !st.Healthy {
				message = st.Message
			}
			h.Healthy = h.Healthy && st.Healthy
			h.IsChecked = h.IsChecked || st.Checked
			h.ConsecutiveFailureTimes = max(h.ConsecutiveFailureTimes, uint32(max(st.Failures, 0)))
		case application.IsRemoteCheck(hc):
			if nRemote < len(remote) {
				st = remote[nRemote]
			}
			nRemote++
			message = "remote " + kind + " check, not reported"
			if st.Checked {
				message = st.Message
			}
		default:
			continue // not run: BCS leaves it out as well
		}
		h.Status = append(h.Status, &HealthCheckStatusView{Type: hc.Type, Result: st.Healthy, Message: message})
	}
	return h
}

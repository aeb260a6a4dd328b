// Package remotecheck runs the REMOTE_HTTP and REMOTE_TCP health checks of
// BCS taskgroups from the control plane, as BCS's bcs-check did: against
// the Pod's IP and the task's port, every intervalSeconds once
// max(delaySeconds, gracePeriodSeconds) has passed since the task
// started. Results go to the Pod's condition
// bcs.podyard.io/remote-checks-<container> (probeinfo states, one per
// check, in order); after consecutiveFailures failures in a row (when
// positive) the taskgroup is killed: its Pod is deleted with its own
// grace (the application's killPolicy) and the application controller
// makes the index again. check.go is pure: plans, targets and messages.
package remotecheck

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/podyard/podyard/internal/agent/probeinfo"
	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

// FirstRun is when a check of a task started at started first runs.
func FirstRun(hc v1alpha1.HealthCheck, started time.Time) time.Time {
	return started.Add(time.Duration(max(hc.DelaySeconds, hc.GracePeriodSeconds, 0)) * time.Second)
}

// Interval is the time between two runs of a check (at least a second).
func Interval(hc v1alpha1.HealthCheck) time.Duration {
	return time.Duration(max(hc.IntervalSeconds, 1)) * time.Second
}

// Timeout bounds one run of a check (at least a second).
func Timeout(hc v1alpha1.HealthCheck) time.Duration {
	return time.Duration(max(hc.TimeoutSeconds, 1)) * time.Second
}

// Kill says whether a check's state calls for killing the taskgroup:
// consecutiveFailures failures in a row; 0 never kills.
func Kill(hc v1alpha1.HealthCheck, st probeinfo.State) bool {
	return hc.ConsecutiveFailures > 0 && !st.Healthy && st.Failures >= hc.ConsecutiveFailures
}

// Started is when the task of container name began to run; ok is false
// while it does not run, or the Pod does not (deleted, not Running, no IP).
func Started(pod *corev1.Pod, name string) (time.Time, bool) {
	if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning || pod.Status.PodIP == "" {
		return time.Time{}, false
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == name && cs.State.Running != nil {
			return cs.State.Running.StartedAt.Time, true
		}
	}
	return time.Time{}, false
}

// Handler is a check as a probe against host, and the endpoint it names
// (host:port, scheme) for messages.
func Handler(hc v1alpha1.HealthCheck, host string) (h corev1.ProbeHandler, endpoint, kind string, err error) {
	switch {
	case hc.Type == "REMOTE_HTTP" && hc.HTTP != nil:
		scheme := strings.ToLower(hc.HTTP.Scheme)
		if scheme == "" {
			scheme = "http"
		}
		get := &corev1.HTTPGetAction{Host: host, Port: intstr.FromInt32(hc.HTTP.Port), Path: hc.HTTP.Path, Scheme: corev1.URISchemeHTTP}
		if scheme == "https" {
			get.Scheme = corev1.URISchemeHTTPS
		}
		for _, k := range sortedKeys(hc.HTTP.Headers) {
			get.HTTPHeaders = append(get.HTTPHeaders, corev1.HTTPHeader{Name: k, Value: hc.HTTP.Headers[k]})
		}
		h.HTTPGet = get
		endpoint, kind = net.JoinHostPort(host, strconv.Itoa(int(hc.HTTP.Port))), scheme
		if hc.HTTP.Port <= 0 {
			err = fmt.Errorf("no port: port 0 and portName %q names none of the task's ports", hc.HTTP.PortName)
		}
	case hc.Type == "REMOTE_TCP" && hc.TCP != nil:
		h.TCPSocket = &corev1.TCPSocketAction{Host: host, Port: intstr.FromInt32(hc.TCP.Port)}
		endpoint, kind = net.JoinHostPort(host, strconv.Itoa(int(hc.TCP.Port))), "tcp"
		if hc.TCP.Port <= 0 {
			err = fmt.Errorf("no port: port 0 and portName %q names none of the task's ports", hc.TCP.PortName)
		}
	default:
		err = fmt.Errorf("%s is not a remote check", hc.Type)
	}
	return h, endpoint, kind, err
}

// Message is what a run says, worded as bcs-check worded it.
func Message(endpoint, kind string, ok bool, why string) string {
	if ok {
		return fmt.Sprintf("check endpoint %s %s ok", endpoint, kind)
	}
	return fmt.Sprintf("check endpoint %s failed: %s", endpoint, why)
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

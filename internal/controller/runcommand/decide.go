// Package runcommand runs podyard.io RunCommands: each gets a token, a
// secret holding it and a pod `command-{id}` that runs the command; the
// pod's end, the command's timeout or its cancellation end the command,
// and its result is kept for the retention time. Decide and PodFor are
// pure; the controller around them does the I/O.
package runcommand

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/podyard/v1alpha1"
	"github.com/podyard/podyard/internal/runcommand"
	"github.com/podyard/podyard/internal/runcommand/runner"
)

// Timeouts bound a command's life and its result's.
type Timeouts struct {
	Start     time.Duration // its pod must run within this
	Default   time.Duration // a command without timeoutSeconds ends after this
	Retention time.Duration // a result is deleted this long after it finished
}

// Step is what to do next for a command.
type Step struct {
	Status      *v1alpha1.RunCommandStatus // the status to write; nil: unchanged
	CollectLogs bool                       // read the pod's output into Status.Logs first
	StopPod     bool                       // delete the pod
	Delete      bool                       // the result expired: delete it and what it left
	Recheck     time.Time                  // look again then, if nothing changes before
}

// Decide says what to do with rc, whose pod is pod (nil if none), at now.
// refused is why the API would not create the pod, when it never will.
func Decide(rc *v1alpha1.RunCommand, pod *corev1.Pod, refused error, now time.Time, t Timeouts) Step {
	st := rc.Status
	if st.Finished() {
		expires := now
		if st.FinishedAt != nil {
			expires = st.FinishedAt.Add(t.Retention)
		}
		if !now.Before(expires) {
			return Step{Delete: true}
		}
		return Step{StopPod: pod != nil && !podFinished(pod), Recheck: expires}
	}
	timeout := t.Default
	if rc.Spec.TimeoutSeconds != nil {
		timeout = time.Duration(*rc.Spec.TimeoutSeconds) * time.Second
	}
	created := rc.CreationTimestamp.Time
	fail := func(reason, msg string) Step {
		next := st.DeepCopy()
		next.State, next.Reason, next.Message = v1alpha1.Failed, reason, msg
		next.FinishedAt = &metav1.Time{Time: now}
		return Step{Status: next, CollectLogs: pod != nil, StopPod: pod != nil}
	}
	if rc.Spec.Canceled {
		return fail(v1alpha1.ReasonCanceled, "the command was canceled")
	}
	if pod == nil && refused != nil {
		return fail(v1alpha1.ReasonPodNotStarted, "the pod could not be created: "+refused.Error())
	}
	deadline := created.Add(timeout)
	if !now.Before(deadline) {
		return fail(v1alpha1.ReasonTimeout, fmt.Sprintf("the command ran longer than its timeout of %s", timeout))
	}
	var c *corev1.ContainerStatus
	if pod != nil && len(pod.Status.ContainerStatuses) > 0 {
		c = &pod.Status.ContainerStatuses[0]
	}
	switch {
	case c != nil && c.State.Terminated != nil:
		term := c.State.Terminated
		next := st.DeepCopy()
		next.State = v1alpha1.Succeeded
		next.ExitCode = &term.ExitCode
		next.StartedAt, next.FinishedAt = timeOr(term.StartedAt, st.StartedAt, now), &metav1.Time{Time: now}
		if !term.FinishedAt.IsZero() {
			next.FinishedAt = &term.FinishedAt
		}
		return Step{Status: next, CollectLogs: true}
	case pod != nil && pod.Status.Phase == corev1.PodFailed:
		return fail(v1alpha1.ReasonPodFailed, fmt.Sprintf("the pod failed: %s %s", pod.Status.Reason, pod.Status.Message))
	case c != nil && c.State.Running != nil:
		if st.State == v1alpha1.Running {
			return Step{Recheck: deadline}
		}
		next := st.DeepCopy()
		next.State = v1alpha1.Running
		next.StartedAt = &c.State.Running.StartedAt
		return Step{Status: next, Recheck: deadline}
	}
	startBy := created.Add(t.Start)
	if !now.Before(startBy) {
		return fail(v1alpha1.ReasonPodNotStarted, fmt.Sprintf("the pod did not start within %s%s", t.Start, whyPending(pod)))
	}
	return Step{Recheck: startBy}
}

func podFinished(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

func timeOr(t metav1.Time, fallback *metav1.Time, now time.Time) *metav1.Time {
	switch {
	case !t.IsZero():
		return &t
	case fallback != nil:
		return fallback
	default:
		return &metav1.Time{Time: now}
	}
}

// whyPending is what the pod says about why it does not run.
func whyPending(pod *corev1.Pod) string {
	if pod == nil {
		return ": it was not created"
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return ": " + c.Message
		}
	}
	for _, c := range pod.Status.ContainerStatuses {
		if w := c.State.Waiting; w != nil {
			return fmt.Sprintf(": %s %s", w.Reason, w.Message)
		}
	}
	return ""
}

// PodSettings are what every command pod shares.
type PodSettings struct {
	Runner    []string // the command that runs a RunCommand in its pod (package runner)
	Podyard   string   // the podyard binary on the nodes, kubectl under that name
	ServerURL string   // how the pod reaches the API server
	CAPEM     []byte   // the CA that signed the server's certificate
	Resources corev1.ResourceRequirements
}

// ownedMeta names and labels the pod and the secret of rc, which owns them.
func ownedMeta(rc *v1alpha1.RunCommand) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: runcommand.PodName(rc.Name), Namespace: rc.Namespace,
		Labels: map[string]string{runcommand.Label: rc.Name},
		OwnerReferences: []metav1.OwnerReference{{
			APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "RunCommand",
			Name: rc.Name, UID: rc.UID, Controller: new(true),
		}},
	}
}

// PodFor is the pod that runs rc.
func PodFor(rc *v1alpha1.RunCommand, s PodSettings) *corev1.Pod {
	name := runcommand.PodName(rc.Name)
	return &corev1.Pod{
		ObjectMeta: ownedMeta(rc),
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: new(int64(5)),
			AutomountServiceAccountToken:  new(false),
			Containers: []corev1.Container{{
				Name:    "command",
				Image:   "podyard.io/run-command", // the process runtime pulls no image: it runs the runner from the node
				Command: s.Runner,
				Env: []corev1.EnvVar{
					{Name: runner.EnvCommand, Value: rc.Namespace + "/" + rc.Name},
					{Name: runner.EnvServer, Value: s.ServerURL},
					{Name: runner.EnvCA, Value: string(s.CAPEM)},
					{Name: runner.EnvKubectl, Value: s.Podyard},
					{Name: runner.EnvToken, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: runcommand.TokenKey,
					}}},
				},
				Resources: s.Resources,
			}},
		},
	}
}

// Package command is the pure logic of BCS commands, shared by the BCS
// dialect (POST, GET) and the command controller: IDs, targets, summaries,
// retention, restart recovery, outcomes and the output's size rules.
package command

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	utilexec "k8s.io/utils/exec"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
)

// Task statuses of a command (BCS's TaskCommandStatus).
const (
	StatusStaging = "staging"
	StatusRunning = "running"
	StatusFinish  = "finish"
	StatusFailed  = "failed"
)

// Messages BCS gave, and Podyard's own.
const (
	MessageStaging    = "still not send command to task"
	MessageRunning    = "command in running"
	MessageFinish     = "command finished"
	MessageRestarted  = "the server restarted while the command ran; its outcome is unknown"
	DefaultReserveMin = 7 * 24 * 60 // reserveTime's default: 7 days, in minutes
)

// Output limits.
const (
	// MaxOutput is how much of each stream of a task is kept; the rest is
	// counted (StdoutDropped). BCS's executor kept 256 bytes.
	MaxOutput = 1 << 20
	// MaxInline is the largest stream kept in the Command's status itself;
	// a larger one goes to a ConfigMap of its own.
	MaxInline = 16 << 10
	// MaxInlineTotal bounds what all tasks keep inline together, so that
	// the Command stays well below etcd's object limit (~1.5 MiB) however
	// many tasks it has; past it every stream is spilled.
	MaxInlineTotal = 768 << 10
)

// Labels of Commands and their output ConfigMaps.
const (
	// LabelTargetKind is "application" or "deployment".
	LabelTargetKind = "bcs.podyard.io/command-target-kind"
	// LabelTarget is the target's Kubernetes name.
	LabelTarget = "bcs.podyard.io/command-target"
	// LabelCommand on a ConfigMap is the Command whose output it holds.
	LabelCommand = "bcs.podyard.io/command"
	// OutputKey is the binaryData key of an output ConfigMap.
	OutputKey = "output"
)

// ID is a command's BCS ID: {kind}-{ns}-{name}-{unixNano} with the kind as
// the body gave it ("Application"), all lower-cased for a deployment, as
// BCS made them.
func ID(target, kind, namespace, name string, unixNano int64) string {
	id := fmt.Sprintf("%s-%s-%s-%d", kind, namespace, name, unixNano)
	if target == "deployment" {
		return strings.ToLower(id)
	}
	return id
}

// TargetKind is the commandTargetRef kind a command route wants: the
// route's target ("application", "deployment") as BCS spelled the kind.
func TargetKind(target string) string {
	switch target {
	case "application":
		return "Application"
	case "deployment":
		return "Deployment"
	}
	return ""
}

// CheckTarget says whether a commandTargetRef agrees with the route's
// target, namespace and name; the error says where it does not.
func CheckTarget(target, namespace, name string, ref v1alpha1.TargetRef) error {
	switch want := TargetKind(target); {
	case ref.Kind != want:
		return fmt.Errorf("commandTargetRef.kind %q: the URL is for %q", ref.Kind, want)
	case ref.Namespace != namespace:
		return fmt.Errorf("commandTargetRef.namespace %q: the URL is for %q", ref.Namespace, namespace)
	case ref.Name != name:
		return fmt.Errorf("commandTargetRef.name %q: the URL is for %q", ref.Name, name)
	}
	return nil
}

// UnknownTaskGroupError is a spec.taskgroups ID that is none of the
// target's taskgroups.
type UnknownTaskGroupError struct{ IDs []string }

func (e *UnknownTaskGroupError) Error() string {
	return fmt.Sprintf("taskgroups %s: not taskgroups of the target", strings.Join(e.IDs, ", "))
}

// Targets are the taskgroups and tasks a command runs in, every task
// staging: the taskgroup Pods pods (in their order), only those named in
// only when it is not empty, and of each only the tasks whose image
// contains image. A taskgroup left with no task is left out, as BCS did.
func Targets(pods []*corev1.Pod, only []string, image string) ([]v1alpha1.TaskgroupCommandInfo, error) {
	want := map[string]bool{}
	for _, id := range only {
		want[id] = true
	}
	var out []v1alpha1.TaskgroupCommandInfo
	for _, p := range pods {
		id := p.Annotations[application.AnnotationTaskGroupID]
		if len(only) > 0 && !want[id] {
			continue
		}
		delete(want, id)
		ref, err := application.ParseTaskGroupID(id)
		if err != nil {
			continue // not a taskgroup the controller made
		}
		tg := v1alpha1.TaskgroupCommandInfo{TaskgroupID: id, Pod: p.Name}
		for i, c := range p.Spec.Containers {
			if image != "" && !strings.Contains(c.Image, image) {
				continue
			}
			tg.Tasks = append(tg.Tasks, v1alpha1.TaskCommandInfo{
				TaskID: application.TaskID(ref, i), Container: c.Name, Status: StatusStaging, Message: MessageStaging,
			})
		}
		if len(tg.Tasks) > 0 {
			out = append(out, tg)
		}
	}
	if len(want) > 0 {
		missing := make([]string, 0, len(want))
		for id := range want {
			missing = append(missing, id)
		}
		slices.Sort(missing)
		return nil, &UnknownTaskGroupError{IDs: missing}
	}
	return out, nil
}

// Summarize counts the tasks of s per state; done once none is staging
// or running.
func Summarize(s *v1alpha1.CommandStatus) *v1alpha1.CommandSummary {
	var sum v1alpha1.CommandSummary
	for _, tg := range s.Taskgroups {
		for _, t := range tg.Tasks {
			switch t.Status {
			case StatusStaging:
				sum.Staging++
			case StatusRunning:
				sum.Running++
			case StatusFinish:
				sum.Finish++
			case StatusFailed:
				sum.Failed++
			}
		}
	}
	sum.Done = sum.Staging == 0 && sum.Running == 0
	return &sum
}

// ReserveUntil is when a command made at created is deleted: reserveSeconds
// after it when set, else reserveTime minutes (default 7 days).
func ReserveUntil(created time.Time, spec v1alpha1.CommandSpec) time.Time {
	if spec.ReserveSeconds > 0 {
		return created.Add(time.Duration(spec.ReserveSeconds) * time.Second)
	}
	minutes := spec.ReserveTime
	if minutes <= 0 {
		minutes = DefaultReserveMin
	}
	return created.Add(time.Duration(minutes) * time.Minute)
}

// TaskRef is one task of a command: indexes into its status.
type TaskRef struct{ Group, Task int }

// Recover is what a process that did not start the command makes of its
// status (after a server restart): a task left running has an unknown
// outcome and is failed; the staging ones are returned, to be run. s is
// changed in place.
func Recover(s *v1alpha1.CommandStatus) []TaskRef {
	var run []TaskRef
	for i := range s.Taskgroups {
		for j := range s.Taskgroups[i].Tasks {
			t := &s.Taskgroups[i].Tasks[j]
			switch t.Status {
			case StatusRunning:
				t.Status, t.Message = StatusFailed, MessageRestarted
			case StatusStaging:
				run = append(run, TaskRef{i, j})
			}
		}
	}
	return run
}

// NotRunning is why a task cannot run the command, or "" when it can:
// its container must be Running (BCS: "task not in running status").
func NotRunning(pod *corev1.Pod, container string) string {
	if pod == nil {
		return "task not in running status: its taskgroup is gone"
	}
	st := application.TaskState(pod, container)
	if st.Status == application.TaskRunning {
		return ""
	}
	msg := "task not in running status: " + st.Status
	if st.Message != "" {
		msg += " (" + st.Message + ")"
	}
	return msg
}

// ErrTimedOut is a command ended by spec.timeout.
var ErrTimedOut = errors.New("timed out")

// TimedOut says whether an exec that ended with err after took was ended
// by its timeout (the agent's, or the session's deadline): an error that is
// not an exit status, at or after the timeout.
func TimedOut(err error, timeout, took time.Duration) bool {
	var exit utilexec.CodeExitError
	return err != nil && timeout > 0 && took >= timeout && !errors.As(err, &exit)
}

// Outcome is a task's status, message and exit code from how the exec
// ended: nil or a non-zero exit is finish (BCS's executor reported the exit
// code as finish too); a timeout or any other error is failed.
func Outcome(err error, timeoutSeconds int32) (status, message string, exitCode int32) {
	var exit utilexec.CodeExitError
	switch {
	case err == nil:
		return StatusFinish, MessageFinish, 0
	case errors.As(err, &exit):
		return StatusFinish, MessageFinish, int32(exit.Code)
	case errors.Is(err, ErrTimedOut):
		return StatusFailed, fmt.Sprintf("the command did not finish within its timeout of %ds and was killed", timeoutSeconds), 0
	}
	return StatusFailed, err.Error(), 0
}

// Spill says whether a stream of size bytes goes to a ConfigMap rather
// than the status, where inline bytes are kept already.
func Spill(size, inline int) bool {
	return size > MaxInline || inline+size > MaxInlineTotal
}

// Capture keeps the first MaxOutput bytes written to it and counts the
// rest. It never fails, so a command's output never stalls on it.
type Capture struct {
	mu      sync.Mutex // an exec that fails midway may still be copying
	limit   int
	buf     []byte
	dropped int64
}

// NewCapture keeps up to limit bytes.
func NewCapture(limit int) *Capture { return &Capture{limit: limit} }

func (c *Capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := c.limit - len(c.buf)
	if room >= len(p) {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	if room > 0 {
		c.buf = append(c.buf, p[:room]...)
	}
	c.dropped += int64(len(p) - max(room, 0))
	return len(p), nil
}

// Kept is what was kept and how many bytes were dropped after it.
func (c *Capture) Kept() ([]byte, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.buf), c.dropped
}

// OutputName is the ConfigMap holding one stream of task t of group g of
// command name.
func OutputName(name string, t TaskRef, stream string) string {
	return fmt.Sprintf("%s-%d-%d-%s", name, t.Group, t.Task, stream)
}

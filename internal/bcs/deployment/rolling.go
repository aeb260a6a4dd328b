package deployment

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

// Deployment statuses.
const (
	StatusDeploying      = "Deploying"
	StatusRunning        = "Running"
	StatusUpdate         = "Update"
	StatusUpdatePaused   = "UpdatePaused"
	StatusUpdateSuspend  = "UpdateSuspend"
	StatusDeleting       = "Deleting"
	StatusUpdateResource = "UpdateResource"
)

// The phase of a step, with BCS's values of curr_rolling_operation.
const (
	// PhaseNone: between steps.
	PhaseNone = ""
	// PhaseStart: the new application was raised; waiting for its
	// taskgroups to be Running (and healthy).
	PhaseStart = "START"
	// PhaseDelete: the old application was lowered; waiting for its
	// taskgroups to be gone.
	PhaseDelete = "DELETE"
)

// MessagePaused is the status message after a manual step (BCS's).
const MessagePaused = "rollingupdate paused"

// DefaultStepTimeout is how long a step may take before the update is
// suspended, when the caller gives none. BCS suspended a step its scale
// transaction could not finish within the transaction's life period
// (480 s); Podyard takes the same.
const DefaultStepTimeout = 480 * time.Second

// Progress is where a rolling update stands; the controller keeps it with
// the deployment so that a restarted server carries on.
type Progress struct {
	// Phase is PhaseNone, PhaseStart or PhaseDelete.
	Phase string `json:"phase,omitempty"`
	// StepStarted is when the current step began (or was resumed): its
	// deadline counts from then.
	StepStarted time.Time `json:"stepStarted,omitzero"`
	// LastStep is when the last step began (BCS's last_rolling_time); the
	// next one begins upgradeDuration after it. Zero: no step yet.
	LastStep time.Time `json:"lastStep,omitzero"`
	// Steps counts the steps begun.
	Steps int32 `json:"steps,omitempty"`
}

// AppState is what the controller observed of one application.
type AppState struct {
	// Target is its spec.instance.
	Target int32
	// Instances is how many of its taskgroups exist and have not ended
	// (being killed counts: it may still hold its node's ports).
	Instances int32
	// Ready is how many are Running, and healthy where they have health
	// checks.
	Ready int32
}

// Rolling is what Next plans from.
type Rolling struct {
	// Strategy is the deployment's rollingupdate. A RollingOrder other
	// than DeleteFirst is CreateFirst (ParseUpdate admits only the two).
	Strategy RollingUpdate
	// Instance is the deployment's spec.instance: what the new application
	// ends with.
	Instance int32
	Old, New AppState
	// Status is the deployment's: Update plans; UpdatePaused and
	// UpdateSuspend wait.
	Status   string
	Progress Progress
	Now      time.Time
	// StepTimeout bounds a step (0: DefaultStepTimeout).
	StepTimeout time.Duration
}

// ActionKind says what Next wants.
type ActionKind string

const (
	// SetTargets: set both applications' spec.instance to OldTarget and
	// NewTarget and record Progress.
	SetTargets ActionKind = "SetTargets"
	// Wait: nothing to change; look again when taskgroups change, and at
	// Until when it is set.
	Wait ActionKind = "Wait"
	// Done: delete the old application, the new one becomes the
	// deployment's application, status Running.
	Done ActionKind = "Done"
	// Pause: a manual step ended; status UpdatePaused with Reason.
	Pause ActionKind = "Pause"
	// Suspend: a step did not finish in time; status UpdateSuspend with
	// Reason.
	Suspend ActionKind = "Suspend"
)

// Action is Next's answer.
type Action struct {
	Kind                 ActionKind
	OldTarget, NewTarget int32
	// Until is when to look again (Wait), zero for "on the next change".
	Until time.Time
	// Reason says why (Wait, Pause, Suspend); it becomes the status
	// message for Pause and Suspend.
	Reason string
	// Progress is what to record, whatever the kind.
	Progress Progress
}

// Next plans the next move of a rolling update. A step of CreateFirst
// raises the new application by up to maxSurge, waits for those taskgroups
// to be Running (and healthy), then lowers the old one by up to
// maxUnavilable and waits for its taskgroups to be gone; DeleteFirst does
// the two halves the other way round. Steps begin upgradeDuration seconds
// apart (from one's start to the next's; a step never begins before the
// last ended). rollingManually pauses after every step but the last. A
// step still unfinished StepTimeout after it began suspends the update.
// When the old application has no taskgroups left and the new one has all
// of spec.instance Ready, the update is Done.
//
// Where Podyard does better than BCS: BCS set the new target to
// min(new+maxSurge, instance) and the old to old-maxUnavilable whatever the
// other held, so with maxSurge 2 and maxUnavilable 1 the two applications
// grew to instance+3, +4, ... taskgroups, and with maxUnavilable larger
// than maxSurge the Running ones fell below instance-maxUnavilable. Here a
// raise is cut so that both targets together never exceed
// instance+maxSurge, and a lowering so that the old target plus the new
// application's Ready taskgroups never fall below instance-maxUnavilable
// (the old application's own not-Running taskgroups count as available:
// an update of an already unhealthy application must still make
// progress). An old application above spec.instance (an update that also
// scales down) may lose its excess at once, within that floor. A step
// also waits for the old taskgroups to be gone, not only for their kill
// to be asked, so the surge bound holds for taskgroups that exist.
func Next(r Rolling) Action {
	p := r.Progress
	if r.Status != StatusUpdate {
		return Action{Kind: Wait, OldTarget: r.Old.Target, NewTarget: r.New.Target,
			Reason: "deployment is " + r.Status, Progress: p}
	}
	// Parse sets both to at least 1; without that a step could change
	// nothing.
	r.Strategy.MaxSurge = max(r.Strategy.MaxSurge, 1)
	r.Strategy.MaxUnavailable = max(r.Strategy.MaxUnavailable, 1)
	timeout := r.StepTimeout
	if timeout <= 0 {
		timeout = DefaultStepTimeout
	}
	deadline := p.StepStarted.Add(timeout)
	createFirst := r.Strategy.RollingOrder != DeleteFirst
	switch p.Phase {
	case PhaseStart:
		if r.New.Ready < r.New.Target {
			why := fmt.Sprintf("waiting for %d taskgroups of the new application to be Running, %d are",
				r.New.Target, r.New.Ready)
			return r.waitOrSuspend(deadline, why)
		}
		if createFirst {
			return r.lower(p)
		}
		return r.endStep(p)
	case PhaseDelete:
		if r.Old.Instances > r.Old.Target {
			why := fmt.Sprintf("waiting for the old application to be down to %d taskgroups, %d are left",
				r.Old.Target, r.Old.Instances)
			return r.waitOrSuspend(deadline, why)
		}
		if createFirst {
			return r.endStep(p)
		}
		return r.raise(p)
	}
	if r.finished() {
		return Action{Kind: Done, OldTarget: 0, NewTarget: r.New.Target, Progress: Progress{LastStep: p.LastStep, Steps: p.Steps}}
	}
	if !p.LastStep.IsZero() {
		next := p.LastStep.Add(time.Duration(r.Strategy.UpgradeDuration) * time.Second)
		if !r.Now.After(p.LastStep) {
			// A step began at this very instant and changed nothing: no
			// second one now (Now is expected at full resolution).
			next = p.LastStep.Add(max(next.Sub(p.LastStep), time.Second))
		}
		if r.Now.Before(next) {
			return Action{Kind: Wait, OldTarget: r.Old.Target, NewTarget: r.New.Target, Until: next,
				Reason: "waiting upgradeDuration for the next step", Progress: p}
		}
	}
	p = Progress{StepStarted: r.Now, LastStep: r.Now, Steps: p.Steps + 1}
	if createFirst {
		return r.raise(p)
	}
	return r.lower(p)
}

// raise begins the START half of a step.
func (r Rolling) raise(p Progress) Action {
	s, n := r.Strategy.MaxSurge, r.Instance
	by := min(s, n-r.New.Target, n+s-r.Old.Target-r.New.Target)
	p.Phase = PhaseStart
	return r.scaleOrGo(p, r.Old.Target, r.New.Target+max(by, 0))
}

// lower begins the DELETE half of a step.
func (r Rolling) lower(p Progress) Action {
	u, n := r.Strategy.MaxUnavailable, r.Instance
	by := min(max(u, r.Old.Target-n), r.Old.Target, r.Old.Target+r.New.Ready-(n-u))
	p.Phase = PhaseDelete
	return r.scaleOrGo(p, r.Old.Target-max(by, 0), r.New.Target)
}

// scaleOrGo answers SetTargets with the targets, or, when the half changes
// nothing, carries on at once from p.
func (r Rolling) scaleOrGo(p Progress, oldTarget, newTarget int32) Action {
	if oldTarget != r.Old.Target || newTarget != r.New.Target {
		return Action{Kind: SetTargets, OldTarget: oldTarget, NewTarget: newTarget, Progress: p}
	}
	r.Progress = p
	return Next(r)
}

// endStep ends a step: Done when it was the last, Pause when steps are
// manual, else on to the next.
func (r Rolling) endStep(p Progress) Action {
	p.Phase = PhaseNone
	p.StepStarted = time.Time{}
	if r.finished() {
		r.Progress = p
		return Next(r)
	}
	if r.Strategy.RollingManually {
		return Action{Kind: Pause, OldTarget: r.Old.Target, NewTarget: r.New.Target, Reason: MessagePaused, Progress: p}
	}
	r.Progress = p
	return Next(r)
}

// waitOrSuspend waits for the current half to finish until the deadline,
// and suspends the update after it. The phase is kept: a resume carries on
// with the same step.
func (r Rolling) waitOrSuspend(deadline time.Time, why string) Action {
	a := Action{OldTarget: r.Old.Target, NewTarget: r.New.Target, Progress: r.Progress}
	if r.Now.Before(deadline) {
		a.Kind, a.Until, a.Reason = Wait, deadline, why
		return a
	}
	a.Kind = Suspend
	a.Reason = fmt.Sprintf("rolling step %d did not finish in %s: %s", r.Progress.Steps, deadline.Sub(r.Progress.StepStarted), why)
	return a
}

// finished: the old application has nothing left and the new one is whole.
func (r Rolling) finished() bool {
	return r.Old.Target == 0 && r.Old.Instances == 0 && r.New.Target >= r.Instance && r.New.Ready >= r.Instance
}

// ProgressOf is the Progress a Deployment's status records.
func ProgressOf(p v1alpha1.DeploymentProgress) Progress {
	out := Progress{Phase: p.Phase, Steps: p.Steps}
	if p.StepStarted != nil {
		out.StepStarted = p.StepStarted.Time
	}
	if p.LastStep != nil {
		out.LastStep = p.LastStep.Time
	}
	return out
}

// Status is p as a Deployment's status records it.
func (p Progress) Status() v1alpha1.DeploymentProgress {
	out := v1alpha1.DeploymentProgress{Phase: p.Phase, Steps: p.Steps}
	if !p.StepStarted.IsZero() {
		t := metav1.NewMicroTime(p.StepStarted)
		out.StepStarted = &t
	}
	if !p.LastStep.IsZero() {
		t := metav1.NewMicroTime(p.LastStep)
		out.LastStep = &t
	}
	return out
}

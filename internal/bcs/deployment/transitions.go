package deployment

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

// StatusError is an operation the deployment's status does not allow
// (BCS answers 1405200).
type StatusError struct {
	// Op is the operation as the URL names it: update, pauseupdate,
	// resumeupdate, cancelupdate, scale.
	Op string
	// Status is the deployment's.
	Status string
	// Allowed are the statuses Op is allowed from.
	Allowed []string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("cannot %s a deployment whose status is %s: only from %s",
		e.Op, e.Status, strings.Join(e.Allowed, " or "))
}

func allow(op, status string, allowed ...string) error {
	if slices.Contains(allowed, status) {
		return nil
	}
	return &StatusError{Op: op, Status: status, Allowed: allowed}
}

// StartUpdate checks that a rolling update may begin (BCS: the deployment
// Running, its application Running or Abnormal, the selector unchanged).
// The update starts from the zero Progress: the first step begins at
// once. The controller then creates the new application (NewApplicationName, 0
// instances), keeps the old definition to restore on cancel, and sets the
// status Update.
func StartUpdate(status, appStatus string, selector, newSelector map[string]string) error {
	if err := allow("update", status, StatusRunning); err != nil {
		return err
	}
	if appStatus != v1alpha1.StatusRunning && appStatus != v1alpha1.StatusAbnormal {
		return fmt.Errorf("cannot update a deployment whose application is %s: only while Running or Abnormal", appStatus)
	}
	if !maps.Equal(selector, newSelector) {
		return &InvalidError{"the selector of a deployment cannot change"}
	}
	return nil
}

// PauseUpdate is pauseupdate: Update → UpdatePaused. The step under way
// stays where it is (its Progress is kept).
func PauseUpdate(status string) (string, error) {
	if err := allow("pauseupdate", status, StatusUpdate); err != nil {
		return "", err
	}
	return StatusUpdatePaused, nil
}

// ResumeUpdate is resumeupdate: UpdatePaused or UpdateSuspend → Update. A
// step that was under way carries on with a fresh deadline from now (a
// suspended one would otherwise be suspended again at once); between steps
// the next begins once upgradeDuration has passed since the last began.
func ResumeUpdate(status string, p Progress, now time.Time) (string, Progress, error) {
	if err := allow("resumeupdate", status, StatusUpdatePaused, StatusUpdateSuspend); err != nil {
		return "", Progress{}, err
	}
	if p.Phase != PhaseNone {
		p.StepStarted = now
	}
	return StatusUpdate, p, nil
}

// CancelUpdate is cancelupdate, from Update, UpdatePaused or UpdateSuspend:
// the controller deletes the new application, gives the old one back its
// definition and instance count from before the update, and the status
// becomes Running (returned). BCS refused a cancel while a step was
// lowering the old application ("deployment is deleting taskgroups, cannot
// cancelupdate now, try later"); here it is always allowed: restoring the
// old application's instance count makes again whatever that step took.
func CancelUpdate(status string) (string, error) {
	if err := allow("cancelupdate", status, StatusUpdate, StatusUpdatePaused, StatusUpdateSuspend); err != nil {
		return "", err
	}
	return StatusRunning, nil
}

// Scale checks scale/{n} of a deployment: only while Running (an update
// owns the instance counts of both applications), and at least 1 as for
// an application. The controller scales the deployment's application and
// its spec.instance.
func Scale(status string, instances int) error {
	if err := allow("scale", status, StatusRunning); err != nil {
		return err
	}
	if instances < 1 {
		return &InvalidError{"target instances can not be littler than 1, maybe you want to use delete command"}
	}
	return nil
}

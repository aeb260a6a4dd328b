package deployment

import (
	"errors"
	"testing"
	"time"
)

var statuses = []string{StatusDeploying, StatusRunning, StatusUpdate, StatusUpdatePaused, StatusUpdateSuspend, StatusDeleting, StatusUpdateResource}

func TestTransitions(t *testing.T) {
	mid := Progress{Phase: PhaseStart, StepStarted: t0, LastStep: t0, Steps: 2}
	now := t0.Add(time.Hour)
	for _, tc := range []struct {
		op      string
		do      func(status string) (string, error)
		allowed map[string]string // status → status after
		message string            // the refusal from Running, or from Update for those allowed from Running
	}{
		{"pauseupdate", PauseUpdate, map[string]string{StatusUpdate: StatusUpdatePaused},
			"cannot pauseupdate a deployment whose status is Running: only from Update"},
		{"resumeupdate", func(s string) (string, error) {
			to, p, err := ResumeUpdate(s, mid, now)
			if err == nil && (p.StepStarted != now || p.LastStep != t0 || p.Phase != PhaseStart) {
				t.Errorf("resumed from %s to %+v: the step's deadline counts from now", s, p)
			}
			return to, err
		}, map[string]string{StatusUpdatePaused: StatusUpdate, StatusUpdateSuspend: StatusUpdate},
			"cannot resumeupdate a deployment whose status is Running: only from UpdatePaused or UpdateSuspend"},
		{"cancelupdate", CancelUpdate, map[string]string{StatusUpdate: StatusRunning, StatusUpdatePaused: StatusRunning, StatusUpdateSuspend: StatusRunning},
			"cannot cancelupdate a deployment whose status is Running: only from Update or UpdatePaused or UpdateSuspend"},
		{"scale", func(s string) (string, error) { return s, Scale(s, 3) }, map[string]string{StatusRunning: StatusRunning},
			"cannot scale a deployment whose status is Update: only from Running"},
		{"update", func(s string) (string, error) {
			return s, StartUpdate(s, "Running", map[string]string{"a": "b"}, map[string]string{"a": "b"})
		}, map[string]string{StatusRunning: StatusRunning},
			"cannot update a deployment whose status is Update: only from Running"},
	} {
		for _, s := range statuses {
			t.Run(tc.op+" from "+s, func(t *testing.T) {
				to, err := tc.do(s)
				want, ok := tc.allowed[s]
				var se *StatusError
				switch {
				case ok && err != nil:
					t.Fatalf("refused: %v", err)
				case ok && to != want:
					t.Errorf("to %s, want %s", to, want)
				case !ok && !errors.As(err, &se):
					t.Fatalf("got %q, %v; want a StatusError", to, err)
				case !ok && (se.Op != tc.op || se.Status != s):
					t.Errorf("error %+v", se)
				}
			})
		}
		from := StatusRunning
		if _, ok := tc.allowed[from]; ok {
			from = StatusUpdate
		}
		if _, err := tc.do(from); err == nil || err.Error() != tc.message {
			t.Errorf("%s from %s: %v, want %q", tc.op, from, err, tc.message)
		}
	}
}

func TestScaleAndUpdateChecks(t *testing.T) {
	var invalid *InvalidError
	if err := Scale(StatusRunning, 0); !errors.As(err, &invalid) || invalid.Reason != "target instances can not be littler than 1, maybe you want to use delete command" {
		t.Errorf("scale to 0: %v", err)
	}
	if err := StartUpdate(StatusRunning, "Abnormal", nil, nil); err != nil {
		t.Errorf("update of an Abnormal application: %v", err)
	}
	if err := StartUpdate(StatusRunning, "Operating", nil, nil); err == nil {
		t.Error("update of an Operating application accepted")
	}
	if err := StartUpdate(StatusRunning, "Running", map[string]string{"a": "b"}, map[string]string{"a": "c"}); !errors.As(err, &invalid) {
		t.Errorf("changed selector: %v", err)
	}
}

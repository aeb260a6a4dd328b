package deployment

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Unix(1700000000, 0)

// world is a simulated pair of applications: a raised target makes its
// taskgroups at once and they become Ready one tick later; a lowered one
// takes its taskgroups out of service at once and they are gone one tick
// later.
type world struct {
	old, new AppState
}

func (w *world) set(oldTarget, newTarget int32) {
	w.old.Target, w.new.Target = oldTarget, newTarget
	w.old.Ready = min(w.old.Ready, oldTarget)
	w.new.Instances = max(w.new.Instances, newTarget)
	w.new.Ready = min(w.new.Ready, newTarget)
}

// tick lets one tick pass; up says whether the new taskgroups come up.
func (w *world) tick(up bool) {
	w.old.Instances = w.old.Target
	w.new.Instances = w.new.Target
	if up {
		w.new.Ready = w.new.Target
	}
}

// run is one rolling update simulated to its end.
type run struct {
	targets []string // "old/new" after every SetTargets
	steps   int32
	pauses  int
	starts  []time.Time // when each step began
	done    bool
}

// simulate runs Next in a loop, one tick a second, resuming after every
// pause, and checks the bounds at every tick.
func simulate(t *testing.T, ru RollingUpdate, instance, old int32) run {
	t.Helper()
	w := &world{old: AppState{Target: old, Instances: old, Ready: old}}
	hi := max(old, instance+ru.MaxSurge)
	lo := min(old, instance) - ru.MaxUnavailable
	status, p, now := StatusUpdate, Progress{}, t0
	var out run
	check := func(when string) {
		t.Helper()
		if n := w.old.Instances + w.new.Instances; n > hi {
			t.Fatalf("%s at %v: %d taskgroups (old %+v new %+v), at most %d", when, now.Sub(t0), n, w.old, w.new, hi)
		}
		if n := w.old.Target + w.new.Target; n > hi {
			t.Fatalf("%s at %v: targets %d (old %+v new %+v), at most %d", when, now.Sub(t0), n, w.old, w.new, hi)
		}
		if n := w.old.Ready + w.new.Ready; n < lo {
			t.Fatalf("%s at %v: %d Ready (old %+v new %+v), at least %d", when, now.Sub(t0), n, w.old, w.new, lo)
		}
	}
	for range 1000 {
		a := Next(Rolling{Strategy: ru, Instance: instance, Old: w.old, New: w.new, Status: status, Progress: p, Now: now})
		if a.Progress.Steps > p.Steps {
			out.starts = append(out.starts, a.Progress.LastStep)
		}
		p = a.Progress
		switch a.Kind {
		case SetTargets:
			w.set(a.OldTarget, a.NewTarget)
			out.targets = append(out.targets, fmt.Sprintf("%d/%d", a.OldTarget, a.NewTarget))
			check("after " + string(a.Kind))
			continue // the controller plans again at once on its own change
		case Done:
			if w.new.Target != instance || w.old.Instances != 0 || w.new.Ready != instance {
				t.Fatalf("done with old %+v new %+v", w.old, w.new)
			}
			out.steps, out.done = p.Steps, true
			return out
		case Pause:
			out.pauses++
			var err error
			if status, err = PauseUpdate(status); err != nil {
				t.Fatal(err)
			}
			if status, p, err = ResumeUpdate(status, p, now); err != nil {
				t.Fatal(err)
			}
		case Suspend:
			t.Fatalf("suspended: %s", a.Reason)
		case Wait:
			if !a.Until.IsZero() && !a.Until.After(now) {
				t.Fatalf("wait until %v, now %v", a.Until, now)
			}
		}
		now = now.Add(time.Second)
		w.tick(true)
		check("tick")
	}
	t.Fatalf("not done: old %+v new %+v progress %+v; targets %v", w.old, w.new, p, out.targets)
	return out
}

func TestRollingSequences(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ru      RollingUpdate
		targets string
		pauses  int
	}{
		// The new application never takes the two beyond 5+2 (BCS's went to
		// 4/4, 8 taskgroups, at the second step).
		{"CreateFirst", RollingUpdate{MaxUnavailable: 1, MaxSurge: 2, RollingOrder: CreateFirst},
			"5/2 4/2 4/3 3/3 3/4 2/4 2/5 1/5 0/5", 0},
		{"DeleteFirst", RollingUpdate{MaxUnavailable: 1, MaxSurge: 2, RollingOrder: DeleteFirst},
			"4/0 4/2 3/2 3/4 2/4 2/5 1/5 0/5", 0},
		{"CreateFirst manual", RollingUpdate{MaxUnavailable: 1, MaxSurge: 2, RollingOrder: CreateFirst, RollingManually: true},
			"5/2 4/2 4/3 3/3 3/4 2/4 2/5 1/5 0/5", 4},
		{"DeleteFirst manual", RollingUpdate{MaxUnavailable: 1, MaxSurge: 2, RollingOrder: DeleteFirst, RollingManually: true},
			"4/0 4/2 3/2 3/4 2/4 2/5 1/5 0/5", 4},
		{"CreateFirst 10 s apart", RollingUpdate{MaxUnavailable: 1, MaxSurge: 2, RollingOrder: CreateFirst, UpgradeDuration: 10},
			"5/2 4/2 4/3 3/3 3/4 2/4 2/5 1/5 0/5", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := simulate(t, tc.ru, 5, 5)
			if s := strings.Join(got.targets, " "); s != tc.targets {
				t.Errorf("targets %s\n           want %s", s, tc.targets)
			}
			if got.steps != 5 || got.pauses != tc.pauses {
				t.Errorf("%d steps, %d pauses; want 5, %d (no pause after the last step)", got.steps, got.pauses, tc.pauses)
			}
			for i := 1; i < len(got.starts); i++ {
				if d := got.starts[i].Sub(got.starts[i-1]); d < time.Duration(tc.ru.UpgradeDuration)*time.Second {
					t.Errorf("step %d began %v after the last", i+1, d)
				}
			}
			if tc.ru.UpgradeDuration == 0 && !tc.ru.RollingManually {
				// Each step takes two ticks (new Ready, old gone) and the next begins at once.
				if last := got.starts[len(got.starts)-1].Sub(t0); last > 10*time.Second {
					t.Errorf("last step began at %v", last)
				}
			}
		})
	}
}

// Every order and pace, from an old application of the same size, a
// smaller and a larger one: the bounds hold at every tick and the update
// ends.
func TestRollingBounds(t *testing.T) {
	for _, order := range []string{CreateFirst, DeleteFirst} {
		for _, su := range [][2]int32{{1, 1}, {2, 1}, {1, 2}, {3, 3}, {1, 5}, {5, 1}, {10, 10}} {
			for _, n := range []int32{0, 1, 5, 7, 20} {
				for _, old := range []int32{n, max(n-2, 0), n + 3} {
					for _, manual := range []bool{false, true} {
						ru := RollingUpdate{MaxSurge: su[0], MaxUnavailable: su[1], RollingOrder: order, RollingManually: manual, UpgradeDuration: 2}
						t.Run(fmt.Sprintf("%s surge %d unavailable %d %d from %d manual %v", order, su[0], su[1], n, old, manual), func(t *testing.T) {
							simulate(t, ru, n, old)
						})
					}
				}
			}
		}
	}
}

func TestNext(t *testing.T) {
	ru := RollingUpdate{MaxUnavailable: 1, MaxSurge: 2, UpgradeDuration: 10, RollingOrder: CreateFirst}
	started := Progress{Phase: PhaseStart, StepStarted: t0, LastStep: t0, Steps: 1}
	between := Progress{LastStep: t0, Steps: 1}
	for _, tc := range []struct {
		name     string
		r        Rolling
		want     Action
		inReason string
	}{
		{"first step at once", Rolling{Strategy: ru, Instance: 5, Old: AppState{5, 5, 5}, Now: t0},
			Action{Kind: SetTargets, OldTarget: 5, NewTarget: 2, Progress: started}, ""},
		{"new taskgroups not yet Running", Rolling{Strategy: ru, Instance: 5, Old: AppState{5, 5, 5}, New: AppState{2, 2, 1}, Progress: started, Now: t0.Add(time.Minute)},
			Action{Kind: Wait, OldTarget: 5, NewTarget: 2, Until: t0.Add(DefaultStepTimeout), Progress: started}, "waiting for 2 taskgroups of the new application to be Running, 1 are"},
		{"new taskgroups not Running in time", Rolling{Strategy: ru, Instance: 5, Old: AppState{5, 5, 5}, New: AppState{2, 2, 1}, Progress: started, Now: t0.Add(DefaultStepTimeout)},
			Action{Kind: Suspend, OldTarget: 5, NewTarget: 2, Progress: started}, "rolling step 1 did not finish in 8m0s: waiting for 2 taskgroups"},
		{"a shorter step timeout", Rolling{Strategy: ru, Instance: 5, Old: AppState{5, 5, 5}, New: AppState{2, 2, 0}, Progress: started, Now: t0.Add(time.Minute), StepTimeout: time.Minute},
			Action{Kind: Suspend, OldTarget: 5, NewTarget: 2, Progress: started}, "did not finish in 1m0s"},
		{"new Running: old lowered", Rolling{Strategy: ru, Instance: 5, Old: AppState{5, 5, 5}, New: AppState{2, 2, 2}, Progress: started, Now: t0.Add(time.Second)},
			Action{Kind: SetTargets, OldTarget: 4, NewTarget: 2, Progress: Progress{Phase: PhaseDelete, StepStarted: t0, LastStep: t0, Steps: 1}}, ""},
		{"old taskgroup still being killed", Rolling{Strategy: ru, Instance: 5, Old: AppState{4, 5, 4}, New: AppState{2, 2, 2}, Progress: Progress{Phase: PhaseDelete, StepStarted: t0, LastStep: t0, Steps: 1}, Now: t0.Add(2 * time.Second)},
			Action{Kind: Wait, OldTarget: 4, NewTarget: 2, Until: t0.Add(DefaultStepTimeout), Progress: Progress{Phase: PhaseDelete, StepStarted: t0, LastStep: t0, Steps: 1}}, "down to 4 taskgroups, 5 are left"},
		{"step over: wait upgradeDuration", Rolling{Strategy: ru, Instance: 5, Old: AppState{4, 4, 4}, New: AppState{2, 2, 2}, Progress: Progress{Phase: PhaseDelete, StepStarted: t0, LastStep: t0, Steps: 1}, Now: t0.Add(3 * time.Second)},
			Action{Kind: Wait, OldTarget: 4, NewTarget: 2, Until: t0.Add(10 * time.Second), Progress: between}, "upgradeDuration"},
		{"next step after upgradeDuration", Rolling{Strategy: ru, Instance: 5, Old: AppState{4, 4, 4}, New: AppState{2, 2, 2}, Progress: between, Now: t0.Add(10 * time.Second)},
			Action{Kind: SetTargets, OldTarget: 4, NewTarget: 3, Progress: Progress{Phase: PhaseStart, StepStarted: t0.Add(10 * time.Second), LastStep: t0.Add(10 * time.Second), Steps: 2}}, ""},
		{"manual: pause after the step", Rolling{Strategy: rollingUpdate(1, 2, 10, true, CreateFirst), Instance: 5, Old: AppState{4, 4, 4}, New: AppState{2, 2, 2}, Progress: Progress{Phase: PhaseDelete, StepStarted: t0, LastStep: t0, Steps: 1}, Now: t0.Add(3 * time.Second)},
			Action{Kind: Pause, OldTarget: 4, NewTarget: 2, Reason: MessagePaused, Progress: between}, MessagePaused},
		{"manual: done after the last step, no pause", Rolling{Strategy: rollingUpdate(1, 2, 10, true, CreateFirst), Instance: 5, Old: AppState{0, 0, 0}, New: AppState{5, 5, 5}, Progress: Progress{Phase: PhaseDelete, StepStarted: t0, LastStep: t0, Steps: 5}, Now: t0.Add(3 * time.Second)},
			Action{Kind: Done, NewTarget: 5, Progress: Progress{LastStep: t0, Steps: 5}}, ""},
		{"DeleteFirst lowers first", Rolling{Strategy: rollingUpdate(1, 2, 10, false, DeleteFirst), Instance: 5, Old: AppState{5, 5, 5}, Now: t0},
			Action{Kind: SetTargets, OldTarget: 4, NewTarget: 0, Progress: Progress{Phase: PhaseDelete, StepStarted: t0, LastStep: t0, Steps: 1}}, ""},
		{"DeleteFirst raises once the old are gone", Rolling{Strategy: rollingUpdate(1, 2, 10, false, DeleteFirst), Instance: 5, Old: AppState{4, 4, 4}, Progress: Progress{Phase: PhaseDelete, StepStarted: t0, LastStep: t0, Steps: 1}, Now: t0.Add(time.Second)},
			Action{Kind: SetTargets, OldTarget: 4, NewTarget: 2, Progress: Progress{Phase: PhaseStart, StepStarted: t0, LastStep: t0, Steps: 1}}, ""},
		{"paused: nothing moves", Rolling{Strategy: ru, Instance: 5, Old: AppState{4, 4, 4}, New: AppState{2, 2, 2}, Status: StatusUpdatePaused, Progress: between, Now: t0.Add(time.Hour)},
			Action{Kind: Wait, OldTarget: 4, NewTarget: 2, Progress: between}, "deployment is UpdatePaused"},
		{"suspended: nothing moves", Rolling{Strategy: ru, Instance: 5, Old: AppState{5, 5, 5}, New: AppState{2, 2, 1}, Status: StatusUpdateSuspend, Progress: started, Now: t0.Add(time.Hour)},
			Action{Kind: Wait, OldTarget: 5, NewTarget: 2, Progress: started}, "deployment is UpdateSuspend"},
		{"surge and unavailable below 1 count as 1", Rolling{Strategy: RollingUpdate{RollingOrder: CreateFirst}, Instance: 5, Old: AppState{5, 5, 5}, Now: t0},
			Action{Kind: SetTargets, OldTarget: 5, NewTarget: 1, Progress: started}, ""},
		{"a step that changed nothing: no second one in the same instant", Rolling{Strategy: rollingUpdate(1, 1, 0, false, CreateFirst), Instance: 2, Old: AppState{0, 0, 0}, New: AppState{2, 2, 1}, Progress: Progress{LastStep: t0, Steps: 3}, Now: t0},
			Action{Kind: Wait, OldTarget: 0, NewTarget: 2, Until: t0.Add(time.Second), Progress: Progress{LastStep: t0, Steps: 3}}, "next step"},
		{"an unhealthy old application still makes progress", Rolling{Strategy: ru, Instance: 5, Old: AppState{5, 5, 1}, New: AppState{2, 2, 2}, Progress: started, Now: t0.Add(time.Second)},
			Action{Kind: SetTargets, OldTarget: 4, NewTarget: 2, Progress: Progress{Phase: PhaseDelete, StepStarted: t0, LastStep: t0, Steps: 1}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.r.Status == "" {
				tc.r.Status = StatusUpdate
			}
			got := Next(tc.r)
			if !strings.Contains(got.Reason, tc.inReason) {
				t.Errorf("reason %q, want it to contain %q", got.Reason, tc.inReason)
			}
			got.Reason, tc.want.Reason = "", ""
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// A step whose new taskgroups do not come up in time suspends the update;
// after a resume the step carries on with a fresh deadline and the update
// ends.
func TestSuspendResume(t *testing.T) {
	ru := RollingUpdate{MaxUnavailable: 1, MaxSurge: 2, RollingOrder: CreateFirst}
	w := &world{old: AppState{5, 5, 5}}
	status, p, now := StatusUpdate, Progress{}, t0
	timeout := 30 * time.Second
	var suspended, resumedAt time.Time
	for range 200 {
		a := Next(Rolling{Strategy: ru, Instance: 5, Old: w.old, New: w.new, Status: status, Progress: p, Now: now, StepTimeout: timeout})
		p = a.Progress
		switch a.Kind {
		case SetTargets:
			w.set(a.OldTarget, a.NewTarget)
			continue
		case Suspend:
			if !suspended.IsZero() {
				t.Fatalf("suspended twice: %s", a.Reason)
			}
			if now.Sub(t0) != timeout || !strings.Contains(a.Reason, "waiting for 2 taskgroups of the new application") {
				t.Fatalf("suspended at %v: %s", now.Sub(t0), a.Reason)
			}
			suspended, status = now, StatusUpdateSuspend
		case Done:
			if resumedAt.IsZero() {
				t.Fatal("done without a resume")
			}
			return
		}
		now = now.Add(time.Second)
		// The new taskgroups come up only once the update was suspended
		// for a minute (say, a node was added); then it is resumed.
		up := !suspended.IsZero() && now.Sub(suspended) >= time.Minute
		if up && resumedAt.IsZero() {
			var err error
			if status, p, err = ResumeUpdate(status, p, now); err != nil {
				t.Fatal(err)
			}
			if p.StepStarted != now || p.Phase != PhaseStart {
				t.Fatalf("resumed to %+v", p)
			}
			resumedAt = now
		}
		w.tick(up)
	}
	t.Fatalf("not done: %+v %+v %+v", w.old, w.new, p)
}

// rollingUpdate is a RollingUpdate from its fields in order (it is the
// API's type, whose composite literals vet wants keyed).
func rollingUpdate(maxUnavailable, maxSurge, upgradeDuration int32, manually bool, order string) RollingUpdate {
	return RollingUpdate{MaxUnavailable: maxUnavailable, MaxSurge: maxSurge, UpgradeDuration: upgradeDuration, RollingManually: manually, RollingOrder: order}
}

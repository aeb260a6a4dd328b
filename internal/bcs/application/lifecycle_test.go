package application

import (
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

func lifecycleApp() *v1alpha1.Application {
	return &v1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "app-uid"},
		Spec: v1alpha1.ApplicationSpec{Metadata: v1alpha1.ObjectMeta{Name: "web", Namespace: "ns"}, Instance: 3,
			Template: v1alpha1.PodTemplateSpec{Spec: v1alpha1.PodSpec{Containers: []v1alpha1.Container{{Image: "i", Command: "c"}}}}},
	}
}

// ended is a taskgroup Pod of index 0 whose only task exited with code
// at `at`, restarted `times` times, the last at `last` (0: never).
func ended(app *v1alpha1.Application, code int32, at time.Time, times int, last int64) *corev1.Pod {
	p := Pod(app, PodOptions{Index: 0, Cluster: "1", UnixNano: at.Add(-time.Minute).UnixNano()})
	p.CreationTimestamp = metav1.NewTime(at.Add(-time.Minute))
	p.Spec.NodeName = "n1"
	phase := corev1.PodFailed
	if code == 0 {
		phase = corev1.PodSucceeded
	}
	p.Status.Phase = phase
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: p.Spec.Containers[0].Name,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, FinishedAt: metav1.NewTime(at)}}}}
	if times > 0 {
		p.Annotations[AnnotationReschededTimes] = strconv.Itoa(times)
	}
	if last > 0 {
		p.Annotations[AnnotationLastReschedTime] = strconv.FormatInt(last, 10)
	}
	return p
}

func TestRestartDecision(t *testing.T) {
	now := time.Unix(100000, 0)
	running := func(app *v1alpha1.Application) *corev1.Pod {
		p := ended(app, 1, now, 0, 0)
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
		return p
	}
	for _, tc := range []struct {
		name   string
		policy v1alpha1.RestartPolicy
		pod    func(*v1alpha1.Application) *corev1.Pod
		want   Restart
	}{
		{"Never leaves a failed taskgroup", v1alpha1.RestartPolicy{Policy: "Never"},
			func(a *v1alpha1.Application) *corev1.Pod { return ended(a, 1, now.Add(-time.Hour), 0, 0) }, Restart{}},
		{"OnFailure replaces a failed one", v1alpha1.RestartPolicy{Policy: "OnFailure"},
			func(a *v1alpha1.Application) *corev1.Pod { return ended(a, 1, now.Add(-2*time.Second), 0, 0) }, Restart{Replace: true, Times: 1}},
		{"the default is OnFailure", v1alpha1.RestartPolicy{},
			func(a *v1alpha1.Application) *corev1.Pod { return ended(a, 1, now.Add(-2*time.Second), 0, 0) }, Restart{Replace: true, Times: 1}},
		{"OnFailure leaves a finished one", v1alpha1.RestartPolicy{Policy: "OnFailure"},
			func(a *v1alpha1.Application) *corev1.Pod { return ended(a, 0, now.Add(-time.Hour), 0, 0) }, Restart{}},
		{"Always replaces a finished one", v1alpha1.RestartPolicy{Policy: "Always"},
			func(a *v1alpha1.Application) *corev1.Pod { return ended(a, 0, now.Add(-time.Hour), 0, 0) }, Restart{Replace: true, Times: 1}},
		{"a running one is left", v1alpha1.RestartPolicy{Policy: "Always"}, running, Restart{}},
		{"interval: not yet", v1alpha1.RestartPolicy{Policy: "Always", Interval: 10},
			func(a *v1alpha1.Application) *corev1.Pod { return ended(a, 1, now.Add(-4*time.Second), 0, 0) }, Restart{After: 6 * time.Second, Times: 1}},
		{"backoff grows with the restarts", v1alpha1.RestartPolicy{Policy: "Always", Interval: 5, Backoff: 10},
			func(a *v1alpha1.Application) *corev1.Pod { return ended(a, 1, now, 2, now.Unix()-60) }, Restart{After: 25 * time.Second, Times: 3}},
		{"Podyard's floor: 2^times seconds", v1alpha1.RestartPolicy{Policy: "Always"},
			func(a *v1alpha1.Application) *corev1.Pod { return ended(a, 1, now, 3, now.Unix()-60) }, Restart{After: 8 * time.Second, Times: 4}},
		{"the floor stops at 5 minutes", v1alpha1.RestartPolicy{Policy: "Always"},
			func(a *v1alpha1.Application) *corev1.Pod { return ended(a, 1, now, 40, now.Unix()-60) }, Restart{After: 5 * time.Minute, Times: 41}},
		{"BCS's longest delay", v1alpha1.RestartPolicy{Policy: "Always", Interval: 200000},
			func(a *v1alpha1.Application) *corev1.Pod { return ended(a, 1, now, 0, 0) }, Restart{After: (86400 - 480) * time.Second, Times: 1}},
		{"maxtimes reached", v1alpha1.RestartPolicy{Policy: "OnFailure", MaxTimes: 2},
			func(a *v1alpha1.Application) *corev1.Pod { return ended(a, 1, now.Add(-time.Hour), 2, now.Unix()-60) }, Restart{}},
		{"maxtimes not yet reached", v1alpha1.RestartPolicy{Policy: "OnFailure", MaxTimes: 2},
			func(a *v1alpha1.Application) *corev1.Pod { return ended(a, 1, now.Add(-time.Hour), 1, now.Unix()-60) }, Restart{Replace: true, Times: 2}},
		{"counting starts again 30 minutes after the last", v1alpha1.RestartPolicy{Policy: "OnFailure", MaxTimes: 2},
			func(a *v1alpha1.Application) *corev1.Pod { return ended(a, 1, now.Add(-time.Hour), 2, now.Unix()-1800) }, Restart{Replace: true, Times: 1}},
		{"a lost one under Always", v1alpha1.RestartPolicy{Policy: "Always"}, func(a *v1alpha1.Application) *corev1.Pod {
			p := running(a)
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "NodeNotReady", LastTransitionTime: metav1.NewTime(now.Add(-time.Minute))}}
			p.DeletionTimestamp = &metav1.Time{Time: now}
			return p
		}, Restart{Replace: true, Times: 1}},
		{"a lost one under OnFailure is left (BCS replaces Failed only)", v1alpha1.RestartPolicy{Policy: "OnFailure"}, func(a *v1alpha1.Application) *corev1.Pod {
			p := running(a)
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "NodeNotReady"}}
			return p
		}, Restart{}},
		{"one being deleted is left", v1alpha1.RestartPolicy{Policy: "Always"}, func(a *v1alpha1.Application) *corev1.Pod {
			p := ended(a, 1, now.Add(-time.Hour), 0, 0)
			p.DeletionTimestamp = &metav1.Time{Time: now}
			return p
		}, Restart{}},
		{"one an update rebuilds is left", v1alpha1.RestartPolicy{Policy: "Always"}, func(a *v1alpha1.Application) *corev1.Pod {
			p := ended(a, 1, now.Add(-time.Hour), 0, 0)
			p.Annotations[AnnotationRebuild] = "1"
			return p
		}, Restart{}},
		{"a taskgroup that cannot start fails too", v1alpha1.RestartPolicy{Policy: "OnFailure"}, func(a *v1alpha1.Application) *corev1.Pod {
			p := running(a)
			p.Status.Phase = corev1.PodPending
			p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError"}}
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: metav1.NewTime(now.Add(-500 * time.Millisecond))}}
			return p
		}, Restart{After: 500 * time.Millisecond, Times: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := lifecycleApp()
			app.Spec.RestartPolicy = tc.policy
			if got := RestartDecision(app, tc.pod(app), now); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestNextRebuild(t *testing.T) {
	now := time.Unix(100000, 0)
	update := now.Add(-time.Minute)
	app := lifecycleApp()
	app.Spec.UpdatePolicy.UpdateDelay = 10
	tg := func(index int, made time.Time, marked bool) *corev1.Pod {
		p := Pod(app, PodOptions{Index: index, Cluster: "1", UnixNano: made.UnixNano()})
		p.CreationTimestamp = metav1.NewTime(made)
		p.Spec.NodeName = "n1"
		p.Status.Phase = corev1.PodRunning
		if marked {
			p.Annotations[AnnotationRebuild] = MarkRebuild(update)
		}
		return p
	}
	old := now.Add(-time.Hour)
	a0, a1, a2 := tg(0, old.Add(2*time.Second), true), tg(1, old, true), tg(2, old.Add(time.Second), true)
	killing := a1.DeepCopy()
	killing.DeletionTimestamp = &metav1.Time{Time: now}
	rebuilt1 := tg(1, now.Add(-4*time.Second), false)
	rebuilt1Long := tg(1, now.Add(-11*time.Second), false)
	for _, tc := range []struct {
		name string
		pods []*corev1.Pod
		want Rebuild
	}{
		{"nothing marked", []*corev1.Pod{tg(0, old, false), tg(1, old, false), tg(2, old, false)}, Rebuild{}},
		{"the first at once, oldest first", []*corev1.Pod{a0, a1, a2}, Rebuild{Delete: a1}},
		{"one being killed: wait for it", []*corev1.Pod{a0, killing, a2}, Rebuild{}},
		{"its index not made again yet: wait", []*corev1.Pod{a0, a2}, Rebuild{}},
		{"updateDelay after the last rebuild", []*corev1.Pod{a0, rebuilt1, a2}, Rebuild{After: 6 * time.Second}},
		{"then the next oldest", []*corev1.Pod{a0, rebuilt1Long, a2}, Rebuild{Delete: a2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NextRebuild(app, tc.pods, now); got != tc.want {
				t.Errorf("got delete %v after %v, want %v after %v", name(got.Delete), got.After, name(tc.want.Delete), tc.want.After)
			}
		})
	}
}

func name(p *corev1.Pod) string {
	if p == nil {
		return "<none>"
	}
	return p.Name
}

func TestReplacementAndHostRetain(t *testing.T) {
	now := time.Unix(100000, 0)
	app := lifecycleApp()
	old := ended(app, 1, now, 1, now.Unix()-10)
	old.Labels[LabelInstance] = "2"
	o := PodOptions{Cluster: "1", UnixNano: now.UnixNano()}

	r := Replacement(app, old, o, 2, now, time.Time{})
	if idx, _ := InstanceIndex(r); idx != 2 || r.Annotations[AnnotationTaskGroupID] != TaskGroupID(2, "web", "ns", "1", now.UnixNano()) {
		t.Errorf("replacement index %d id %s", idx, r.Annotations[AnnotationTaskGroupID])
	}
	if times, last := History(r); times != 2 || last != now.Unix() || r.Spec.Affinity != nil || RetainOver(r, now.Add(time.Hour)) {
		t.Errorf("replacement history %d %d affinity %+v", times, last, r.Spec.Affinity)
	}

	kept := Replacement(app, old, o, 2, now, now.Add(30*time.Second))
	terms := kept.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) != 1 || len(terms[0].MatchFields) != 1 || terms[0].MatchFields[0].Values[0] != "n1" || terms[0].MatchFields[0].Key != "metadata.name" {
		t.Errorf("host retain affinity %+v", terms)
	}
	if RetainOver(kept, now.Add(29*time.Second)) || !RetainOver(kept, now.Add(30*time.Second)) || RetainLeft(kept, now.Add(10*time.Second)) != 20*time.Second {
		t.Errorf("retain over/left wrong: %v", kept.Annotations)
	}
	placed := kept.DeepCopy()
	placed.Spec.NodeName = "n1"
	if RetainOver(placed, now.Add(time.Hour)) || RetainLeft(placed, now) != 0 {
		t.Error("a placed replacement's retain is over")
	}
	again := Remade(app, kept, PodOptions{Cluster: "1", UnixNano: now.Add(time.Minute).UnixNano()})
	if times, last := History(again); times != 2 || last != now.Unix() || again.Spec.Affinity != nil || again.Name == kept.Name {
		t.Errorf("remade: %d %d %+v %s", times, last, again.Spec.Affinity, again.Name)
	}
	// An unplaced predecessor (no node) retains nothing.
	old.Spec.NodeName = ""
	if r := Replacement(app, old, o, 1, now, now.Add(time.Minute)); r.Spec.Affinity != nil {
		t.Errorf("retained to no node: %+v", r.Spec.Affinity)
	}
}

func TestRescheduleRequest(t *testing.T) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{}}}
	if _, ok := RescheduleRequest(p); ok {
		t.Error("a request without the annotation")
	}
	p.Annotations[AnnotationReschedule] = Reschedule{At: 7, HostRetainTime: 30}.String()
	if r, ok := RescheduleRequest(p); !ok || r != (Reschedule{At: 7, HostRetainTime: 30}) {
		t.Errorf("request %+v %v", r, ok)
	}
	p.Annotations[AnnotationReschedule] = "junk"
	if r, ok := RescheduleRequest(p); !ok || r != (Reschedule{}) {
		t.Errorf("a bad request still asks, retaining nothing: %+v %v", r, ok)
	}
}

func TestApplicationStatusWhileUpdating(t *testing.T) {
	now := time.Unix(100000, 0)
	app := lifecycleApp()
	app.Spec.Instance = 1
	p := Pod(app, PodOptions{Index: 0, Cluster: "1", UnixNano: 1})
	p.Spec.NodeName = "n1"
	p.Status.Phase = corev1.PodRunning
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: p.Spec.Containers[0].Name, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	app.Status = v1alpha1.ApplicationStatus{Status: v1alpha1.StatusRunning, Message: "application is running"}

	marked := p.DeepCopy()
	marked.Annotations[AnnotationRebuild] = "1"
	st := ApplicationStatus(app, []*corev1.Pod{marked}, now)
	if st.Status != v1alpha1.StatusOperating || st.Message != MessageUpdating || st.LastStatus != v1alpha1.StatusRunning || st.RunningInstances != 1 {
		t.Errorf("while updating: %+v", st)
	}
	app.Status = st
	if st := ApplicationStatus(app, []*corev1.Pod{p}, now); st.Status != v1alpha1.StatusRunning || st.LastStatus != v1alpha1.StatusOperating {
		t.Errorf("after the update: %+v", st)
	}
	// Another operation's Operating stays.
	app.Status = v1alpha1.ApplicationStatus{Status: v1alpha1.StatusOperating, Message: "application in scaling"}
	if st := ApplicationStatus(app, []*corev1.Pod{p}, now); st.Status != v1alpha1.StatusOperating || st.Message != "application in scaling" {
		t.Errorf("another operation: %+v", st)
	}
}

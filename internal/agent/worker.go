package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/podyard/podyard/internal/agent/env"
	"github.com/podyard/podyard/internal/agent/lifecycle"
	"github.com/podyard/podyard/internal/agent/probeinfo"
	"github.com/podyard/podyard/internal/agent/prober"
	"github.com/podyard/podyard/internal/agent/volume"
	"github.com/podyard/podyard/internal/runtime"
)

// podWorker runs one pod: it owns the pod's containers, decides with
// package lifecycle what to do next, and reports the pod's status. All its
// decisions happen on its own goroutine; the HTTP handlers only read.
type podWorker struct {
	a   *Agent
	uid types.UID

	wake chan struct{} // something changed: pod, a container exit, a probe

	mu      sync.Mutex
	pod     *corev1.Pod
	gone    bool // the pod left the API
	records map[string]*lifecycle.Record
	probes  map[string]context.CancelFunc // by container id
	// liveness holds what each container's liveness probes (its own,
	// then the extra ones) found, by container name.
	liveness map[string]*livenessRecord
	// early holds the exits of attempts whose Start has not returned yet
	// (a container as short as `true` can end first), by container id.
	early map[string]runtime.ContainerStatus
	// resize: in-place resource changes (resize.go).
	resize resizeState

	// Owned by the worker goroutine.
	mounts     map[string][]runtime.Mount
	initFailed bool
	deadline   bool // activeDeadlineSeconds passed
	reported   *corev1.PodStatus
}

func newPodWorker(a *Agent, pod *corev1.Pod, adopted []runtime.ContainerStatus) *podWorker {
	w := &podWorker{
		a: a, uid: pod.UID, pod: pod,
		wake:     make(chan struct{}, 1),
		records:  map[string]*lifecycle.Record{},
		probes:   map[string]context.CancelFunc{},
		early:    map[string]runtime.ContainerStatus{},
		liveness: map[string]*livenessRecord{},
	}
	// A restarted agent continues from the containers it finds: the latest
	// attempt of each is current, the one before it previous.
	for _, c := range adopted {
		c := c
		r := w.records[c.Name]
		if r == nil {
			r = &lifecycle.Record{Ready: true, Started: true}
			w.records[c.Name] = r
		}
		switch {
		case r.Current == nil || c.Attempt > r.Current.Attempt:
			r.Previous, r.Current = r.Current, &c
		case r.Previous == nil || c.Attempt > r.Previous.Attempt:
			r.Previous = &c
		}
		r.Restarts = r.Current.Attempt
	}
	return w
}

func (w *podWorker) update(pod *corev1.Pod) {
	w.mu.Lock()
	w.pod = pod
	w.mu.Unlock()
	w.poke()
}

func (w *podWorker) markGone() {
	w.mu.Lock()
	w.gone = true
	w.mu.Unlock()
	w.poke()
}

func (w *podWorker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// containerExited records an exit and the back-off before its restart.
func (w *podWorker) containerExited(st runtime.ContainerStatus) {
	w.mu.Lock()
	r := w.records[st.Name]
	if r == nil || r.Current == nil || r.Current.Attempt < st.Attempt {
		w.early[st.ID] = st // start records it once Start returns
	}
	if r != nil && r.Current != nil && r.Current.ID == st.ID {
		r.Current = &st
		var wait time.Duration
		wait, r.Backoff = lifecycle.Backoff(r.Backoff, w.a.cfg.CrashBackoff, st.StartedAt, st.FinishedAt)
		r.BackoffUntil = st.FinishedAt.Add(wait)
		if cancel := w.probes[st.ID]; cancel != nil {
			cancel()
			delete(w.probes, st.ID)
		}
	}
	w.mu.Unlock()
	w.poke()
}

// run is the worker's loop; it ends when the pod is gone and cleaned up.
func (w *podWorker) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wakeAt, done := w.sync(ctx)
		if done {
			return
		}
		timer.Stop()
		var tick <-chan time.Time
		if !wakeAt.IsZero() {
			timer.Reset(time.Until(wakeAt))
			tick = timer.C
		}
		select {
		case <-ctx.Done():
			w.stopProbes()
			return
		case <-w.wake:
		case <-tick:
		}
	}
}

func (w *podWorker) snapshot() (*corev1.Pod, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod, w.gone
}

// sync moves the pod one step towards what its spec says.
func (w *podWorker) sync(ctx context.Context) (wakeAt time.Time, done bool) {
	pod, gone := w.snapshot()
	if gone || pod.DeletionTimestamp != nil {
		w.terminate(ctx, pod, gone)
		return time.Time{}, true
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		w.stopAll(ctx, pod, 0) // a finished pod runs nothing
		return time.Time{}, false
	}
	now := time.Now()
	if d := pod.Spec.ActiveDeadlineSeconds; d != nil && pod.Status.StartTime != nil && !w.deadline {
		end := pod.Status.StartTime.Add(time.Duration(*d) * time.Second)
		if !now.Before(end) {
			w.deadline = true
			w.a.recorder.Eventf(pod, corev1.EventTypeNormal, "DeadlineExceeded", "Pod was active on the node longer than the specified deadline")
		} else {
			wakeAt = end
		}
	}
	if w.deadline {
		w.stopAll(ctx, pod, gracePeriod(pod))
		w.report(ctx, pod)
		return time.Time{}, false
	}
	if w.mounts == nil {
		mounts, err := volume.Prepare(ctx, w.volumeDir(), pod, objects{w.a.client})
		if err != nil {
			w.a.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedMount", "%v", err)
			w.setWaiting(pod, "ContainerCreating", err.Error())
			w.report(ctx, pod)
			return earliest(wakeAt, now.Add(2*time.Second)), false
		}
		w.mounts = mounts
	}

	w.mu.Lock()
	next := lifecycle.Plan(pod, w.records, now)
	w.mu.Unlock()
	w.initFailed = next.Failed
	wakeAt = earliest(wakeAt, next.WakeAt)
	for _, c := range next.Start {
		if err := w.start(ctx, pod, c); err != nil {
			wakeAt = earliest(wakeAt, now.Add(2*time.Second)) // retry: a ConfigMap may appear
		}
		if next.Init {
			break
		}
	}
	if !next.Init && !next.Failed {
		for i := range pod.Spec.EphemeralContainers {
			c := corev1.Container(pod.Spec.EphemeralContainers[i].EphemeralContainerCommon)
			w.mu.Lock()
			started := w.records[c.Name] != nil && w.records[c.Name].Current != nil
			w.mu.Unlock()
			if !started {
				w.start(ctx, pod, &c) // started once, never restarted
			}
		}
	}
	if next.Failed {
		w.stopAll(ctx, pod, gracePeriod(pod))
	} else {
		wakeAt = earliest(wakeAt, w.resizePod(ctx, pod))
	}
	w.report(ctx, pod)
	return wakeAt, false
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// start starts the next attempt of container c.
func (w *podWorker) start(ctx context.Context, pod *corev1.Pod, c *corev1.Container) error {
	w.mu.Lock()
	r := w.records[c.Name]
	if r == nil {
		r = &lifecycle.Record{}
		w.records[c.Name] = r
	}
	attempt := 0
	if r.Current != nil {
		attempt = r.Current.Attempt + 1
	}
	w.mu.Unlock()

	cfg, err := w.containerConfig(ctx, pod, c, attempt)
	if err != nil {
		w.mu.Lock()
		r.Waiting, r.Message = "CreateContainerConfigError", err.Error()
		w.mu.Unlock()
		w.a.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %v", err)
		return err
	}
	st, err := w.a.rt.Start(ctx, cfg)
	if err != nil {
		w.mu.Lock()
		r.Waiting, r.Message = "ContainerCreating", err.Error()
		w.mu.Unlock()
		w.a.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %v", err)
		return err
	}
	w.mu.Lock()
	if r.Current != nil {
		r.Previous = r.Current
		r.Restarts = attempt
	}
	r.Current = &st
	r.Waiting, r.Message = "", ""
	r.Ready = c.ReadinessProbe == nil
	r.Started = c.StartupProbe == nil
	ended, endedEarly := w.early[st.ID]
	delete(w.early, st.ID)
	w.mu.Unlock()

	if st.State == runtime.Exited { // it could not start
		w.containerExited(st)
		w.a.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %s", st.Message)
		return nil
	}
	w.a.recorder.Eventf(pod, corev1.EventTypeNormal, "Started", "Started container %s", c.Name)
	if endedEarly {
		w.containerExited(ended)
		return nil
	}
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
		if err := prober.RunHook(ctx, c.Lifecycle.PostStart, c, w.a.hostIP, w.execIn(st.ID)); err != nil {
			w.a.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedPostStartHook", "PostStartHook failed: %v", err)
			w.a.rt.Stop(ctx, st.ID, gracePeriod(pod))
			return nil
		}
	}
	w.startProbes(ctx, pod, c, st.ID)
	return nil
}

// containerConfig resolves everything a runtime needs for one attempt.
func (w *podWorker) containerConfig(ctx context.Context, pod *corev1.Pod, c *corev1.Container, attempt int) (runtime.ContainerConfig, error) {
	node := env.NodeInfo{Allocatable: w.a.allocatable()}
	vars, err := env.Resolve(ctx, pod, c, objects{w.a.client}, node)
	if err != nil {
		return runtime.ContainerConfig{}, err
	}
	command := env.Command(c, vars)
	if len(command) == 0 {
		return runtime.ContainerConfig{}, fmt.Errorf("container %s has no command: the process runtime runs no image, so spec.containers[].command or args must say what to run", c.Name)
	}
	workDir := c.WorkingDir
	if workDir == "" {
		// No image to give a working directory: each pod gets its own.
		workDir = filepath.Join(w.a.cfg.DataDir, "pods", string(pod.UID), "root")
		if err := os.MkdirAll(workDir, 0o755); err != nil {
			return runtime.ContainerConfig{}, fmt.Errorf("working directory: %w", err)
		}
	}
	return runtime.ContainerConfig{
		PodUID: string(pod.UID), PodNamespace: pod.Namespace, PodName: pod.Name,
		Name: c.Name, Attempt: attempt,
		Command: command, Env: vars, WorkingDir: workDir,
		Mounts: w.mounts[c.Name],
		TTY:    c.TTY, Stdin: c.Stdin, StdinOnce: c.StdinOnce,
		LogPath:   w.a.logPath(pod, c.Name, attempt),
		Resources: w.containerResources(c),
	}, nil
}

func (w *podWorker) volumeDir() string {
	return filepath.Join(w.a.cfg.DataDir, "pods", string(w.uid), "volumes")
}

// setWaiting marks every container not yet started as waiting for reason.
func (w *podWorker) setWaiting(pod *corev1.Pod, reason, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range allContainers(pod) {
		r := w.records[c.Name]
		if r == nil {
			r = &lifecycle.Record{}
			w.records[c.Name] = r
		}
		if r.Current == nil {
			r.Waiting, r.Message = reason, msg
		}
	}
}

func allContainers(pod *corev1.Pod) []corev1.Container {
	out := append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, e := range pod.Spec.EphemeralContainers {
		out = append(out, corev1.Container(e.EphemeralContainerCommon))
	}
	return out
}

// execIn runs commands in a container, for probes and hooks.
func (w *podWorker) execIn(id string) prober.Exec {
	return func(ctx context.Context, cmd []string, stdout, stderr io.Writer) error {
		return w.a.rt.Exec(ctx, id, cmd, runtime.ExecOptions{}, nil, nopCloser{stdout}, nopCloser{stderr}, false, nil)
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// livenessRecord is what a container's liveness probes found: those of
// attempt id, or of the attempt before until the new one's first run.
type livenessRecord struct {
	id     string
	states []probeinfo.State
}

// livenessProbes are a container's liveness probes: its own, then those
// of the pod's extra-liveness-probes annotation.
// An annotation that does not decode adds none (startProbes says so).
func livenessProbes(pod *corev1.Pod, c *corev1.Container) ([]*corev1.Probe, error) {
	var out []*corev1.Probe
	if c.LivenessProbe != nil {
		out = append(out, c.LivenessProbe)
	}
	extra, err := probeinfo.ExtraLivenessProbes(pod)
	for i := range extra[c.Name] {
		out = append(out, &extra[c.Name][i])
	}
	return out, err
}

// observeLiveness records the run of liveness probe i of attempt id of
// container name, out of n.
func (w *podWorker) observeLiveness(name, id string, i, n int, ok bool, msg string) {
	w.mu.Lock()
	lr := w.liveness[name]
	if lr == nil || lr.id != id || len(lr.states) != n {
		lr = &livenessRecord{id: id, states: make([]probeinfo.State, n)}
		for j := range lr.states {
			lr.states[j] = probeinfo.NewState()
		}
		w.liveness[name] = lr
	}
	lr.states[i] = lr.states[i].Observe(ok, msg)
	w.mu.Unlock()
	w.poke()
}

// livenessConditions puts one condition per container with liveness
// probes into st: what its probes found (nothing yet before they ran).
func (w *podWorker) livenessConditions(pod *corev1.Pod, st *corev1.PodStatus, now time.Time) {
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		probes, _ := livenessProbes(pod, c)
		n := len(probes)
		if n == 0 {
			continue
		}
		states := make([]probeinfo.State, n)
		if lr := w.liveness[c.Name]; lr != nil && len(lr.states) == n {
			copy(states, lr.states)
		} else {
			for j := range states {
				states[j] = probeinfo.NewState()
			}
		}
		cond := probeinfo.Condition(probeinfo.ConditionType(probeinfo.LivenessConditionPrefix, c.Name), states)
		cond.LastTransitionTime = metav1.NewTime(now)
		st.Conditions, _ = probeinfo.SetCondition(st.Conditions, cond)
	}
}

func isLivenessCondition(t corev1.PodConditionType) bool {
	return strings.HasPrefix(string(t), probeinfo.LivenessConditionPrefix)
}

// startProbes starts the container's startup, readiness and liveness
// probes, the extra liveness probes among them.
func (w *podWorker) startProbes(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id string) {
	liveness, err := livenessProbes(pod, c)
	if err != nil {
		w.a.recorder.Eventf(pod, corev1.EventTypeWarning, "Unhealthy", "Extra liveness probes ignored: %v", err)
	}
	if c.StartupProbe == nil && c.ReadinessProbe == nil && len(liveness) == 0 {
		return
	}
	pctx, cancel := context.WithCancel(ctx)
	w.mu.Lock()
	w.probes[id] = cancel
	w.mu.Unlock()
	exec := w.execIn(id)
	set := func(apply func(r *lifecycle.Record)) {
		w.mu.Lock()
		if r := w.records[c.Name]; r != nil && r.Current != nil && r.Current.ID == id {
			apply(r)
		}
		w.mu.Unlock()
		w.poke()
	}
	var started chan struct{}
	if c.StartupProbe != nil {
		started = make(chan struct{})
		startup := prober.NewWorker(prober.Startup, c.StartupProbe, c, w.a.hostIP, exec, func(res prober.Result, msg string) {
			switch res {
			case prober.Success:
				set(func(r *lifecycle.Record) { r.Started = true })
				close(started)
			case prober.Failure:
				w.a.recorder.Eventf(pod, corev1.EventTypeWarning, "Unhealthy", "Startup probe failed: %s", msg)
				w.kill(pctx, pod, c.Name, id, "failed startup probe")
			}
		})
		go startup.Run(pctx)
	}
	afterStart := func(run func()) {
		go func() {
			if started != nil {
				select {
				case <-started:
				case <-pctx.Done():
					return
				}
			}
			run()
		}()
	}
	if c.ReadinessProbe != nil {
		readiness := prober.NewWorker(prober.Readiness, c.ReadinessProbe, c, w.a.hostIP, exec, func(res prober.Result, msg string) {
			if res == prober.Failure && msg != "" {
				w.a.recorder.Eventf(pod, corev1.EventTypeWarning, "Unhealthy", "Readiness probe failed: %s", msg)
			}
			set(func(r *lifecycle.Record) { r.Ready = res == prober.Success })
		})
		afterStart(func() { readiness.Run(pctx) })
	}
	for i, probe := range liveness {
		pw := prober.NewWorker(prober.Liveness, probe, c, w.a.hostIP, exec, func(res prober.Result, msg string) {
			if res == prober.Failure {
				w.a.recorder.Eventf(pod, corev1.EventTypeWarning, "Unhealthy", "Liveness probe failed: %s", msg)
				w.kill(pctx, pod, c.Name, id, "failed liveness probe")
			}
		}).OnEachResult(func(res prober.Result, msg string) {
			w.observeLiveness(c.Name, id, i, len(liveness), res == prober.Success, msg)
		})
		afterStart(func() { pw.Run(pctx) })
	}
}

// kill stops a container a probe gave up on; its restart policy decides
// what happens next.
func (w *podWorker) kill(ctx context.Context, pod *corev1.Pod, name, id, why string) {
	w.a.recorder.Eventf(pod, corev1.EventTypeNormal, "Killing", "Container %s %s, will be restarted", name, why)
	go w.a.rt.Stop(context.WithoutCancel(ctx), id, gracePeriod(pod))
}

func (w *podWorker) stopProbes() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, cancel := range w.probes {
		cancel()
		delete(w.probes, id)
	}
}

// stopAll stops every running container of the pod, preStop hooks first,
// all within grace.
func (w *podWorker) stopAll(ctx context.Context, pod *corev1.Pod, grace time.Duration) {
	w.stopProbes()
	type target struct {
		c  *corev1.Container
		id string
	}
	var targets []target
	w.mu.Lock()
	for _, c := range allContainers(pod) {
		if r := w.records[c.Name]; r.Running() {
			targets = append(targets, target{&c, r.Current.ID})
		}
	}
	w.mu.Unlock()
	deadline := time.Now().Add(grace)
	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Go(func() {
			if grace > 0 && t.c.Lifecycle != nil && t.c.Lifecycle.PreStop != nil {
				hctx, cancel := context.WithDeadline(ctx, deadline)
				if err := prober.RunHook(hctx, t.c.Lifecycle.PreStop, t.c, w.a.hostIP, w.execIn(t.id)); err != nil {
					w.a.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedPreStopHook", "PreStopHook failed: %v", err)
				}
				cancel()
			}
			w.a.recorder.Eventf(pod, corev1.EventTypeNormal, "Killing", "Stopping container %s", t.c.Name)
			if err := w.a.rt.Stop(ctx, t.id, max(time.Until(deadline), 0)); err != nil {
				w.a.log.Warn("stop container", "pod", pod.Name, "container", t.c.Name, "err", err)
			}
		})
	}
	wg.Wait()
	// The exits arrive through routeExits; wait until they are recorded so
	// the final status shows them.
	tookWake := false
	for _, t := range targets {
		for ctx.Err() == nil {
			w.mu.Lock()
			r := w.records[t.c.Name]
			done := r == nil || r.Current == nil || r.Current.ID != t.id || r.Exited()
			w.mu.Unlock()
			if done {
				break
			}
			select {
			case <-w.wake:
				tookWake = true
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	if tookWake {
		w.poke() // it may have been a pod update: the loop must see it
	}
}

// terminate stops a pod that is being deleted, confirms the deletion and
// removes what the pod left on the node.
func (w *podWorker) terminate(ctx context.Context, pod *corev1.Pod, gone bool) {
	grace := gracePeriod(pod)
	if pod.DeletionGracePeriodSeconds != nil {
		grace = time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	}
	w.stopAll(ctx, pod, grace)
	if ctx.Err() != nil {
		return // the agent stops; a new one finishes the job
	}
	if !gone {
		w.report(ctx, pod)
		err := w.a.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: new(int64(0)),
			Preconditions:      &metav1.Preconditions{UID: &pod.UID},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			w.a.log.Warn("confirm pod deletion", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		}
	}
	w.mu.Lock()
	var ids []string
	for _, r := range w.records {
		for _, c := range []*runtime.ContainerStatus{r.Current, r.Previous} {
			if c != nil {
				ids = append(ids, c.ID)
			}
		}
	}
	w.mu.Unlock()
	for _, id := range ids {
		if err := w.a.rt.Remove(ctx, id); err != nil {
			w.a.log.Warn("remove container", "id", id, "err", err)
		}
	}
	if err := volume.Cleanup(w.volumeDir()); err != nil {
		w.a.log.Warn("remove volumes", "pod", pod.Name, "err", err)
	}
	os.RemoveAll(filepath.Join(w.a.cfg.DataDir, "pods", string(pod.UID)))
	os.RemoveAll(w.a.podLogDir(pod))
}

func gracePeriod(pod *corev1.Pod) time.Duration {
	if s := pod.Spec.TerminationGracePeriodSeconds; s != nil {
		return time.Duration(*s) * time.Second
	}
	return 30 * time.Second
}

// report writes the pod's status when it changed.
func (w *podWorker) report(ctx context.Context, pod *corev1.Pod) {
	w.mu.Lock()
	now := time.Now()
	if w.reported != nil { // the informer's copy may predate what we wrote
		base := *pod
		base.Status = *pod.Status.DeepCopy()
		lifecycle.KeepReported(&base.Status, w.reported, isLivenessCondition)
		pod = &base
	}
	status := lifecycle.Status(pod, w.records, w.initFailed, w.a.hostIP, now)
	w.livenessConditions(pod, &status, now)
	w.resizeStatus(&status)
	w.mu.Unlock()
	if w.deadline {
		status.Phase, status.Reason = corev1.PodFailed, "DeadlineExceeded"
		status.Message = "Pod was active on the node longer than the specified deadline"
	}
	if w.reported != nil && equality.Semantic.DeepEqual(*w.reported, status) {
		return
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": pod.UID}, // the pod this worker runs, not a namesake
		"status":   status,
	})
	if err != nil {
		w.a.log.Error("encode pod status", "err", err)
		return
	}
	_, err = w.a.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		if !apierrors.IsNotFound(err) && ctx.Err() == nil {
			w.a.log.Warn("report pod status", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		}
		return
	}
	w.reported = &status
}

// container returns the current (or previous) attempt of a container, for
// the streaming server.
func (w *podWorker) container(name string, previous bool) (*runtime.ContainerStatus, bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.records[name]
	if r == nil || r.Current == nil {
		return nil, false, fmt.Errorf("container %q in pod %q is waiting to start", name, w.pod.Name)
	}
	if previous {
		if r.Previous == nil {
			return nil, false, fmt.Errorf("previous terminated container %q in pod %q not found", name, w.pod.Name)
		}
		return r.Previous, false, nil
	}
	return r.Current, r.Running(), nil
}

func (a *Agent) podLogDir(pod *corev1.Pod) string {
	return filepath.Join(a.cfg.DataDir, "logs", fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
}

func (a *Agent) logPath(pod *corev1.Pod, container string, attempt int) string {
	return filepath.Join(a.podLogDir(pod), container, fmt.Sprintf("%d.log", attempt))
}

// objects reads ConfigMaps and Secrets for env and volumes.
type objects struct{ client kubernetes.Interface }

func (o objects) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	return o.client.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (o objects) Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	return o.client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
}

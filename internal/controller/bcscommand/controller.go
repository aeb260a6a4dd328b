// Package bcscommand runs BCS commands (bcs.podyard.io Commands): each
// target task's program is run once through its node agent's exec path
// with the command's env, user, working directory and privilege, and each
// outcome is written to the Command's status. A Command is deleted
// reserveTime minutes after it was made.
//
// It runs inside the API server (it needs the server's node connector and
// agent client certificate), as the server: the caller's right to run the
// command was asked when the dialect created the Command (create
// pods/exec) and, with RBAC, is the right to create Commands.
//
// One server is assumed: a second replica would run every command a
// second time. Leader election belongs here once there are replicas.
package bcscommand

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/bcs/clients"
	"github.com/podyard/podyard/internal/bcs/command"
	"github.com/podyard/podyard/internal/bcs/names"
	"github.com/podyard/podyard/internal/controller/workers"
	"github.com/podyard/podyard/internal/nodeclient"
	"github.com/podyard/podyard/internal/typedclient"
)

// Parallelism bounds the execs in flight across all commands, so that a
// command to 1,000 taskgroups does not open 1,000 streams at once.
const Parallelism = 32

// sessionGrace is how much longer than a command's timeout its session
// may take before it is closed from this side.
const sessionGrace = 5 * time.Second

// flushInterval coalesces status writes: a command's status is written at
// most this often while its tasks run, and once more when they are done.
const flushInterval = 150 * time.Millisecond

// Agents finds a node's agent (*nodeclient.Connector).
type Agents interface {
	Location(ctx context.Context, nodeName string) (*url.URL, http.RoundTripper, error)
}

// Typed clients the controller uses.
type (
	Commands    = typedclient.Clients[*v1alpha1.Command, *v1alpha1.CommandList]
	Deployments = typedclient.Clients[*v1alpha1.Deployment, *v1alpha1.DeploymentList]
)

// Controller runs Commands. Queue keys are "namespace/name".
type Controller struct {
	commands    *Commands
	deployments *Deployments
	kube        kubernetes.Interface
	agents      Agents
	informer    cache.SharedIndexInformer
	queue       workqueue.TypedRateLimitingInterface[string]
	slots       chan struct{} // Parallelism tokens
	log         *slog.Logger
	now         func() time.Time

	mu      sync.Mutex
	started map[types.UID]bool // commands this process took up (running or done)
}

// Start builds the controller on cfg (the server's loopback config) and
// runs it until ctx ends.
func Start(ctx context.Context, cfg *rest.Config, agents Agents, log *slog.Logger) error {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 1000, 2000 // a command reads each target's Pod
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("bcs commands: %w", err)
	}
	commands, err := clients.NewCommands(cfg)
	if err != nil {
		return fmt.Errorf("bcs commands: %w", err)
	}
	deployments, err := clients.NewDeployments(cfg)
	if err != nil {
		return fmt.Errorf("bcs commands: %w", err)
	}
	go New(commands, deployments, kube, agents, log).Run(ctx, 4)
	return nil
}

// New builds the controller.
func New(commands *Commands, deployments *Deployments, kube kubernetes.Interface, agents Agents, log *slog.Logger) *Controller {
	c := &Controller{
		commands: commands, deployments: deployments, kube: kube, agents: agents, log: log, now: time.Now,
		slots:   make(chan struct{}, Parallelism),
		started: map[types.UID]bool{},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "bcscommand"}),
	}
	c.informer = typedclient.NewInformer(commands.Namespace(metav1.NamespaceAll), &v1alpha1.Command{}, 10*time.Minute, cache.Indexers{})
	c.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj any) { c.enqueue(obj) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if cmd, ok := obj.(*v1alpha1.Command); ok {
				c.mu.Lock()
				delete(c.started, cmd.UID) // a run under way keeps going; its writes find the Command gone
				c.mu.Unlock()
			}
		},
	})
	return c
}

func (c *Controller) enqueue(obj any) {
	if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
		c.queue.Add(key)
	}
}

// Run works with n workers until ctx ends.
func (c *Controller) Run(ctx context.Context, n int) {
	defer c.queue.ShutDown()
	go c.informer.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), c.informer.HasSynced) {
		return
	}
	workers.Run(ctx, c.queue, n, c.sync, func(key string, err error) { c.log.Warn("bcs command", "command", key, "err", err) })
}

// sync deletes an expired Command, or takes up one this process has not:
// its staging tasks are run, in the background.
func (c *Controller) sync(ctx context.Context, key string) error {
	obj, exists, err := c.informer.GetIndexer().GetByKey(key)
	if err != nil || !exists {
		return err
	}
	cmd := obj.(*v1alpha1.Command)
	if cmd.DeletionTimestamp != nil {
		return nil
	}
	until := command.ReserveUntil(cmd.CreationTimestamp.Time, cmd.Spec)
	if left := until.Sub(c.now()); left <= 0 {
		err := c.commands.Namespace(cmd.Namespace).Delete(ctx, cmd.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cmd.UID}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("deleting expired command %s: %w", cmd.ID, err)
		}
		c.log.Info("bcs command expired", "command", cmd.ID, "namespace", cmd.Namespace)
		return nil
	} else {
		c.queue.AddAfter(key, left)
	}
	c.mu.Lock()
	taken := c.started[cmd.UID]
	c.started[cmd.UID] = true
	c.mu.Unlock()
	if taken {
		return nil
	}
	r := &run{c: c, cmd: cmd.DeepCopy()}
	todo := command.Recover(&r.cmd.Status)
	if command.Summarize(&r.cmd.Status).Done && command.Summarize(&cmd.Status).Done {
		return nil // finished before; nothing to write
	}
	go r.execute(ctx, todo)
	return nil
}

// run is one Command's tasks under way. Its status copy is the truth this
// process writes; only this process writes a Command's status.
type run struct {
	c *Controller

	mu     sync.Mutex
	cmd    *v1alpha1.Command
	dirty  bool
	inline int                       // output bytes kept in the status
	gone   bool                      // the Command was deleted: results are dropped
	agents map[string]*agentLocation // by node name
}

// execute runs the tasks todo, each when a slot is free, and writes the
// status as they progress.
func (r *run) execute(ctx context.Context, todo []command.TaskRef) {
	log := r.c.log.With("command", r.cmd.ID, "namespace", r.cmd.Namespace)
	start := time.Now()
	r.mu.Lock()
	r.dirty = true // command.Recover may have failed tasks
	r.mu.Unlock()
	flushed := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(flushed)
		r.flushLoop(ctx, done)
	}()
	// The taskgroup Pods in one list from the watch cache: a read per
	// taskgroup (from etcd) was most of a 100-taskgroup command's time.
	list, err := r.c.kube.CoreV1().Pods(r.cmd.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: application.LabelApplication, ResourceVersion: "0",
	})
	if err != nil {
		for _, t := range todo {
			r.record(t, command.StatusFailed, fmt.Sprintf("reading the taskgroups' pods: %v", err), nil)
		}
		todo = nil
	}
	pods := map[string]*corev1.Pod{}
	if list != nil {
		for i := range list.Items {
			pods[list.Items[i].Name] = &list.Items[i]
		}
	}
	var tasks sync.WaitGroup
	// The targets were written by whoever made the Command: only the
	// taskgroups of the application (or the deployment's applications)
	// it names are run in.
	allowed, err := r.c.targetApplications(ctx, r.cmd)
	if err != nil {
		for _, t := range todo {
			r.record(t, command.StatusFailed, err.Error(), nil)
		}
		todo = nil
	}
	for _, t := range todo {
		pod := pods[r.cmd.Status.Taskgroups[t.Group].Pod] // nil: gone
		if pod != nil && !allowed[pod.Labels[application.LabelApplication]] {
			ref := r.cmd.Spec.CommandTargetRef
			r.record(t, command.StatusFailed, fmt.Sprintf("pod %s is not a taskgroup of %s %s.%s", pod.Name, ref.Kind, ref.Namespace, ref.Name), nil)
			continue
		}
		select {
		case r.c.slots <- struct{}{}:
		case <-ctx.Done():
			tasks.Wait()
			close(done)
			<-flushed
			return
		}
		tasks.Go(func() {
			defer func() { <-r.c.slots }()
			r.runTask(ctx, t, pod)
		})
	}
	tasks.Wait()
	close(done)
	<-flushed
	sum := command.Summarize(&r.cmd.Status)
	log.Info("bcs command done", "tasks", len(todo), "finish", sum.Finish, "failed", sum.Failed, "took", time.Since(start).Round(time.Millisecond))
}

// targetApplications are the (Kubernetes) names of the applications whose
// taskgroups cmd may run in: the application it names, or both
// applications of the deployment it names.
func (c *Controller) targetApplications(ctx context.Context, cmd *v1alpha1.Command) (map[string]bool, error) {
	ref := cmd.Spec.CommandTargetRef
	name, err := names.Kube(ref.Name)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", ref.Name, err)
	}
	if !strings.EqualFold(ref.Kind, "Deployment") {
		return map[string]bool{name: true}, nil
	}
	d, err := c.deployments.Namespace(cmd.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading deployment %s.%s: %w", ref.Namespace, ref.Name, err)
	}
	out := map[string]bool{}
	for _, a := range []*v1alpha1.DeploymentApplication{d.Status.Application, d.Status.ApplicationExt} {
		if a == nil {
			continue
		}
		if n, err := names.Kube(a.Name); err == nil {
			out[n] = true
		}
	}
	return out, nil
}

// runTask runs the command in one task and records how it went.
func (r *run) runTask(ctx context.Context, t command.TaskRef, pod *corev1.Pod) {
	spec := r.cmd.Spec
	container := r.task(t).Container
	if why := command.NotRunning(pod, container); why != "" {
		r.record(t, command.StatusFailed, why, nil)
		return
	}
	r.record(t, command.StatusRunning, command.MessageRunning, nil)
	base, transport, err := r.location(ctx, pod.Spec.NodeName)
	if err != nil {
		r.record(t, command.StatusFailed, fmt.Sprintf("reaching node %s: %v", pod.Spec.NodeName, err), nil)
		return
	}
	loc := *base
	loc.Path = path.Join("/exec", pod.Namespace, pod.Name, string(pod.UID), container)
	streams := nodeclient.Streams{Stdout: true, Stderr: true}
	q := streams.Query(nil)
	q["command"] = spec.Command
	timeout := time.Duration(spec.Timeout) * time.Second
	// The agent ends the command (its process group) after timeout;
	// closing the session would not. The session's own deadline, a little
	// later, only covers an agent that never answers.
	q = nodeclient.ExecOptions{Env: spec.Env, User: spec.User, WorkingDir: spec.WorkingDir, Privileged: spec.Privileged, Timeout: timeout}.Query(q)
	loc.RawQuery = q.Encode()

	execCtx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		execCtx, cancel = context.WithTimeout(ctx, timeout+sessionGrace)
	}
	defer cancel()
	stdout, stderr := command.NewCapture(command.MaxOutput), command.NewCapture(command.MaxOutput)
	began := time.Now()
	err = nodeclient.RunOnAgent(execCtx, &loc, transport, nodeclient.Session{Streams: streams, Stdout: stdout, Stderr: stderr})
	if ctx.Err() != nil {
		return // the server stops; the next one fails the task as restarted
	}
	if command.TimedOut(err, timeout, time.Since(began)) {
		err = fmt.Errorf("%w: %v", command.ErrTimedOut, err)
	}
	status, message, code := command.Outcome(err, spec.Timeout)
	inspect := &v1alpha1.CommandInspectInfo{ExitCode: code}
	out, dropped := stdout.Kept()
	inspect.StdoutDropped = dropped
	inspect.Stdout, inspect.StdoutConfigMap = r.keep(ctx, t, "stdout", out)
	errOut, dropped := stderr.Kept()
	inspect.StderrDropped = dropped
	inspect.Stderr, inspect.StderrConfigMap = r.keep(ctx, t, "stderr", errOut)
	r.record(t, status, message, inspect)
}

// keep is where one stream's output goes: inline when small and the
// status has room, else a ConfigMap owned by the Command (its name is
// returned). A ConfigMap that cannot be made keeps the stream's start
// inline.
func (r *run) keep(ctx context.Context, t command.TaskRef, stream string, out []byte) (inline, configMap string) {
	r.mu.Lock()
	spill := command.Spill(len(out), r.inline)
	if !spill {
		r.inline += len(out)
	}
	r.mu.Unlock()
	if !spill {
		return string(out), ""
	}
	yes := true
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: command.OutputName(r.cmd.Name, t, stream), Namespace: r.cmd.Namespace,
			Labels: map[string]string{command.LabelCommand: r.cmd.Name},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "Command",
				Name: r.cmd.Name, UID: r.cmd.UID, Controller: &yes,
			}},
		},
		BinaryData: map[string][]byte{command.OutputKey: out},
	}
	_, err := r.c.kube.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, cm, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = r.c.kube.CoreV1().ConfigMaps(cm.Namespace).Update(ctx, cm, metav1.UpdateOptions{})
	}
	if err != nil {
		r.c.log.Warn("bcs command: keeping output", "command", r.cmd.ID, "configmap", cm.Name, "err", err)
		return string(out[:min(len(out), command.MaxInline)]), ""
	}
	return "", cm.Name
}

// location is the agent of node, asked once per command (each ask reads
// the Node from etcd).
func (r *run) location(ctx context.Context, node string) (*url.URL, http.RoundTripper, error) {
	r.mu.Lock()
	if r.agents == nil {
		r.agents = map[string]*agentLocation{}
	}
	a, ok := r.agents[node]
	if !ok {
		a = &agentLocation{}
		r.agents[node] = a
	}
	r.mu.Unlock()
	a.once.Do(func() { a.url, a.transport, a.err = r.c.agents.Location(ctx, node) })
	return a.url, a.transport, a.err
}

// agentLocation is one node's agent, found once.
type agentLocation struct {
	once      sync.Once
	url       *url.URL
	transport http.RoundTripper
	err       error
}

func (r *run) task(t command.TaskRef) v1alpha1.TaskCommandInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cmd.Status.Taskgroups[t.Group].Tasks[t.Task]
}

// record sets a task's state; the flush loop writes it.
func (r *run) record(t command.TaskRef, status, message string, inspect *v1alpha1.CommandInspectInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	task := &r.cmd.Status.Taskgroups[t.Group].Tasks[t.Task]
	task.Status, task.Message = status, message
	if inspect != nil {
		task.CommInspect = inspect
	}
	r.dirty = true
}

// flushLoop writes the status every flushInterval while it changes, and
// once more after done closes.
func (r *run) flushLoop(ctx context.Context, done <-chan struct{}) {
	tick := time.NewTicker(flushInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			r.flush(ctx)
		case <-done:
			// The last write must land: retried while it fails.
			for r.flush(ctx) {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
			return
		}
	}
}

// flush writes the status when it changed (a merge patch of the whole
// status: this process is its only writer, so no conflict can arise
// from others). A Command deleted meanwhile is left alone. It says
// whether a write is still owed (this one failed).
func (r *run) flush(ctx context.Context) (owed bool) {
	r.mu.Lock()
	if !r.dirty || r.gone {
		r.mu.Unlock()
		return false
	}
	r.dirty = false
	status := *r.cmd.Status.DeepCopy()
	r.mu.Unlock()
	status.Summary = command.Summarize(&status)
	patch, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		r.c.log.Error("bcs command: status", "command", r.cmd.ID, "err", err)
		return false
	}
	_, err = r.c.commands.Namespace(r.cmd.Namespace).Patch(ctx, r.cmd.Name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case apierrors.IsNotFound(err):
		r.gone = true
	case err != nil:
		r.dirty = true // next tick
		if ctx.Err() == nil {
			r.c.log.Warn("bcs command: writing status", "command", r.cmd.ID, "err", err)
		}
		return true
	}
	return false
}

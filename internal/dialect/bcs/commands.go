package bcs

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/command"
)

var (
	commandsResource           = v1alpha1.SchemeGroupVersion.WithResource("commands")
	commandDeploymentsResource = v1alpha1.SchemeGroupVersion.WithResource("deployments")
)

// commands serves command/{application,deployment}/{ns}/{name}: POST
// starts a command on the target's tasks, GET ?id= reads it, DELETE ?id=
// forgets it. A command is a Command (bcs.podyard.io) in the target's
// namespace, made as the caller with every target task staging; the
// command controller (internal/controller/bcscommand) runs it.
type commands struct {
	apps
}

// CommandRequest is BCS's BcsCommand, as posted.
type CommandRequest struct {
	APIVersion string                `json:"apiVersion"`
	Kind       string                `json:"kind"`
	Spec       *v1alpha1.CommandSpec `json:"spec"`
}

// CommandInfoView is BCS's BcsCommandInfo, with Podyard's summary.
type CommandInfoView struct {
	ID         string             `json:"id"`
	CreateTime int64              `json:"createTime"`
	Spec       *CommandSpecView   `json:"spec"`
	Status     *CommandStatusView `json:"status"`
}

// CommandSpecView is BCS's BcsCommandSpec (no omitempty, as BCS wrote it)
// with Podyard's timeout and reserveSeconds when set.
type CommandSpecView struct {
	CommandTargetRef *CommandTargetView `json:"commandTargetRef"`
	Taskgroups       []string           `json:"taskgroups"`
	Command          []string           `json:"command"`
	Env              []string           `json:"env"`
	User             string             `json:"user"`
	WorkingDir       string             `json:"workingDir"`
	Privileged       bool               `json:"privileged"`
	ReserveTime      int32              `json:"reserveTime"`
	Timeout          int32              `json:"timeout,omitempty"`
	ReserveSeconds   int32              `json:"reserveSeconds,omitempty"`
}

// CommandTargetView is BCS's TargetRef.
type CommandTargetView struct {
	Kind      string `json:"kind"`
	ID        string `json:"id"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Image     string `json:"image"`
}

// CommandStatusView is BCS's BcsCommandStatus with Podyard's summary.
type CommandStatusView struct {
	Taskgroups []*TaskgroupCommandView  `json:"taskgroups"`
	Summary    *v1alpha1.CommandSummary `json:"summary"`
}

// TaskgroupCommandView is BCS's TaskgroupCommandInfo.
type TaskgroupCommandView struct {
	TaskgroupID string             `json:"taskgroupId"`
	Tasks       []*TaskCommandView `json:"tasks"`
}

// TaskCommandView is BCS's TaskCommandInfo.
type TaskCommandView struct {
	TaskID      string              `json:"taskId"`
	Status      string              `json:"status"`
	Message     string              `json:"message"`
	CommInspect *CommandInspectView `json:"commInspect"`
}

// CommandInspectView is BCS's CommandInspectInfo; the output is whole
// (up to 1 MiB per stream, where BCS kept 256 bytes).
type CommandInspectView struct {
	ExitCode int32  `json:"exitCode"`
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
}

func (c commands) client() dynamic.ResourceInterface {
	return c.dyn.Resource(commandsResource).Namespace(c.target.KubeNamespace)
}

func (c commands) serve(ctx context.Context, r *http.Request, route Route, body func() ([]byte, *Error)) (any, *Error) {
	switch r.Method {
	case http.MethodPost:
		b, err := body()
		if err != nil {
			return nil, err
		}
		return c.create(ctx, route, b)
	case http.MethodGet:
		return c.get(ctx, route, r.URL.Query().Get("id"))
	case http.MethodDelete:
		return nil, c.delete(ctx, route, r.URL.Query().Get("id"))
	}
	return nil, &Error{Status: http.StatusMethodNotAllowed, Code: CodeNotFound, Message: fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path)}
}

// ParseCommand reads a posted command for route: its commandTargetRef must
// be the URL's target (1405008, as BCS), the command not empty (1405007).
// The spec is returned with reserveTime defaulted.
func ParseCommand(route Route, body []byte) (*v1alpha1.CommandSpec, *Error) {
	var req CommandRequest
	if err := Decode(body, &req); err != nil {
		return nil, err
	}
	if req.Spec == nil {
		return nil, Errorf(CodeRequestData, "request data error: the command has no spec")
	}
	spec := req.Spec
	if err := command.CheckTarget(route.Target, route.Namespace, route.Name, spec.CommandTargetRef); err != nil {
		return nil, Errorf(CodeRequestData, "request data error: %v", err)
	}
	switch {
	case len(spec.Command) == 0 || spec.Command[0] == "":
		return nil, Errorf(CodeBadParameters, "spec.command is empty: give the program and its arguments")
	case spec.ReserveTime < 0 || spec.ReserveSeconds < 0:
		return nil, Errorf(CodeBadParameters, "spec.reserveTime and spec.reserveSeconds can't be negative")
	case spec.Timeout < 0:
		return nil, Errorf(CodeBadParameters, "spec.timeout can't be negative")
	case spec.WorkingDir != "" && !strings.HasPrefix(spec.WorkingDir, "/"):
		return nil, Errorf(CodeBadParameters, "spec.workingDir %q: want an absolute path", spec.WorkingDir)
	}
	for _, kv := range spec.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, Errorf(CodeBadParameters, "spec.env %q: want KEY=VALUE", kv)
		}
	}
	if spec.ReserveTime == 0 {
		spec.ReserveTime = command.DefaultReserveMin
	}
	return spec, nil
}

// CommandName is the Command object of a command ID (a DNS label: the ID
// itself when it is one, else the hashed form of names.go).
func CommandName(id string) (string, *Error) { return KubeName(id) }

// create makes the Command with every target task staging and answers
// its ID.
func (c commands) create(ctx context.Context, route Route, body []byte) (any, *Error) {
	spec, err := ParseCommand(route, body)
	if err != nil {
		return nil, err
	}
	if err := c.mayExec(ctx, "commands run in the target's containers"); err != nil {
		return nil, err
	}
	pods, err := c.targetPods(ctx, route)
	if err != nil {
		return nil, err
	}
	targets, terr := command.Targets(pods, spec.Taskgroups, spec.CommandTargetRef.Image)
	if terr != nil {
		return nil, Errorf(CodeBadParameters, "%v", terr)
	}
	id := command.ID(route.Target, spec.CommandTargetRef.Kind, route.Namespace, route.Name, time.Now().UnixNano())
	name, err := CommandName(id)
	if err != nil {
		return nil, err
	}
	targetName, err := KubeName(route.Name)
	if err != nil {
		return nil, err
	}
	cmd := &v1alpha1.Command{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "Command"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: c.target.KubeNamespace,
			Labels: map[string]string{command.LabelTargetKind: route.Target, command.LabelTarget: targetName},
		},
		ID: id, Spec: *spec,
		Status: v1alpha1.CommandStatus{Taskgroups: targets},
	}
	cmd.Status.Summary = command.Summarize(&cmd.Status)
	obj, cerr := runtime.DefaultUnstructuredConverter.ToUnstructured(cmd)
	if cerr != nil {
		return nil, internalError(fmt.Errorf("command %s: %w", id, cerr))
	}
	if _, err := c.client().Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}); err != nil {
		return nil, fromAPIError(err, "command")
	}
	return id, nil
}

// targetPods are the taskgroup Pods of the route's application, or of
// both applications of its deployment (the current one, then the one an
// update is making).
func (c commands) targetPods(ctx context.Context, route Route) ([]*corev1.Pod, *Error) {
	appNames := []string{route.Name}
	if route.Target == KindDeployment {
		name, err := KubeName(route.Name)
		if err != nil {
			return nil, err
		}
		u, gerr := c.dyn.Resource(commandDeploymentsResource).Namespace(c.target.KubeNamespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(gerr) {
			return nil, Errorf(CodeNotFound, "deployment %s.%s not exist", route.Namespace, route.Name)
		} else if gerr != nil {
			return nil, fromAPIError(gerr, KindDeployment)
		}
		d, err := fromUnstructured[v1alpha1.Deployment](u)
		if err != nil {
			return nil, err
		}
		appNames = appNames[:0]
		for _, a := range []*v1alpha1.DeploymentApplication{d.Status.Application, d.Status.ApplicationExt} {
			if a != nil && a.Name != "" {
				appNames = append(appNames, a.Name)
			}
		}
	}
	var pods []*corev1.Pod
	for _, n := range appNames {
		app, err := c.apps.get(ctx, n)
		if err != nil && route.Target == KindDeployment && err.Code == CodeNotFound {
			continue // an application the deployment is done with
		} else if err != nil {
			return nil, err
		}
		p, err := c.taskGroupPods(ctx, app)
		if err != nil {
			return nil, err
		}
		pods = append(pods, p...)
	}
	return pods, nil
}

// read is the Command of id, checked against the route: 1405202 when
// there is none, 1405008 when it is another target's (as BCS).
func (c commands) read(ctx context.Context, route Route, id string) (*v1alpha1.Command, *Error) {
	id = strings.Trim(id, `"`) // the seed's curl example quotes it
	if id == "" {
		return nil, Errorf(CodeBadParameters, "the command id is required: ?id=")
	}
	notFound := Errorf(CodeNotFound, "command %s not exist", id)
	name, err := CommandName(id)
	if err != nil {
		return nil, notFound
	}
	u, gerr := c.client().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(gerr) {
		return nil, notFound
	} else if gerr != nil {
		return nil, fromAPIError(gerr, "command")
	}
	cmd, err := fromUnstructured[v1alpha1.Command](u)
	if err != nil {
		return nil, err
	}
	if cmd.ID != id {
		return nil, notFound
	}
	if !strings.EqualFold(cmd.Spec.CommandTargetRef.Kind, route.Target) || cmd.Spec.CommandTargetRef.Namespace != route.Namespace || cmd.Spec.CommandTargetRef.Name != route.Name {
		return nil, Errorf(CodeRequestData, "request data error: command %s is for %s %s.%s", id,
			strings.ToLower(cmd.Spec.CommandTargetRef.Kind), cmd.Spec.CommandTargetRef.Namespace, cmd.Spec.CommandTargetRef.Name)
	}
	return cmd, nil
}

// get answers the command's BcsCommandInfo, with the outputs kept in
// ConfigMaps put back in place.
func (c commands) get(ctx context.Context, route Route, id string) (any, *Error) {
	cmd, err := c.read(ctx, route, id)
	if err != nil {
		return nil, err
	}
	outputs := map[string][]byte{}
	if commandSpilled(cmd) {
		list, lerr := c.kube.CoreV1().ConfigMaps(cmd.Namespace).List(ctx, metav1.ListOptions{LabelSelector: command.LabelCommand + "=" + cmd.Name})
		if lerr != nil {
			return nil, fromAPIError(lerr, "command output")
		}
		for _, cm := range list.Items {
			if metav1.IsControlledBy(&cm, cmd) {
				outputs[cm.Name] = cm.BinaryData[command.OutputKey]
			}
		}
	}
	return ToCommandView(cmd, outputs), nil
}

func commandSpilled(cmd *v1alpha1.Command) bool {
	for _, tg := range cmd.Status.Taskgroups {
		for _, t := range tg.Tasks {
			if i := t.CommInspect; i != nil && (i.StdoutConfigMap != "" || i.StderrConfigMap != "") {
				return true
			}
		}
	}
	return false
}

// ToCommandView is the BcsCommandInfo of cmd; outputs are the spilled
// streams by ConfigMap name.
func ToCommandView(cmd *v1alpha1.Command, outputs map[string][]byte) *CommandInfoView {
	s, ref := cmd.Spec, cmd.Spec.CommandTargetRef
	v := &CommandInfoView{
		ID: cmd.ID, CreateTime: cmd.CreationTimestamp.Unix(),
		Spec: &CommandSpecView{
			CommandTargetRef: &CommandTargetView{Kind: ref.Kind, ID: ref.ID, Name: ref.Name, Namespace: ref.Namespace, Image: ref.Image},
			Taskgroups:       s.Taskgroups, Command: s.Command, Env: s.Env, User: s.User, WorkingDir: s.WorkingDir,
			Privileged: s.Privileged, ReserveTime: s.ReserveTime, Timeout: s.Timeout, ReserveSeconds: s.ReserveSeconds,
		},
		Status: &CommandStatusView{Summary: command.Summarize(&cmd.Status)},
	}
	stream := func(inline, configMap string) string {
		if configMap == "" {
			return inline
		}
		return string(outputs[configMap])
	}
	for _, tg := range cmd.Status.Taskgroups {
		tv := &TaskgroupCommandView{TaskgroupID: tg.TaskgroupID}
		for _, t := range tg.Tasks {
			task := &TaskCommandView{TaskID: t.TaskID, Status: t.Status, Message: t.Message}
			if i := t.CommInspect; i != nil {
				task.CommInspect = &CommandInspectView{ExitCode: i.ExitCode, Stdout: stream(i.Stdout, i.StdoutConfigMap), Stderr: stream(i.Stderr, i.StderrConfigMap)}
			}
			tv.Tasks = append(tv.Tasks, task)
		}
		v.Status.Taskgroups = append(v.Status.Taskgroups, tv)
	}
	return v
}

// delete deletes the command's record; a missing one is success, as in
// BCS. Tasks already running carry on; their outcomes are dropped.
func (c commands) delete(ctx context.Context, route Route, id string) *Error {
	cmd, err := c.read(ctx, route, id)
	if err != nil {
		if err.Code == CodeNotFound {
			return nil
		}
		return err
	}
	uid := types.UID(cmd.UID)
	derr := c.client().Delete(ctx, cmd.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if derr != nil && !apierrors.IsNotFound(derr) {
		return fromAPIError(derr, "command")
	}
	return nil
}

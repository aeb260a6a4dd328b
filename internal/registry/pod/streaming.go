package pod

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	genericrest "k8s.io/apiserver/pkg/registry/generic/rest"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/podyard/podyard/internal/nodeclient"
)

// NodeConnector finds a node's agent.
type NodeConnector interface {
	Location(ctx context.Context, nodeName string) (*url.URL, http.RoundTripper, error)
}

// streamTarget resolves a pod and one of its containers to the agent URL
// serving action (exec, attach) for it.
func streamTarget(ctx context.Context, pods *genericregistry.Store, nodes NodeConnector, name, container, action string) (*url.URL, http.RoundTripper, error) {
	obj, err := pods.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, nil, err
	}
	pod := obj.(*corev1.Pod)
	if container, err = LogContainer(pod, container); err != nil {
		return nil, nil, apierrors.NewBadRequest(err.Error())
	}
	if pod.Spec.NodeName == "" {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name))
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("cannot %s into a container in a completed pod; current phase is %s", action, pod.Status.Phase))
	}
	base, transport, err := nodes.Location(ctx, pod.Spec.NodeName)
	if err != nil {
		return nil, nil, err
	}
	loc := *base
	loc.Path = path.Join("/", action, pod.Namespace, pod.Name, string(pod.UID), container)
	return &loc, transport, nil
}

func validateStreams(stdin, stdout, stderr, tty bool) error {
	if !stdin && !stdout && !stderr {
		return apierrors.NewBadRequest("you must specify at least 1 of stdin, stdout, stderr")
	}
	if tty && stderr {
		// kubectl never asks for both; the kubelet refuses them together.
		return apierrors.NewBadRequest("stderr cannot be requested together with tty: a terminal has one output stream")
	}
	return nil
}

// ExecREST serves /pods/{name}/exec.
type ExecREST struct {
	pods  *genericregistry.Store
	Nodes NodeConnector
}

func (r *ExecREST) New() runtime.Object { return &corev1.Pod{} }
func (r *ExecREST) Destroy()            {}

func (r *ExecREST) ConnectMethods() []string { return []string{"GET", "POST"} }

func (r *ExecREST) NewConnectOptions() (runtime.Object, bool, string) {
	return &corev1.PodExecOptions{}, false, ""
}

func (r *ExecREST) Connect(ctx context.Context, name string, opts runtime.Object, responder rest.Responder) (http.Handler, error) {
	o := opts.(*corev1.PodExecOptions)
	if len(o.Command) == 0 {
		return nil, apierrors.NewBadRequest("command is required")
	}
	if err := validateStreams(o.Stdin, o.Stdout, o.Stderr, o.TTY); err != nil {
		return nil, err
	}
	loc, transport, err := streamTarget(ctx, r.pods, r.Nodes, name, o.Container, "exec")
	if err != nil {
		return nil, err
	}
	// The agent's query is made from the decoded options alone: nothing
	// else a client sends, such as the API server's own exec options
	// (nodeclient.ExecOptions: env, user, ...), reaches the agent.
	q := nodeclient.Streams{Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr, TTY: o.TTY}.Query(nil)
	q["command"] = o.Command
	loc.RawQuery = q.Encode()
	return nodeclient.RemoteCommandHandler(loc, transport, nodeclient.Streams{Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr, TTY: o.TTY}), nil
}

// AttachREST serves /pods/{name}/attach.
type AttachREST struct {
	pods  *genericregistry.Store
	Nodes NodeConnector
}

func (r *AttachREST) New() runtime.Object { return &corev1.Pod{} }
func (r *AttachREST) Destroy()            {}

func (r *AttachREST) ConnectMethods() []string { return []string{"GET", "POST"} }

func (r *AttachREST) NewConnectOptions() (runtime.Object, bool, string) {
	return &corev1.PodAttachOptions{}, false, ""
}

func (r *AttachREST) Connect(ctx context.Context, name string, opts runtime.Object, responder rest.Responder) (http.Handler, error) {
	o := opts.(*corev1.PodAttachOptions)
	if err := validateStreams(o.Stdin, o.Stdout, o.Stderr, o.TTY); err != nil {
		return nil, err
	}
	loc, transport, err := streamTarget(ctx, r.pods, r.Nodes, name, o.Container, "attach")
	if err != nil {
		return nil, err
	}
	loc.RawQuery = nodeclient.Streams{Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr, TTY: o.TTY}.Query(nil).Encode()
	return nodeclient.RemoteCommandHandler(loc, transport, nodeclient.Streams{Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr, TTY: o.TTY}), nil
}

// PortForwardREST serves /pods/{name}/portforward.
type PortForwardREST struct {
	pods  *genericregistry.Store
	Nodes NodeConnector
}

func (r *PortForwardREST) New() runtime.Object { return &corev1.Pod{} }
func (r *PortForwardREST) Destroy()            {}

func (r *PortForwardREST) ConnectMethods() []string { return []string{"GET", "POST"} }

func (r *PortForwardREST) NewConnectOptions() (runtime.Object, bool, string) {
	return &corev1.PodPortForwardOptions{}, false, ""
}

func (r *PortForwardREST) Connect(ctx context.Context, name string, opts runtime.Object, responder rest.Responder) (http.Handler, error) {
	o := opts.(*corev1.PodPortForwardOptions)
	for _, p := range o.Ports {
		if p < 1 || p > 65535 {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("port %d is not a valid port number: must be between 1 and 65535", p))
		}
	}
	obj, err := r.pods.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	pod := obj.(*corev1.Pod)
	if pod.Spec.NodeName == "" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name))
	}
	base, transport, err := r.Nodes.Location(ctx, pod.Spec.NodeName)
	if err != nil {
		return nil, err
	}
	loc := *base
	loc.Path = path.Join("/portForward", pod.Namespace, pod.Name, string(pod.UID))
	if len(o.Ports) > 0 {
		q := url.Values{}
		for _, p := range o.Ports {
			q.Add("port", fmt.Sprint(p))
		}
		loc.RawQuery = q.Encode()
	}
	return nodeclient.PortForwardHandler(&loc, transport, responder), nil
}

// agentLogs streams a container's log from its node's agent.
type agentLogs struct {
	nodes NodeConnector
}

func (b agentLogs) ContainerLog(ctx context.Context, pod *corev1.Pod, opts *corev1.PodLogOptions) (runtime.Object, error) {
	base, transport, err := b.nodes.Location(ctx, pod.Spec.NodeName)
	if err != nil {
		return nil, err
	}
	loc := *base
	loc.Path = path.Join("/containerLogs", pod.Namespace, pod.Name, opts.Container)
	q := url.Values{}
	if opts.Follow {
		q.Set("follow", "true")
	}
	if opts.Previous {
		q.Set("previous", "true")
	}
	if opts.Timestamps {
		q.Set("timestamps", "true")
	}
	if opts.SinceSeconds != nil {
		q.Set("sinceSeconds", fmt.Sprint(*opts.SinceSeconds))
	}
	if opts.SinceTime != nil {
		q.Set("sinceTime", opts.SinceTime.UTC().Format("2006-01-02T15:04:05Z"))
	}
	if opts.TailLines != nil {
		q.Set("tailLines", fmt.Sprint(*opts.TailLines))
	}
	if opts.LimitBytes != nil {
		q.Set("limitBytes", fmt.Sprint(*opts.LimitBytes))
	}
	if opts.Stream != nil {
		q.Set("stream", *opts.Stream)
	}
	loc.RawQuery = q.Encode()
	return &genericrest.LocationStreamer{
		Location:        &loc,
		Transport:       transport,
		ContentType:     "text/plain",
		Flush:           opts.Follow,
		ResponseChecker: genericrest.NewGenericHttpResponseChecker(corev1.Resource("pods/log"), pod.Name),
		RedirectChecker: genericrest.PreventRedirects,
	}, nil
}

var (
	_ rest.Connecter = &ExecREST{}
	_ rest.Connecter = &AttachREST{}
	_ rest.Connecter = &PortForwardREST{}
)

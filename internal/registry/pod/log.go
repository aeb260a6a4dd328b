package pod

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
)

// LogBackend streams a container's log from wherever the container runs
// (the node agent). The API server resolves the pod and container first.
// The result is a streaming object such as genericrest.LocationStreamer.
type LogBackend interface {
	ContainerLog(ctx context.Context, pod *corev1.Pod, opts *corev1.PodLogOptions) (runtime.Object, error)
}

// LogREST serves GET /pods/{name}/log.
type LogREST struct {
	store   *registry.Store
	Backend LogBackend
}

func (r *LogREST) New() runtime.Object { return &corev1.Pod{} }
func (r *LogREST) Destroy()            {}

func (r *LogREST) ProducesMIMETypes(string) []string {
	return []string{"text/plain"}
}

func (r *LogREST) ProducesObject(string) interface{} { return "" }

func (r *LogREST) NewGetOptions() (runtime.Object, bool, string) {
	return &corev1.PodLogOptions{}, false, ""
}

// Get validates the options, resolves the container and hands over to the backend.
func (r *LogREST) Get(ctx context.Context, name string, opts runtime.Object) (runtime.Object, error) {
	logOpts, ok := opts.(*corev1.PodLogOptions)
	if !ok {
		return nil, fmt.Errorf("invalid options object: %#v", opts)
	}
	if errs := ValidateLogOptions(logOpts); len(errs) > 0 {
		return nil, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("PodLogOptions").GroupKind(), name, errs)
	}
	obj, err := r.store.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	pod := obj.(*corev1.Pod)
	container, err := LogContainer(pod, logOpts.Container)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	resolved := logOpts.DeepCopy()
	resolved.Container = container
	if pod.Spec.NodeName == "" || r.Backend == nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("container %q in pod %q is waiting to start: ContainerCreating", container, pod.Name))
	}
	return r.Backend.ContainerLog(ctx, pod, resolved)
}

// LogContainer picks the container whose log is asked for: the named one, or
// the only one when the pod has a single container.
func LogContainer(pod *corev1.Pod, name string) (string, error) {
	var all, init, ephemeral []string
	for _, c := range pod.Spec.Containers {
		all = append(all, c.Name)
	}
	for _, c := range pod.Spec.InitContainers {
		init = append(init, c.Name)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		ephemeral = append(ephemeral, c.Name)
	}
	if name == "" {
		if len(all) == 1 {
			return all[0], nil
		}
		msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: %v", pod.Name, all)
		if len(init) > 0 {
			msg += fmt.Sprintf(" or one of the init containers: %v", init)
		}
		if len(ephemeral) > 0 {
			msg += fmt.Sprintf(" or one of the ephemeral containers: %v", ephemeral)
		}
		return "", fmt.Errorf("%s", msg)
	}
	for _, group := range [][]string{all, init, ephemeral} {
		for _, c := range group {
			if c == name {
				return name, nil
			}
		}
	}
	return "", fmt.Errorf("container %s is not valid for pod %s (containers: %s)", name, pod.Name, strings.Join(append(append(all, init...), ephemeral...), ", "))
}

// ValidateLogOptions applies kube-apiserver's rules to log parameters.
func ValidateLogOptions(o *corev1.PodLogOptions) field.ErrorList {
	var errs field.ErrorList
	if o.TailLines != nil && *o.TailLines < 0 {
		errs = append(errs, field.Invalid(field.NewPath("tailLines"), *o.TailLines, "must be greater than or equal to 0"))
	}
	if o.LimitBytes != nil && *o.LimitBytes < 1 {
		errs = append(errs, field.Invalid(field.NewPath("limitBytes"), *o.LimitBytes, "must be greater than 0"))
	}
	if o.SinceSeconds != nil && o.SinceTime != nil {
		errs = append(errs, field.Forbidden(field.NewPath(""), "at most one of `sinceTime` or `sinceSeconds` may be specified"))
	}
	if o.SinceSeconds != nil && *o.SinceSeconds < 1 {
		errs = append(errs, field.Invalid(field.NewPath("sinceSeconds"), *o.SinceSeconds, "must be greater than 0"))
	}
	if o.Stream != nil && *o.Stream != corev1.LogStreamStdout && *o.Stream != corev1.LogStreamStderr && *o.Stream != corev1.LogStreamAll {
		errs = append(errs, field.NotSupported(field.NewPath("stream"), *o.Stream, []string{corev1.LogStreamStdout, corev1.LogStreamStderr, corev1.LogStreamAll}))
	}
	if o.Stream != nil && o.TailLines != nil && *o.Stream != corev1.LogStreamAll {
		errs = append(errs, field.Forbidden(field.NewPath(""), "`tailLines` and specific `stream` are mutually exclusive for now"))
	}
	return errs
}

var (
	_ rest.GetterWithOptions = &LogREST{}
	_ rest.StorageMetadata   = &LogREST{}
)

// Package env computes a container's environment and command line the way
// the kubelet does: base variables, envFrom, env with valueFrom, and
// $(VAR) expansion in values, command and args.
package env

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Objects reads the ConfigMaps and Secrets a pod refers to.
type Objects interface {
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
}

// NodeInfo is what resourceFieldRef falls back to for a container without limits.
type NodeInfo struct {
	Allocatable corev1.ResourceList
}

// defaultPath is the PATH of a container whose spec sets none: the host's
// usual one, since the process runtime has no image to supply it.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Resolve returns the environment of container c as KEY=VALUE pairs, later
// entries overriding earlier ones as in the kubelet.
func Resolve(ctx context.Context, pod *corev1.Pod, c *corev1.Container, objs Objects, node NodeInfo) ([]string, error) {
	var keys []string
	vals := map[string]string{}
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	set("PATH", defaultPath)
	set("HOSTNAME", hostname(pod))
	set("HOME", "/root")

	configMap := cached(ctx, objs.ConfigMap, "configmap", pod.Namespace)
	secret := cached(ctx, objs.Secret, "secret", pod.Namespace)

	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			cm, err := configMap(from.ConfigMapRef.Name, from.ConfigMapRef.Optional)
			if err != nil {
				return nil, err
			}
			if cm == nil {
				continue
			}
			for _, k := range slices.Sorted(maps.Keys(cm.Data)) {
				if name := from.Prefix + k; validEnvName(name) {
					set(name, cm.Data[k])
				}
			}
		case from.SecretRef != nil:
			s, err := secret(from.SecretRef.Name, from.SecretRef.Optional)
			if err != nil {
				return nil, err
			}
			if s == nil {
				continue
			}
			for _, k := range slices.Sorted(maps.Keys(s.Data)) {
				if name := from.Prefix + k; validEnvName(name) {
					set(name, string(s.Data[k]))
				}
			}
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			set(e.Name, Expand(e.Value, vals))
			continue
		}
		v, ok, err := valueFrom(pod, c, e.ValueFrom, node, configMap, secret)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		if ok {
			set(e.Name, v)
		}
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+vals[k])
	}
	return out, nil
}

// Lookup reads an object a pod refers to: a missing one that is optional
// is nil without error; any other failure names the object.
func Lookup[T any](ctx context.Context, get func(context.Context, string, string) (*T, error), kind, namespace, name string, optional *bool) (*T, error) {
	obj, err := get(ctx, namespace, name)
	if apierrors.IsNotFound(err) && optional != nil && *optional {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", kind, name, err)
	}
	return obj, nil
}

// cached is Lookup that reads each object once.
func cached[T any](ctx context.Context, get func(context.Context, string, string) (*T, error), kind, namespace string) func(string, *bool) (*T, error) {
	seen := map[string]*T{}
	return func(name string, optional *bool) (*T, error) {
		if obj, ok := seen[name]; ok {
			return obj, nil
		}
		obj, err := Lookup(ctx, get, kind, namespace, name, optional)
		if err != nil {
			return nil, err
		}
		seen[name] = obj
		return obj, nil
	}
}

func validEnvName(k string) bool { return len(validation.IsEnvVarName(k)) == 0 }

func hostname(pod *corev1.Pod) string {
	if pod.Spec.Hostname != "" {
		return pod.Spec.Hostname
	}
	return pod.Name
}

func valueFrom(pod *corev1.Pod, c *corev1.Container, from *corev1.EnvVarSource, node NodeInfo,
	configMap func(string, *bool) (*corev1.ConfigMap, error), secret func(string, *bool) (*corev1.Secret, error)) (string, bool, error) {
	switch {
	case from.FieldRef != nil:
		v, err := FieldValue(pod, from.FieldRef.FieldPath)
		return v, err == nil, err
	case from.ResourceFieldRef != nil:
		v, err := ResourceValue(pod, c, from.ResourceFieldRef, node)
		return v, err == nil, err
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		cm, err := configMap(ref.Name, ref.Optional)
		if err != nil || cm == nil {
			return "", false, err
		}
		v, ok := cm.Data[ref.Key]
		if !ok {
			if ref.Optional != nil && *ref.Optional {
				return "", false, nil
			}
			return "", false, fmt.Errorf("key %q not found in configmap %q", ref.Key, ref.Name)
		}
		return v, true, nil
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		s, err := secret(ref.Name, ref.Optional)
		if err != nil || s == nil {
			return "", false, err
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			if ref.Optional != nil && *ref.Optional {
				return "", false, nil
			}
			return "", false, fmt.Errorf("key %q not found in secret %q", ref.Key, ref.Name)
		}
		return string(v), true, nil
	}
	return "", false, fmt.Errorf("valueFrom names no source")
}

// FieldValue is the downward API's value of a pod field.
func FieldValue(pod *corev1.Pod, path string) (string, error) {
	if key, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[key], nil
	}
	if key, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[key], nil
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.podIP":
		// Pods share the node's network: both are the node's address,
		// which the agent knows before the status says so.
		if pod.Status.HostIP != "" {
			return pod.Status.HostIP, nil
		}
		return pod.Status.PodIP, nil
	case "status.hostIPs", "status.podIPs":
		if pod.Status.HostIP != "" {
			return pod.Status.HostIP, nil
		}
		return pod.Status.PodIP, nil
	}
	return "", fmt.Errorf("unsupported fieldPath %q", path)
}

// subscript splits "metadata.labels['key']" into key.
func subscript(path, field string) (string, bool) {
	rest, ok := strings.CutPrefix(path, field+"['")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, "']")
}

// formatMap is the downward API's file form of labels and annotations.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s=%s", k, strconv.Quote(m[k]))
	}
	return b.String()
}

// ResourceValue is the downward API's value of a container resource, in
// units of the ref's divisor, rounded up; a missing limit is the node's
// allocatable.
func ResourceValue(pod *corev1.Pod, c *corev1.Container, ref *corev1.ResourceFieldSelector, node NodeInfo) (string, error) {
	if ref.ContainerName != "" && ref.ContainerName != c.Name {
		found := false
		for _, other := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
			if other.Name == ref.ContainerName {
				c, found = &other, true
				break
			}
		}
		if !found {
			return "", fmt.Errorf("container %q not found", ref.ContainerName)
		}
	}
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok {
		return "", fmt.Errorf("unsupported resource %q", ref.Resource)
	}
	var q resource.Quantity
	var found bool
	switch kind {
	case "limits":
		q, found = c.Resources.Limits[corev1.ResourceName(name)]
		if !found {
			q, found = node.Allocatable[corev1.ResourceName(name)]
		}
	case "requests":
		q, found = c.Resources.Requests[corev1.ResourceName(name)]
		if !found && name == string(corev1.ResourceCPU) {
			return "0", nil
		}
		if !found {
			q, found = c.Resources.Limits[corev1.ResourceName(name)]
		}
	default:
		return "", fmt.Errorf("unsupported resource %q", ref.Resource)
	}
	if !found {
		return "0", nil
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if name == string(corev1.ResourceCPU) {
		v := int64(math.Ceil(float64(q.MilliValue()) / float64(divisor.MilliValue())))
		return strconv.FormatInt(max(v, 1), 10), nil
	}
	v := int64(math.Ceil(float64(q.Value()) / float64(divisor.Value())))
	return strconv.FormatInt(v, 10), nil
}

// Command is the process to run: command and args with $(VAR) expanded,
// or args alone when there is no command (no image entrypoint to prepend).
func Command(c *corev1.Container, env []string) []string {
	vals := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vals[k] = v
	}
	var out []string
	for _, s := range append(append([]string{}, c.Command...), c.Args...) {
		out = append(out, Expand(s, vals))
	}
	return out
}

// Expand replaces $(NAME) with vars[NAME] where NAME is defined, leaves it
// as written where not, and turns $$ into $, as the Kubernetes API defines.
func Expand(s string, vars map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

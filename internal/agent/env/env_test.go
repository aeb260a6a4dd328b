package env

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

type fakeObjects struct {
	cms     map[string]*corev1.ConfigMap
	secrets map[string]*corev1.Secret
}

func (f fakeObjects) ConfigMap(_ context.Context, _, name string) (*corev1.ConfigMap, error) {
	if cm, ok := f.cms[name]; ok {
		return cm, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name)
}

func (f fakeObjects) Secret(_ context.Context, _, name string) (*corev1.Secret, error) {
	if s, ok := f.secrets[name]; ok {
		return s, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
}

func TestResolve(t *testing.T) {
	objs := fakeObjects{
		cms:     map[string]*corev1.ConfigMap{"cfg": {Data: map[string]string{"B": "b", "A": "a", "bad=name": "x"}}},
		secrets: map[string]*corev1.Secret{"sec": {Data: map[string][]byte{"pw": []byte("hunter2")}}},
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "u1", Labels: map[string]string{"app": "x"}},
		Spec:       corev1.PodSpec{NodeName: "n1"},
		Status:     corev1.PodStatus{HostIP: "10.0.0.1"},
	}
	yes := true
	tests := []struct {
		name    string
		c       corev1.Container
		want    []string // entries after the three base ones
		wantErr bool
	}{
		{name: "plain and expansion", c: corev1.Container{Env: []corev1.EnvVar{
			{Name: "X", Value: "1"}, {Name: "Y", Value: "$(X)-$(NOPE)-$$(X)"},
		}}, want: []string{"X=1", "Y=1-$(NOPE)-$(X)"}},
		{name: "envFrom sorted, prefixed, invalid names skipped", c: corev1.Container{EnvFrom: []corev1.EnvFromSource{
			{Prefix: "P_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}},
		}}, want: []string{"P_A=a", "P_B=b"}},
		{name: "fieldRef", c: corev1.Container{Env: []corev1.EnvVar{
			{Name: "N", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "L", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
		}}, want: []string{"N=web", "L=x", "IP=10.0.0.1", "NODE=n1"}},
		{name: "configMapKeyRef and secretKeyRef", c: corev1.Container{Env: []corev1.EnvVar{
			{Name: "A", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "A"}}},
			{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}, Key: "pw"}}},
		}}, want: []string{"A=a", "PW=hunter2"}},
		{name: "optional missing is skipped", c: corev1.Container{Env: []corev1.EnvVar{
			{Name: "A", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "none"}, Key: "A", Optional: &yes}}},
			{Name: "B", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "nokey", Optional: &yes}}},
		}}, want: []string{}},
		{name: "missing configmap", c: corev1.Container{Env: []corev1.EnvVar{
			{Name: "A", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "none"}, Key: "A"}}},
		}}, wantErr: true},
		{name: "missing secret key", c: corev1.Container{Env: []corev1.EnvVar{
			{Name: "A", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}, Key: "x"}}},
		}}, wantErr: true},
		{name: "resourceFieldRef", c: corev1.Container{Name: "c", Resources: corev1.ResourceRequirements{
			Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
		}, Env: []corev1.EnvVar{
			{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
			{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}},
		}}, want: []string{"MEM=64", "CPU=2"}},
		{name: "env overrides envFrom", c: corev1.Container{
			EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
			Env:     []corev1.EnvVar{{Name: "A", Value: "override"}, {Name: "PATH", Value: "/x"}},
		}, want: []string{"A=override", "B=b"}},
	}
	node := NodeInfo{Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500m")}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(context.Background(), pod, &tt.c, objs, node)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got[1] != "HOSTNAME=web" || got[2] != "HOME=/root" {
				t.Errorf("base entries = %q", got[:3])
			}
			if !slices.Equal(got[3:], tt.want) {
				t.Errorf("got %q, want %q", got[3:], tt.want)
			}
		})
	}
}

func TestPathOverride(t *testing.T) {
	c := &corev1.Container{Env: []corev1.EnvVar{{Name: "PATH", Value: "/x"}}}
	got, err := Resolve(context.Background(), &corev1.Pod{}, c, fakeObjects{}, NodeInfo{})
	if err != nil || got[0] != "PATH=/x" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestCommand(t *testing.T) {
	tests := []struct {
		c    corev1.Container
		want []string
	}{
		{corev1.Container{Command: []string{"sh", "-c"}, Args: []string{"echo $(MSG) $$(MSG) $(NONE)"}}, []string{"sh", "-c", "echo hi $(MSG) $(NONE)"}},
		{corev1.Container{Args: []string{"/bin/true"}}, []string{"/bin/true"}},
		{corev1.Container{}, nil},
	}
	for _, tt := range tests {
		if got := Command(&tt.c, []string{"MSG=hi"}); !slices.Equal(got, tt.want) {
			t.Errorf("Command(%v) = %q, want %q", tt.c, got, tt.want)
		}
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "1"}
	for in, want := range map[string]string{
		"$(A)": "1", "$$(A)": "$(A)", "$(A": "$(A", "x$": "x$", "$x": "$x", "$(B)$(A)": "$(B)1", "$$$(A)": "$1",
	} {
		if got := Expand(in, vars); got != want {
			t.Errorf("Expand(%q) = %q, want %q", in, got, want)
		}
	}
}

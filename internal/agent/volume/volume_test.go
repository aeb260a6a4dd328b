package volume

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

type objects struct{}

func (objects) ConfigMap(_ context.Context, _, name string) (*corev1.ConfigMap, error) {
	if name == "cfg" {
		return &corev1.ConfigMap{Data: map[string]string{"a.conf": "A", "b": "B"}}, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name)
}

func (objects) Secret(_ context.Context, _, name string) (*corev1.Secret, error) {
	if name == "sec" {
		return &corev1.Secret{Data: map[string][]byte{"pw": []byte("hunter2")}}, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
}

func TestPrepare(t *testing.T) {
	dir := t.TempDir()
	host := filepath.Join(t.TempDir(), "made")
	create := corev1.HostPathDirectoryOrCreate
	mode := int32(0o600)
	yes := true
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			Volumes: []corev1.Volume{
				{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: host, Type: &create}}},
				{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
					Items:                []corev1.KeyToPath{{Key: "a.conf", Path: "sub/a.conf"}},
				}}},
				{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sec", DefaultMode: &mode}}},
				{Name: "opt", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "none", Optional: &yes}}},
				{Name: "meta", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
					{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
				}}}},
			},
			Containers: []corev1.Container{{Name: "c", VolumeMounts: []corev1.VolumeMount{
				{Name: "scratch", MountPath: "/data", SubPath: "x"},
				{Name: "host", MountPath: "/host"},
				{Name: "cfg", MountPath: "/etc/cfg"},
				{Name: "sec", MountPath: "/etc/sec"},
				{Name: "meta", MountPath: "/etc/meta"},
			}}},
		},
	}
	mounts, err := Prepare(context.Background(), dir, pod, objects{})
	if err != nil {
		t.Fatal(err)
	}
	got := mounts["c"]
	if len(got) != 5 {
		t.Fatalf("mounts = %+v", got)
	}
	if got[0].HostPath != filepath.Join(dir, "scratch", "x") || got[0].ReadOnly {
		t.Errorf("emptyDir subPath mount = %+v", got[0])
	}
	if fi, err := os.Stat(host); err != nil || !fi.IsDir() || got[1].HostPath != host {
		t.Errorf("hostPath not created: %v %+v", err, got[1])
	}
	if !got[2].ReadOnly || !got[3].ReadOnly {
		t.Errorf("configMap and secret volumes must be read-only: %+v", got)
	}
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if s := read(filepath.Join(dir, "cfg", "sub", "a.conf")); s != "A" {
		t.Errorf("configMap item = %q", s)
	}
	if _, err := os.Stat(filepath.Join(dir, "cfg", "b")); !os.IsNotExist(err) {
		t.Errorf("configMap key not in items was written")
	}
	if fi, err := os.Stat(filepath.Join(dir, "sec", "pw")); err != nil || fi.Mode().Perm() != 0o600 || read(filepath.Join(dir, "sec", "pw")) != "hunter2" {
		t.Errorf("secret file: %v %v", fi, err)
	}
	if s := read(filepath.Join(dir, "meta", "labels")); s != `app="web"` {
		t.Errorf("downward labels = %q", s)
	}
	if s := read(filepath.Join(dir, "meta", "name")); s != "p" {
		t.Errorf("downward name = %q", s)
	}
}

func TestPrepareErrors(t *testing.T) {
	tests := []struct {
		name   string
		vol    corev1.Volume
		mount  corev1.VolumeMount
		errHas string
	}{
		{"missing configmap", corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "none"}}}},
			corev1.VolumeMount{Name: "v", MountPath: "/x"}, `configmap "none"`},
		{"missing key", corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sec", Items: []corev1.KeyToPath{{Key: "k", Path: "k"}}}}},
			corev1.VolumeMount{Name: "v", MountPath: "/x"}, `has no key "k"`},
		{"unsupported type", corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}},
			corev1.VolumeMount{Name: "v", MountPath: "/x"}, "unsupported volume type"},
		{"undefined volume", corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			corev1.VolumeMount{Name: "w", MountPath: "/x"}, `does not define`},
		{"escaping subPath", corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			corev1.VolumeMount{Name: "v", MountPath: "/x", SubPath: "../../etc"}, "inside the volume"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{
				Volumes:    []corev1.Volume{tt.vol},
				Containers: []corev1.Container{{Name: "c", VolumeMounts: []corev1.VolumeMount{tt.mount}}},
			}}
			_, err := Prepare(context.Background(), t.TempDir(), pod, objects{})
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.errHas)
			}
		})
	}
}

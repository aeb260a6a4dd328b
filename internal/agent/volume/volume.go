// Package volume materialises a pod's volumes on the node: a directory per
// volume under the pod's volume directory (or the host path), filled from
// ConfigMaps, Secrets and the downward API, and the mounts each container
// asks for.
package volume

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/podyard/podyard/internal/agent/env"
	"github.com/podyard/podyard/internal/runtime"
)

// Objects reads the ConfigMaps and Secrets a pod refers to.
type Objects = env.Objects

// Prepare creates the pod's volumes under dir and returns, by container
// name, the mounts each container asks for.
func Prepare(ctx context.Context, dir string, pod *corev1.Pod, objs Objects) (map[string][]runtime.Mount, error) {
	paths := map[string]string{}  // volume name → host path
	readOnly := map[string]bool{} // volumes a container may not write
	for _, v := range pod.Spec.Volumes {
		path, ro, err := prepare(ctx, filepath.Join(dir, v.Name), pod, v, objs)
		if err != nil {
			return nil, fmt.Errorf("volume %q: %w", v.Name, err)
		}
		paths[v.Name], readOnly[v.Name] = path, ro
	}
	mounts := map[string][]runtime.Mount{}
	containers := append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, e := range pod.Spec.EphemeralContainers {
		containers = append(containers, corev1.Container(e.EphemeralContainerCommon))
	}
	for _, c := range containers {
		for _, m := range c.VolumeMounts {
			host, ok := paths[m.Name]
			if !ok {
				return nil, fmt.Errorf("container %q mounts volume %q, which the pod does not define", c.Name, m.Name)
			}
			sub := m.SubPath
			if m.SubPathExpr != "" {
				vars, err := env.Resolve(ctx, pod, &c, objs, env.NodeInfo{})
				if err != nil {
					return nil, fmt.Errorf("container %q subPathExpr: %w", c.Name, err)
				}
				sub = env.Expand(m.SubPathExpr, envMap(vars))
			}
			if sub != "" {
				var err error
				if host, err = subPath(host, sub); err != nil {
					return nil, fmt.Errorf("container %q volume %q: %w", c.Name, m.Name, err)
				}
			}
			mounts[c.Name] = append(mounts[c.Name], runtime.Mount{
				HostPath: host, ContainerPath: m.MountPath, ReadOnly: m.ReadOnly || readOnly[m.Name],
			})
		}
	}
	return mounts, nil
}

func envMap(vars []string) map[string]string {
	m := map[string]string{}
	for _, kv := range vars {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// subPath is the path sub inside the volume at root, created as a directory
// when missing; it may not leave the volume.
func subPath(root, sub string) (string, error) {
	if filepath.IsAbs(sub) || !filepath.IsLocal(sub) {
		return "", fmt.Errorf("subPath %q must be a relative path inside the volume", sub)
	}
	p := filepath.Join(root, sub)
	resolved, err := filepath.EvalSymlinks(filepath.Dir(p))
	if err == nil {
		realRoot, _ := filepath.EvalSymlinks(root)
		if rel, err := filepath.Rel(realRoot, resolved); err != nil || !filepath.IsLocal(rel) && rel != "." {
			return "", fmt.Errorf("subPath %q leaves the volume", sub)
		}
	}
	if _, err := os.Lstat(p); os.IsNotExist(err) {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return "", fmt.Errorf("subPath: %w", err)
		}
	}
	return p, nil
}

// prepare creates one volume and returns its host path and whether
// containers see it read-only.
func prepare(ctx context.Context, dir string, pod *corev1.Pod, v corev1.Volume, objs Objects) (string, bool, error) {
	src := v.VolumeSource
	switch {
	case src.EmptyDir != nil:
		return dir, false, os.MkdirAll(dir, 0o777)
	case src.HostPath != nil:
		return src.HostPath.Path, false, hostPath(src.HostPath)
	case src.ConfigMap != nil:
		files, err := configMapFiles(ctx, pod.Namespace, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional, objs)
		if err != nil {
			return "", false, err
		}
		return dir, true, writeFiles(dir, files, src.ConfigMap.DefaultMode)
	case src.Secret != nil:
		files, err := secretFiles(ctx, pod.Namespace, src.Secret.SecretName, src.Secret.Items, src.Secret.Optional, objs)
		if err != nil {
			return "", false, err
		}
		return dir, true, writeFiles(dir, files, src.Secret.DefaultMode)
	case src.DownwardAPI != nil:
		files, err := downwardFiles(pod, src.DownwardAPI.Items)
		if err != nil {
			return "", false, err
		}
		return dir, true, writeFiles(dir, files, src.DownwardAPI.DefaultMode)
	case src.Projected != nil:
		var all []file
		for _, p := range src.Projected.Sources {
			var files []file
			var err error
			switch {
			case p.ConfigMap != nil:
				files, err = configMapFiles(ctx, pod.Namespace, p.ConfigMap.Name, p.ConfigMap.Items, p.ConfigMap.Optional, objs)
			case p.Secret != nil:
				files, err = secretFiles(ctx, pod.Namespace, p.Secret.Name, p.Secret.Items, p.Secret.Optional, objs)
			case p.DownwardAPI != nil:
				files, err = downwardFiles(pod, p.DownwardAPI.Items)
			case p.ServiceAccountToken != nil:
				err = fmt.Errorf("serviceAccountToken projections are not supported yet (no TokenRequest API)")
			default:
				err = fmt.Errorf("unsupported projected source")
			}
			if err != nil {
				return "", false, err
			}
			all = append(all, files...)
		}
		return dir, true, writeFiles(dir, all, src.Projected.DefaultMode)
	}
	return "", false, fmt.Errorf("unsupported volume type: the process runtime supports emptyDir, hostPath, configMap, secret, downwardAPI and projected")
}

func hostPath(h *corev1.HostPathVolumeSource) error {
	t := corev1.HostPathUnset
	if h.Type != nil {
		t = *h.Type
	}
	fi, err := os.Stat(h.Path)
	switch t {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if os.IsNotExist(err) {
			return os.MkdirAll(h.Path, 0o755)
		}
	case corev1.HostPathFileOrCreate:
		if os.IsNotExist(err) {
			if err := os.MkdirAll(filepath.Dir(h.Path), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(h.Path, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("hostPath %s (type %s): %w", h.Path, t, err)
	}
	switch {
	case (t == corev1.HostPathDirectory || t == corev1.HostPathDirectoryOrCreate) && !fi.IsDir():
		return fmt.Errorf("hostPath %s is not a directory", h.Path)
	case (t == corev1.HostPathFile || t == corev1.HostPathFileOrCreate) && !fi.Mode().IsRegular():
		return fmt.Errorf("hostPath %s is not a file", h.Path)
	case t == corev1.HostPathSocket && fi.Mode()&os.ModeSocket == 0:
		return fmt.Errorf("hostPath %s is not a socket", h.Path)
	case t == corev1.HostPathCharDev && fi.Mode()&os.ModeCharDevice == 0:
		return fmt.Errorf("hostPath %s is not a character device", h.Path)
	case t == corev1.HostPathBlockDev && (fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0):
		return fmt.Errorf("hostPath %s is not a block device", h.Path)
	}
	return nil
}

// file is one file of a projected volume.
type file struct {
	path string
	data []byte
	mode *int32
}

func configMapFiles(ctx context.Context, ns, name string, items []corev1.KeyToPath, optional *bool, objs Objects) ([]file, error) {
	cm, err := env.Lookup(ctx, objs.ConfigMap, "configmap", ns, name, optional)
	if err != nil || cm == nil {
		return nil, err
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return keyFiles("configmap", name, data, items, optional)
}

func secretFiles(ctx context.Context, ns, name string, items []corev1.KeyToPath, optional *bool, objs Objects) ([]file, error) {
	s, err := env.Lookup(ctx, objs.Secret, "secret", ns, name, optional)
	if err != nil || s == nil {
		return nil, err
	}
	return keyFiles("secret", name, s.Data, items, optional)
}

// keyFiles is every key as a file, or only the listed items at their paths.
func keyFiles(kind, name string, data map[string][]byte, items []corev1.KeyToPath, optional *bool) ([]file, error) {
	var files []file
	if len(items) == 0 {
		for k, v := range data {
			files = append(files, file{path: k, data: v})
		}
		return files, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional != nil && *optional {
				continue
			}
			return nil, fmt.Errorf("%s %q has no key %q", kind, name, it.Key)
		}
		files = append(files, file{path: it.Path, data: v, mode: it.Mode})
	}
	return files, nil
}

func downwardFiles(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile) ([]file, error) {
	var files []file
	for _, it := range items {
		var v string
		var err error
		switch {
		case it.FieldRef != nil:
			v, err = env.FieldValue(pod, it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			c := containerNamed(pod, it.ResourceFieldRef.ContainerName)
			if c == nil {
				return nil, fmt.Errorf("downwardAPI %s: container %q not found", it.Path, it.ResourceFieldRef.ContainerName)
			}
			v, err = env.ResourceValue(pod, c, it.ResourceFieldRef, env.NodeInfo{})
		default:
			err = fmt.Errorf("names neither fieldRef nor resourceFieldRef")
		}
		if err != nil {
			return nil, fmt.Errorf("downwardAPI %s: %w", it.Path, err)
		}
		files = append(files, file{path: it.Path, data: []byte(v), mode: it.Mode})
	}
	return files, nil
}

func containerNamed(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	return nil
}

// writeFiles replaces dir's content with files. Paths come from the API,
// validated there; each is checked again to stay inside dir.
func writeFiles(dir string, files []file, defaultMode *int32) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if defaultMode != nil {
		mode = os.FileMode(*defaultMode)
	}
	for _, f := range files {
		if !filepath.IsLocal(f.path) {
			return fmt.Errorf("path %q must be relative and stay inside the volume", f.path)
		}
		p := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		m := mode
		if f.mode != nil {
			m = os.FileMode(*f.mode)
		}
		if err := os.WriteFile(p, f.data, m); err != nil {
			return err
		}
		if err := os.Chmod(p, m); err != nil { // WriteFile's mode passes through the umask
			return err
		}
	}
	return nil
}

// Cleanup removes the pod's volume directory (host paths stay).
func Cleanup(dir string) error {
	return os.RemoveAll(dir)
}

package bcs

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/core/validation"
)

// Kinds as BCS bodies spell them.
const (
	KindConfigMap   = "configmap"
	KindSecret      = "secret"
	KindApplication = "application"
	KindDeployment  = "deployment"
	KindCommand     = "command"
)

const (
	// annotationItems holds, as JSON, what each data item has beside its
	// content (configmap: type and remote credentials; secret: path).
	annotationItems      = "bcs.podyard.io/items"
	annotationAPIVersion = "bcs.podyard.io/api-version"
	annotationSecretType = "bcs.podyard.io/secret-type"
	defaultAPIVersion    = "v4"
)

// Meta is a BCS object's metadata.
type Meta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ConfigMap is a BCS configmap (bcs-common BcsConfigMap).
type ConfigMap struct {
	APIVersion string                   `json:"apiVersion"`
	Kind       string                   `json:"kind"`
	Metadata   Meta                     `json:"metadata"`
	Datas      map[string]ConfigMapItem `json:"datas"`
}

// ConfigMapItem is one item: a file's content in base64, or where to fetch
// it (type http, https or ftp: content is a URL, kept as it is).
type ConfigMapItem struct {
	Type           string `json:"type"`
	Content        string `json:"content"`
	RemoteUser     string `json:"RemoteUser,omitempty"`
	RemotePassword string `json:"remotePasswd,omitempty"`
}

// Secret is a BCS secret (bcs-common BcsSecret).
type Secret struct {
	APIVersion string                `json:"apiVersion"`
	Kind       string                `json:"kind"`
	Metadata   Meta                  `json:"metadata"`
	Type       string                `json:"type"`
	Datas      map[string]SecretItem `json:"datas"`
}

// SecretItem is one item: its content in base64 and its path (in BCS, where
// the secret store keeps it).
type SecretItem struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

// Target is the object a request is about, as the URL and the body name it.
type Target struct {
	Kind          string
	Namespace     string // BCS namespace from the URL
	KubeNamespace string
}

// checkMeta checks the body's kind and namespace against the URL and maps
// its name. An empty namespace in the body is the URL's.
func checkMeta(t Target, kind string, m *Meta) (string, *Error) {
	if kind != t.Kind {
		return "", Errorf(CodeRequestData, "Kind %s is invalid: the URL is for %s", kind, t.Kind)
	}
	if m.Namespace == "" {
		m.Namespace = t.Namespace
	}
	if m.Namespace != t.Namespace {
		return "", Errorf(CodeRequestData, "metadata.namespace %q is not the URL's namespace %q", m.Namespace, t.Namespace)
	}
	return KubeName(m.Name)
}

// objectMeta is the Kubernetes metadata of a BCS object; extra are the
// dialect's annotations.
func objectMeta(t Target, name string, m Meta, extra map[string]string) metav1.ObjectMeta {
	annotations := map[string]string{}
	for k, v := range m.Annotations {
		if !strings.HasPrefix(k, annotationPrefix) {
			annotations[k] = v
		}
	}
	if name != m.Name {
		annotations[AnnotationName] = m.Name
	}
	maps.Copy(annotations, extra)
	return metav1.ObjectMeta{Name: name, Namespace: t.KubeNamespace, Labels: maps.Clone(m.Labels), Annotations: annotations}
}

// bcsMeta is the BCS metadata of a Kubernetes object.
func bcsMeta(bcsNamespace string, m metav1.ObjectMeta) Meta {
	out := Meta{Name: m.Name, Namespace: bcsNamespace, Labels: maps.Clone(m.Labels)}
	if name := m.Annotations[AnnotationName]; name != "" {
		out.Name = name
	}
	for k, v := range m.Annotations {
		if !strings.HasPrefix(k, annotationPrefix) {
			if out.Annotations == nil {
				out.Annotations = map[string]string{}
			}
			out.Annotations[k] = v
		}
	}
	return out
}

func apiVersionOr(v string) string {
	if v == "" {
		return defaultAPIVersion
	}
	return v
}

// remote item types carry a URL, not base64 content.
func remote(itemType string) bool {
	switch strings.ToLower(itemType) {
	case "http", "https", "ftp":
		return true
	}
	return false
}

// ToConfigMap translates a BCS configmap in the request's target to a
// core/v1 ConfigMap, checked as the API server would check it.
func ToConfigMap(t Target, c ConfigMap) (*corev1.ConfigMap, *Error) {
	name, err := checkMeta(t, c.Kind, &c.Metadata)
	if err != nil {
		return nil, err
	}
	items := map[string]ConfigMapItem{}
	cm := &corev1.ConfigMap{}
	for key, item := range c.Datas {
		content := item.Content
		if remote(item.Type) {
			setData(cm, key, []byte(content), true)
		} else {
			b, derr := base64.StdEncoding.DecodeString(content)
			if derr != nil {
				return nil, Errorf(CodeBadParameters, "datas[%s].content is not base64: %v", key, derr)
			}
			setData(cm, key, b, false)
		}
		item.Content = ""
		items[key] = item
	}
	itemsJSON, _ := json.Marshal(items)
	cm.ObjectMeta = objectMeta(t, name, c.Metadata, map[string]string{
		annotationItems: string(itemsJSON), annotationAPIVersion: apiVersionOr(c.APIVersion),
	})
	if errs := validation.ValidateConfigMap(cm); len(errs) > 0 {
		return nil, Errorf(CodeBadParameters, "configmap %s: %v", c.Metadata.Name, errs.ToAggregate())
	}
	return cm, nil
}

// setData keeps text as data and other bytes as binaryData; text says the
// content must stay as it is.
func setData(cm *corev1.ConfigMap, key string, b []byte, text bool) {
	if text || utf8.Valid(b) {
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[key] = string(b)
		return
	}
	if cm.BinaryData == nil {
		cm.BinaryData = map[string][]byte{}
	}
	cm.BinaryData[key] = b
}

// FromConfigMap is the BCS view of a ConfigMap made by ToConfigMap.
func FromConfigMap(bcsNamespace string, cm *corev1.ConfigMap) ConfigMap {
	items := map[string]ConfigMapItem{}
	_ = json.Unmarshal([]byte(cm.Annotations[annotationItems]), &items)
	out := ConfigMap{APIVersion: apiVersionOr(cm.Annotations[annotationAPIVersion]), Kind: KindConfigMap,
		Metadata: bcsMeta(bcsNamespace, cm.ObjectMeta), Datas: map[string]ConfigMapItem{}}
	for key, v := range cm.Data {
		item, found := items[key]
		if !found {
			item.Type = "file"
		}
		item.Content = v
		if !remote(item.Type) {
			item.Content = base64.StdEncoding.EncodeToString([]byte(v))
		}
		out.Datas[key] = item
	}
	for key, v := range cm.BinaryData {
		item, found := items[key]
		if !found {
			item.Type = "file"
		}
		item.Content = base64.StdEncoding.EncodeToString(v)
		out.Datas[key] = item
	}
	return out
}

// ToSecret translates a BCS secret in the request's target to a core/v1
// Secret (type Opaque; the BCS type and paths are kept in annotations).
func ToSecret(t Target, s Secret) (*corev1.Secret, *Error) {
	name, err := checkMeta(t, s.Kind, &s.Metadata)
	if err != nil {
		return nil, err
	}
	items := map[string]SecretItem{}
	sec := &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{}}
	for key, item := range s.Datas {
		b, derr := base64.StdEncoding.DecodeString(item.Content)
		if derr != nil {
			return nil, Errorf(CodeBadParameters, "datas[%s].content is not base64: %v", key, derr)
		}
		sec.Data[key] = b
		items[key] = SecretItem{Path: item.Path}
	}
	itemsJSON, _ := json.Marshal(items)
	sec.ObjectMeta = objectMeta(t, name, s.Metadata, map[string]string{
		annotationItems: string(itemsJSON), annotationAPIVersion: apiVersionOr(s.APIVersion), annotationSecretType: s.Type,
	})
	if errs := validation.ValidateSecret(sec); len(errs) > 0 {
		return nil, Errorf(CodeBadParameters, "secret %s: %v", s.Metadata.Name, errs.ToAggregate())
	}
	return sec, nil
}

// FromSecret is the BCS view of a Secret made by ToSecret.
func FromSecret(bcsNamespace string, sec *corev1.Secret) Secret {
	items := map[string]SecretItem{}
	_ = json.Unmarshal([]byte(sec.Annotations[annotationItems]), &items)
	out := Secret{APIVersion: apiVersionOr(sec.Annotations[annotationAPIVersion]), Kind: KindSecret,
		Metadata: bcsMeta(bcsNamespace, sec.ObjectMeta), Type: sec.Annotations[annotationSecretType], Datas: map[string]SecretItem{}}
	for key, v := range sec.Data {
		out.Datas[key] = SecretItem{Path: items[key].Path, Content: base64.StdEncoding.EncodeToString(v)}
	}
	return out
}

// Translate decodes a request body for the target and translates it: a
// *corev1.ConfigMap, *corev1.Secret or *corev1.Service.
func Translate(t Target, body []byte) (any, *Error) {
	switch t.Kind {
	case KindConfigMap:
		var in ConfigMap
		if err := Decode(body, &in); err != nil {
			return nil, err
		}
		return ToConfigMap(t, in)
	case KindService:
		var in Service
		if err := Decode(body, &in); err != nil {
			return nil, err
		}
		return ToService(t, in)
	}
	var in Secret
	if err := Decode(body, &in); err != nil {
		return nil, err
	}
	return ToSecret(t, in)
}

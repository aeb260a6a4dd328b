package bcs

import (
	"reflect"
	"strings"
	"testing"
)

// The seed's bodies.
const (
	seedConfigMap = `{
  "apiVersion": "v4",
  "kind": "configmap",
  "metadata": {"name": "configmap-test", "namespace": "defaultGroup", "labels": {}},
  "datas": {
    "item-one": {"type": "file", "content": "Y29uZmlnIGNvbnRleHQ="},
    "item-two": {"type": "file", "content": "Y29uZmlnIGNvbnRleHQ="}
  }
}`
	seedSecret = `{
  "apiVersion": "v4",
  "kind": "secret",
  "metadata": {"name": "secret-test", "namespace": "defaultGroup", "labels": {}},
  "type": "",
  "datas": {"secret-subkey": {"path": "SECRET_ENV_TEST", "content": "Y29uZmlnIGNvbnRleHQ="}}
}`
)

func target(t testing.TB, kind, ns string) Target {
	t.Helper()
	kube, err := KubeNamespace(ns)
	if err != nil {
		t.Fatal(err)
	}
	return Target{Kind: kind, Namespace: ns, KubeNamespace: kube}
}

func TestConfigMapSeed(t *testing.T) {
	var in ConfigMap
	if err := Decode([]byte(seedConfigMap), &in); err != nil {
		t.Fatal(err)
	}
	tg := target(t, KindConfigMap, "defaultGroup")
	cm, err := ToConfigMap(tg, in)
	if err != nil {
		t.Fatal(err)
	}
	if cm.Name != "configmap-test" || cm.Namespace != tg.KubeNamespace || cm.Data["item-one"] != "config context" || cm.Data["item-two"] != "config context" {
		t.Errorf("ConfigMap: %+v", cm)
	}
	if _, named := cm.Annotations[AnnotationName]; named {
		t.Errorf("a DNS name needs no name annotation: %v", cm.Annotations)
	}
	if back := FromConfigMap("defaultGroup", cm); !reflect.DeepEqual(back, in) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, in)
	}
}

func TestConfigMapRoundTrip(t *testing.T) {
	in := ConfigMap{APIVersion: "v4", Kind: KindConfigMap,
		Metadata: Meta{Name: "My_Config", Namespace: "defaultGroup", Labels: map[string]string{"io.tencent.bcs.app.appid": "756"}, Annotations: map[string]string{"note": "x"}},
		Datas: map[string]ConfigMapItem{
			"bcs.conf":   {Type: "file", Content: "Y29uZmlnIGNvbnRleHQ="},
			"binary":     {Type: "file", Content: "/wD+"}, // not UTF-8: binaryData
			"config-one": {Type: "http", Content: "http://example.com/a.txt"},
			"myftp":      {Type: "ftp", Content: "ftp://path/to/a.txt", RemoteUser: "u", RemotePassword: "nIGNvbnRleHQ="},
		}}
	tg := target(t, KindConfigMap, "defaultGroup")
	cm, err := ToConfigMap(tg, in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cm.Name, "my-config-") || cm.Annotations[AnnotationName] != "My_Config" {
		t.Errorf("name %q, annotations %v", cm.Name, cm.Annotations)
	}
	if string(cm.BinaryData["binary"]) != "\xff\x00\xfe" || cm.Data["config-one"] != "http://example.com/a.txt" {
		t.Errorf("data %v, binaryData %v", cm.Data, cm.BinaryData)
	}
	if back := FromConfigMap("defaultGroup", cm); !reflect.DeepEqual(back, in) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, in)
	}
}

func TestSecretSeed(t *testing.T) {
	var in Secret
	if err := Decode([]byte(seedSecret), &in); err != nil {
		t.Fatal(err)
	}
	tg := target(t, KindSecret, "defaultGroup")
	sec, err := ToSecret(tg, in)
	if err != nil {
		t.Fatal(err)
	}
	if sec.Name != "secret-test" || sec.Type != "Opaque" || string(sec.Data["secret-subkey"]) != "config context" {
		t.Errorf("Secret: %+v", sec)
	}
	if back := FromSecret("defaultGroup", sec); !reflect.DeepEqual(back, in) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, in)
	}
	in.Type, in.Metadata.Name = "vault", "Secret_Test"
	sec, err = ToSecret(tg, in)
	if err != nil {
		t.Fatal(err)
	}
	if back := FromSecret("defaultGroup", sec); !reflect.DeepEqual(back, in) {
		t.Errorf("round trip with a type and a mapped name:\n got %+v\nwant %+v", back, in)
	}
}

func TestBadObjects(t *testing.T) {
	for _, tc := range []struct {
		name, kind, body, want string
		code                   int
	}{
		{"configmap in the secrets URL", KindSecret, seedConfigMap, "Kind configmap is invalid", CodeRequestData},
		{"secret in the configmaps URL", KindConfigMap, seedSecret, "Kind secret is invalid", CodeRequestData},
		{"other namespace", KindConfigMap, strings.Replace(seedConfigMap, `"defaultGroup"`, `"otherGroup"`, 1), "not the URL's namespace", CodeRequestData},
		{"name with a dot", KindConfigMap, strings.Replace(seedConfigMap, `"configmap-test"`, `"configmap.test"`, 1), "'.'", CodeBadParameters},
		{"no name", KindSecret, strings.Replace(seedSecret, `"secret-test"`, `""`, 1), "empty", CodeBadParameters},
		{"content not base64", KindConfigMap, strings.Replace(seedConfigMap, `"Y29uZmlnIGNvbnRleHQ="`, `"not base64!"`, 1), "not base64", CodeBadParameters},
		{"secret content not base64", KindSecret, strings.Replace(seedSecret, `"Y29uZmlnIGNvbnRleHQ="`, `"%%"`, 1), "not base64", CodeBadParameters},
		{"bad data key", KindConfigMap, strings.Replace(seedConfigMap, `"item-one"`, `"item one"`, 1), "item one", CodeBadParameters},
		{"not JSON", KindConfigMap, `{"kind": "configmap",`, "json decode failed", CodeJSONDecode},
		{"wrong shape", KindSecret, `{"kind": "secret", "datas": []}`, "json decode failed", CodeJSONDecode},
		{"bad label", KindSecret, strings.Replace(seedSecret, `"labels": {}`, `"labels": {"a b": "c"}`, 1), "labels", CodeBadParameters},
	} {
		_, err := Translate(target(t, tc.kind, "defaultGroup"), []byte(tc.body))
		if err == nil || err.Code != tc.code || err.Status != 400 || !strings.Contains(err.Message, tc.want) {
			t.Errorf("%s: %v, want code %d with %q", tc.name, err, tc.code, tc.want)
		}
	}
}

// A body without a namespace is in the URL's.
func TestEmptyNamespaceIsTheURLs(t *testing.T) {
	var in ConfigMap
	Decode([]byte(strings.Replace(seedConfigMap, `"namespace": "defaultGroup", `, "", 1)), &in)
	if in.Metadata.Namespace != "" {
		t.Fatalf("the test body still has a namespace: %+v", in.Metadata)
	}
	tg := target(t, KindConfigMap, "defaultGroup")
	cm, err := ToConfigMap(tg, in)
	if err != nil || cm.Namespace != tg.KubeNamespace {
		t.Errorf("ToConfigMap: %v %+v", err, cm)
	}
}

package bcs

import (
	"context"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
)

// The seed's service body.
const seedService = `{
  "apiVersion": "v4",
  "kind": "service",
  "metadata": {
    "name": "service-test",
    "namespace": "defaultGroup",
    "labels": {"BCSGROUP": "external"}
  },
  "spec": {
    "selector": {"podname": "app-test"},
    "ports": [{"name": "test-port", "protocol": "tcp", "servicePort": 8899}]
  }
}`

func TestServiceSeed(t *testing.T) {
	var in Service
	if err := Decode([]byte(seedService), &in); err != nil {
		t.Fatal(err)
	}
	tg := target(t, KindService, "defaultGroup")
	svc, err := ToService(tg, in)
	if err != nil {
		t.Fatal(err)
	}
	want := corev1.ServiceSpec{
		Type:     corev1.ServiceTypeClusterIP,
		Selector: map[string]string{"podname": "app-test"},
		Ports:    []corev1.ServicePort{{Name: "test-port", Protocol: corev1.ProtocolTCP, Port: 8899, TargetPort: intstr.FromString("test-port")}},
	}
	if svc.Name != "service-test" || svc.Namespace != tg.KubeNamespace || svc.Labels["BCSGROUP"] != "external" || !reflect.DeepEqual(svc.Spec, want) {
		t.Errorf("Service: %+v", svc)
	}
	if back := FromService("defaultGroup", svc); !reflect.DeepEqual(back, in) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, in)
	}
}

// The seed service's selector selects the taskgroup Pods of the seed's
// application: BCS selects by the application's labels, which
// application.Pod puts on every taskgroup.
func TestServiceSelectsTheTaskGroups(t *testing.T) {
	var in Service
	if err := Decode([]byte(seedService), &in); err != nil {
		t.Fatal(err)
	}
	svc, err := ToService(target(t, KindService, "defaultGroup"), in)
	if err != nil {
		t.Fatal(err)
	}
	selector := labels.SelectorFromSet(svc.Spec.Selector)
	for _, tc := range []struct {
		name            string
		appLabels, tmpl map[string]string
		selected        bool
	}{
		{"the seed's application labels", map[string]string{"podname": "app-test"}, nil, true},
		{"the template's labels", nil, map[string]string{"podname": "app-test", "tier": "game"}, true},
		{"another application", map[string]string{"podname": "app-other"}, nil, false},
		{"no labels", nil, nil, false},
	} {
		app := &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: "app-test", Namespace: svc.Namespace}}
		app.Spec.Metadata = v1alpha1.ObjectMeta{Name: "app-test", Namespace: "defaultGroup", Labels: tc.appLabels}
		app.Spec.Template.Metadata.Labels = tc.tmpl
		app.Spec.Template.Spec.Containers = []v1alpha1.Container{{Image: "busybox"}}
		pod := application.Pod(app, application.PodOptions{Cluster: "10001", UnixNano: 1})
		if got := selector.Matches(labels.Set(pod.Labels)); got != tc.selected {
			t.Errorf("%s: selected %v, want %v (pod labels %v)", tc.name, got, tc.selected, pod.Labels)
		}
	}
}

func TestServiceTranslation(t *testing.T) {
	tg := target(t, KindService, "defaultGroup")
	for _, tc := range []struct {
		name  string
		in    ServiceSpec
		ports []corev1.ServicePort
		ip    string
	}{
		{"targetPort wins over the name",
			ServiceSpec{Ports: []ServicePort{{Name: "web", Protocol: "http", Port: 80, TargetPort: 8080}}},
			[]corev1.ServicePort{{Name: "web", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)}}, ""},
		{"udp, and a name no container port can have targets the service port",
			ServiceSpec{Ports: []ServicePort{{Name: "a-very-long-port-name", Protocol: "UDP", Port: 53}}},
			[]corev1.ServicePort{{Name: "a-very-long-port-name", Protocol: corev1.ProtocolUDP, Port: 53, TargetPort: intstr.FromInt32(53)}}, ""},
		{"names Kubernetes refuses or repeats become port-{i}",
			ServiceSpec{Ports: []ServicePort{{Name: "Game_Port", Protocol: "tcp", Port: 1}, {Name: "a", Protocol: "tcp", Port: 2}, {Name: "a", Protocol: "tcp", Port: 3}, {Protocol: "tcp", Port: 4}}},
			[]corev1.ServicePort{
				{Name: "port-0", Protocol: corev1.ProtocolTCP, Port: 1, TargetPort: intstr.FromInt32(1)},
				{Name: "a", Protocol: corev1.ProtocolTCP, Port: 2, TargetPort: intstr.FromString("a")},
				{Name: "port-2", Protocol: corev1.ProtocolTCP, Port: 3, TargetPort: intstr.FromString("a")},
				{Name: "port-3", Protocol: corev1.ProtocolTCP, Port: 4, TargetPort: intstr.FromInt32(4)},
			}, ""},
		{"no ports: headless", ServiceSpec{Selector: map[string]string{"app": "x"}}, nil, corev1.ClusterIPNone},
		{"a Kubernetes type, node port and cluster IP are kept for the view only",
			ServiceSpec{Type: "NodePort", ClusterIP: []string{"10.0.0.1"}, Ports: []ServicePort{{Name: "p", Protocol: "sctp", Port: 9, NodePort: 30009, DomainName: "x.example", Path: "/a"}}},
			[]corev1.ServicePort{{Name: "p", Protocol: corev1.ProtocolSCTP, Port: 9, TargetPort: intstr.FromString("p")}}, ""},
	} {
		in := Service{APIVersion: "v4", Kind: KindService, Metadata: Meta{Name: "svc", Namespace: "defaultGroup"}, Spec: tc.in}
		svc, err := ToService(tg, in)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !reflect.DeepEqual(svc.Spec.Ports, tc.ports) || svc.Spec.ClusterIP != tc.ip || svc.Spec.Type != corev1.ServiceTypeClusterIP {
			t.Errorf("%s: spec %+v\nwant ports %+v, clusterIP %q", tc.name, svc.Spec, tc.ports, tc.ip)
		}
		if back := FromService("defaultGroup", svc); !reflect.DeepEqual(back, in) {
			t.Errorf("%s: round trip:\n got %+v\nwant %+v", tc.name, back, in)
		}
	}
}

func TestServiceNames(t *testing.T) {
	for _, bcsName := range []string{"service-test", "Service_Test", "1st", "_", "9-a", strings.Repeat("x_", 40)} {
		name, err := ServiceName(bcsName)
		if err != nil || len(validation.IsDNS1035Label(name)) > 0 {
			t.Errorf("ServiceName(%q) = %q, %v: not a DNS-1035 label", bcsName, name, err)
		}
		in := Service{Kind: KindService, Metadata: Meta{Name: bcsName}, Spec: ServiceSpec{Ports: []ServicePort{{Port: 1}}}}
		svc, terr := ToService(target(t, KindService, "ns"), in)
		if terr != nil || svc.Name != name {
			t.Errorf("ToService(%q): %v %v", bcsName, terr, svc)
			continue
		}
		if got := FromService("ns", svc).Metadata.Name; got != bcsName {
			t.Errorf("the view of %q is named %q", bcsName, got)
		}
	}
	if name, _ := ServiceName("service-test"); name != "service-test" {
		t.Errorf("a DNS-1035 name maps to %q", name)
	}
	if name, _ := ServiceName("1st"); !strings.HasPrefix(name, "svc-1st-") {
		t.Errorf("1st maps to %q, want svc-1st-<hash>", name)
	}
}

func TestBadServices(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
		code             int
	}{
		{"a configmap kind", strings.Replace(seedService, `"kind": "service"`, `"kind": "configmap"`, 1), "Kind configmap is invalid", CodeRequestData},
		{"other namespace", strings.Replace(seedService, `"defaultGroup"`, `"otherGroup"`, 1), "not the URL's namespace", CodeRequestData},
		{"name with a dot", strings.Replace(seedService, `"service-test"`, `"service.test"`, 1), "'.'", CodeBadParameters},
		{"no name", strings.Replace(seedService, `"service-test"`, `""`, 1), "empty", CodeBadParameters},
		{"a selector no Pod can carry", strings.Replace(seedService, `"podname": "app-test"`, `"pod name": "app-test"`, 1), "no taskgroup carries it", CodeBadParameters},
		{"port 0", strings.Replace(seedService, `"servicePort": 8899`, `"servicePort": 0`, 1), "spec.ports[0].port", CodeBadParameters},
		{"port too large", strings.Replace(seedService, `"servicePort": 8899`, `"servicePort": 70000`, 1), "spec.ports[0].port", CodeBadParameters},
		{"servicePort a string", strings.Replace(seedService, `"servicePort": 8899`, `"servicePort": "8899"`, 1), "json decode failed", CodeJSONDecode},
		{"not JSON", `{"kind": "service",`, "json decode failed", CodeJSONDecode},
		{"bad label", strings.Replace(seedService, `"BCSGROUP"`, `"BCS GROUP"`, 1), "labels", CodeBadParameters},
	} {
		_, err := Translate(target(t, KindService, "defaultGroup"), []byte(tc.body))
		if err == nil || err.Code != tc.code || err.Status != 400 || !strings.Contains(err.Message, tc.want) {
			t.Errorf("%s: %v, want code %d with %q", tc.name, err, tc.code, tc.want)
		}
	}
}

// Create, update of a missing one, update keeping what the cluster gave
// the Service, delete (of a missing one: success), on a fake client.
func TestServiceRoutes(t *testing.T) {
	ctx := context.Background()
	tg := target(t, KindService, "defaultGroup")
	obj, err := Translate(tg, []byte(seedService))
	if err != nil {
		t.Fatal(err)
	}
	kube := fake.NewSimpleClientset()
	c := objects{kube: kube, target: tg}
	if err := c.update(ctx, obj); err == nil || err.Code != CodeNotFound || err.Status != 404 {
		t.Errorf("update of a missing service: %v", err)
	}
	if err := c.delete(ctx, "service-test"); err != nil {
		t.Errorf("delete of a missing service: %v, want success as in the original", err)
	}
	if err := c.create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	if err := c.create(ctx, obj); err == nil || err.Code != CodeExists || err.Status != 409 {
		t.Errorf("create twice: %v", err)
	}
	// A cluster IP given since stays through an update.
	svc, _ := kube.CoreV1().Services(tg.KubeNamespace).Get(ctx, "service-test", metav1.GetOptions{})
	svc.Spec.ClusterIP, svc.Spec.ClusterIPs = "10.96.0.10", []string{"10.96.0.10"}
	if _, err := kube.CoreV1().Services(tg.KubeNamespace).Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	updated, terr := Translate(tg, []byte(strings.Replace(seedService, "8899", "9000", 1)))
	if terr != nil {
		t.Fatal(terr)
	}
	if err := c.update(ctx, updated); err != nil {
		t.Fatal(err)
	}
	svc, _ = kube.CoreV1().Services(tg.KubeNamespace).Get(ctx, "service-test", metav1.GetOptions{})
	if svc.Spec.Ports[0].Port != 9000 || svc.Spec.ClusterIP != "10.96.0.10" {
		t.Errorf("after update: %+v", svc.Spec)
	}
	if view := FromService("defaultGroup", svc); !reflect.DeepEqual(view.Spec.ClusterIP, []string{"10.96.0.10"}) || view.Spec.Ports[0].Port != 9000 {
		t.Errorf("view after update: %+v", view.Spec)
	}
	if err := c.delete(ctx, "service-test"); err != nil {
		t.Fatal(err)
	}
	if _, gerr := kube.CoreV1().Services(tg.KubeNamespace).Get(ctx, "service-test", metav1.GetOptions{}); !apierrors.IsNotFound(gerr) {
		t.Errorf("after delete: %v", gerr)
	}
}

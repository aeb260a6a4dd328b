package serviceresolve

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

func service(mod func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "hooks", Name: "hook"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "hook"},
			Ports:    []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt32(8443)}},
		},
	}
	if mod != nil {
		mod(s)
	}
	return s
}

func pod(name, ip string, mod func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "hooks", Name: name, Labels: map[string]string{"app": "hook"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{
			{Name: "web", ContainerPort: 9443}, {Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
		}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
	if mod != nil {
		mod(p)
	}
	return p
}

func TestEndpoint(t *testing.T) {
	now := metav1.Now()
	notReady := func(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }
	cases := []struct {
		name     string
		svc      *corev1.Service
		pods     []*corev1.Pod
		port     int32
		host     string
		target   int32
		errorHas string
	}{
		{name: "port number", svc: service(nil), pods: []*corev1.Pod{pod("a", "10.0.0.1", nil)}, port: 443, host: "10.0.0.1", target: 8443},
		{name: "port 0 is the first", svc: service(nil), pods: []*corev1.Pod{pod("a", "10.0.0.1", nil)}, host: "10.0.0.1", target: 8443},
		{name: "unset target port is the port", svc: service(func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.IntOrString{} }),
			pods: []*corev1.Pod{pod("a", "10.0.0.1", nil)}, port: 443, host: "10.0.0.1", target: 443},
		{name: "named target port", svc: service(func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("web") }),
			pods: []*corev1.Pod{pod("a", "10.0.0.1", nil)}, port: 443, host: "10.0.0.1", target: 9443},
		{name: "named target port of another protocol", svc: service(func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("dns") }),
			pods: []*corev1.Pod{pod("a", "10.0.0.1", nil)}, port: 443, errorHas: "no ready endpoint"},
		{name: "second port", svc: service(func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "other", Port: 8080, TargetPort: intstr.FromInt32(80)})
		}), pods: []*corev1.Pod{pod("a", "10.0.0.1", nil)}, port: 8080, host: "10.0.0.1", target: 80},
		{name: "no such port", svc: service(nil), pods: []*corev1.Pod{pod("a", "10.0.0.1", nil)}, port: 8443, errorHas: "service hooks/hook has no port 8443"},
		{name: "no ports", svc: service(func(s *corev1.Service) { s.Spec.Ports = nil }), errorHas: "has no ports"},
		{name: "not ready, terminating, no IP, other labels, other namespace, pending are skipped", svc: service(nil), pods: []*corev1.Pod{
			pod("a", "10.0.0.1", notReady),
			pod("b", "10.0.0.2", func(p *corev1.Pod) { p.DeletionTimestamp = &now }),
			pod("c", "", nil),
			pod("d", "10.0.0.4", func(p *corev1.Pod) { p.Labels = map[string]string{"app": "other"} }),
			pod("e", "10.0.0.5", func(p *corev1.Pod) { p.Namespace = "other" }),
			pod("f", "10.0.0.6", func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }),
			pod("g", "10.0.0.7", func(p *corev1.Pod) { p.Status.Conditions = nil }),
			pod("h", "10.0.0.8", nil),
		}, port: 443, host: "10.0.0.8", target: 8443},
		{name: "no ready endpoint names the service", svc: service(nil), pods: []*corev1.Pod{pod("a", "10.0.0.1", notReady)}, port: 443,
			errorHas: "service hooks/hook has no ready endpoint for port 443"},
		{name: "no selector", svc: service(func(s *corev1.Service) { s.Spec.Selector = nil }), pods: []*corev1.Pod{pod("a", "10.0.0.1", nil)},
			port: 443, errorHas: "service hooks/hook has no selector"},
		{name: "external name", svc: service(func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName, s.Spec.Selector = corev1.ServiceTypeExternalName, "hook.example.com", nil
		}), port: 443, host: "hook.example.com", target: 443},
		{name: "external name without ports", svc: service(func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName, s.Spec.Ports = corev1.ServiceTypeExternalName, "hook.example.com", nil
		}), port: 8443, host: "hook.example.com", target: 8443},
		{name: "external name empty", svc: service(func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeExternalName }), port: 443,
			errorHas: "without an externalName"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			host, target, err := Endpoint(c.svc, c.pods, c.port)
			if c.errorHas != "" {
				if err == nil || !strings.Contains(err.Error(), c.errorHas) {
					t.Fatalf("Endpoint: %q, %d, %v; want an error with %q", host, target, err, c.errorHas)
				}
				return
			}
			if err != nil || host != c.host || target != c.target {
				t.Fatalf("Endpoint: %q, %d, %v; want %q, %d", host, target, err, c.host, c.target)
			}
		})
	}
}

func TestEndpointPicksAmongReady(t *testing.T) {
	pods := []*corev1.Pod{pod("a", "10.0.0.1", nil), pod("b", "10.0.0.2", nil), pod("c", "10.0.0.3", nil)}
	seen := map[string]bool{}
	for range 200 {
		host, _, err := Endpoint(service(nil), pods, 443)
		if err != nil {
			t.Fatal(err)
		}
		seen[host] = true
	}
	if len(seen) != 3 {
		t.Errorf("picked %v; want each of the 3 endpoints some time", seen)
	}
}

func TestResolver(t *testing.T) {
	services := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	pods := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	if err := services.Add(service(nil)); err != nil {
		t.Fatal(err)
	}
	if err := pods.Add(pod("a", "10.0.0.1", nil)); err != nil {
		t.Fatal(err)
	}
	if err := pods.Add(pod("b", "fd00::1", func(p *corev1.Pod) { p.Namespace = "other" })); err != nil {
		t.Fatal(err)
	}
	r := NewResolver(corelisters.NewServiceLister(services), corelisters.NewPodLister(pods))
	u, err := r.ResolveEndpoint("hooks", "hook", 443)
	if err != nil || u.String() != "https://10.0.0.1:8443" {
		t.Errorf("ResolveEndpoint: %v, %v; want https://10.0.0.1:8443", u, err)
	}
	if _, err := r.ResolveEndpoint("hooks", "missing", 443); err == nil || !strings.Contains(err.Error(), "service hooks/missing not found") {
		t.Errorf("ResolveEndpoint of a missing service: %v", err)
	}
	if err := services.Add(service(func(s *corev1.Service) { s.Namespace = "other" })); err != nil {
		t.Fatal(err)
	}
	u, err = r.ResolveEndpoint("other", "hook", 0)
	if err != nil || u.String() != "https://[fd00::1]:8443" {
		t.Errorf("ResolveEndpoint over IPv6: %v, %v", u, err)
	}
}

// TestLazy: the informers start on the first resolve, not before.
func TestLazy(t *testing.T) {
	client := fake.NewClientset(service(nil), pod("a", "10.0.0.1", nil))
	factory := informers.NewSharedInformerFactory(client, 0)
	stop := make(chan struct{})
	defer close(stop)
	l := NewLazy(factory, stop)
	factory.Start(stop) // the server starts its factory: nothing watches pods yet
	if started := factory.WaitForCacheSync(stop); len(started) != 0 {
		t.Fatalf("informers before the first resolve: %v", started)
	}
	u, err := l.ResolveEndpoint("hooks", "hook", 443)
	if err != nil || u.String() != "https://10.0.0.1:8443" {
		t.Errorf("ResolveEndpoint: %v, %v; want https://10.0.0.1:8443", u, err)
	}
}

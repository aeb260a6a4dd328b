// Package serviceresolve finds where a Service's traffic goes without
// Endpoints or EndpointSlices (Podyard has none yet): to a Ready,
// non-terminating Pod with an IP that the Service's selector matches, on
// the target port of the Service port asked for. Admission webhooks given
// by a Service (BCS's and Kubernetes') are called there. Endpoint is pure;
// Resolver reads the Service and its Pods from informer listers and has
// the shape of k8s.io/apiserver/pkg/util/webhook.ServiceResolver; Lazy
// starts those informers on first use.
package serviceresolve

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Endpoint is where svc's port (its spec.ports[].port; 0 for its only or
// first port) leads: the IP of one of pods that is a ready endpoint of svc
// and the port on it. An ExternalName Service leads to its external name.
// Among several endpoints one is picked at random.
func Endpoint(svc *corev1.Service, pods []*corev1.Pod, port int32) (host string, targetPort int32, err error) {
	id := svc.Namespace + "/" + svc.Name
	sp, err := servicePort(svc, port)
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		if svc.Spec.ExternalName == "" {
			return "", 0, fmt.Errorf("service %s: type ExternalName without an externalName", id)
		}
		switch {
		case err == nil:
			return svc.Spec.ExternalName, sp.Port, nil
		case port != 0: // an ExternalName Service need not list its ports
			return svc.Spec.ExternalName, port, nil
		}
		return "", 0, err
	}
	if err != nil {
		return "", 0, err
	}
	if len(svc.Spec.Selector) == 0 {
		return "", 0, fmt.Errorf("service %s has no selector, so no endpoints (Podyard has no Endpoints objects)", id)
	}
	selector := labels.SelectorFromSet(svc.Spec.Selector)
	type endpoint struct {
		host string
		port int32
	}
	var found []endpoint
	for _, p := range pods {
		if p.Namespace != svc.Namespace || !selector.Matches(labels.Set(p.Labels)) || !ready(p) {
			continue
		}
		if tp, ok := podPort(p, sp); ok {
			found = append(found, endpoint{p.Status.PodIP, tp})
		}
	}
	if len(found) == 0 {
		return "", 0, fmt.Errorf("service %s has no ready endpoint for port %d", id, sp.Port)
	}
	sort.Slice(found, func(i, j int) bool { return found[i].host < found[j].host })
	e := found[rand.IntN(len(found))]
	return e.host, e.port, nil
}

// servicePort is svc's port numbered port, or its only or first for 0.
func servicePort(svc *corev1.Service, port int32) (corev1.ServicePort, error) {
	id := svc.Namespace + "/" + svc.Name
	if port == 0 {
		if len(svc.Spec.Ports) == 0 {
			return corev1.ServicePort{}, fmt.Errorf("service %s has no ports", id)
		}
		return svc.Spec.Ports[0], nil
	}
	for _, sp := range svc.Spec.Ports {
		if sp.Port == port {
			return sp, nil
		}
	}
	return corev1.ServicePort{}, fmt.Errorf("service %s has no port %d", id, port)
}

// ready says p serves: Ready, not terminating, with an IP.
func ready(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.PodIP == "" || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podPort is the port on p that sp targets: a number as it is (unset: the
// service port), a name through p's container ports of sp's protocol.
func podPort(p *corev1.Pod, sp corev1.ServicePort) (int32, bool) {
	tp := sp.TargetPort
	if tp.Type == intstr.Int {
		if tp.IntVal == 0 {
			return sp.Port, true
		}
		return tp.IntVal, true
	}
	if tp.StrVal == "" {
		return sp.Port, true
	}
	protocol := sp.Protocol
	if protocol == "" {
		protocol = corev1.ProtocolTCP
	}
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			cpProtocol := cp.Protocol
			if cpProtocol == "" {
				cpProtocol = corev1.ProtocolTCP
			}
			if cp.Name == tp.StrVal && cpProtocol == protocol {
				return cp.ContainerPort, true
			}
		}
	}
	return 0, false
}

// Resolver resolves Services from informer listers.
type Resolver struct {
	services corelisters.ServiceLister
	pods     corelisters.PodLister
}

// NewResolver returns a resolver reading services and pods.
func NewResolver(services corelisters.ServiceLister, pods corelisters.PodLister) *Resolver {
	return &Resolver{services: services, pods: pods}
}

// ResolveEndpoint is https://host:port of an endpoint of the Service
// namespace/name's port (see Endpoint).
func (r *Resolver) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	svc, err := r.services.Services(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("service %s/%s not found", namespace, name)
	} else if err != nil {
		return nil, fmt.Errorf("service %s/%s: %w", namespace, name, err)
	}
	var pods []*corev1.Pod
	if len(svc.Spec.Selector) > 0 && svc.Spec.Type != corev1.ServiceTypeExternalName {
		pods, err = r.pods.Pods(namespace).List(labels.SelectorFromSet(svc.Spec.Selector))
		if err != nil {
			return nil, fmt.Errorf("pods of service %s/%s: %w", namespace, name, err)
		}
	}
	host, targetPort, err := Endpoint(svc, pods, port)
	if err != nil {
		return nil, err
	}
	return &url.URL{Scheme: "https", Host: net.JoinHostPort(host, strconv.Itoa(int(targetPort)))}, nil
}

// syncTimeout bounds the wait for a Lazy resolver's first lists.
const syncTimeout = 10 * time.Second

// Lazy is a Resolver over Service and Pod informers of a factory that start
// the first time a Service is resolved, then stay current until stop: a
// server whose webhooks never name a Service does not watch every Pod (that
// watch costs each pod write an event encoded, sent and decoded).
type Lazy struct {
	factory informers.SharedInformerFactory
	stop    <-chan struct{}

	once     sync.Once
	resolver *Resolver
	synced   []cache.InformerSynced
}

// NewLazy returns a resolver whose informers come from factory.
func NewLazy(factory informers.SharedInformerFactory, stop <-chan struct{}) *Lazy {
	return &Lazy{factory: factory, stop: stop}
}

// ResolveEndpoint is Resolver.ResolveEndpoint once the informers have
// synced (at most syncTimeout on first use).
func (l *Lazy) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	l.once.Do(func() {
		services, pods := l.factory.Core().V1().Services(), l.factory.Core().V1().Pods()
		l.resolver = NewResolver(services.Lister(), pods.Lister())
		l.synced = []cache.InformerSynced{services.Informer().HasSynced, pods.Informer().HasSynced}
		l.factory.Start(l.stop)
	})
	ctx, cancel := context.WithTimeout(context.Background(), syncTimeout)
	defer cancel()
	if !cache.WaitForCacheSync(ctx.Done(), l.synced...) {
		return nil, fmt.Errorf("service %s/%s: the Service and Pod caches have not synced", namespace, name)
	}
	return l.resolver.ResolveEndpoint(namespace, name, port)
}

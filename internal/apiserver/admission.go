package apiserver

import (
	"fmt"
	"io"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle"
	mutatingpolicy "k8s.io/apiserver/pkg/admission/plugin/policy/mutating"
	validatingpolicy "k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	webhookinit "k8s.io/apiserver/pkg/admission/plugin/webhook/initializer"
	mutatingwebhook "k8s.io/apiserver/pkg/admission/plugin/webhook/mutating"
	validatingwebhook "k8s.io/apiserver/pkg/admission/plugin/webhook/validating"
	"k8s.io/apiserver/pkg/registry/generic"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	admissionregistrationinstall "k8s.io/kubernetes/pkg/apis/admissionregistration/install"
	admissionregistrationrest "k8s.io/kubernetes/pkg/registry/admissionregistration/rest"

	"github.com/podyard/podyard/internal/serviceresolve"
)

func init() {
	// Kubernetes' admissionregistration registry works on its internal
	// types, in its own scheme: installed there as kube-apiserver does.
	admissionregistrationinstall.Install(legacyscheme.Scheme)
}

// applyAdmission installs kube-apiserver's admission chain, with its
// plugins from k8s.io/apiserver: NamespaceLifecycle (missing or terminating
// namespaces; Podyard's system namespaces are immortal), then
// MutatingAdmissionPolicy and MutatingAdmissionWebhook, then
// ValidatingAdmissionPolicy and ValidatingAdmissionWebhook. Webhooks given
// by a Service reach one of its ready pods (internal/serviceresolve: there
// are no Endpoints yet); the resolver is returned for the BCS dialect's
// webhooks. stop ends the resolver's informers.
func applyAdmission(c *genericapiserver.RecommendedConfig, stop <-chan struct{}) (*serviceresolve.Lazy, error) {
	client, err := kubernetes.NewForConfig(c.LoopbackClientConfig)
	if err != nil {
		return nil, fmt.Errorf("apiserver: loopback client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(c.LoopbackClientConfig)
	if err != nil {
		return nil, fmt.Errorf("apiserver: loopback client: %w", err)
	}
	c.SharedInformerFactory = informers.NewSharedInformerFactory(client, 10*time.Minute)

	opts := genericoptions.NewAdmissionOptions()
	opts.Plugins = admission.NewPlugins()
	opts.Plugins.Register(lifecycle.PluginName, func(io.Reader) (admission.Interface, error) {
		return lifecycle.NewLifecycle(sets.New(ImmortalNamespaces...))
	})
	mutatingpolicy.Register(opts.Plugins)
	mutatingwebhook.Register(opts.Plugins)
	validatingpolicy.Register(opts.Plugins)
	validatingwebhook.Register(opts.Plugins)

	services := serviceresolve.NewLazy(c.SharedInformerFactory, stop)
	auth := webhook.NewDefaultAuthenticationInfoResolverWrapper(nil, nil, c.LoopbackClientConfig, nil)
	if err := opts.ApplyTo(&c.Config, c.SharedInformerFactory, client, dyn, utilfeature.DefaultFeatureGate, c.EffectiveVersion,
		webhookinit.NewPluginInitializer(auth, services)); err != nil {
		return nil, fmt.Errorf("apiserver: admission: %w", err)
	}
	return services, nil
}

// installAdmissionRegistration serves admissionregistration.k8s.io/v1
// (webhook configurations, admission policies and their bindings) with
// Kubernetes' own registry, validation and printing. That registry speaks
// Kubernetes' internal types, so it gets a storage factory over the scheme
// that has them.
func installAdmissionRegistration(server *genericapiserver.GenericAPIServer, c *genericapiserver.RecommendedConfig, etcd *genericoptions.EtcdOptions, inProcess *inProcessStorage) error {
	resources := serverstorage.NewResourceConfig()
	resources.EnableVersions(admissionregistrationv1.SchemeGroupVersion)
	factory := serverstorage.NewDefaultStorageFactory(etcd.StorageConfig, etcd.DefaultStorageMediaType, legacyscheme.Codecs,
		serverstorage.NewDefaultResourceEncodingConfigForEffectiveVersion(legacyscheme.Scheme, c.EffectiveVersion), resources, nil)
	var opts generic.RESTOptionsGetter = &genericoptions.StorageFactoryRestOptionsFactory{Options: *etcd, StorageFactory: factory}
	if inProcess != nil {
		opts = inProcess.wrap(opts)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(c.LoopbackClientConfig)
	if err != nil {
		return fmt.Errorf("apiserver: loopback client: %w", err)
	}
	group, err := admissionregistrationrest.RESTStorageProvider{Authorizer: c.Authorization.Authorizer, DiscoveryClient: disc}.NewRESTStorage(resources, opts)
	if err != nil {
		return fmt.Errorf("apiserver: admissionregistration storage: %w", err)
	}
	if err := server.InstallAPIGroup(&group); err != nil {
		return fmt.Errorf("apiserver: install admissionregistration.k8s.io/v1: %w", err)
	}
	return nil
}

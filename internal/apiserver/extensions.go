package apiserver

import (
	"context"
	"fmt"
	"sort"
	"sync"

	apiextensionshelpers "k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsv1beta1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1beta1"
	apiextensionsapiserver "k8s.io/apiextensions-apiserver/pkg/apiserver"
	apiextensionsoptions "k8s.io/apiextensions-apiserver/pkg/cmd/server/options"
	openapicontroller "k8s.io/apiextensions-apiserver/pkg/controller/openapi"
	openapiv3controller "k8s.io/apiextensions-apiserver/pkg/controller/openapiv3"
	extensionsopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/version"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/tools/cache"
	"k8s.io/kube-openapi/pkg/aggregator"
	"k8s.io/kube-openapi/pkg/builder"
	"k8s.io/kube-openapi/pkg/builder3"
	"k8s.io/kube-openapi/pkg/common/restfuladapter"
)

// extensionsGroupPath is the apiextensions group's document under /openapi/v3.
const extensionsGroupPath = "apis/" + apiextensionsv1.GroupName + "/" + "v1"

// newExtensionsConfig configures k8s.io/apiextensions-apiserver, the server
// Podyard's own delegates to (as kube-apiserver does): CustomResourceDefinitions
// and the custom resources they define, with the same authentication,
// authorization, admission and etcd as every other resource. It shares c's
// aggregated discovery, so /apis lists the CRD groups beside the built-in ones.
// Conversion webhooks given by a Service are resolved by services.
func newExtensionsConfig(c *genericapiserver.RecommendedConfig, etcd *genericoptions.EtcdOptions, inProcess *inProcessStorage, services webhook.ServiceResolver) (*apiextensionsapiserver.Config, error) {
	generic := c.Config // a shallow copy, as kube-apiserver makes
	generic.PostStartHooks = map[string]genericapiserver.PostStartHookConfigEntry{}
	generic.RESTOptionsGetter = nil

	crdEtcd := *etcd
	crdEtcd.StorageConfig.Codec = apiextensionsapiserver.Codecs.LegacyCodec(apiextensionsv1beta1.SchemeGroupVersion, apiextensionsv1.SchemeGroupVersion)
	// CRDs are stored as v1beta1, kube-apiserver's choice (smaller; see issue 82292).
	crdEtcd.StorageConfig.EncodeVersioner = runtime.NewMultiGroupVersioner(apiextensionsv1beta1.SchemeGroupVersion, schema.GroupKind{Group: apiextensionsv1beta1.GroupName})
	crdEtcd.SkipHealthEndpoints = true // the server's own etcd checks cover it
	if err := crdEtcd.ApplyTo(&generic); err != nil {
		return nil, fmt.Errorf("apiserver: apiextensions storage: %w", err)
	}
	generic.MergedResourceConfig = apiextensionsapiserver.DefaultAPIResourceConfigSource()

	namer := openapinamer.NewDefinitionNamer(apiextensionsapiserver.Scheme)
	generic.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(extensionsopenapi.GetOpenAPIDefinitions, namer)
	generic.OpenAPIConfig.Info.Title = "Podyard"
	generic.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(extensionsopenapi.GetOpenAPIDefinitions, namer)
	generic.OpenAPIV3Config.Info.Title = "Podyard"
	// The server in front serves /openapi/*; the delegate's own documents and
	// CRD OpenAPI controllers would be built for nobody (publishExtensionsOpenAPI).
	generic.SkipOpenAPIInstallation = true

	crdOptions := apiextensionsoptions.NewCRDRESTOptionsGetter(crdEtcd, generic.ResourceTransformers, generic.StorageObjectCountTracker)
	if inProcess != nil {
		generic.RESTOptionsGetter = inProcess.wrap(generic.RESTOptionsGetter)
		crdOptions = inProcess.wrap(crdOptions)
	}
	return &apiextensionsapiserver.Config{
		GenericConfig: &genericapiserver.RecommendedConfig{Config: generic, SharedInformerFactory: c.SharedInformerFactory},
		ExtraConfig: apiextensionsapiserver.ExtraConfig{
			CRDRESTOptionsGetter: crdOptions,
			MasterCount:          1,
			ServiceResolver:      services,
			AuthResolverWrapper:  webhook.NewDefaultAuthenticationInfoResolverWrapper(nil, nil, c.LoopbackClientConfig, nil),
		},
	}, nil
}

// publishExtensionsOpenAPI makes server's /openapi/v2 and /openapi/v3 (the
// documents kubectl reads for explain and validation) describe the
// apiextensions group and every established CRD, as kube-apiserver's
// aggregator does for its delegates: the apiextensions group's documents
// are built from its server's routes with its OpenAPI config (c), and the
// library's CRD OpenAPI controllers keep the CRDs' current on server's
// documents. Call it after PrepareRun.
func publishExtensionsOpenAPI(ctx context.Context, server *genericapiserver.GenericAPIServer, extensions *apiextensionsapiserver.CustomResourceDefinitions, c *genericapiserver.Config) error {
	routes := restfuladapter.AdaptWebServices(extensions.GenericAPIServer.Handler.GoRestfulContainer.RegisteredWebServices())
	v3, err := builder3.BuildOpenAPISpecFromRoutes(routes, c.OpenAPIV3Config)
	if err != nil {
		return fmt.Errorf("apiserver: apiextensions OpenAPI v3: %w", err)
	}
	server.OpenAPIV3VersionedService.UpdateGroupVersion(extensionsGroupPath, v3)

	// The CRD controller's base document: the apiextensions group's, with the
	// server's own merged into it (read, not changed).
	static, err := builder.BuildOpenAPISpecFromRoutes(routes, c.OpenAPIConfig)
	if err != nil {
		return fmt.Errorf("apiserver: apiextensions OpenAPI v2: %w", err)
	}
	if err := aggregator.MergeSpecsIgnorePathConflictRenamingDefinitionsAndParameters(static, server.StaticOpenAPISpec); err != nil {
		return fmt.Errorf("apiserver: merging the apiextensions OpenAPI: %w", err)
	}
	crds := extensions.Informers.Apiextensions().V1().CustomResourceDefinitions()
	go openapicontroller.NewController(crds).Run(static, server.OpenAPIVersionedService, ctx.Done())
	go openapiv3controller.NewController(crds).Run(server.OpenAPIV3VersionedService, ctx.Done())
	return nil
}

// publishCRDGroups keeps the established CRDs' groups on server's
// unaggregated /apis (aggregated discovery already has them): clients that
// do not ask for aggregated discovery read that list, which kube-apiserver's
// aggregator merges from its delegates.
func publishCRDGroups(server *genericapiserver.GenericAPIServer, extensions *apiextensionsapiserver.CustomResourceDefinitions) error {
	server.DiscoveryGroupManager.AddGroup(metav1.APIGroup{
		Name:             apiextensionsv1.GroupName,
		Versions:         []metav1.GroupVersionForDiscovery{{GroupVersion: apiextensionsv1.SchemeGroupVersion.String(), Version: "v1"}},
		PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: apiextensionsv1.SchemeGroupVersion.String(), Version: "v1"},
	})
	crds := extensions.Informers.Apiextensions().V1().CustomResourceDefinitions()
	var mu sync.Mutex
	published := map[string]bool{}
	resync := func() {
		mu.Lock()
		defer mu.Unlock()
		all, err := crds.Lister().List(labels.Everything())
		if err != nil {
			return
		}
		current := map[string]bool{}
		for _, g := range crdGroups(all) {
			server.DiscoveryGroupManager.AddGroup(g)
			current[g.Name] = true
		}
		for name := range published {
			if !current[name] {
				server.DiscoveryGroupManager.RemoveGroup(name)
			}
		}
		published = current
	}
	_, err := crds.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { resync() },
		UpdateFunc: func(any, any) { resync() },
		DeleteFunc: func(any) { resync() },
	})
	if err != nil {
		return fmt.Errorf("apiserver: CRD discovery: %w", err)
	}
	return nil
}

// crdGroups are the API groups the established CRDs make, each with its
// served versions in Kubernetes' order of preference (v2 > v1 > v1beta1 >
// v1alpha1), the first preferred.
func crdGroups(crds []*apiextensionsv1.CustomResourceDefinition) []metav1.APIGroup {
	versions := map[string]sets.Set[string]{}
	for _, crd := range crds {
		if !apiextensionshelpers.IsCRDConditionTrue(crd, apiextensionsv1.Established) {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served {
				continue
			}
			if versions[crd.Spec.Group] == nil {
				versions[crd.Spec.Group] = sets.New[string]()
			}
			versions[crd.Spec.Group].Insert(v.Name)
		}
	}
	var groups []metav1.APIGroup
	for _, name := range sets.List(sets.KeySet(versions)) {
		vs := sets.List(versions[name])
		sort.SliceStable(vs, func(i, j int) bool { return version.CompareKubeAwareVersionStrings(vs[i], vs[j]) > 0 })
		g := metav1.APIGroup{Name: name}
		for _, v := range vs {
			g.Versions = append(g.Versions, metav1.GroupVersionForDiscovery{GroupVersion: name + "/" + v, Version: v})
		}
		g.PreferredVersion = g.Versions[0]
		groups = append(groups, g)
	}
	return groups
}

package apiserver

import (
	"crypto/tls"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"

	bcsv1alpha1 "github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	podyardv1alpha1 "github.com/podyard/podyard/internal/apis/podyard/v1alpha1"
	"github.com/podyard/podyard/internal/nodeclient"
	admissionwebhookregistry "github.com/podyard/podyard/internal/registry/admissionwebhook"
	"github.com/podyard/podyard/internal/registry/agentsetting"
	"github.com/podyard/podyard/internal/registry/application"
	"github.com/podyard/podyard/internal/registry/applicationversion"
	commandregistry "github.com/podyard/podyard/internal/registry/command"
	"github.com/podyard/podyard/internal/registry/configmap"
	deploymentregistry "github.com/podyard/podyard/internal/registry/deployment"
	"github.com/podyard/podyard/internal/registry/event"
	"github.com/podyard/podyard/internal/registry/lease"
	"github.com/podyard/podyard/internal/registry/namespace"
	"github.com/podyard/podyard/internal/registry/node"
	"github.com/podyard/podyard/internal/registry/pod"
	"github.com/podyard/podyard/internal/registry/review"
	"github.com/podyard/podyard/internal/registry/runcommand"
	"github.com/podyard/podyard/internal/registry/secret"
	"github.com/podyard/podyard/internal/registry/service"
	"github.com/podyard/podyard/internal/registry/serviceaccount"
	"github.com/podyard/podyard/internal/runcommand/archive"
)

// installAPIs installs the core group under /api and the named groups under
// /apis, and returns how the server reaches node agents.
// agentCert is the client certificate the server presents to node agents.
func installAPIs(server *genericapiserver.GenericAPIServer, scheme *Scheme, opts generic.RESTOptionsGetter, authz authorizer.Authorizer, rules authorizer.RuleResolver, agentCert tls.Certificate, contextLimits archive.Limits) (*nodeclient.Connector, error) {
	core, agents, err := coreStorage(scheme, opts, agentCert)
	if err != nil {
		return nil, fmt.Errorf("apiserver: core storage: %w", err)
	}
	server.Handler.NonGoRestfulMux.HandlePrefix(legacyNodeProxyPrefix, legacyNodeProxy(agents, authz, scheme.Codecs))
	legacy := genericapiserver.NewDefaultAPIGroupInfo("", scheme.Scheme, scheme.ParameterCodec, scheme.Codecs)
	legacy.VersionedResourcesStorageMap[corev1.SchemeGroupVersion.Version] = core
	if err := server.InstallLegacyAPIGroup(genericapiserver.DefaultLegacyAPIPrefix, &legacy); err != nil {
		return nil, fmt.Errorf("apiserver: install core/v1: %w", err)
	}

	leases, err := lease.NewStorage(scheme, opts)
	if err != nil {
		return nil, fmt.Errorf("apiserver: lease storage: %w", err)
	}
	coordination := genericapiserver.NewDefaultAPIGroupInfo(coordinationv1.GroupName, scheme.Scheme, scheme.ParameterCodec, scheme.Codecs)
	coordination.VersionedResourcesStorageMap[coordinationv1.SchemeGroupVersion.Version] = map[string]rest.Storage{"leases": leases}
	if err := server.InstallAPIGroup(&coordination); err != nil {
		return nil, fmt.Errorf("apiserver: install coordination.k8s.io/v1: %w", err)
	}

	authentication := genericapiserver.NewDefaultAPIGroupInfo(authenticationv1.GroupName, scheme.Scheme, scheme.ParameterCodec, scheme.Codecs)
	authentication.VersionedResourcesStorageMap[authenticationv1.SchemeGroupVersion.Version] = map[string]rest.Storage{
		"selfsubjectreviews": &review.WhoAmIREST{},
	}
	authorization := genericapiserver.NewDefaultAPIGroupInfo(authorizationv1.GroupName, scheme.Scheme, scheme.ParameterCodec, scheme.Codecs)
	authorization.VersionedResourcesStorageMap[authorizationv1.SchemeGroupVersion.Version] = map[string]rest.Storage{
		"selfsubjectaccessreviews": &review.AccessREST{Authorizer: authz},
		"selfsubjectrulesreviews":  &review.RulesREST{Resolver: rules},
	}
	if err := server.InstallAPIGroups(&authentication, &authorization); err != nil {
		return nil, fmt.Errorf("apiserver: install authentication.k8s.io/v1 and authorization.k8s.io/v1: %w", err)
	}

	commands, err := runcommand.NewStorage(scheme, opts, contextLimits)
	if err != nil {
		return nil, fmt.Errorf("apiserver: runcommand storage: %w", err)
	}
	own := genericapiserver.NewDefaultAPIGroupInfo(podyardv1alpha1.GroupName, scheme.Scheme, scheme.ParameterCodec, scheme.Codecs)
	own.NegotiatedSerializer = withoutProtobuf{own.NegotiatedSerializer}
	own.VersionedResourcesStorageMap[podyardv1alpha1.SchemeGroupVersion.Version] = map[string]rest.Storage{
		"runcommands":        commands.RunCommand,
		"runcommands/status": commands.Status,
	}
	if err := server.InstallAPIGroup(&own); err != nil {
		return nil, fmt.Errorf("apiserver: install podyard.io/v1alpha1: %w", err)
	}

	apps, err := application.NewStorage(scheme, opts)
	if err != nil {
		return nil, fmt.Errorf("apiserver: application storage: %w", err)
	}
	versions, err := applicationversion.NewStorage(scheme, opts)
	if err != nil {
		return nil, fmt.Errorf("apiserver: application version storage: %w", err)
	}
	settings, err := agentsetting.NewStorage(scheme, opts)
	if err != nil {
		return nil, fmt.Errorf("apiserver: agent setting storage: %w", err)
	}
	deployments, err := deploymentregistry.NewStorage(scheme, opts)
	if err != nil {
		return nil, fmt.Errorf("apiserver: deployment storage: %w", err)
	}
	bcsCommands, err := commandregistry.NewStorage(scheme, opts)
	if err != nil {
		return nil, fmt.Errorf("apiserver: command storage: %w", err)
	}
	bcsWebhooks, err := admissionwebhookregistry.NewStorage(scheme, opts)
	if err != nil {
		return nil, fmt.Errorf("apiserver: admission webhook storage: %w", err)
	}
	bcsGroup := genericapiserver.NewDefaultAPIGroupInfo(bcsv1alpha1.GroupName, scheme.Scheme, scheme.ParameterCodec, scheme.Codecs)
	bcsGroup.NegotiatedSerializer = withoutProtobuf{bcsGroup.NegotiatedSerializer}
	bcsGroup.VersionedResourcesStorageMap[bcsv1alpha1.SchemeGroupVersion.Version] = map[string]rest.Storage{
		// "app": what kubectl users of BCS expect; no built-in resource uses it.
		"applications":         kubectlNames(apps.Application, []string{"app"}, "all", "bcs"),
		"applications/status":  apps.Status,
		"applicationversions":  versions,
		"agentsettings":        settings.AgentSetting,
		"agentsettings/status": settings.Status,
		// "bcsdeploy": "deploy" is apps/v1 Deployments' in kubectl.
		"deployments":        kubectlNames(deployments.Deployment, []string{"bcsdeploy"}, "all", "bcs"),
		"deployments/status": deployments.Status,
		"commands":           kubectlNames(bcsCommands.Command, nil, "bcs"),
		"commands/status":    bcsCommands.Status,
		"admissionwebhooks":  kubectlNames(bcsWebhooks, nil, "bcs"),
	}
	if err := server.InstallAPIGroup(&bcsGroup); err != nil {
		return nil, fmt.Errorf("apiserver: install bcs.podyard.io/v1alpha1: %w", err)
	}
	return agents, nil
}

// coreStorage builds every core/v1 endpoint, keyed by its path under a namespace or the root.
func coreStorage(scheme *Scheme, opts generic.RESTOptionsGetter, agentCert tls.Certificate) (map[string]rest.Storage, *nodeclient.Connector, error) {
	nodes, err := node.NewStorage(scheme, opts)
	if err != nil {
		return nil, nil, err
	}
	agents := nodeclient.New(nodes.Node, agentCert)
	pods, err := pod.NewStorage(scheme, opts, agents)
	if err != nil {
		return nil, nil, err
	}
	namespaces, err := namespace.NewStorage(scheme, opts)
	if err != nil {
		return nil, nil, err
	}
	services, err := service.NewStorage(scheme, opts)
	if err != nil {
		return nil, nil, err
	}
	events, err := event.NewStorage(scheme, opts)
	if err != nil {
		return nil, nil, err
	}
	serviceAccounts, err := serviceaccount.NewStorage(scheme, opts)
	if err != nil {
		return nil, nil, err
	}
	configMaps, err := configmap.NewStorage(scheme, opts)
	if err != nil {
		return nil, nil, err
	}
	secrets, err := secret.NewStorage(scheme, opts)
	if err != nil {
		return nil, nil, err
	}
	return map[string]rest.Storage{
		"pods":                     pods.Pod,
		"pods/status":              pods.Status,
		"pods/ephemeralcontainers": pods.EphemeralContainers,
		"pods/resize":              pods.Resize,
		"pods/binding":             pods.Binding,
		"pods/eviction":            pods.Eviction,
		"pods/log":                 pods.Log,
		"pods/exec":                pods.Exec,
		"pods/attach":              pods.Attach,
		"pods/portforward":         pods.PortForward,
		"namespaces":               namespaces.Namespace, // short name "ns" on the type
		"namespaces/status":        namespaces.Status,
		"namespaces/finalize":      namespaces.Finalize,
		"nodes":                    kubectlNames(nodes.Node, []string{"no"}),
		"nodes/status":             nodes.Status,
		"nodes/proxy":              &node.ProxyREST{Nodes: agents},
		"services":                 kubectlNames(services.Service, []string{"svc"}, "all"),
		"services/status":          services.Status,
		"events":                   kubectlNames(events, []string{"ev"}),
		"serviceaccounts":          kubectlNames(serviceAccounts, []string{"sa"}),
		"configmaps":               kubectlNames(configMaps, []string{"cm"}),
		"secrets":                  secrets,
	}, agents, nil
}

// namedStore adds the short names and categories kubectl resolves
// ("kubectl get po", "kubectl get all") to a store.
type namedStore struct {
	*genericregistry.Store
	shortNames, categories []string
}

func kubectlNames(s *genericregistry.Store, shortNames []string, categories ...string) *namedStore {
	return &namedStore{Store: s, shortNames: shortNames, categories: categories}
}

func (s *namedStore) ShortNames() []string { return s.shortNames }
func (s *namedStore) Categories() []string { return s.categories }

var (
	_ rest.ShortNamesProvider = &namedStore{}
	_ rest.CategoriesProvider = &namedStore{}
)

// withoutProtobuf serves a group whose types have no protobuf encoding
// (Podyard's own, as CRDs) without offering it: a client that accepts
// protobuf first and JSON after (the garbage collector's metadata client
// deleting an Application) then gets JSON, not an error writing the
// answer.
type withoutProtobuf struct{ runtime.NegotiatedSerializer }

func (w withoutProtobuf) SupportedMediaTypes() []runtime.SerializerInfo {
	var out []runtime.SerializerInfo
	for _, s := range w.NegotiatedSerializer.SupportedMediaTypes() {
		if s.MediaType != runtime.ContentTypeProtobuf {
			out = append(out, s)
		}
	}
	return out
}

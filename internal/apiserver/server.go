// Package apiserver is Podyard's API server: the Kubernetes core API for pods
// and its companions, served by k8s.io/apiserver over etcd on one HTTPS port
// with one authentication, authorization and admission chain. Other HTTP
// dialects hang off the same server and share that chain.
package apiserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/endpoints/discovery/aggregated"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	apirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	genericfilters "k8s.io/apiserver/pkg/server/filters"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/podyard/podyard/internal/controller/bcscommand"
	"github.com/podyard/podyard/internal/controller/namespace"
	"github.com/podyard/podyard/internal/dialect/arm"
	"github.com/podyard/podyard/internal/dialect/bcs"
	"github.com/podyard/podyard/internal/etcd"
	"github.com/podyard/podyard/internal/generated/openapi"
	"github.com/podyard/podyard/internal/pki"
	admissionwebhookregistry "github.com/podyard/podyard/internal/registry/admissionwebhook"
	agentsettingregistry "github.com/podyard/podyard/internal/registry/agentsetting"
	applicationregistry "github.com/podyard/podyard/internal/registry/application"
	applicationversionregistry "github.com/podyard/podyard/internal/registry/applicationversion"
	commandregistry "github.com/podyard/podyard/internal/registry/command"
	deploymentregistry "github.com/podyard/podyard/internal/registry/deployment"
	runcommandregistry "github.com/podyard/podyard/internal/registry/runcommand"
	"github.com/podyard/podyard/internal/runcommand"
	"github.com/podyard/podyard/internal/runcommand/archive"
	"github.com/podyard/podyard/internal/version"
)

// ImmortalNamespaces exist from the first start and may not be deleted.
var ImmortalNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease", "podyard-command"}

// SystemNamespacesHook names the post-start hook that creates the
// ImmortalNamespaces; /readyz lists it as poststarthook/<name>.
const SystemNamespacesHook = "podyard-system-namespaces"

// Options configure a Podyard API server.
type Options struct {
	DataDir     string   // credentials, kubeconfig and (embedded) etcd data
	Listen      string   // host:port of the HTTPS listener; port 0 picks a free one
	EtcdServers []string // external etcd client URLs; empty runs etcd embedded under DataDir/etcd
	// EtcdTLS is how to reach external etcd servers over https: our client
	// certificate and the CA that signed theirs. Unused with embedded etcd.
	EtcdTLS etcd.TLS
	// RunCommand configures the AKS Run Command dialect.
	RunCommand RunCommandOptions
	// BCS configures the BCS v4 scheduler dialect.
	BCS bcs.Config
	// RequestTimeout ends a request that takes longer (default: a minute);
	// see longRunning for those it does not apply to.
	RequestTimeout time.Duration
	Logger         *slog.Logger

	// PostStart runs, by name, once the server serves; each gets a privileged
	// loopback client config, how others reach the server, and a context
	// cancelled at shutdown. Each hook is a readiness check
	// (poststarthook/<name>): /readyz fails, and ready is not called, until
	// it has returned. So a hook that sets up what a client may use the
	// moment the server says ready (namespaces, a dialect's objects) blocks
	// until that exists, as the system namespaces' hook does; one that starts
	// long-running work (controllers) starts it in the background and returns.
	PostStart map[string]func(ctx context.Context, loopback *rest.Config, public Endpoint) error
}

// RunCommandOptions configure run commands: the ARM dialect, and how large
// a command's context may unpack.
type RunCommandOptions struct {
	arm.Config
	ContextLimits archive.Limits
}

// Endpoint is how clients elsewhere reach the server.
type Endpoint struct {
	URL   string // https://host:port
	CAPEM []byte // the CA that signed the serving certificate
}

// Ready is what the server tells once /readyz answers ok.
type Ready struct {
	URL        string // https://host:port
	Kubeconfig string // admin kubeconfig path
}

// Run serves until ctx is cancelled, then shuts down: in-flight requests
// finish, then etcd is flushed and closed. ready is called once, when
// /readyz answers ok.
func Run(ctx context.Context, o Options, ready func(Ready)) error {
	log := o.Logger
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("apiserver: listen on %s: %w", o.Listen, err)
	}
	defer ln.Close()
	url := "https://" + dialableAddr(ln.Addr().(*net.TCPAddr))

	host, _, _ := net.SplitHostPort(o.Listen)
	creds, err := pki.Ensure(o.DataDir, []string{host})
	if err != nil {
		return fmt.Errorf("apiserver: %w", err)
	}
	kubeconfig := filepath.Join(o.DataDir, "kubeconfig")
	if err := creds.WriteKubeconfig(kubeconfig, url); err != nil {
		return fmt.Errorf("apiserver: %w", err)
	}

	etcdServers := o.EtcdServers
	var inProcess *inProcessStorage
	if len(etcdServers) == 0 {
		embedded, err := etcd.Start(ctx, etcd.Config{
			DataDir: filepath.Join(o.DataDir, "etcd"),
			Logger:  log,
			TLS:     etcd.TLS{CertFile: creds.EtcdServerCertFile, KeyFile: creds.EtcdServerKeyFile, TrustedCAFile: creds.CACertFile},
		})
		if err != nil {
			return fmt.Errorf("apiserver: %w", err)
		}
		defer embedded.Close()
		etcdServers = embedded.ClientURLs()
		client := embedded.InProcessClient()
		defer client.Close()
		var stopCompactor func()
		inProcess, stopCompactor = newInProcessStorage(ctx, client, etcdServers[0])
		defer stopCompactor()
	}

	scheme, err := NewScheme()
	if err != nil {
		return err
	}
	etcdTLS := o.EtcdTLS
	if len(o.EtcdServers) == 0 {
		etcdTLS = etcd.TLS{CertFile: creds.EtcdClientCertFile, KeyFile: creds.EtcdClientKeyFile, TrustedCAFile: creds.CACertFile}
	}
	commandTokens := &runcommand.Tokens{}
	config, tokens, etcdOptions, err := newConfig(scheme, ln, creds, etcdServers, etcdTLS, inProcess, commandTokens)
	if err != nil {
		return err
	}
	if o.RequestTimeout > 0 {
		config.RequestTimeout = o.RequestTimeout
	}
	services, err := applyAdmission(config, ctx.Done())
	if err != nil {
		return err
	}
	extensionsConfig, err := newExtensionsConfig(config, etcdOptions, inProcess, services)
	if err != nil {
		return err
	}
	extensions, err := extensionsConfig.Complete().New(genericapiserver.NewEmptyDelegate())
	if err != nil {
		return fmt.Errorf("apiserver: apiextensions: %w", err)
	}
	server, err := config.Complete().New("podyard", extensions.GenericAPIServer)
	if err != nil {
		return fmt.Errorf("apiserver: %w", err)
	}
	if err := publishCRDGroups(server, extensions); err != nil {
		return err
	}
	if err := server.AddPostStartHook("podyard-crd-openapi", func(hc genericapiserver.PostStartHookContext) error {
		return publishExtensionsOpenAPI(hc.Context, server, extensions, &extensionsConfig.GenericConfig.Config)
	}); err != nil {
		return fmt.Errorf("apiserver: %w", err)
	}
	agentCert, err := tls.LoadX509KeyPair(creds.AgentClientCertFile, creds.AgentClientKeyFile)
	if err != nil {
		return fmt.Errorf("apiserver: agent client certificate: %w", err)
	}
	agents, err := installAPIs(server, scheme, config.RESTOptionsGetter, config.Authorization.Authorizer, config.RuleResolver, agentCert, o.RunCommand.ContextLimits)
	if err != nil {
		return err
	}
	if err := installAdmissionRegistration(server, config, etcdOptions, inProcess); err != nil {
		return err
	}
	server.Handler.NonGoRestfulMux.HandlePrefix(arm.PathPrefix,
		arm.NewHandler(o.RunCommand.Config, config.LoopbackClientConfig, tokens, config.Authorization.Authorizer, log))
	// The BCS dialect needs nothing made before it serves: a BCS namespace
	// is made by the first create in it; its taskgroup cache answers once
	// synced (the API until then).
	bcsConfig := o.BCS
	bcsConfig.ServerURL = url // its cluster/endpoints
	bcsConfig.TaskGroups = bcs.NewTaskGroupCache(config.Authorization.Authorizer)
	bcsConfig.Agents = agents
	bcsConfig.Webhooks = bcs.NewWebhookCache(services) // the admission chain's resolver
	bcsHandler := bcs.NewHandler(bcsConfig, config.LoopbackClientConfig, log)
	for _, prefix := range bcs.PathPrefixes {
		server.Handler.NonGoRestfulMux.HandlePrefix(prefix, bcsHandler)
	}
	if err := server.AddPostStartHook("podyard-bcs-taskgroup-cache", func(hc genericapiserver.PostStartHookContext) error {
		return bcsConfig.TaskGroups.Start(hc.Context, hc.LoopbackClientConfig)
	}); err != nil {
		return fmt.Errorf("apiserver: %w", err)
	}
	if err := server.AddPostStartHook("podyard-bcs-webhooks", func(hc genericapiserver.PostStartHookContext) error {
		return bcsConfig.Webhooks.Start(hc.Context, hc.LoopbackClientConfig)
	}); err != nil {
		return fmt.Errorf("apiserver: %w", err)
	}
	if err := server.AddPostStartHook("podyard-command-tokens", func(hc genericapiserver.PostStartHookContext) error {
		client, err := runcommand.NewClient(hc.LoopbackClientConfig)
		if err != nil {
			return err
		}
		go commandTokens.Start(hc.Context, client)
		return nil
	}); err != nil {
		return fmt.Errorf("apiserver: %w", err)
	}
	// BCS commands run in the server: they exec through its node connector.
	if err := server.AddPostStartHook("podyard-bcs-commands", func(hc genericapiserver.PostStartHookContext) error {
		return bcscommand.Start(hc.Context, hc.LoopbackClientConfig, agents, log)
	}); err != nil {
		return fmt.Errorf("apiserver: %w", err)
	}
	if err := server.AddPostStartHook(SystemNamespacesHook, func(hc genericapiserver.PostStartHookContext) error {
		return ensureSystemNamespaces(hc.Context, hc.LoopbackClientConfig, log)
	}); err != nil {
		return fmt.Errorf("apiserver: %w", err)
	}
	caPEM, err := os.ReadFile(creds.CACertFile)
	if err != nil {
		return fmt.Errorf("apiserver: %w", err)
	}
	public := Endpoint{URL: url, CAPEM: caPEM}
	for name, start := range o.PostStart {
		start := start
		if err := server.AddPostStartHook(name, func(hc genericapiserver.PostStartHookContext) error {
			return start(hc.Context, hc.LoopbackClientConfig, public)
		}); err != nil {
			return fmt.Errorf("apiserver: %w", err)
		}
	}
	if err := server.AddPostStartHook("podyard-ready", func(hc genericapiserver.PostStartHookContext) error {
		go announceReady(hc.Context, hc.LoopbackClientConfig, func() { ready(Ready{URL: url, Kubeconfig: kubeconfig}) })
		return nil
	}); err != nil {
		return fmt.Errorf("apiserver: %w", err)
	}
	log.Info("serving", "url", url, "etcd", etcdServers, "dataDir", o.DataDir)
	if err := server.PrepareRun().RunWithContext(ctx); err != nil {
		return fmt.Errorf("apiserver: %w", err)
	}
	return nil
}

func newConfig(scheme *Scheme, ln net.Listener, creds *pki.Bundle, etcdServers []string, etcdTLS etcd.TLS, inProcess *inProcessStorage, commandTokens authenticator.Token) (*genericapiserver.RecommendedConfig, authenticator.Token, *genericoptions.EtcdOptions, error) {
	c := genericapiserver.NewRecommendedConfig(scheme.Codecs)
	c.EffectiveVersion = version.Effective()

	serving := genericoptions.NewSecureServingOptions().WithLoopback()
	serving.Listener = ln
	serving.ServerCert.CertKey = genericoptions.CertKey{CertFile: creds.ServingCertFile, KeyFile: creds.ServingKeyFile}
	if err := serving.ApplyTo(&c.SecureServing, &c.LoopbackClientConfig); err != nil {
		return nil, nil, nil, fmt.Errorf("apiserver: serving: %w", err)
	}
	c.ExternalAddress = ln.Addr().String()
	// One aggregated discovery for this server and the apiextensions server
	// it delegates to: /apis lists the CRDs' groups too.
	c.AggregatedDiscoveryGroupManager = aggregated.NewResourceManager("apis")
	c.LongRunningFunc = longRunningCheck()
	// On shutdown, end watches (clients re-list elsewhere or after the
	// restart) instead of waiting for them until the shutdown timeout.
	c.ShutdownWatchTerminationGracePeriod = 5 * time.Second

	clientCA, err := dynamiccertificates.NewDynamicCAContentFromFile("client-ca", creds.CACertFile)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("apiserver: client CA: %w", err)
	}
	if err := c.Authentication.ApplyClientCert(clientCA, c.SecureServing); err != nil {
		return nil, nil, nil, fmt.Errorf("apiserver: client CA: %w", err)
	}
	var tokens authenticator.Token
	if c.Authentication.Authenticator, tokens, err = newAuthenticator(clientCA, creds.TokensFile, commandTokens); err != nil {
		return nil, nil, nil, err
	}
	if c.Authorization.Authorizer, c.RuleResolver, err = newAuthorizer(); err != nil {
		return nil, nil, nil, err
	}

	namer := openapinamer.NewDefinitionNamer(scheme.External)
	c.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(openapi.GetOpenAPIDefinitions, namer)
	c.OpenAPIConfig.Info.Title = "Podyard"
	c.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(openapi.GetOpenAPIDefinitions, namer)
	c.OpenAPIV3Config.Info.Title = "Podyard"

	etcdOptions, err := applyStorage(c, scheme, etcdServers, etcdTLS)
	if err != nil {
		return nil, nil, nil, err
	}
	if inProcess != nil {
		c.RESTOptionsGetter = inProcess.wrap(c.RESTOptionsGetter)
	}
	return c, tokens, etcdOptions, nil
}

// longRunningCheck tells the requests that last as long as their client wants
// (kube-apiserver's list): the request timeout and the in-flight limit
// leave them alone. Without it an exec, attach, port-forward or followed log
// was cut off after the request timeout.
func longRunningCheck() apirequest.LongRunningRequestCheck {
	basic := genericfilters.BasicLongRunningRequestCheck(
		sets.NewString("watch", "proxy"),
		sets.NewString("attach", "exec", "proxy", "log", "portforward"))
	return func(r *http.Request, info *apirequest.RequestInfo) bool {
		return strings.HasPrefix(r.URL.Path, legacyNodeProxyPrefix) || arm.IsStream(r) || basic(r, info)
	}
}

// applyStorage stores objects as protobuf under /registry/<resource>/...,
// the layout kube-apiserver uses, with the watch cache in front.
func applyStorage(c *genericapiserver.RecommendedConfig, scheme *Scheme, etcdServers []string, tls etcd.TLS) (*genericoptions.EtcdOptions, error) {
	backend := storagebackend.NewDefaultConfig("/registry", nil)
	backend.Transport.ServerList = etcdServers
	backend.Transport.CertFile, backend.Transport.KeyFile, backend.Transport.TrustedCAFile = tls.CertFile, tls.KeyFile, tls.TrustedCAFile
	etcdOptions := genericoptions.NewEtcdOptions(backend)
	etcdOptions.DefaultStorageMediaType = "application/vnd.kubernetes.protobuf"
	// Deletion honours propagationPolicy: Foreground and Orphan add the
	// finalizers the garbage collector (internal/controller/garbagecollector)
	// acts on and removes.
	etcdOptions.EnableGarbageCollection = true
	resources := serverstorage.NewResourceConfig()
	resources.EnableVersions(groups...)
	factory := serverstorage.NewDefaultStorageFactory(
		etcdOptions.StorageConfig,
		etcdOptions.DefaultStorageMediaType,
		scheme.Codecs,
		serverstorage.NewDefaultResourceEncodingConfigForEffectiveVersion(scheme.Scheme, c.EffectiveVersion),
		resources,
		nil,
	)
	// Podyard's own types have no protobuf encoding: JSON, as for CRDs.
	for _, resource := range []schema.GroupResource{
		runcommandregistry.Resource,
		applicationregistry.Resource,
		applicationversionregistry.Resource,
		agentsettingregistry.Resource,
		deploymentregistry.Resource,
		commandregistry.Resource,
		admissionwebhookregistry.Resource,
	} {
		factory.SetSerializer(resource, runtime.ContentTypeJSON, nil)
	}
	if err := etcdOptions.ApplyWithStorageFactoryTo(factory, &c.Config); err != nil {
		return nil, fmt.Errorf("apiserver: etcd: %w", err)
	}
	return etcdOptions, nil
}

// ensureSystemNamespaces creates the immortal namespaces and returns once
// they all exist: clients use them the moment the server says ready (a run
// command is created in podyard-command). It retries until then, or until
// ctx ends: a server stopped before it was ready has nothing left to gate
// (and an error would make the library exit the process).
func ensureSystemNamespaces(ctx context.Context, loopback *rest.Config, log *slog.Logger) error {
	client, err := kubernetes.NewForConfig(loopback)
	if err != nil {
		return fmt.Errorf("system namespaces: %w", err)
	}
	_ = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		if err := namespace.Ensure(ctx, client, ImmortalNamespaces); err != nil {
			if ctx.Err() == nil {
				log.Warn("creating system namespaces; retrying", "err", err)
			}
			return false, nil
		}
		return true, nil
	})
	return nil
}

// announceReady waits until /readyz answers ok, then calls done.
func announceReady(ctx context.Context, loopback *rest.Config, done func()) {
	client, err := rest.HTTPClientFor(loopback)
	if err != nil {
		return
	}
	_ = wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, loopback.Host+"/readyz", nil)
		if err != nil {
			return false, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if ctx.Err() == nil {
		done()
	}
}

// dialableAddr turns a wildcard listen address into one a client can dial.
func dialableAddr(a *net.TCPAddr) string {
	if a.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port))
	}
	return net.JoinHostPort(a.IP.String(), strconv.Itoa(a.Port))
}

package apiserver

import (
	"context"
	"fmt"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/kubernetes"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	cacherstorage "k8s.io/apiserver/pkg/storage/cacher"
	"k8s.io/apiserver/pkg/storage/etcd3"
	etcdfeature "k8s.io/apiserver/pkg/storage/feature"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/apiserver/pkg/storage/value/encrypt/identity"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// inProcessStorage gives every resource a watch-cached store over one etcd
// client that calls the embedded member directly. The library's own decorator
// would dial etcd over TLS loopback once per resource; on the create path that
// costs the gRPC, HTTP/2 and TLS work of both ends, for nothing, in one process.
type inProcessStorage struct {
	client    *kubernetes.Client
	compactor etcd3.Compactor
}

// newInProcessStorage shares client among all resources and compacts etcd
// history every 5 minutes, as kube-apiserver does. stop ends the compactor.
// endpoint is the member's client URL, under which the library records what
// this etcd version supports.
func newInProcessStorage(ctx context.Context, client *clientv3.Client, endpoint string) (s *inProcessStorage, stop func()) {
	// The library asks each client's endpoints for etcd's version to decide
	// whether watch progress requests (and so sendInitialEvents) work; an
	// in-process client has no endpoints, so it is asked here on its behalf.
	etcdfeature.DefaultFeatureSupportChecker.CheckClient(ctx, endpointClient{client, endpoint}, storage.RequestWatchProgress)
	// The API server's etcd latency metrics, as the library's own client has them.
	client.KV = etcd3.NewETCDLatencyTracker(client.KV)
	kc := &kubernetes.Client{Client: client}
	kc.Kubernetes = kc
	compactor := etcd3.NewCompactor(client, storagebackend.DefaultCompactInterval, clock.RealClock{}, nil)
	return &inProcessStorage{client: kc, compactor: compactor}, compactor.Stop
}

// endpointClient presents an in-process client as one reaching endpoint.
type endpointClient struct {
	*clientv3.Client
	endpoint string
}

func (c endpointClient) Endpoints() []string { return []string{c.endpoint} }

// wrap makes getter's options build their storage here.
func (s *inProcessStorage) wrap(getter generic.RESTOptionsGetter) generic.RESTOptionsGetter {
	return inProcessRESTOptions{getter, s}
}

type inProcessRESTOptions struct {
	generic.RESTOptionsGetter
	storage *inProcessStorage
}

func (o inProcessRESTOptions) GetRESTOptions(resource schema.GroupResource, example runtime.Object) (generic.RESTOptions, error) {
	opts, err := o.RESTOptionsGetter.GetRESTOptions(resource, example)
	if err != nil {
		return opts, err
	}
	opts.Decorator = o.storage.decorate
	return opts, nil
}

// decorate is genericregistry.StorageWithCacher with the etcd3 store built on
// the shared in-process client instead of a client of its own.
func (s *inProcessStorage) decorate(
	config *storagebackend.ConfigForResource,
	resourcePrefix string,
	keyFunc func(runtime.Object) (string, error),
	newFunc, newListFunc func() runtime.Object,
	getAttrs storage.AttrFunc,
	triggers storage.IndexerFuncs,
	indexers *cache.Indexers,
) (storage.Interface, factory.DestroyFunc, error) {
	transformer := config.Transformer
	if transformer == nil {
		transformer = identity.NewEncryptCheckTransformer()
	}
	versioner := storage.APIObjectVersioner{}
	raw, err := etcd3.New(s.client, s.compactor, config.Codec, newFunc, newListFunc, config.Prefix, resourcePrefix,
		config.GroupResource, transformer, config.LeaseManagerConfig, etcd3.NewDefaultDecoder(config.Codec, versioner), versioner)
	if err != nil {
		return nil, nil, fmt.Errorf("storage for %s: %w", config.GroupResource, err)
	}
	cacher, err := cacherstorage.NewCacherFromConfig(cacherstorage.Config{
		Storage:             raw,
		Versioner:           versioner,
		GroupResource:       config.GroupResource,
		EventsHistoryWindow: config.EventsHistoryWindow,
		ResourcePrefix:      resourcePrefix,
		KeyFunc:             keyFunc,
		NewFunc:             newFunc,
		NewListFunc:         newListFunc,
		GetAttrsFunc:        getAttrs,
		IndexerFuncs:        triggers,
		Indexers:            indexers,
		Codec:               config.Codec,
	})
	if err != nil {
		raw.Close()
		return nil, nil, fmt.Errorf("watch cache for %s: %w", config.GroupResource, err)
	}
	delegator := cacherstorage.NewCacheDelegator(cacher, raw)
	// Subresources share their resource's storage, so destroy runs more than once.
	destroy := sync.OnceFunc(func() {
		delegator.Stop()
		cacher.Stop()
		raw.Close()
	})
	return delegator, destroy, nil
}

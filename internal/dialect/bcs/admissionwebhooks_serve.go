package bcs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/gentype"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/typedclient"
)

// admissionWebhookKind names AdmissionWebhooks for typed clients.
var admissionWebhookKind = typedclient.Kind[*v1alpha1.AdmissionWebhook, *v1alpha1.AdmissionWebhookList]{
	GroupVersion: v1alpha1.SchemeGroupVersion, AddToScheme: v1alpha1.AddToScheme, Resource: "admissionwebhooks",
	New:     func() *v1alpha1.AdmissionWebhook { return &v1alpha1.AdmissionWebhook{} },
	NewList: func() *v1alpha1.AdmissionWebhookList { return &v1alpha1.AdmissionWebhookList{} },
}

// admissionWebhooks reads and writes AdmissionWebhooks of one namespace.
type admissionWebhooks = gentype.ClientWithList[*v1alpha1.AdmissionWebhook, *v1alpha1.AdmissionWebhookList]

// admissionMessage is how BCS calls a configuration in its messages.
const admissionMessage = "admission"

// serveAdmissionWebhooks answers the admission webhook routes as the caller.
func (h *Handler) serveAdmissionWebhooks(w http.ResponseWriter, r *http.Request, caller user.Info, route Route) *Error {
	cfg := impersonating(h.loopback, caller)
	clients, err := typedclient.New(cfg, admissionWebhookKind)
	if err != nil {
		return internalError(fmt.Errorf("BCS API client: %w", err))
	}
	ctx := r.Context()
	if route.Namespace == "" { // admissionwebhooks
		if r.Method != http.MethodGet {
			return &Error{Status: http.StatusMethodNotAllowed, Code: CodeNotFound, Message: fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path)}
		}
		data, err := listAdmissionWebhooks(ctx, clients.Namespace(metav1.NamespaceAll))
		if err != nil {
			return err
		}
		write(w, http.StatusOK, Success(data))
		return nil
	}
	kubeNS, kerr := KubeNamespace(route.Namespace)
	if kerr != nil {
		return kerr
	}
	t := Target{Kind: KindAdmissionWebhook, Namespace: route.Namespace, KubeNamespace: kubeNS}
	client := clients.Namespace(kubeNS)
	var data any
	switch {
	case route.Name == "" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		body, err := readBody(w, r)
		if err != nil {
			return err
		}
		posted, err := ToAdmissionWebhook(t, body)
		if err != nil {
			return err
		}
		if r.Method == http.MethodPost {
			kube, cerr := kubeClient(cfg)
			if cerr != nil {
				return internalError(fmt.Errorf("BCS API client: %w", cerr))
			}
			err = objects{kube: kube, target: t}.createWith(ctx, func() error {
				_, err := client.Create(ctx, posted, metav1.CreateOptions{})
				return err
			})
		} else {
			err = updateAdmissionWebhook(ctx, client, posted)
		}
		if err != nil {
			if err.Code == CodeExists {
				err.Message = admissionMessage + " already exist"
			}
			return err
		}
	case route.Name != "" && r.Method == http.MethodGet:
		name, err := KubeName(route.Name)
		if err != nil {
			return err
		}
		got, gerr := client.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(gerr) {
			return Errorf(CodeNotFound, "%s %s.%s not exist", admissionMessage, route.Namespace, route.Name)
		} else if gerr != nil {
			return fromAPIError(gerr, admissionMessage)
		}
		data = ToAdmissionWebhookView(got, route.Namespace)
	case route.Name != "" && r.Method == http.MethodDelete:
		name, err := KubeName(route.Name)
		if err != nil {
			return err
		}
		// A missing one is success, as in BCS (its store ignored a missing node).
		if derr := client.Delete(ctx, name, metav1.DeleteOptions{}); derr != nil && !apierrors.IsNotFound(derr) {
			return fromAPIError(derr, admissionMessage)
		}
	default:
		return &Error{Status: http.StatusMethodNotAllowed, Code: CodeNotFound, Message: fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path)}
	}
	write(w, http.StatusOK, Success(data))
	return nil
}

// updateAdmissionWebhook replaces an existing configuration's resourcesRef
// and hooks; a missing one is 1405202 "admission not exist".
func updateAdmissionWebhook(ctx context.Context, client *admissionWebhooks, posted *v1alpha1.AdmissionWebhook) *Error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		old, err := client.Get(ctx, posted.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		_, err = client.Update(ctx, UpdatedAdmissionWebhook(old, posted), metav1.UpdateOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return Errorf(CodeNotFound, "%s not exist", admissionMessage)
	} else if err != nil {
		return fromAPIError(err, admissionMessage)
	}
	return nil
}

// listAdmissionWebhooks is every configuration the caller may list, in
// namespace and name order; [] when there are none.
func listAdmissionWebhooks(ctx context.Context, client *admissionWebhooks) ([]AdmissionWebhookView, *Error) {
	list, err := client.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fromAPIError(err, admissionMessage)
	}
	items := make([]*v1alpha1.AdmissionWebhook, 0, len(list.Items))
	for i := range list.Items {
		items = append(items, &list.Items[i])
	}
	sortAdmissionWebhooks(items)
	out := make([]AdmissionWebhookView, 0, len(items))
	for _, w := range items {
		out = append(out, ToAdmissionWebhookView(w, bcsNamespaceOf(w)))
	}
	return out, nil
}

// sortAdmissionWebhooks orders configurations by namespace then name: the
// order they are listed in and their hooks are called in.
func sortAdmissionWebhooks(items []*v1alpha1.AdmissionWebhook) {
	sort.Slice(items, func(i, j int) bool {
		if items[i].Namespace != items[j].Namespace {
			return items[i].Namespace < items[j].Namespace
		}
		return items[i].Name < items[j].Name
	})
}

// WebhookCache holds the BCS admission webhook configurations the dialect
// enforces on application and deployment creates and updates, from an
// informer through the server's own (privileged) loopback client: the
// configurations apply to every caller, as BCS's driver applied them.
// Hooks given by a Service are resolved by the server's resolver (the one
// its Kubernetes admission webhooks use, over the same informers).
type WebhookCache struct {
	log      *slog.Logger
	informer atomic.Pointer[cache.SharedIndexInformer]
	services ServiceResolver // nil: hooks given by a Service fail

	transports transportCache
}

// ServiceResolver says where a Service's port leads (https://host:port);
// k8s.io/apiserver's webhook.ServiceResolver.
type ServiceResolver interface {
	ResolveEndpoint(namespace, name string, port int32) (*url.URL, error)
}

// NewWebhookCache returns a cache that fills once started; services
// resolves hooks given by a Service.
func NewWebhookCache(services ServiceResolver) *WebhookCache {
	return &WebhookCache{log: slog.Default().With("component", "bcs-webhooks"), services: services}
}

// Start fills the cache and keeps it current until ctx ends; it returns once
// it has synced.
func (c *WebhookCache) Start(ctx context.Context, loopback *rest.Config) error {
	clients, err := typedclient.New(loopback, admissionWebhookKind)
	if err != nil {
		return fmt.Errorf("BCS webhook cache: %w", err)
	}
	informer := typedclient.NewInformer(clients.Namespace(metav1.NamespaceAll), &v1alpha1.AdmissionWebhook{}, 10*time.Minute, cache.Indexers{})
	c.informer.Store(&informer) // from here on, writes wait for it to sync
	go informer.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		return fmt.Errorf("BCS webhook cache: not synced: %w", ctx.Err())
	}
	return nil
}

// configurations are the cached configurations, sorted, once the cache
// has synced (a write that comes before waits: no hook is missed); ok is
// false when the cache has not started (a server without it, tests).
func (c *WebhookCache) configurations(ctx context.Context) (items []*v1alpha1.AdmissionWebhook, ok bool, _ *Error) {
	if c == nil {
		return nil, false, nil
	}
	p := c.informer.Load()
	if p == nil {
		return nil, false, nil
	}
	if !(*p).HasSynced() && !cache.WaitForCacheSync(ctx.Done(), (*p).HasSynced) {
		return nil, true, &Error{Status: http.StatusServiceUnavailable, Code: CodeCommon, Message: "the admission webhook configurations are not loaded yet"}
	}
	for _, o := range (*p).GetStore().List() {
		if w, isWebhook := o.(*v1alpha1.AdmissionWebhook); isWebhook {
			items = append(items, w)
		}
	}
	sortAdmissionWebhooks(items)
	return items, true, nil
}

// resolve is where the Service namespace/name's port leads.
func (c *WebhookCache) resolve(namespace, name string, port int32) (string, error) {
	if c.services == nil {
		return "", errors.New("services cannot be resolved here")
	}
	u, err := c.services.ResolveEndpoint(namespace, name, port)
	if err != nil {
		return "", err
	}
	return u.Host, nil
}

// admitted is the body of a create or update (operation) of kind after the
// admission webhooks configured for it (WebhookCache.Admit).
func (a apps) admitted(ctx context.Context, operation, kind string, body func() ([]byte, *Error)) ([]byte, *Error) {
	b, err := body()
	if err != nil {
		return nil, err
	}
	return a.webhooks.Admit(ctx, operation, kind, a.target.Namespace, b)
}

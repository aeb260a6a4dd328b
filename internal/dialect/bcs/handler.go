package bcs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/podyard/podyard/internal/bcs/clients"
	"github.com/podyard/podyard/internal/nodeclient"
)

// maxBodyBytes bounds a request body: more than etcd takes for one object.
const maxBodyBytes = 3 << 20

// Config configures the dialect.
type Config struct {
	// ClusterID is the cluster this server answers for: the BCS-ClusterID
	// header must equal it.
	ClusterID string
	// ServerURL is how clients reach this server (cluster/endpoints).
	ServerURL string
	// TaskGroups, when set, answers the read routes' taskgroup Pods.
	TaskGroups *TaskGroupCache
	// Agents reaches the node agents (messages and signals to tasks).
	Agents *nodeclient.Connector
	// Webhooks are the admission webhook configurations enforced on
	// application and deployment creates and updates.
	Webhooks *WebhookCache
}

// Handler serves the dialect. Each request acts as its caller: the
// handler makes the Kubernetes API requests it translates to through the
// loopback client, impersonating the caller.
type Handler struct {
	cfg      Config
	cluster  string // the cluster number, in taskgroup and task IDs
	loopback *rest.Config
	log      *slog.Logger
}

// NewHandler returns the dialect's handler.
func NewHandler(cfg Config, loopback *rest.Config, log *slog.Logger) *Handler {
	cluster, _ := ClusterNumber(cfg.ClusterID) // checked where the flag is read
	return &Handler{cfg: cfg, cluster: cluster, loopback: loopback, log: log}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.serve(w, r); err != nil {
		if err.Status >= 500 {
			h.log.Error("BCS API", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		write(w, err.Status, err.Response())
	}
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) *Error {
	caller, ok := genericapirequest.UserFrom(r.Context())
	if !ok {
		return &Error{Status: http.StatusUnauthorized, Code: CodeCommon, Message: "the request has no authenticated user"}
	}
	if err := CheckCluster(r.Header.Get(ClusterHeader), h.cfg.ClusterID); err != nil {
		return err
	}
	if rest, ok := CustomResourcePath(r.URL.Path); ok {
		return h.serveCustomResources(w, r, caller, rest)
	}
	if route, ok := AdmissionWebhookPath(r.URL.Path); ok {
		return h.serveAdmissionWebhooks(w, r, caller, route)
	}
	if route, methods, ok := ParseClusterPath(r.URL.Path); ok { // no namespace
		cfg := impersonating(h.loopback, caller)
		kube, err := kubeClient(cfg)
		if err != nil {
			return internalError(fmt.Errorf("BCS API client: %w", err))
		}
		settings, err := clients.NewAgentSettings(cfg)
		if err != nil {
			return internalError(fmt.Errorf("BCS API client: %w", err))
		}
		return h.serveCluster(w, r, route, methods, clusterAPI{kube: kube, settings: settings, clusterID: h.cfg.ClusterID, serverURL: h.cfg.ServerURL})
	}
	route, ok := ParsePath(r.URL.Path)
	if !ok {
		return Errorf(CodeNotFound, "no route for %s %s", r.Method, r.URL.Path)
	}
	kubeNS, err := KubeNamespace(route.Namespace)
	if err != nil {
		return err
	}
	t := Target{Kind: route.Kind, Namespace: route.Namespace, KubeNamespace: kubeNS}
	cfg := impersonating(h.loopback, caller)
	kube, cerr := kubeClient(cfg)
	if cerr != nil {
		return internalError(fmt.Errorf("BCS API client: %w", cerr))
	}
	c := objects{kube: kube, target: t}
	if route.Kind == KindApplication || route.Kind == KindDeployment || route.Kind == KindCommand {
		dyn, cerr := dynamic.NewForConfig(cfg)
		if cerr != nil {
			return internalError(fmt.Errorf("BCS API client: %w", cerr))
		}
		a := apps{objects: c, dyn: dyn, cluster: h.cluster, cache: h.cfg.TaskGroups, caller: caller, agents: h.cfg.Agents, webhooks: h.cfg.Webhooks}
		body := func() ([]byte, *Error) { return readBody(w, r) }
		var data any
		var err *Error
		switch route.Kind {
		case KindApplication:
			data, err = a.serve(r.Context(), r, route, body)
		case KindDeployment:
			data, err = deployments{apps: a}.serve(r.Context(), r, route, body)
		default:
			data, err = commands{apps: a}.serve(r.Context(), r, route, body)
		}
		if err != nil {
			return err
		}
		write(w, http.StatusOK, Success(data))
		return nil
	}
	switch {
	case route.Name == "" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		body, err := readBody(w, r)
		if err != nil {
			return err
		}
		obj, err := Translate(t, body)
		if err != nil {
			return err
		}
		if r.Method == http.MethodPost {
			err = c.create(r.Context(), obj)
		} else {
			err = c.update(r.Context(), obj)
		}
		if err != nil {
			return err
		}
	case route.Name != "" && r.Method == http.MethodDelete:
		name, err := objectName(route.Kind, route.Name)
		if err != nil {
			return err
		}
		if err := c.delete(r.Context(), name); err != nil {
			return err
		}
	default:
		return &Error{Status: http.StatusMethodNotAllowed, Code: CodeNotFound, Message: fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path)}
	}
	write(w, http.StatusOK, Success(nil))
	return nil
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *Error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeReadBody, Message: fmt.Sprintf("the body is larger than %d bytes", maxBodyBytes)}
	} else if err != nil {
		return nil, Errorf(CodeReadBody, "reading the body: %v", err)
	}
	return body, nil
}

// objects makes the configmaps and secrets of one target as the caller.
type objects struct {
	kube   kubernetes.Interface
	target Target
}

// create makes obj, and its namespace first when there is none (BCS
// namespaces exist implicitly). A namespace made for an object that could
// not be made is deleted again: a failed request leaves nothing behind.
func (c objects) create(ctx context.Context, obj any) *Error {
	return c.createWith(ctx, func() error {
		var err error
		switch o := obj.(type) {
		case *corev1.ConfigMap:
			_, err = c.kube.CoreV1().ConfigMaps(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *corev1.Secret:
			_, err = c.kube.CoreV1().Secrets(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *corev1.Service:
			_, err = c.kube.CoreV1().Services(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		}
		return err
	})
}

// createWith runs create in the target's namespace, made first when there
// is none and deleted again when create fails.
func (c objects) createWith(ctx context.Context, create func() error) *Error {
	made, err := c.ensureNamespace(ctx)
	if err != nil {
		return err
	}
	createErr := create()
	if createErr == nil {
		return nil
	}
	if made {
		if err := c.kube.CoreV1().Namespaces().Delete(ctx, c.target.KubeNamespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return internalError(fmt.Errorf("creating %s failed (%v), and deleting the namespace made for it: %w", c.target.Kind, createErr, err))
		}
	}
	return fromAPIError(createErr, c.target.Kind)
}

// ensureNamespace makes the target's namespace unless it exists; made says
// it did.
func (c objects) ensureNamespace(ctx context.Context) (made bool, _ *Error) {
	nsClient := c.kube.CoreV1().Namespaces()
	_, err := nsClient.Get(ctx, c.target.KubeNamespace, metav1.GetOptions{})
	if err == nil {
		return false, nil
	}
	if !apierrors.IsNotFound(err) {
		return false, fromAPIError(err, "namespace")
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: c.target.KubeNamespace, Annotations: NamespaceAnnotations(c.target.Namespace, c.target.KubeNamespace),
	}}
	if _, err := nsClient.Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		if apierrors.IsAlreadyExists(err) { // another request made it first
			return false, nil
		}
		return false, fromAPIError(err, "namespace")
	}
	return true, nil
}

// update replaces an existing object's BCS view; a missing one is 1405202.
func (c objects) update(ctx context.Context, obj any) *Error {
	var err error
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		client := c.kube.CoreV1().ConfigMaps(o.Namespace)
		var old *corev1.ConfigMap
		if old, err = client.Get(ctx, o.Name, metav1.GetOptions{}); err == nil {
			o.ResourceVersion = old.ResourceVersion
			_, err = client.Update(ctx, o, metav1.UpdateOptions{})
		}
	case *corev1.Secret:
		client := c.kube.CoreV1().Secrets(o.Namespace)
		var old *corev1.Secret
		if old, err = client.Get(ctx, o.Name, metav1.GetOptions{}); err == nil {
			o.ResourceVersion = old.ResourceVersion
			_, err = client.Update(ctx, o, metav1.UpdateOptions{})
		}
	case *corev1.Service:
		err = c.updateService(ctx, o)
	}
	if err != nil {
		return fromAPIError(err, c.target.Kind)
	}
	return nil
}

// delete deletes an object. A missing one is success, as in the original
// (its store ignored a missing node), so deleting is idempotent.
func (c objects) delete(ctx context.Context, name string) *Error {
	var err error
	switch c.target.Kind {
	case KindConfigMap:
		err = c.kube.CoreV1().ConfigMaps(c.target.KubeNamespace).Delete(ctx, name, metav1.DeleteOptions{})
	case KindService:
		err = c.deleteService(ctx, name)
	default:
		err = c.kube.CoreV1().Secrets(c.target.KubeNamespace).Delete(ctx, name, metav1.DeleteOptions{})
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return fromAPIError(err, c.target.Kind)
	}
	return nil
}

// impersonating is the loopback config acting as u.
// kubeClient is a core client speaking protobuf, uncompressed: the list of
// a 1,000-taskgroup application's Pods costs a fraction of what JSON and
// gzip cost on both ends of the loopback connection (bench/bcsread).
func kubeClient(cfg *rest.Config) (kubernetes.Interface, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	cfg.DisableCompression = true
	return kubernetes.NewForConfig(cfg)
}

func impersonating(loopback *rest.Config, u user.Info) *rest.Config {
	cfg := rest.CopyConfig(loopback)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups(), Extra: u.GetExtra()}
	return cfg
}

// fromAPIError translates a Kubernetes API error into a BCS code, keeping
// the Kubernetes status where BCS has no code of its own (403, 409 ...).
func fromAPIError(err error, kind string) *Error {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return internalError(err)
	}
	s := status.Status()
	switch s.Reason {
	case metav1.StatusReasonAlreadyExists:
		return Errorf(CodeExists, "%s already exist: %s", kind, s.Message)
	case metav1.StatusReasonNotFound:
		return Errorf(CodeNotFound, "%s not exist: %s", kind, s.Message)
	case metav1.StatusReasonInvalid, metav1.StatusReasonBadRequest:
		return Errorf(CodeBadParameters, "%s", s.Message)
	}
	code := int(s.Code)
	if code == 0 {
		code = http.StatusInternalServerError
	}
	return &Error{Status: code, Code: CodeCommon, Message: s.Message}
}

func internalError(err error) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: CodeCommon, Message: err.Error()}
}

func write(w http.ResponseWriter, status int, body Response) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

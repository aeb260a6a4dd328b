package arm

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/podyard/podyard/internal/apis/podyard/v1alpha1"
	"github.com/podyard/podyard/internal/runcommand"
)

// Config configures the dialect.
type Config struct {
	Disabled bool // POST answers 400: the feature is off
	Identity Identity
	// RetryAfter is what responses tell clients to wait before polling.
	RetryAfter time.Duration
	// MaxRequestBytes bounds a POST's body (413 beyond).
	MaxRequestBytes int64
}

// Handler serves the dialect. Each request acts as its caller: the
// handler makes the Kubernetes API requests it translates to through the
// loopback client, impersonating the caller, so authorization and
// admission apply as if the caller had made them.
type Handler struct {
	cfg      Config
	loopback *rest.Config
	tokens   authenticator.Token // verifies clusterToken
	authz    authorizer.Authorizer
	log      *slog.Logger
}

// NewHandler returns the dialect's handler.
func NewHandler(cfg Config, loopback *rest.Config, tokens authenticator.Token, authz authorizer.Authorizer, log *slog.Logger) *Handler {
	return &Handler{cfg: cfg, loopback: loopback, tokens: tokens, authz: authz, log: log}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route, ok := ParsePath(r.URL.Path)
	if !ok {
		writeError(w, &CloudError{Status: 404, Code: "NotFound", Message: fmt.Sprintf("No route for %s %s.", r.Method, r.URL.Path)})
		return
	}
	if !route.Identity.Matches(h.cfg.Identity) {
		writeError(w, &CloudError{Status: 404, Code: "ResourceNotFound", Target: "resourceName",
			Message: fmt.Sprintf("The Resource 'Microsoft.ContainerService/managedClusters/%s' under resource group '%s' was not found.", route.ClusterName, route.ResourceGroup)})
		return
	}
	version := r.URL.Query().Get("api-version")
	if err := CheckAPIVersion(version); err != nil {
		writeError(w, err)
		return
	}
	caller, ok := genericapirequest.UserFrom(r.Context())
	if !ok {
		writeError(w, &CloudError{Status: 401, Code: "Unauthorized", Message: "The request has no authenticated user."})
		return
	}
	var err *CloudError
	switch {
	case route.Action == "runCommand" && r.Method == http.MethodPost:
		err = h.runCommand(w, r, route, version, caller)
	case route.Action == "commandResult" && r.Method == http.MethodGet:
		err = h.commandResult(w, r, route, version, caller)
	case route.Action == "commandResult" && r.Method == http.MethodDelete:
		err = h.deleteResult(w, r, route, version, caller)
	case route.Action == "commandLogs" && r.Method == http.MethodGet:
		err = h.commandLogs(w, r, route, caller)
	default:
		err = &CloudError{Status: 405, Code: "MethodNotAllowed", Message: fmt.Sprintf("%s is not allowed on %s.", r.Method, r.URL.Path)}
	}
	if err != nil {
		if err.Status >= 500 {
			h.log.Error("run command API", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		writeError(w, err)
	}
}

func (h *Handler) runCommand(w http.ResponseWriter, r *http.Request, route Route, version string, caller user.Info) *CloudError {
	if h.cfg.Disabled {
		return &CloudError{Status: 400, Code: "RunCommandDisabled", Message: "Run command is disabled on this cluster (podyard --disable-run-command)."}
	}
	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxRequestBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(readErr, &tooLarge) {
		return &CloudError{Status: 413, Code: "RequestEntityTooLarge", Message: fmt.Sprintf("The request body is larger than %d bytes.", h.cfg.MaxRequestBytes)}
	} else if readErr != nil {
		return &CloudError{Status: 400, Code: "InvalidRequestContent", Message: fmt.Sprintf("Reading the request body: %v.", readErr)}
	}
	var req Request
	if err := json.Unmarshal(body, &req); err != nil {
		return &CloudError{Status: 400, Code: "InvalidRequestContent", Message: fmt.Sprintf("The request body is not a RunCommandRequest: %v.", err)}
	}
	if strings.TrimSpace(req.Command) == "" {
		return &CloudError{Status: 400, Code: "InvalidParameter", Target: "command", Message: "The command to run is required."}
	}
	var zipped []byte
	if req.Context != "" {
		var err error
		if zipped, err = base64.StdEncoding.DecodeString(req.Context); err != nil {
			return &CloudError{Status: 400, Code: "InvalidParameter", Target: "context", Message: fmt.Sprintf("The context is not base64: %v.", err)}
		}
	}
	actor := caller
	if req.ClusterToken != "" {
		var cerr *CloudError
		if actor, cerr = h.actAs(r.Context(), caller, req.ClusterToken); cerr != nil {
			return cerr
		}
	}
	id, err := newID()
	if err != nil {
		return internalError(err)
	}
	client, cerr := h.commands(actor)
	if cerr != nil {
		return cerr
	}
	rc := &v1alpha1.RunCommand{
		ObjectMeta: metav1.ObjectMeta{Name: id, Namespace: runcommand.Namespace},
		Spec:       v1alpha1.RunCommandSpec{Command: req.Command, Context: zipped, TimeoutSeconds: req.TimeoutSeconds},
	}
	if _, err := client.Create(r.Context(), rc, metav1.CreateOptions{}); err != nil {
		return fromAPIError(err)
	}
	h.accepted(w, r, route, version, id, nil)
	return nil
}

// actAs resolves clusterToken to its identity, which the caller must be
// allowed to impersonate: a command never has more rights than its caller.
func (h *Handler) actAs(ctx context.Context, caller user.Info, token string) (user.Info, *CloudError) {
	resp, ok, err := h.tokens.AuthenticateToken(ctx, token)
	if err != nil || !ok {
		return nil, &CloudError{Status: 400, Code: "InvalidParameter", Target: "clusterToken", Message: "The clusterToken is not a token this cluster accepts."}
	}
	target := resp.User
	checks := []authorizer.AttributesRecord{{User: caller, Verb: "impersonate", Resource: "users", Name: target.GetName(), ResourceRequest: true}}
	for _, g := range target.GetGroups() {
		checks = append(checks, authorizer.AttributesRecord{User: caller, Verb: "impersonate", Resource: "groups", Name: g, ResourceRequest: true})
	}
	for _, a := range checks {
		if decision, reason, err := h.authz.Authorize(ctx, a); err != nil || decision != authorizer.DecisionAllow {
			return nil, &CloudError{Status: 403, Code: "AuthorizationFailed", Target: "clusterToken",
				Message: fmt.Sprintf("%s may not act as %s %q: a command never has more rights than its caller. %s", caller.GetName(), strings.TrimSuffix(a.Resource, "s"), a.Name, reason)}
		}
	}
	return target, nil
}

func (h *Handler) commandResult(w http.ResponseWriter, r *http.Request, route Route, version string, caller user.Info) *CloudError {
	client, cerr := h.commands(caller)
	if cerr != nil {
		return cerr
	}
	rc, cerr := get(r.Context(), client, route.ID)
	if cerr != nil {
		return cerr
	}
	result, done := ResultOf(rc)
	if !done {
		h.accepted(w, r, route, version, route.ID, result)
		return nil
	}
	writeJSON(w, http.StatusOK, result)
	return nil
}

// deleteResult cancels a command that runs (202: poll for its end) and
// deletes one that has finished.
func (h *Handler) deleteResult(w http.ResponseWriter, r *http.Request, route Route, version string, caller user.Info) *CloudError {
	client, cerr := h.commands(caller)
	if cerr != nil {
		return cerr
	}
	rc, cerr := get(r.Context(), client, route.ID)
	if cerr != nil {
		return cerr
	}
	if !rc.Status.Finished() {
		patch := []byte(`{"spec":{"canceled":true}}`)
		if _, err := client.Patch(r.Context(), rc.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return fromAPIError(err)
		}
		h.accepted(w, r, route, version, rc.Name, nil)
		return nil
	}
	if err := client.Delete(r.Context(), rc.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &rc.UID}}); err != nil {
		return fromAPIError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// commandLogs serves the whole output as text; with follow=true it streams
// it until the command ends.
func (h *Handler) commandLogs(w http.ResponseWriter, r *http.Request, route Route, caller user.Info) *CloudError {
	follow, _ := strconv.ParseBool(r.URL.Query().Get("follow"))
	client, cerr := h.commands(caller)
	if cerr != nil {
		return cerr
	}
	rc, cerr := get(r.Context(), client, route.ID)
	if cerr != nil {
		return cerr
	}
	cfg := impersonating(h.loopback, caller)
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return internalError(err)
	}
	if follow {
		if rc, cerr = waitStarted(r.Context(), client, rc); cerr != nil {
			return cerr
		}
	}
	pod := rc.Status.PodName
	if pod == "" {
		pod = runcommand.PodName(rc.Name)
	}
	stream, err := kube.CoreV1().Pods(runcommand.Namespace).GetLogs(pod, &corev1.PodLogOptions{Follow: follow}).Stream(r.Context())
	if err != nil {
		if rc.Status.Finished() || apierrors.IsNotFound(err) || apierrors.IsBadRequest(err) {
			// The pod is gone (canceled, or not started): what was kept.
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, rc.Status.Logs)
			return nil
		}
		return fromAPIError(err)
	}
	defer stream.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	io.Copy(flushWriter{w}, stream)
	return nil
}

// flushWriter sends each write on at once: followed output is live.
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}

// waitStarted waits until the command's pod runs or the command ends;
// its log is then followed from its first line, so polling loses nothing.
func waitStarted(ctx context.Context, client *runcommand.Client, rc *v1alpha1.RunCommand) (*v1alpha1.RunCommand, *CloudError) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for rc.Status.State == "" || rc.Status.State == v1alpha1.Pending {
		select {
		case <-ctx.Done():
			return nil, &CloudError{Status: 499, Code: "ClientClosedRequest", Message: "The client went away."}
		case <-tick.C:
		}
		var cerr *CloudError
		if rc, cerr = get(ctx, client, rc.Name); cerr != nil {
			return nil, cerr
		}
	}
	return rc, nil
}

// commands is a RunCommand client acting as u.
func (h *Handler) commands(u user.Info) (*runcommand.Client, *CloudError) {
	client, err := runcommand.NewClient(impersonating(h.loopback, u))
	if err != nil {
		return nil, internalError(err)
	}
	return client, nil
}

func get(ctx context.Context, client *runcommand.Client, id string) (*v1alpha1.RunCommand, *CloudError) {
	rc, err := client.Get(ctx, id, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsInvalid(err) {
		return nil, &CloudError{Status: 404, Code: "NotFound", Target: "commandId", Message: fmt.Sprintf("Command result %q was not found.", id)}
	}
	if err != nil {
		return nil, fromAPIError(err)
	}
	return rc, nil
}

// accepted answers 202 with where to poll and when.
func (h *Handler) accepted(w http.ResponseWriter, r *http.Request, route Route, version, id string, body any) {
	u := url.URL{
		Scheme:   "https",
		Host:     r.Host,
		Path:     route.Identity.ResourceID() + "/commandResults/" + id,
		RawQuery: url.Values{"api-version": {version}}.Encode(),
	}
	w.Header().Set("Location", u.String())
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(h.cfg.RetryAfter.Round(time.Second)/time.Second))))
	if body == nil {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	writeJSON(w, http.StatusAccepted, body)
}

// impersonating is the loopback config acting as u.
func impersonating(loopback *rest.Config, u user.Info) *rest.Config {
	cfg := rest.CopyConfig(loopback)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups(), Extra: u.GetExtra()}
	return cfg
}

// newID is a command id: 32 hex digits, as AKS's.
func newID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("command id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// fromAPIError translates a Kubernetes API error into the contract's form;
// an invalid field of the RunCommand is named by its request property.
func fromAPIError(err error) *CloudError {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return internalError(err)
	}
	s := status.Status()
	ce := &CloudError{Status: int(s.Code), Code: string(s.Reason), Message: s.Message}
	if s.Reason == metav1.StatusReasonInvalid {
		ce.Status, ce.Code = 400, "InvalidParameter"
		if s.Details != nil {
			for _, c := range s.Details.Causes {
				target := strings.TrimPrefix(c.Field, "spec.")
				if ce.Target == "" {
					ce.Target = target
				}
				ce.Details = append(ce.Details, CloudError{Code: "InvalidParameter", Target: target, Message: c.Message})
			}
		}
	}
	if ce.Code == "" {
		ce.Code = http.StatusText(ce.Status)
	}
	return ce
}

func internalError(err error) *CloudError {
	return &CloudError{Status: 500, Code: "InternalServerError", Message: err.Error()}
}

func writeError(w http.ResponseWriter, e *CloudError) { writeJSON(w, e.Status, e.Body()) }

func writeJSON(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(body)
}

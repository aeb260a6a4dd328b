package bcs

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/bcs/clients"
	"github.com/podyard/podyard/internal/version"
)

// clusterAPI serves the cluster and agent setting routes as the caller.
type clusterAPI struct {
	kube      kubernetes.Interface
	settings  *clients.AgentSettings
	clusterID string
	serverURL string
}

// serveCluster answers a cluster or agent setting route.
func (h *Handler) serveCluster(w http.ResponseWriter, r *http.Request, route string, methods []string, c clusterAPI) *Error {
	if !slices.Contains(methods, r.Method) {
		return &Error{Status: http.StatusMethodNotAllowed, Code: CodeNotFound, Message: fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path)}
	}
	ctx := r.Context()
	var data any
	var err *Error
	switch {
	case route == RouteClusterResources:
		var s ClusterState
		if s, err = c.state(ctx, true); err == nil {
			data = ClusterResources(s)
		}
	case route == RouteClusterOffers:
		var s ClusterState
		if s, err = c.state(ctx, true); err == nil {
			data = Offers(s, c.clusterID)
		}
	case route == RouteClusterEndpoints:
		host, _ := os.Hostname()
		e, eerr := Endpoints(Server{URL: c.serverURL, HostName: host, Version: version.Podyard, Cluster: c.clusterID, Pid: os.Getpid()})
		if eerr != nil {
			return internalError(fmt.Errorf("cluster endpoints: %w", eerr))
		}
		data = e
	case route == RouteAgentSettings && r.Method == http.MethodGet:
		data, err = c.list(ctx, r.URL.Query().Get("ips"))
	case route == RouteAgentSettings && r.Method == http.MethodDelete:
		err = c.delete(ctx, r.URL.Query().Get("ips"))
	case route == RouteAgentDisable || route == RouteAgentEnable:
		var ips []string
		if ips, err = ParseIPs(r.URL.Query().Get("ips")); err == nil {
			err = c.change(ctx, ips, SetDisabled(route == RouteAgentDisable))
		}
	default: // POST agentsettings, POST update, PUT taint: a body
		body, berr := readBody(w, r)
		if berr != nil {
			return berr
		}
		err = c.changeFromBody(ctx, route, body)
	}
	if err != nil {
		return err
	}
	write(w, http.StatusOK, Success(data))
	return nil
}

func (c clusterAPI) changeFromBody(ctx context.Context, route string, body []byte) *Error {
	if route == RouteAgentUpdate {
		u, err := ParseUpdate(body)
		if err != nil {
			return err
		}
		return c.change(ctx, u.IPs, SetAttribute(u))
	}
	list, err := ParseSettings(body)
	if err != nil {
		return err
	}
	for _, v := range list {
		change := SetAttributes(v)
		if route == RouteAgentTaint {
			change = SetTaints(v)
		}
		if err := c.change(ctx, []string{v.InnerIP}, change); err != nil {
			return err
		}
	}
	return nil
}

// state reads the nodes, the agent settings and (with pods) the Pods
// bound to a node that have not ended.
func (c clusterAPI) state(ctx context.Context, pods bool) (ClusterState, *Error) {
	var s ClusterState
	nodes, err := c.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return s, fromAPIError(err, "nodes")
	}
	for i := range nodes.Items {
		s.Nodes = append(s.Nodes, &nodes.Items[i])
	}
	settings, err := c.settings.List(ctx, metav1.ListOptions{})
	if err != nil {
		return s, fromAPIError(err, "agentsettings")
	}
	for i := range settings.Items {
		s.Settings = append(s.Settings, &settings.Items[i])
	}
	if !pods {
		return s, nil
	}
	list, err := c.kube.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
		FieldSelector: "spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed",
	})
	if err != nil {
		return s, fromAPIError(err, "pods")
	}
	for i := range list.Items {
		s.Pods = append(s.Pods, &list.Items[i])
	}
	return s, nil
}

// list is GET agentsettings[?ips=]: the settings with the taskgroups on
// their nodes (nil, data null, when none is found).
func (c clusterAPI) list(ctx context.Context, q string) ([]AgentSettingView, *Error) {
	ips, err := ParseIPs(q)
	if err != nil {
		return nil, err
	}
	s, err := c.state(ctx, false)
	if err != nil {
		return nil, err
	}
	pods, lerr := c.kube.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: application.LabelApplication})
	if lerr != nil {
		return nil, fromAPIError(lerr, "pods")
	}
	var ps []*corev1.Pod
	for i := range pods.Items {
		ps = append(ps, &pods.Items[i])
	}
	return SettingViews(s.Settings, ips, TaskGroupsByIP(s.Nodes, ps)), nil
}

// delete is DELETE agentsettings?ips=: a missing setting is success.
func (c clusterAPI) delete(ctx context.Context, q string) *Error {
	ips, err := ParseIPs(q)
	if err != nil {
		return err
	}
	for _, ip := range ips {
		if err := c.settings.Delete(ctx, v1alpha1.AgentSettingName(ip), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fromAPIError(err, "agentsetting")
		}
	}
	return nil
}

// change applies the change of each IP to its setting, making the setting
// when there is none; a write that raced another is done again on the
// newer setting.
func (c clusterAPI) change(ctx context.Context, ips []string, change Change) *Error {
	for _, ip := range ips {
		name := v1alpha1.AgentSettingName(ip)
		err := retry.OnError(retry.DefaultRetry, func(err error) bool {
			return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
		}, func() error {
			existing, err := c.settings.Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				existing, err = nil, nil
			}
			if err != nil {
				return err
			}
			s, changed := Changed(existing, ip, change)
			switch {
			case !changed:
				return nil
			case existing == nil:
				_, err = c.settings.Create(ctx, s, metav1.CreateOptions{})
			default:
				_, err = c.settings.Update(ctx, s, metav1.UpdateOptions{})
			}
			return err
		})
		if err != nil {
			return fromAPIError(err, "agentsetting "+ip)
		}
	}
	return nil
}

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/podyard/podyard/internal/dialect/bcs"
)

// bcsAPI is a typed client of the BCS v4 scheduler API as a BCS client
// uses it: JSON bodies, the BCS-ClusterID header, every answer the
// envelope {result, code, message, data}. Its types are written from the
// BCS wire (bcs-common and the scheduler's structs, BCS's JSON names), not
// taken from the dialect, so a test through it checks what goes over the
// wire. A non-zero code is a *bcsError.
type bcsAPI struct {
	http    *http.Client
	base    string // https://host:port/bcsapi/v4/scheduler/mesos
	token   string
	cluster string // the BCS-ClusterID header; "" sends none
}

// newBCSAPI is a client of s's BCS API under the public prefix, as s's
// admin, for the default cluster id.
func newBCSAPI(t *testing.T, s *Server) *bcsAPI {
	return &bcsAPI{
		http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(t, s)}}},
		base: s.URL + "/bcsapi/v4/scheduler/mesos", token: s.Config.BearerToken, cluster: bcs.DefaultClusterID,
	}
}

// withCluster is c sending another cluster header ("" for none).
func (c *bcsAPI) withCluster(cluster string) *bcsAPI {
	cc := *c
	cc.cluster = cluster
	return &cc
}

// bcsError is an answer whose code is not 0.
type bcsError struct {
	Status  int // HTTP
	Code    int
	Message string
}

func (e *bcsError) Error() string {
	return fmt.Sprintf("BCS code %d (HTTP %d): %s", e.Code, e.Status, e.Message)
}

// bcsCode is err's BCS code: 0 for nil, -1 for an error that is not a
// BCS answer.
func bcsCode(err error) int {
	var be *bcsError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &be):
		return be.Code
	}
	return -1
}

type bcsEnvelope struct {
	Result  bool            `json:"result"`
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// call sends body (a string or []byte as it is, anything else as JSON) and
// decodes the data of a successful answer into out (nil: none).
func (c *bcsAPI) call(ctx context.Context, method, path string, body, out any) error {
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			return fmt.Errorf("%s %s: encoding the body: %w", method, path, err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.cluster != "" {
		req.Header.Set(bcs.ClusterHeader, c.cluster)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	var env bcsEnvelope
	if err := json.Unmarshal(data, &env); err != nil {
		return fmt.Errorf("%s %s: HTTP %d, not the BCS envelope: %w: %s", method, path, resp.StatusCode, err, data)
	}
	if env.Result != (env.Code == 0) {
		return fmt.Errorf("%s %s: result %v with code %d: %s", method, path, env.Result, env.Code, data)
	}
	if env.Code != 0 {
		if env.Message == "" {
			return fmt.Errorf("%s %s: code %d without a message", method, path, env.Code)
		}
		return &bcsError{Status: resp.StatusCode, Code: env.Code, Message: env.Message}
	}
	if resp.StatusCode != http.StatusOK || env.Message != "success" {
		return fmt.Errorf("%s %s: code 0 with HTTP %d, message %q", method, path, resp.StatusCode, env.Message)
	}
	if out == nil || string(env.Data) == "null" {
		return nil
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("%s %s: data: %w: %s", method, path, err, env.Data)
	}
	return nil
}

func nsPath(ns, plural string) string { return "/namespaces/" + url.PathEscape(ns) + "/" + plural }

// BCS objects as the scheduler shows them (PascalCase: its structs have
// no JSON tags; the metadata is bcs-common's, camelCase).

type bcsObjectMeta struct {
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace"`
	CreationTimestamp time.Time         `json:"creationTimestamp"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
}

type bcsApplication struct {
	Kind             string
	ID               string
	Name             string
	ObjectMeta       bcsObjectMeta
	DefineInstances  uint64
	Instances        uint64
	RunningInstances uint64
	RunAs            string
	ClusterId        string //nolint:revive // the wire name
	Status           string
	Message          string
	Created          int64
	Pods             []struct {
		Name string `json:"name"`
	}
}

type bcsTaskGroup struct {
	ID         string
	Name       string
	AppID      string
	RunAs      string
	ObjectMeta bcsObjectMeta
	Status     string
	InstanceID uint64
	HostName   string
	Message    string
	Taskgroup  []bcsTask
}

type bcsTask struct {
	ID             string
	Name           string
	Hostame        string // sic
	Command        string
	Arguments      []string
	Image          string
	Env            map[string]string
	Status         string
	AgentIPAddress string
	Message        string
}

// Applications.

func (c *bcsAPI) CreateApplication(ctx context.Context, ns string, body any) error {
	return c.call(ctx, http.MethodPost, nsPath(ns, "applications"), body, nil)
}

// UpdateApplication rebuilds instances taskgroups from body (args=resource:
// only the resources change).
func (c *bcsAPI) UpdateApplication(ctx context.Context, ns string, body any, instances int, resourceOnly bool) error {
	q := url.Values{"instances": {strconv.Itoa(instances)}}
	if resourceOnly {
		q.Set("args", "resource")
	}
	return c.call(ctx, http.MethodPut, nsPath(ns, "applications")+"?"+q.Encode(), body, nil)
}

func (c *bcsAPI) GetApplication(ctx context.Context, ns, name string) (*bcsApplication, error) {
	var app bcsApplication
	if err := c.call(ctx, http.MethodGet, nsPath(ns, "applications")+"/"+url.PathEscape(name), nil, &app); err != nil {
		return nil, err
	}
	return &app, nil
}

// ListApplications: none is null in BCS, nil here.
func (c *bcsAPI) ListApplications(ctx context.Context, ns string) ([]bcsApplication, error) {
	var apps []bcsApplication
	return apps, c.call(ctx, http.MethodGet, nsPath(ns, "applications"), nil, &apps)
}

func (c *bcsAPI) TaskGroups(ctx context.Context, ns, name string) ([]bcsTaskGroup, error) {
	var tgs []bcsTaskGroup
	return tgs, c.call(ctx, http.MethodGet, nsPath(ns, "applications")+"/"+url.PathEscape(name)+"/taskgroups", nil, &tgs)
}

func (c *bcsAPI) ScaleApplication(ctx context.Context, ns, name string, instances int) error {
	return c.call(ctx, http.MethodPut, fmt.Sprintf("%s/%s/scale/%d", nsPath(ns, "applications"), url.PathEscape(name), instances), nil, nil)
}

func (c *bcsAPI) DeleteApplication(ctx context.Context, ns, name string, enforce bool) error {
	e := "0"
	if enforce {
		e = "1"
	}
	return c.call(ctx, http.MethodDelete, nsPath(ns, "applications")+"/"+url.PathEscape(name)+"?enforce="+e, nil, nil)
}

// Configmaps, secrets and services: POST and PUT the object to the
// namespace's collection, DELETE by name.

func (c *bcsAPI) CreateConfigMap(ctx context.Context, ns string, body any) error {
	return c.call(ctx, http.MethodPost, nsPath(ns, "configmaps"), body, nil)
}

func (c *bcsAPI) UpdateConfigMap(ctx context.Context, ns string, body any) error {
	return c.call(ctx, http.MethodPut, nsPath(ns, "configmaps"), body, nil)
}

func (c *bcsAPI) DeleteConfigMap(ctx context.Context, ns, name string) error {
	return c.call(ctx, http.MethodDelete, nsPath(ns, "configmaps")+"/"+url.PathEscape(name), nil, nil)
}

func (c *bcsAPI) CreateSecret(ctx context.Context, ns string, body any) error {
	return c.call(ctx, http.MethodPost, nsPath(ns, "secrets"), body, nil)
}

func (c *bcsAPI) UpdateSecret(ctx context.Context, ns string, body any) error {
	return c.call(ctx, http.MethodPut, nsPath(ns, "secrets"), body, nil)
}

func (c *bcsAPI) DeleteSecret(ctx context.Context, ns, name string) error {
	return c.call(ctx, http.MethodDelete, nsPath(ns, "secrets")+"/"+url.PathEscape(name), nil, nil)
}

func (c *bcsAPI) CreateService(ctx context.Context, ns string, body any) error {
	return c.call(ctx, http.MethodPost, nsPath(ns, "services"), body, nil)
}

func (c *bcsAPI) UpdateService(ctx context.Context, ns string, body any) error {
	return c.call(ctx, http.MethodPut, nsPath(ns, "services"), body, nil)
}

func (c *bcsAPI) DeleteService(ctx context.Context, ns, name string) error {
	return c.call(ctx, http.MethodDelete, nsPath(ns, "services")+"/"+url.PathEscape(name), nil, nil)
}

// Raw sends a request the typed methods cannot express (a route that does
// not exist, a method a route does not take) and decodes data into out.
func (c *bcsAPI) Raw(ctx context.Context, method, path string, body, out any) error {
	return c.call(ctx, method, path, body, out)
}

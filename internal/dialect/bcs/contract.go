// Package bcs is the BCS v4 scheduler dialect (the Mesos scheduler API of
// Tencent's BlueKing Container Service) on Podyard's HTTPS port, under both
// /bcsapi/v4/scheduler/mesos/ and /v4/scheduler/mesos/. It translates: BCS
// configmaps and secrets are core/v1 ConfigMaps and Secrets, applications
// are bcs.podyard.io Applications whose taskgroups are the Pods they
// control; all made and read through the loopback client as the caller, so
// authorization and admission apply as if the caller had made them. It
// holds no state.
//
// This file and names.go, objects.go, applications.go are the contract's
// pure part: routes, the envelope and its codes, the cluster header, BCS
// names as Kubernetes names, the objects' translation and the application,
// taskgroup and task views. handler.go and apps.go do the I/O.
//
// Every answer is the BCS envelope {"result","code","message","data"},
// result == (code == 0), except on the CRD and custom resource routes
// (customresources.go), which answer Kubernetes' JSON as BCS's driver did. The original answered almost everything with
// HTTP 200 and left clients to read code; Podyard sends the HTTP status
// that fits as well as the same code:
//
//	code                        meaning                              HTTP
//	0                           success (message "success")          200
//	1405006                     body unreadable or too large         400 / 413
//	1405007, 1405008, 1405231   bad parameters, URL and body differ  400
//	1405010                     body is not JSON of the right shape  400
//	1405234                     BCS-ClusterID header absent/wrong    400
//	1405201                     already exists                       409
//	1405202                     not found (also: no such route)      404 (405: method)
//	1405200                     anything else                        the Kubernetes status (403, 409, 500 ...)
package bcs

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// PathPrefixes are where the dialect is mounted: the public bcs-api path
// and the driver's own.
var PathPrefixes = []string{"/bcsapi/v4/scheduler/mesos/", "/v4/scheduler/mesos/"}

// ClusterHeader names the cluster a request is for.
const ClusterHeader = "BCS-ClusterID"

// DefaultClusterID is the cluster id a server answers for by default.
const DefaultClusterID = "BCS-PODYARD-10001"

// BCS error codes (bcs-common/common/errorCode.go).
const (
	CodeSuccess         = 0
	CodeReadBody        = 1405006
	CodeBadParameters   = 1405007
	CodeRequestData     = 1405008 // the request's parts disagree (URL and body)
	CodeJSONDecode      = 1405010
	CodeCommon          = 1405200
	CodeExists          = 1405201
	CodeNotFound        = 1405202
	CodeParameter       = 1405231
	CodeMessageType     = 1405233 // an unknown msgtype of a message (HTTP 400)
	CodeFilter          = 1405234 // the cluster header
	successMessage      = "success"
	maxClusterNumberLen = 18 // fits an int64
)

// Response is the envelope of every answer.
type Response struct {
	Result  bool   `json:"result"`
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data"`
}

// Success is the envelope of a successful answer; data nil is JSON null.
func Success(data any) Response {
	return Response{Result: true, Code: CodeSuccess, Message: successMessage, Data: data}
}

// Error is a failed request: its BCS code, its HTTP status and what went
// wrong.
type Error struct {
	Status  int
	Code    int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%d (HTTP %d): %s", e.Code, e.Status, e.Message) }

// Response is e's envelope. As in the original, a failure carries data {}
// except the cluster header's, whose data is null.
func (e *Error) Response() Response {
	var data any = struct{}{}
	if e.Code == CodeFilter {
		data = nil
	}
	return Response{Code: e.Code, Message: e.Message, Data: data}
}

// Errorf is an error with the HTTP status its code implies.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Status: StatusOf(code), Code: code, Message: fmt.Sprintf(format, args...)}
}

// StatusOf is the HTTP status for a BCS code.
func StatusOf(code int) int {
	switch code {
	case CodeSuccess:
		return http.StatusOK
	case CodeReadBody, CodeBadParameters, CodeRequestData, CodeJSONDecode, CodeParameter, CodeFilter:
		return http.StatusBadRequest
	case CodeExists:
		return http.StatusConflict
	case CodeNotFound:
		return http.StatusNotFound
	default:
		return http.StatusInternalServerError
	}
}

// CheckCluster checks the cluster header against the server's cluster id.
// Absent and wrong get the same answer, as from the original's driver.
func CheckCluster(header, clusterID string) *Error {
	if header != clusterID {
		return Errorf(CodeFilter, "http header %s %s don't exist", ClusterHeader, header)
	}
	return nil
}

// ClusterNumber is the numeric tail of a cluster id (BCS-PODYARD-10001 →
// 10001): the cluster's part of taskgroup and task IDs.
func ClusterNumber(clusterID string) (string, error) {
	i := strings.LastIndex(clusterID, "-")
	tail := clusterID[i+1:]
	if tail == "" || len(tail) > maxClusterNumberLen || strings.Trim(tail, "0123456789") != "" {
		return "", fmt.Errorf("cluster id %q does not end in -<digits> (as BCS-PODYARD-10001)", clusterID)
	}
	return tail, nil
}

// Route is what a request path asks for, below the prefix.
type Route struct {
	Namespace string // BCS namespace, as in the URL
	Kind      string // "configmap", "secret", "service" or "application"
	Name      string // set for paths that end in a name
	// Sub is what of an application the path names: "taskgroups",
	// "tasks", "scale" (Instances is then its {n}), "definition" or
	// "versions" (Version is then its {id}, if any).
	Sub       string
	Instances string
	// TaskGroup is the taskgroup ID of .../taskgroups/{id}/rescheduler.
	TaskGroup string
	// Version is the version ID of .../versions/{id} ("" lists them).
	Version string
	// Target is what a command route is for: KindApplication or
	// KindDeployment (command/{target}/{ns}/{name}).
	Target string
}

// Application sub-routes.
const (
	SubTaskGroups = "taskgroups"
	SubTasks      = "tasks"
	SubScale      = "scale"
	SubDefinition = "definition"
	SubVersions   = "versions"
	// SubMessage is .../applications/{name}/message and
	// .../applications/{name}/taskgroups/{id}/message (TaskGroup set).
	SubMessage = "message"
	// Deployment operations: .../deployments/{name}/{op}.
	SubPauseUpdate  = "pauseupdate"
	SubResumeUpdate = "resumeupdate"
	SubCancelUpdate = "cancelupdate"
)

// ParsePath reads a request path; ok is false for a path outside the
// routes the dialect serves:
//
//	namespaces/{ns}/{configmaps,secrets,services,applications}[/{name}]
//	namespaces/{ns}/applications/{name}/{taskgroups,tasks,versions}
//	namespaces/{ns}/applications/{name}/versions/{id}
//	namespaces/{ns}/applications/{name}/scale/{n}
//	namespaces/{ns}/applications/{name}/taskgroups/{id}/{rescheduler,message}
//	namespaces/{ns}/applications/{name}/message
//	namespaces/{ns}/deployments[/{name}]
//	namespaces/{ns}/deployments/{name}/{pauseupdate,resumeupdate,cancelupdate}
//	namespaces/{ns}/deployments/{name}/scale/{n}
//	definition/{application,deployment}/{ns}/{name}
//	command/{application,deployment}/{ns}/{name}
func ParsePath(p string) (Route, bool) {
	rest := ""
	for _, prefix := range PathPrefixes {
		if after, found := strings.CutPrefix(p, prefix); found {
			rest = after
			break
		}
	}
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	for _, part := range parts {
		if part == "" {
			return Route{}, false
		}
	}
	if len(parts) == 4 && parts[0] == "definition" && (parts[1] == KindApplication || parts[1] == KindDeployment) {
		return Route{Namespace: parts[2], Kind: parts[1], Name: parts[3], Sub: SubDefinition}, true
	}
	if len(parts) == 4 && parts[0] == "command" && (parts[1] == KindApplication || parts[1] == KindDeployment) {
		return Route{Namespace: parts[2], Kind: KindCommand, Name: parts[3], Target: parts[1]}, true
	}
	if len(parts) < 3 || parts[0] != "namespaces" {
		return Route{}, false
	}
	kinds := map[string]string{"configmaps": KindConfigMap, "secrets": KindSecret, "services": KindService,
		"applications": KindApplication, "deployments": KindDeployment}
	kind, found := kinds[parts[2]]
	if !found {
		return Route{}, false
	}
	r := Route{Namespace: parts[1], Kind: kind}
	switch {
	case len(parts) == 3:
	case len(parts) == 4:
		r.Name = parts[3]
	case kind == KindApplication && len(parts) == 5 && (parts[4] == SubTaskGroups || parts[4] == SubTasks || parts[4] == SubVersions || parts[4] == SubMessage):
		r.Name, r.Sub = parts[3], parts[4]
	case kind == KindDeployment && len(parts) == 5 && (parts[4] == SubPauseUpdate || parts[4] == SubResumeUpdate || parts[4] == SubCancelUpdate):
		r.Name, r.Sub = parts[3], parts[4]
	case kind == KindDeployment && len(parts) == 6 && parts[4] == SubScale:
		r.Name, r.Sub, r.Instances = parts[3], SubScale, parts[5]
	case kind == KindApplication && len(parts) == 6 && parts[4] == SubVersions:
		r.Name, r.Sub, r.Version = parts[3], SubVersions, parts[5]
	case kind == KindApplication && len(parts) == 6 && parts[4] == SubScale:
		r.Name, r.Sub, r.Instances = parts[3], SubScale, parts[5]
	case kind == KindApplication && len(parts) == 7 && parts[4] == SubTaskGroups && (parts[6] == SubRescheduler || parts[6] == SubMessage):
		r.Name, r.Sub, r.TaskGroup = parts[3], parts[6], parts[5]
	default:
		return Route{}, false
	}
	return r, true
}

// Decode reads a JSON body into v: not JSON, or not v's shape, is 1405010.
func Decode(body []byte, v any) *Error {
	if err := json.Unmarshal(body, v); err != nil {
		return Errorf(CodeJSONDecode, "json decode failed! %v", err)
	}
	return nil
}

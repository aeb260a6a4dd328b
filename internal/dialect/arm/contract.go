// Package arm is the Azure Resource Manager dialect: the AKS "Managed
// Clusters - Run Command" API on Podyard's HTTPS port. It translates; the
// state is a podyard.io RunCommand, run by its controller. This file is
// the contract's pure part: paths, api-versions, results and errors.
package arm

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/podyard/podyard/internal/apis/podyard/v1alpha1"
)

// PathPrefix is where the dialect is mounted.
const PathPrefix = "/subscriptions/"

// Identity is the managed cluster this server answers for.
type Identity struct {
	SubscriptionID, ResourceGroup, ClusterName string
}

// Route is what a request path asks for.
type Route struct {
	Identity
	Action string // "runCommand", "commandResult" or "commandLogs"
	ID     string // the command's id, for results
}

// clusterPath: /subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.ContainerService/managedClusters/{n}/...
// ARM treats the fixed segments case-insensitively.
var clusterPath = regexp.MustCompile(`(?i)^/subscriptions/([^/]+)/resourcegroups/([^/]+)/providers/microsoft\.containerservice/managedclusters/([^/]+)/(runcommand|commandresults/([^/]+)(/logs)?)$`)

// ParsePath reads a request path; ok is false for a path that is not the
// run-command API.
func ParsePath(p string) (Route, bool) {
	m := clusterPath.FindStringSubmatch(strings.TrimSuffix(p, "/"))
	if m == nil {
		return Route{}, false
	}
	r := Route{Identity: Identity{SubscriptionID: m[1], ResourceGroup: m[2], ClusterName: m[3]}}
	switch {
	case m[5] == "":
		r.Action = "runCommand"
	case m[6] == "":
		r.Action, r.ID = "commandResult", m[5]
	default:
		r.Action, r.ID = "commandLogs", m[5]
	}
	return r, true
}

// IsStream tells a request that lasts as long as its client wants: a
// command's output, followed.
func IsStream(r *http.Request) bool {
	route, ok := ParsePath(r.URL.Path)
	return ok && route.Action == "commandLogs" && r.URL.Query().Get("follow") == "true"
}

// Matches tells whether a route names this cluster: subscription ids and
// names compare case-insensitively, as in ARM.
func (id Identity) Matches(other Identity) bool {
	return strings.EqualFold(id.SubscriptionID, other.SubscriptionID) &&
		strings.EqualFold(id.ResourceGroup, other.ResourceGroup) &&
		strings.EqualFold(id.ClusterName, other.ClusterName)
}

// ResourceID is the cluster's ARM resource id.
func (id Identity) ResourceID() string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ContainerService/managedClusters/%s",
		id.SubscriptionID, id.ResourceGroup, id.ClusterName)
}

// clusterName is AKS's pattern for a managed cluster's name.
var clusterName = regexp.MustCompile(`^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$`)

// ValidClusterName tells whether name is a managed cluster name AKS accepts.
func ValidClusterName(name string) bool { return clusterName.MatchString(name) }

// apiVersions are the versions whose run-command contract this dialect
// speaks: the seed's 2021-05-01 and everything from 2020-12-01 to 2025-10-01
// (stable and preview).
const oldestAPIVersion, newestAPIVersion = "2020-12-01", "2025-10-01"

var apiVersion = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})(-preview)?$`)

// CheckAPIVersion returns a CloudError for a missing or unsupported version.
func CheckAPIVersion(v string) *CloudError {
	if v == "" {
		return &CloudError{Status: 400, Code: "MissingApiVersionParameter", Target: "api-version",
			Message: "The api-version query parameter (?api-version=) is required for all requests."}
	}
	m := apiVersion.FindStringSubmatch(v)
	if m != nil {
		if _, err := time.Parse(time.DateOnly, m[1]); err == nil && m[1] >= oldestAPIVersion && m[1] <= newestAPIVersion {
			return nil
		}
	}
	return &CloudError{Status: 400, Code: "InvalidApiVersionParameter", Target: "api-version",
		Message: fmt.Sprintf("The api-version '%s' is invalid. The supported versions are from '%s' to '%s'.", v, oldestAPIVersion, newestAPIVersion)}
}

// CloudError is the error form of the contract.
type CloudError struct {
	Status  int          `json:"-"`
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Target  string       `json:"target,omitempty"`
	Details []CloudError `json:"details,omitempty"`
}

func (e *CloudError) Error() string { return e.Code + ": " + e.Message }

// Body is the JSON document of the error.
func (e *CloudError) Body() any { return map[string]*CloudError{"error": e} }

// Request is the body of a POST to runCommand. TimeoutSeconds is Podyard's
// addition.
type Request struct {
	Command        string `json:"command"`
	Context        string `json:"context,omitempty"`
	ClusterToken   string `json:"clusterToken,omitempty"`
	TimeoutSeconds *int64 `json:"timeoutSeconds,omitempty"`
}

// Result is RunCommandResult.
type Result struct {
	ID         string           `json:"id"`
	Properties ResultProperties `json:"properties"`
}

// ResultProperties are the result's properties.
type ResultProperties struct {
	ProvisioningState string     `json:"provisioningState"`
	ExitCode          *int32     `json:"exitCode,omitempty"`
	StartedAt         *time.Time `json:"startedAt,omitempty"`
	FinishedAt        *time.Time `json:"finishedAt,omitempty"`
	Logs              string     `json:"logs,omitempty"`
	Reason            string     `json:"reason,omitempty"`
}

// ResultOf translates a RunCommand into the contract's result; done is
// false while it runs.
func ResultOf(rc *v1alpha1.RunCommand) (r Result, done bool) {
	st := rc.Status
	r.ID = rc.Name
	r.Properties = ResultProperties{ExitCode: st.ExitCode, Logs: st.Logs}
	if st.StartedAt != nil {
		t := st.StartedAt.UTC()
		r.Properties.StartedAt = &t
	}
	if st.FinishedAt != nil {
		t := st.FinishedAt.UTC()
		r.Properties.FinishedAt = &t
	}
	switch st.State {
	case v1alpha1.Succeeded:
		r.Properties.ProvisioningState = "succeeded"
	case v1alpha1.Failed:
		r.Properties.ProvisioningState = "failed"
		r.Properties.Reason = st.Reason
		if st.Message != "" {
			r.Properties.Reason += ": " + st.Message
		}
	case v1alpha1.Running:
		r.Properties.ProvisioningState = "running"
	default:
		r.Properties.ProvisioningState = "pending"
	}
	return r, st.Finished()
}

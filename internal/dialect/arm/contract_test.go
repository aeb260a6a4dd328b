package arm

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/podyard/v1alpha1"
)

func TestParsePath(t *testing.T) {
	base := "/subscriptions/subid1/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/clustername1"
	id := Identity{"subid1", "rg1", "clustername1"}
	tests := []struct {
		path string
		want Route
		ok   bool
	}{
		{base + "/runCommand", Route{Identity: id, Action: "runCommand"}, true},
		{base + "/commandResults/0e9872e6629349dc865e27ee6f8bab2d", Route{Identity: id, Action: "commandResult", ID: "0e9872e6629349dc865e27ee6f8bab2d"}, true},
		{base + "/commandResults/abc/logs", Route{Identity: id, Action: "commandLogs", ID: "abc"}, true},
		{"/subscriptions/subid1/resourcegroups/rg1/providers/microsoft.containerservice/managedclusters/clustername1/runcommand", Route{Identity: id, Action: "runCommand"}, true},
		{base + "/runCommand/", Route{Identity: id, Action: "runCommand"}, true},
		{base, Route{}, false},
		{base + "/agentPools", Route{}, false},
		{base + "/commandResults", Route{}, false},
		{"/subscriptions/subid1/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm/runCommand", Route{}, false},
	}
	for _, tt := range tests {
		got, ok := ParsePath(tt.path)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParsePath(%q) = %+v, %v; want %+v, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

func TestIdentityMatches(t *testing.T) {
	id := Identity{"00000000-0000-0000-0000-000000000000", "rg1", "podyard"}
	if !id.Matches(Identity{"00000000-0000-0000-0000-000000000000", "RG1", "Podyard"}) {
		t.Error("names differing in case should match")
	}
	if id.Matches(Identity{"00000000-0000-0000-0000-000000000000", "rg2", "podyard"}) {
		t.Error("another resource group matched")
	}
}

func TestCheckAPIVersion(t *testing.T) {
	tests := []struct {
		version string
		code    string // "" when supported
	}{
		{"2021-05-01", ""},
		{"2020-12-01", ""},
		{"2025-10-01", ""},
		{"2024-06-02-preview", ""},
		{"", "MissingApiVersionParameter"},
		{"2020-11-01", "InvalidApiVersionParameter"},
		{"2025-10-02-preview", "InvalidApiVersionParameter"},
		{"2026-01-01", "InvalidApiVersionParameter"},
		{"2021-13-01", "InvalidApiVersionParameter"},
		{"latest", "InvalidApiVersionParameter"},
	}
	for _, tt := range tests {
		err := CheckAPIVersion(tt.version)
		if tt.code == "" && err != nil || tt.code != "" && (err == nil || err.Code != tt.code || err.Status != 400) {
			t.Errorf("CheckAPIVersion(%q) = %v, want %q", tt.version, err, tt.code)
		}
	}
}

func TestValidClusterName(t *testing.T) {
	for name, want := range map[string]bool{"a": true, "clustername1": true, "my-cluster_1": true, "-a": false, "a-": false, "": false, "a.b": false} {
		if got := ValidClusterName(name); got != want {
			t.Errorf("ValidClusterName(%q) = %v", name, got)
		}
	}
}

func TestResultOf(t *testing.T) {
	start := metav1.NewTime(time.Date(2021, 2, 17, 0, 28, 20, 0, time.UTC))
	end := metav1.NewTime(start.Add(13 * time.Second))
	tests := []struct {
		name   string
		status v1alpha1.RunCommandStatus
		state  string
		done   bool
		reason string
	}{
		{"pending", v1alpha1.RunCommandStatus{State: v1alpha1.Pending}, "pending", false, ""},
		{"new", v1alpha1.RunCommandStatus{}, "pending", false, ""},
		{"running", v1alpha1.RunCommandStatus{State: v1alpha1.Running, StartedAt: &start}, "running", false, ""},
		{"succeeded", v1alpha1.RunCommandStatus{State: v1alpha1.Succeeded, ExitCode: new(int32(0)), StartedAt: &start, FinishedAt: &end, Logs: "namespace dummy created"}, "succeeded", true, ""},
		{"failed", v1alpha1.RunCommandStatus{State: v1alpha1.Failed, Reason: "Timeout", Message: "ran longer than 5s"}, "failed", true, "Timeout: ran longer than 5s"},
	}
	for _, tt := range tests {
		rc := &v1alpha1.RunCommand{ObjectMeta: metav1.ObjectMeta{Name: "def7b3ea71bd4f7e9d226ddbc0f00ad9"}, Status: tt.status}
		r, done := ResultOf(rc)
		if r.ID != rc.Name || r.Properties.ProvisioningState != tt.state || done != tt.done || r.Properties.Reason != tt.reason {
			t.Errorf("%s: got %+v done=%v", tt.name, r, done)
		}
	}
}

package e2e

import (
	"context"
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v8"
)

// staticToken is an azcore credential that hands out one bearer token: the
// cluster's admin token stands in for an Entra ID token.
type staticToken string

func (s staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestRunCommandAzureSDK drives the API with the real Azure SDK for Go:
// BeginRunCommand polled to completion, then GetCommandResult.
func TestRunCommandAzureSDK(t *testing.T) {
	s, _ := SharedCluster(t)
	c := newARMClient(t, s)
	opts := &arm.ClientOptions{ClientOptions: policy.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: "https://login.invalid/",
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: s.URL, Audience: "https://management.podyard.invalid"},
			},
		},
		Transport: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(t, s)}}},
	}}
	clusters, err := armcontainerservice.NewManagedClustersClient("00000000-0000-0000-0000-000000000000", staticToken(c.token), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	poller, err := clusters.BeginRunCommand(ctx, "podyard", "podyard", armcontainerservice.RunCommandRequest{
		Command: new("kubectl get namespace default -o name; exit 4"),
	}, nil)
	if err != nil {
		t.Fatalf("BeginRunCommand: %v", err)
	}
	done, err := poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: time.Second})
	if err != nil {
		t.Fatalf("PollUntilDone: %v", err)
	}
	p := done.Properties
	if done.ID == nil || p == nil || p.ProvisioningState == nil || *p.ProvisioningState != "succeeded" ||
		p.ExitCode == nil || *p.ExitCode != 4 || p.Logs == nil || *p.Logs != "namespace/default\n" || p.StartedAt == nil || p.FinishedAt == nil {
		t.Fatalf("polled result: %+v %+v", done, p)
	}
	got, err := clusters.GetCommandResult(ctx, "podyard", "podyard", *done.ID, nil)
	if err != nil {
		t.Fatalf("GetCommandResult: %v", err)
	}
	if got.Properties == nil || got.Properties.Logs == nil || *got.Properties.Logs != *p.Logs {
		t.Errorf("GetCommandResult: %+v", got)
	}

	// A cluster this server is not: the SDK reports the 404.
	_, err = clusters.BeginRunCommand(ctx, "podyard", "elsewhere", armcontainerservice.RunCommandRequest{Command: new("true")}, nil)
	var respErr *azcore.ResponseError
	if !asResponseError(err, &respErr) || respErr.StatusCode != 404 || respErr.ErrorCode != "ResourceNotFound" {
		t.Errorf("another cluster: %v", err)
	}
	if err != nil && !strings.Contains(err.Error(), "elsewhere") {
		t.Errorf("the error does not name the cluster: %v", err)
	}
}

func asResponseError(err error, target **azcore.ResponseError) bool {
	re, ok := err.(*azcore.ResponseError)
	if ok {
		*target = re
	}
	return ok
}

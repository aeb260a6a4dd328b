package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestSelfReviews: `kubectl auth can-i`, `kubectl auth can-i --list` and
// `kubectl auth whoami` answer from the server's authorizer and authenticator,
// also for an impersonated user; malformed reviews are refused.
func TestSelfReviews(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	ctx := context.Background()

	if out := s.Kubectl("auth", "can-i", "create", "pods", "-n", ns); strings.TrimSpace(out) != "yes" {
		t.Errorf("kubectl auth can-i create pods: %q, want yes", out)
	}
	if out := s.Kubectl("auth", "can-i", "get", "/healthz"); strings.TrimSpace(out) != "yes" {
		t.Errorf("kubectl auth can-i get /healthz: %q, want yes", out)
	}
	if out := s.Kubectl("auth", "can-i", "--list", "-n", ns); !strings.Contains(out, "*.*") {
		t.Errorf("kubectl auth can-i --list lacks the wildcard rule:\n%s", out)
	}

	var me authenticationv1.SelfSubjectReview
	if err := json.Unmarshal([]byte(s.Kubectl("auth", "whoami", "-o", "json")), &me); err != nil {
		t.Fatal(err)
	}
	if me.Status.UserInfo.Username != "podyard-admin" || !slices.Contains(me.Status.UserInfo.Groups, "system:masters") {
		t.Errorf("whoami: %+v, want podyard-admin in system:masters", me.Status.UserInfo)
	}
	if err := json.Unmarshal([]byte(s.Kubectl("auth", "whoami", "-o", "json", "--as", "alice", "--as-group", "devs")), &me); err != nil {
		t.Fatal(err)
	}
	if me.Status.UserInfo.Username != "alice" || !slices.Contains(me.Status.UserInfo.Groups, "devs") || slices.Contains(me.Status.UserInfo.Groups, "system:masters") {
		t.Errorf("whoami as alice: %+v", me.Status.UserInfo)
	}

	reviews := s.Client.AuthorizationV1()
	got, err := reviews.SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: ns, Verb: "delete", Resource: "pods", Name: "web",
		}},
	}, metav1.CreateOptions{})
	if err != nil || !got.Status.Allowed || got.Status.Denied {
		t.Errorf("access review: %+v, %v; want allowed", got, err)
	}
	_, err = reviews.SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{}, metav1.CreateOptions{})
	wantStatus(t, "access review without attributes", err, 422, "spec.resourceAttributes: Required value")
	_, err = reviews.SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes:    &authorizationv1.ResourceAttributes{Verb: "get", Resource: "pods"},
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Verb: "get", Path: "/healthz"},
		},
	}, metav1.CreateOptions{})
	wantStatus(t, "access review with both attributes", err, 422, "cannot be specified in combination with resourceAttributes")
	_, err = reviews.SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{}, metav1.CreateOptions{})
	wantStatus(t, "rules review without a namespace", err, 400, "spec.namespace is required")
}

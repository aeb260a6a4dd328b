package review

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

func TestValidateAccessSpec(t *testing.T) {
	resource := &authorizationv1.ResourceAttributes{Verb: "get", Resource: "pods"}
	nonResource := &authorizationv1.NonResourceAttributes{Verb: "get", Path: "/healthz"}
	for _, tc := range []struct {
		name string
		spec authorizationv1.SelfSubjectAccessReviewSpec
		want string // the error, or "" for none
	}{
		{"resource", authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: resource}, ""},
		{"non-resource", authorizationv1.SelfSubjectAccessReviewSpec{NonResourceAttributes: nonResource}, ""},
		{"neither", authorizationv1.SelfSubjectAccessReviewSpec{}, "spec.resourceAttributes: Required value: one of resourceAttributes or nonResourceAttributes must be specified"},
		{"both", authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: resource, NonResourceAttributes: nonResource}, "spec.nonResourceAttributes: Invalid value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := ValidateAccessSpec(tc.spec)
			switch {
			case tc.want == "" && len(errs) > 0:
				t.Errorf("unexpected errors: %v", errs)
			case tc.want != "" && (len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), tc.want)):
				t.Errorf("errors %v, want one starting %q", errs, tc.want)
			}
		})
	}
}

func TestAccessAttributes(t *testing.T) {
	alice := &user.DefaultInfo{Name: "alice"}
	for _, tc := range []struct {
		name string
		spec authorizationv1.SelfSubjectAccessReviewSpec
		want authorizer.AttributesRecord
	}{
		{
			"resource",
			authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: "ns", Verb: "delete", Group: "apps", Version: "v1", Resource: "deployments", Subresource: "scale", Name: "web",
			}},
			authorizer.AttributesRecord{User: alice, Verb: "delete", Namespace: "ns", APIGroup: "apps", APIVersion: "v1",
				Resource: "deployments", Subresource: "scale", Name: "web", ResourceRequest: true},
		},
		{
			"non-resource",
			authorizationv1.SelfSubjectAccessReviewSpec{NonResourceAttributes: &authorizationv1.NonResourceAttributes{Verb: "get", Path: "/metrics"}},
			authorizer.AttributesRecord{User: alice, Verb: "get", Path: "/metrics"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AccessAttributes(alice, tc.spec); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestRulesStatus(t *testing.T) {
	for _, tc := range []struct {
		name        string
		resource    []authorizer.ResourceRuleInfo
		nonResource []authorizer.NonResourceRuleInfo
		incomplete  bool
		err         error
		want        authorizationv1.SubjectRulesReviewStatus
	}{
		{
			name:        "rules",
			resource:    []authorizer.ResourceRuleInfo{&authorizer.DefaultResourceRuleInfo{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}, ResourceNames: []string{"web"}}},
			nonResource: []authorizer.NonResourceRuleInfo{&authorizer.DefaultNonResourceRuleInfo{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}},
			want: authorizationv1.SubjectRulesReviewStatus{
				ResourceRules:    []authorizationv1.ResourceRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}, ResourceNames: []string{"web"}}},
				NonResourceRules: []authorizationv1.NonResourceRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}},
			},
		},
		{
			name:       "none, incomplete, with an error",
			incomplete: true,
			err:        errors.New("resolver down"),
			want: authorizationv1.SubjectRulesReviewStatus{
				ResourceRules: []authorizationv1.ResourceRule{}, NonResourceRules: []authorizationv1.NonResourceRule{},
				Incomplete: true, EvaluationError: "resolver down",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RulesStatus(tc.resource, tc.nonResource, tc.incomplete, tc.err); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestUserInfo(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   user.Info
		want authenticationv1.UserInfo
	}{
		{"plain", &user.DefaultInfo{Name: "bob", UID: "1", Groups: []string{"devs"}},
			authenticationv1.UserInfo{Username: "bob", UID: "1", Groups: []string{"devs"}}},
		{"extra", &user.DefaultInfo{Name: "bob", Extra: map[string][]string{"scopes": {"a", "b"}}},
			authenticationv1.UserInfo{Username: "bob", Extra: map[string]authenticationv1.ExtraValue{"scopes": {"a", "b"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := UserInfo(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

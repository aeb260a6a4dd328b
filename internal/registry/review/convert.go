package review

import (
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// ValidateAccessSpec requires exactly one of resourceAttributes and
// nonResourceAttributes, with kube-apiserver's field paths.
func ValidateAccessSpec(spec authorizationv1.SelfSubjectAccessReviewSpec) field.ErrorList {
	path := field.NewPath("spec")
	switch {
	case spec.ResourceAttributes != nil && spec.NonResourceAttributes != nil:
		return field.ErrorList{field.Invalid(path.Child("nonResourceAttributes"), spec.NonResourceAttributes, "cannot be specified in combination with resourceAttributes")}
	case spec.ResourceAttributes == nil && spec.NonResourceAttributes == nil:
		return field.ErrorList{field.Required(path.Child("resourceAttributes"), "one of resourceAttributes or nonResourceAttributes must be specified")}
	}
	return nil
}

// AccessAttributes is the question a review asks the authorizer on behalf of u.
func AccessAttributes(u user.Info, spec authorizationv1.SelfSubjectAccessReviewSpec) authorizer.Attributes {
	if a := spec.NonResourceAttributes; a != nil {
		return authorizer.AttributesRecord{User: u, Verb: a.Verb, Path: a.Path}
	}
	a := spec.ResourceAttributes
	return authorizer.AttributesRecord{
		User:            u,
		Verb:            a.Verb,
		Namespace:       a.Namespace,
		APIGroup:        a.Group,
		APIVersion:      a.Version,
		Resource:        a.Resource,
		Subresource:     a.Subresource,
		Name:            a.Name,
		ResourceRequest: true,
	}
}

// RulesStatus turns the rule resolver's answer into a review status.
func RulesStatus(resource []authorizer.ResourceRuleInfo, nonResource []authorizer.NonResourceRuleInfo, incomplete bool, err error) authorizationv1.SubjectRulesReviewStatus {
	status := authorizationv1.SubjectRulesReviewStatus{
		ResourceRules:    []authorizationv1.ResourceRule{},
		NonResourceRules: []authorizationv1.NonResourceRule{},
		Incomplete:       incomplete,
	}
	for _, r := range resource {
		status.ResourceRules = append(status.ResourceRules, authorizationv1.ResourceRule{
			Verbs: r.GetVerbs(), APIGroups: r.GetAPIGroups(), Resources: r.GetResources(), ResourceNames: r.GetResourceNames(),
		})
	}
	for _, r := range nonResource {
		status.NonResourceRules = append(status.NonResourceRules, authorizationv1.NonResourceRule{
			Verbs: r.GetVerbs(), NonResourceURLs: r.GetNonResourceURLs(),
		})
	}
	if err != nil {
		status.EvaluationError = err.Error()
	}
	return status
}

// UserInfo is u as the authentication API shows it.
func UserInfo(u user.Info) authenticationv1.UserInfo {
	info := authenticationv1.UserInfo{Username: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups()}
	if extra := u.GetExtra(); len(extra) > 0 {
		info.Extra = make(map[string]authenticationv1.ExtraValue, len(extra))
		for k, v := range extra {
			info.Extra[k] = v
		}
	}
	return info
}

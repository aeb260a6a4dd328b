// Package review serves the self-reviews kubectl asks about the caller:
// SelfSubjectAccessReview and SelfSubjectRulesReview (authorization.k8s.io/v1,
// `kubectl auth can-i [--list]`) and SelfSubjectReview (authentication.k8s.io/v1,
// `kubectl auth whoami`). Nothing is stored: each answer comes from the
// request's user and the server's authorizer.
package review

import (
	"context"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
)

// createOnly is what every review endpoint shares: cluster-scoped, create only.
type createOnly struct{}

func (createOnly) NamespaceScoped() bool { return false }
func (createOnly) Destroy()              {}

// admit runs the admission chain's validation on the review, as for any create.
func admit(ctx context.Context, obj runtime.Object, validate rest.ValidateObjectFunc) error {
	if validate == nil {
		return nil
	}
	return validate(ctx, obj.DeepCopyObject())
}

func requestUser(ctx context.Context) (user.Info, error) {
	u, ok := request.UserFrom(ctx)
	if !ok {
		return nil, apierrors.NewBadRequest("no user present on request")
	}
	return u, nil
}

// AccessREST answers SelfSubjectAccessReview: may the caller do this?
type AccessREST struct {
	createOnly
	Authorizer authorizer.Authorizer
}

func (*AccessREST) New() runtime.Object     { return &authorizationv1.SelfSubjectAccessReview{} }
func (*AccessREST) GetSingularName() string { return "selfsubjectaccessreview" }
func (r *AccessREST) Create(ctx context.Context, obj runtime.Object, validate rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	review := obj.(*authorizationv1.SelfSubjectAccessReview)
	if errs := ValidateAccessSpec(review.Spec); len(errs) > 0 {
		return nil, apierrors.NewInvalid(authorizationv1.SchemeGroupVersion.WithKind("SelfSubjectAccessReview").GroupKind(), "", errs)
	}
	u, err := requestUser(ctx)
	if err != nil {
		return nil, err
	}
	if err := admit(ctx, review, validate); err != nil {
		return nil, err
	}
	decision, reason, err := r.Authorizer.Authorize(ctx, AccessAttributes(u, review.Spec))
	review.Status = authorizationv1.SubjectAccessReviewStatus{
		Allowed: decision == authorizer.DecisionAllow,
		Denied:  decision == authorizer.DecisionDeny,
		Reason:  reason,
	}
	if err != nil {
		review.Status.EvaluationError = err.Error()
	}
	return review, nil
}

// RulesREST answers SelfSubjectRulesReview: what may the caller do in a namespace?
type RulesREST struct {
	createOnly
	Resolver authorizer.RuleResolver
}

func (*RulesREST) New() runtime.Object     { return &authorizationv1.SelfSubjectRulesReview{} }
func (*RulesREST) GetSingularName() string { return "selfsubjectrulesreview" }
func (r *RulesREST) Create(ctx context.Context, obj runtime.Object, validate rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	review := obj.(*authorizationv1.SelfSubjectRulesReview)
	if review.Spec.Namespace == "" {
		return nil, apierrors.NewBadRequest("no namespace on request: spec.namespace is required")
	}
	u, err := requestUser(ctx)
	if err != nil {
		return nil, err
	}
	if err := admit(ctx, review, validate); err != nil {
		return nil, err
	}
	resourceRules, nonResourceRules, incomplete, err := r.Resolver.RulesFor(ctx, u, review.Spec.Namespace)
	review.Status = RulesStatus(resourceRules, nonResourceRules, incomplete, err)
	return review, nil
}

// WhoAmIREST answers SelfSubjectReview: who does the server take the caller for?
type WhoAmIREST struct{ createOnly }

func (*WhoAmIREST) New() runtime.Object     { return &authenticationv1.SelfSubjectReview{} }
func (*WhoAmIREST) GetSingularName() string { return "selfsubjectreview" }
func (r *WhoAmIREST) Create(ctx context.Context, obj runtime.Object, validate rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	review := obj.(*authenticationv1.SelfSubjectReview)
	u, err := requestUser(ctx)
	if err != nil {
		return nil, err
	}
	if err := admit(ctx, review, validate); err != nil {
		return nil, err
	}
	review.Status.UserInfo = UserInfo(u)
	return review, nil
}

var (
	_ rest.Creater = &AccessREST{}
	_ rest.Creater = &RulesREST{}
	_ rest.Creater = &WhoAmIREST{}
)

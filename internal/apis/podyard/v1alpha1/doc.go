// Package v1alpha1 is Podyard's own API group, podyard.io: the resources
// the dialects translate to that Kubernetes has no type for.
//
// +k8s:deepcopy-gen=package
// +k8s:openapi-gen=true
// +k8s:openapi-model-package=io.podyard.v1alpha1
// +groupName=podyard.io
package v1alpha1

// Package v1alpha1 is the API group bcs.podyard.io: the objects of the BCS v4
// (Mesos scheduler) dialect that Kubernetes has no type for. An Application
// keeps the BCS definition as posted, with BCS's JSON field names, so the
// BCS view of it round-trips; its taskgroups are core/v1 Pods it owns.
//
// +k8s:deepcopy-gen=package
// +k8s:openapi-gen=true
// +k8s:openapi-model-package=io.podyard.bcs.v1alpha1
// +groupName=bcs.podyard.io
package v1alpha1

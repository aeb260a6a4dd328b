package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ApplicationVersion is one recorded definition of an Application: BCS
// keeps every definition an application had (create, update, rollback,
// scale), never prunes them, and deletes them with the application. Its
// name is "{application}-{id}"; it carries the label
// bcs.podyard.io/application and an ownerReference to its Application, so
// the garbage collector deletes it with the application. It never changes.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type ApplicationVersion struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Application is the (Kubernetes) name of the Application.
	Application string `json:"application"`
	// ID is the BCS version ID: the UnixNano time it was recorded, in
	// decimal (BCS sorts them as strings; they have the same length).
	ID string `json:"id"`
	// Spec is the definition the application had.
	Spec ApplicationSpec `json:"spec"`
}

// ApplicationVersionList is a list of ApplicationVersions.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type ApplicationVersionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []ApplicationVersion `json:"items"`
}

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AdmissionWebhook is a BCS admission webhook configuration: which operation
// (Create or Update) on which kind of BCS object (application or deployment)
// sends the request body through which hooks, in order. BCS clients manage it
// at /crd/namespaces/{ns}/admissionwebhook; the dialect enforces it.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type AdmissionWebhook struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AdmissionWebhookSpec `json:"spec"`
}

// AdmissionWebhookSpec is BCS's AdmissionWebhookConfiguration with its JSON
// names.
type AdmissionWebhookSpec struct {
	// Metadata is the BCS metadata: the original name and namespace.
	Metadata ObjectMeta `json:"metadata"`
	// ResourcesRef says which requests the hooks see.
	ResourcesRef AdmissionResourcesRef `json:"resourcesRef"`
	// AdmissionWebhooks are called in this order, each with the body the
	// previous one answered.
	AdmissionWebhooks []AdmissionHook `json:"admissionWebhooks"`
}

// AdmissionResourcesRef is BCS's ResourcesRef.
type AdmissionResourcesRef struct {
	// Operation is Create (POST) or Update (PUT).
	Operation string `json:"operation"`
	// Kind is application or deployment.
	Kind string `json:"kind"`
}

// AdmissionHook is one BCS webhook.
type AdmissionHook struct {
	Name string `json:"name"`
	// FailurePolicy is Fail (a failed call refuses the request) or Ignore
	// (the hook is skipped).
	// +optional
	FailurePolicy string `json:"failurePolicy,omitempty"`
	// ClientConfig says where the hook is.
	ClientConfig AdmissionHookClientConfig `json:"clientConfig"`
	// NamespaceSelector limits the hook to BCS namespaces (In) or excludes
	// them (NotIn).
	// +optional
	NamespaceSelector *AdmissionNamespaceSelector `json:"namespaceSelector,omitempty"`
	// TimeoutSeconds bounds a call (Podyard's; BCS had none): 10 when unset.
	// +optional
	TimeoutSeconds *int32 `json:"timeoutSeconds,omitempty"`
}

// AdmissionHookClientConfig is BCS's WebhookClientConfig: a URL, or a
// Service (name, namespace, port, path) reached over https.
type AdmissionHookClientConfig struct {
	// +optional
	URL string `json:"url,omitempty"`
	// CABundle is the base64 PEM of the CA that signed the hook's
	// certificate.
	// +optional
	CABundle string `json:"caBundle,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Path string `json:"path,omitempty"`
	// +optional
	Port int32 `json:"port,omitempty"`
}

// AdmissionNamespaceSelector is BCS's NamespaceSelector.
type AdmissionNamespaceSelector struct {
	// Operator is In or NotIn.
	Operator string `json:"operator"`
	// +optional
	Values []string `json:"values,omitempty"`
}

// AdmissionWebhookList is a list of AdmissionWebhooks.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type AdmissionWebhookList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []AdmissionWebhook `json:"items"`
}

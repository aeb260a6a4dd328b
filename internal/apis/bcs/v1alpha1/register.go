package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the group of the BCS dialect's resources.
const GroupName = "bcs.podyard.io"

// SchemeGroupVersion is the version served.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha1"}

// AddToScheme registers the group's types.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(SchemeGroupVersion, &Application{}, &ApplicationList{},
		&ApplicationVersion{}, &ApplicationVersionList{}, &AgentSetting{}, &AgentSettingList{},
		&Deployment{}, &DeploymentList{}, &Command{}, &CommandList{},
		&AdmissionWebhook{}, &AdmissionWebhookList{})
	metav1.AddToGroupVersion(s, SchemeGroupVersion)
	return nil
}

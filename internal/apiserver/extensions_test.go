package apiserver

import (
	"reflect"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCRDGroups(t *testing.T) {
	crd := func(group string, established bool, versions ...apiextensionsv1.CustomResourceDefinitionVersion) *apiextensionsv1.CustomResourceDefinition {
		c := &apiextensionsv1.CustomResourceDefinition{Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: group, Versions: versions}}
		if established {
			c.Status.Conditions = []apiextensionsv1.CustomResourceDefinitionCondition{{Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionTrue}}
		}
		return c
	}
	served := func(v string) apiextensionsv1.CustomResourceDefinitionVersion {
		return apiextensionsv1.CustomResourceDefinitionVersion{Name: v, Served: true}
	}
	gv := func(g, v string) metav1.GroupVersionForDiscovery {
		return metav1.GroupVersionForDiscovery{GroupVersion: g + "/" + v, Version: v}
	}
	for _, tc := range []struct {
		name string
		crds []*apiextensionsv1.CustomResourceDefinition
		want []metav1.APIGroup
	}{
		{"none", nil, nil},
		{"not yet established", []*apiextensionsv1.CustomResourceDefinition{crd("a.io", false, served("v1"))}, nil},
		{"not served", []*apiextensionsv1.CustomResourceDefinition{crd("a.io", true, apiextensionsv1.CustomResourceDefinitionVersion{Name: "v1"})}, nil},
		{
			"kube order, versions of several CRDs merged",
			[]*apiextensionsv1.CustomResourceDefinition{
				crd("a.io", true, served("v1alpha1"), served("v1")),
				crd("a.io", true, served("v2beta1"), served("v1")),
				crd("b.io", true, served("v1beta1")),
			},
			[]metav1.APIGroup{
				{Name: "a.io", Versions: []metav1.GroupVersionForDiscovery{gv("a.io", "v1"), gv("a.io", "v2beta1"), gv("a.io", "v1alpha1")}, PreferredVersion: gv("a.io", "v1")},
				{Name: "b.io", Versions: []metav1.GroupVersionForDiscovery{gv("b.io", "v1beta1")}, PreferredVersion: gv("b.io", "v1beta1")},
			},
		},
	} {
		if got := crdGroups(tc.crds); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

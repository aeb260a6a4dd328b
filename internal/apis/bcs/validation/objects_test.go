package validation

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

func TestValidateAgentSetting(t *testing.T) {
	setting := func(name, ip string, mutate func(*v1alpha1.AgentSettingSpec)) *v1alpha1.AgentSetting {
		s := &v1alpha1.AgentSetting{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.AgentSettingSpec{InnerIP: ip}}
		if mutate != nil {
			mutate(&s.Spec)
		}
		return s
	}
	for _, tc := range []struct {
		name    string
		setting *v1alpha1.AgentSetting
		want    string // "" valid, else a substring of the errors
	}{
		{"ipv4", setting("10.0.0.1", "10.0.0.1", nil), ""},
		{"ipv6", setting("fd00--1", "fd00::1", nil), ""},
		{"attributes and taints", setting("10.0.0.1", "10.0.0.1", func(s *v1alpha1.AgentSettingSpec) {
			s.Strings = map[string]string{"zone": "any text at all"}
			s.Scalars = map[string]float64{"cores": 8}
			s.NoSchedule = map[string]string{"dedicated": "db"}
		}), ""},
		{"not an IP", setting("host", "host", nil), "must be an IP address"},
		{"name is not the IP", setting("10.0.0.2", "10.0.0.1", nil), "must be 10.0.0.1"},
		{"bad taint key", setting("10.0.0.1", "10.0.0.1", func(s *v1alpha1.AgentSettingSpec) {
			s.NoSchedule = map[string]string{"a b": "x"}
		}), "noSchedule[a b]"},
		{"bad taint value", setting("10.0.0.1", "10.0.0.1", func(s *v1alpha1.AgentSettingSpec) {
			s.NoSchedule = map[string]string{"k": "a b"}
		}), "noSchedule[k]"},
		{"string and scalar of one name", setting("10.0.0.1", "10.0.0.1", func(s *v1alpha1.AgentSettingSpec) {
			s.Strings = map[string]string{"x": "1"}
			s.Scalars = map[string]float64{"x": 1}
		}), "Duplicate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := ValidateAgentSetting(tc.setting)
			if tc.want == "" && len(errs) > 0 || tc.want != "" && !strings.Contains(errs.ToAggregate().Error(), tc.want) {
				t.Fatalf("errors %v, want %q", errs, tc.want)
			}
		})
	}
}

func TestValidateApplicationVersionUpdate(t *testing.T) {
	v := &v1alpha1.ApplicationVersion{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-1", Namespace: "ns", ResourceVersion: "1"},
		Application: "web", ID: "1",
	}
	changed := v.DeepCopy()
	changed.Spec.Instance = 3
	if errs := ValidateApplicationVersionUpdate(changed, v); len(errs) == 0 {
		t.Fatal("a changed version must be refused")
	}
	labelled := v.DeepCopy()
	labelled.Labels = map[string]string{"a": "b"}
	if errs := ValidateApplicationVersionUpdate(labelled, v); len(errs) != 0 {
		t.Fatalf("metadata may change: %v", errs)
	}
	bad := v.DeepCopy()
	bad.ID = "x"
	if errs := ValidateApplicationVersion(bad); !strings.Contains(errs.ToAggregate().Error(), "decimal") {
		t.Fatalf("errors %v", errs)
	}
}

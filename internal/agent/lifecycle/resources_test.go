package lifecycle

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/podyard/podyard/internal/runtime"
)

func TestResources(t *testing.T) {
	list := func(kv ...string) corev1.ResourceList {
		l := corev1.ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		return l
	}
	for _, tc := range []struct {
		name             string
		requests, limits corev1.ResourceList
		want             runtime.Resources
	}{
		{name: "best effort", want: runtime.Resources{CPUShares: 2}},
		{name: "cpu request", requests: list("cpu", "250m"), want: runtime.Resources{CPUShares: 256}},
		{name: "cpu limit only: shares from the limit", limits: list("cpu", "2"),
			want: runtime.Resources{CPUShares: 2048, CPUPeriod: 100000, CPUQuota: 200000}},
		{name: "request and limit", requests: list("cpu", "100m"), limits: list("cpu", "500m"),
			want: runtime.Resources{CPUShares: 102, CPUPeriod: 100000, CPUQuota: 50000}},
		{name: "tiny limit gets the least quota", limits: list("cpu", "1m"),
			want: runtime.Resources{CPUShares: 2, CPUPeriod: 100000, CPUQuota: 1000}},
		{name: "huge request is capped", requests: list("cpu", "1000"), want: runtime.Resources{CPUShares: 262144}},
		{name: "memory limit", requests: list("memory", "10Mi"), limits: list("memory", "64Mi"),
			want: runtime.Resources{CPUShares: 2, MemoryLimit: 64 << 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &corev1.Container{Resources: corev1.ResourceRequirements{Requests: tc.requests, Limits: tc.limits}}
			if got := Resources(c); got != tc.want {
				t.Errorf("Resources = %+v, want %+v", got, tc.want)
			}
		})
	}
}

package lifecycle

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/podyard/podyard/internal/runtime"
)

// The kubelet's CPU constants (pkg/kubelet/cm): shares per CPU, the least
// shares a container gets, and the CFS period with the least quota.
const (
	sharesPerCPU  = 1024
	minShares     = 2
	maxShares     = 262144
	cpuPeriod     = 100000 // µs
	minQuotaMicro = 1000   // µs
)

// Resources turns a container's requests and limits into Linux settings as
// the kubelet does: the CPU request (or, without one, the limit) becomes
// shares, the CPU limit a CFS quota per 100 ms period, the memory limit a
// byte limit. No request at all gets the fewest shares, like a best-effort pod.
func Resources(c *corev1.Container) runtime.Resources {
	var r runtime.Resources
	cpu := c.Resources.Requests.Cpu()
	if cpu.IsZero() {
		cpu = c.Resources.Limits.Cpu()
	}
	r.CPUShares = milliCPUToShares(cpu.MilliValue())
	if limit := c.Resources.Limits.Cpu(); !limit.IsZero() {
		r.CPUPeriod = cpuPeriod
		r.CPUQuota = max(limit.MilliValue()*cpuPeriod/1000, minQuotaMicro)
	}
	if limit := c.Resources.Limits.Memory(); !limit.IsZero() {
		r.MemoryLimit = limit.Value()
	}
	return r
}

func milliCPUToShares(milliCPU int64) int64 {
	if milliCPU == 0 {
		return minShares
	}
	return min(max(milliCPU*sharesPerCPU/1000, minShares), maxShares)
}

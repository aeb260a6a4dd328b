package agent

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/podyard/podyard/internal/nodeclient"
	"github.com/podyard/podyard/internal/version"
)

const (
	leaseNamespace = "kube-node-lease"
	// The node's conditions are re-posted this often even when unchanged,
	// as the kubelet does, so their heartbeat time says the agent lives.
	statusReport = time.Minute
)

// registerNode creates the node, or updates the one a previous agent of
// this name registered.
func (a *Agent) registerNode(ctx context.Context, port int32, caPEM []byte) error {
	want := a.nodeObject(port, caPEM)
	nodes := a.client.CoreV1().Nodes()
	created, err := nodes.Create(ctx, want, metav1.CreateOptions{})
	switch {
	case err == nil:
		want.ResourceVersion = created.ResourceVersion
	case apierrors.IsAlreadyExists(err):
		current, err := nodes.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("agent: read node: %w", err)
		}
		current.Labels = mergeMaps(current.Labels, want.Labels)
		current.Annotations = mergeMaps(current.Annotations, want.Annotations)
		updated, err := nodes.Update(ctx, current, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("agent: update node: %w", err)
		}
		want.ResourceVersion = updated.ResourceVersion
	default:
		return fmt.Errorf("agent: register node: %w", err)
	}
	return a.postNodeStatus(ctx, want.Status)
}

func (a *Agent) nodeObject(port int32, caPEM []byte) *corev1.Node {
	hostname, _ := os.Hostname()
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(memoryBytes(), resource.BinarySI),
		corev1.ResourcePods:   *resource.NewQuantity(int64(a.cfg.MaxPods), resource.DecimalSI),
	}
	if disk := diskBytes(a.cfg.DataDir); disk > 0 {
		capacity[corev1.ResourceEphemeralStorage] = *resource.NewQuantity(disk, resource.BinarySI)
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: a.cfg.NodeName,
			Labels: map[string]string{
				corev1.LabelHostname:   a.cfg.NodeName,
				corev1.LabelOSStable:   runtime.GOOS,
				corev1.LabelArchStable: runtime.GOARCH,
			},
			Annotations: map[string]string{nodeclient.AgentCAAnnotation: string(caPEM)},
		},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity,
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: a.hostIP},
				{Type: corev1.NodeHostName, Address: hostname},
			},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: port}},
			NodeInfo: corev1.NodeSystemInfo{
				OperatingSystem:         runtime.GOOS,
				Architecture:            runtime.GOARCH,
				KernelVersion:           kernelVersion(),
				OSImage:                 osImage(),
				ContainerRuntimeVersion: "process://" + version.Podyard,
				KubeletVersion:          "v" + version.Kubernetes,
				MachineID:               readTrimmed("/etc/machine-id"),
				BootID:                  readTrimmed("/proc/sys/kernel/random/boot_id"),
			},
		},
	}
}

// postNodeStatus writes the node's status with fresh conditions.
func (a *Agent) postNodeStatus(ctx context.Context, status corev1.NodeStatus) error {
	now := metav1.Now()
	status.Conditions = []corev1.NodeCondition{
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "podyard agent is posting ready status"},
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "agent has sufficient memory available"},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "agent has no disk pressure"},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "agent has sufficient PID available"},
	}
	nodes := a.client.CoreV1().Nodes()
	current, err := nodes.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("agent: read node: %w", err)
	}
	for i := range status.Conditions {
		c := &status.Conditions[i]
		c.LastHeartbeatTime, c.LastTransitionTime = now, now
		for _, old := range current.Status.Conditions {
			if old.Type == c.Type && old.Status == c.Status {
				c.LastTransitionTime = old.LastTransitionTime
			}
		}
	}
	if len(status.Capacity) == 0 { // a heartbeat keeps what registration wrote
		status.Capacity, status.Allocatable = current.Status.Capacity, current.Status.Allocatable
		status.Addresses, status.DaemonEndpoints, status.NodeInfo = current.Status.Addresses, current.Status.DaemonEndpoints, current.Status.NodeInfo
	}
	current.Status = status
	if _, err := nodes.UpdateStatus(ctx, current, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("agent: post node status: %w", err)
	}
	return nil
}

// heartbeat re-posts the node's conditions; the node controller also sets
// them back to Ready after it marked the node NotReady.
func (a *Agent) heartbeat(ctx context.Context) {
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		if err := a.postNodeStatus(ctx, corev1.NodeStatus{}); err != nil && ctx.Err() == nil {
			a.log.Warn("node status", "err", err)
		}
	}, statusReport)
}

// renewLease keeps the node's Lease fresh: the node controller declares
// the node lost when it goes stale.
func (a *Agent) renewLease(ctx context.Context) {
	leases := a.client.CoordinationV1().Leases(leaseNamespace)
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		now := metav1.NewMicroTime(time.Now())
		lease, err := leases.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			lease = &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: a.cfg.NodeName, Namespace: leaseNamespace},
				Spec: coordinationv1.LeaseSpec{
					HolderIdentity:       ptr.To(a.cfg.NodeName),
					LeaseDurationSeconds: ptr.To(int32(a.cfg.LeaseDuration / time.Second)),
					RenewTime:            &now,
				},
			}
			_, err = leases.Create(ctx, lease, metav1.CreateOptions{})
		} else if err == nil {
			lease.Spec.RenewTime = &now
			lease.Spec.HolderIdentity = ptr.To(a.cfg.NodeName)
			lease.Spec.LeaseDurationSeconds = ptr.To(int32(a.cfg.LeaseDuration / time.Second))
			_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
		}
		if err != nil && ctx.Err() == nil {
			a.log.Warn("renew lease", "err", err)
		}
	}, a.cfg.LeaseDuration/4) // the kubelet renews its 40 s lease every 10 s
}

func mergeMaps(into, from map[string]string) map[string]string {
	if into == nil {
		into = map[string]string{}
	}
	for k, v := range from {
		into[k] = v
	}
	return into
}

func memoryBytes() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func readTrimmed(path string) string {
	data, _ := os.ReadFile(path)
	return strings.TrimSpace(string(data))
}

func kernelVersion() string { return readTrimmed("/proc/sys/kernel/osrelease") }

func osImage() string {
	data, _ := os.ReadFile("/etc/os-release")
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return runtime.GOOS
}

// diskBytes is the size of the file system holding dir.
func diskBytes(dir string) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0
	}
	return int64(st.Blocks) * st.Bsize
}

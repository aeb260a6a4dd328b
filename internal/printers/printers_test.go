package printers

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func running(name string, ready bool, restarts int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, Ready: ready, RestartCount: restarts, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
}

func waiting(name, reason string, restarts int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, RestartCount: restarts, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
}

func terminated(name, reason string, code, signal int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code, Signal: signal}}}
}

func pod(containers, inits int, phase corev1.PodPhase, statuses, initStatuses []corev1.ContainerStatus) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", CreationTimestamp: metav1.NewTime(now.Add(-5 * time.Minute))}}
	for i := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: string(rune('a' + i))})
	}
	for i := range inits {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "init" + string(rune('a'+i))})
	}
	p.Status.Phase, p.Status.ContainerStatuses, p.Status.InitContainerStatuses = phase, statuses, initStatuses
	return p
}

func TestPodReadyStatusRestarts(t *testing.T) {
	sidecarPod := pod(1, 1, corev1.PodRunning, []corev1.ContainerStatus{running("a", true, 0)},
		[]corev1.ContainerStatus{{Name: "inita", Ready: true, Started: ptr.To(true), State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}})
	sidecarPod.Spec.InitContainers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	deleting := pod(1, 0, corev1.PodRunning, []corev1.ContainerStatus{running("a", true, 0)}, nil)
	deleting.DeletionTimestamp = &metav1.Time{Time: now}
	nodeLost := deleting.DeepCopy()
	nodeLost.Status.Reason = "NodeLost"
	restarted := pod(1, 0, corev1.PodRunning, []corev1.ContainerStatus{running("a", true, 3)}, nil)
	restarted.Status.ContainerStatuses[0].LastTerminationState.Terminated = &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(now.Add(-2 * time.Minute))}
	mixed := pod(2, 0, corev1.PodRunning, []corev1.ContainerStatus{running("a", true, 0), terminated("b", "Completed", 0, 0)}, nil)
	mixedReady := mixed.DeepCopy()
	mixedReady.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	gated := pod(1, 0, corev1.PodPending, nil, nil)
	gated.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated}}

	cases := []struct {
		name                    string
		pod                     *corev1.Pod
		ready, status, restarts string
	}{
		{"pending", pod(1, 0, corev1.PodPending, nil, nil), "0/1", "Pending", "0"},
		{"running ready", pod(1, 0, corev1.PodRunning, []corev1.ContainerStatus{running("a", true, 0)}, nil), "1/1", "Running", "0"},
		{"running not ready", pod(2, 0, corev1.PodRunning, []corev1.ContainerStatus{running("a", true, 0), running("b", false, 0)}, nil), "1/2", "Running", "0"},
		{"crash loop", pod(1, 0, corev1.PodRunning, []corev1.ContainerStatus{waiting("a", "CrashLoopBackOff", 4)}, nil), "0/1", "CrashLoopBackOff", "4"},
		{"container creating", pod(1, 0, corev1.PodPending, []corev1.ContainerStatus{waiting("a", "ContainerCreating", 0)}, nil), "0/1", "ContainerCreating", "0"},
		{"completed", pod(1, 0, corev1.PodSucceeded, []corev1.ContainerStatus{terminated("a", "Completed", 0, 0)}, nil), "0/1", "Completed", "0"},
		{"error", pod(1, 0, corev1.PodFailed, []corev1.ContainerStatus{terminated("a", "Error", 1, 0)}, nil), "0/1", "Error", "0"},
		{"exit code", pod(1, 0, corev1.PodFailed, []corev1.ContainerStatus{terminated("a", "", 3, 0)}, nil), "0/1", "ExitCode:3", "0"},
		{"signal", pod(1, 0, corev1.PodFailed, []corev1.ContainerStatus{terminated("a", "", 137, 9)}, nil), "0/1", "Signal:9", "0"},
		{"init waiting", pod(1, 2, corev1.PodPending, nil, []corev1.ContainerStatus{running("inita", false, 0), waiting("initb", "PodInitializing", 0)}), "0/1", "Init:0/2", "0"},
		{"init second", pod(1, 2, corev1.PodPending, nil, []corev1.ContainerStatus{terminated("inita", "Completed", 0, 0), running("initb", false, 0)}), "0/1", "Init:1/2", "0"},
		{"init error", pod(1, 1, corev1.PodPending, nil, []corev1.ContainerStatus{terminated("inita", "Error", 2, 0)}), "0/1", "Init:Error", "0"},
		{"init exit code", pod(1, 1, corev1.PodPending, nil, []corev1.ContainerStatus{terminated("inita", "", 2, 0)}), "0/1", "Init:ExitCode:2", "0"},
		{"init crash loop", pod(1, 1, corev1.PodPending, nil, []corev1.ContainerStatus{waiting("inita", "CrashLoopBackOff", 2)}), "0/1", "Init:CrashLoopBackOff", "2"},
		{"sidecar counted", sidecarPod, "2/2", "Running", "0"},
		{"terminating", deleting, "1/1", "Terminating", "0"},
		{"node lost", nodeLost, "1/1", "Unknown", "0"},
		{"restarts with age", restarted, "1/1", "Running", "3 (2m ago)"},
		{"completed container beside a running one, not ready", mixed, "1/2", "NotReady", "0"},
		{"completed container beside a running one, ready", mixedReady, "1/2", "Running", "0"},
		{"scheduling gated", gated, "0/1", "SchedulingGated", "0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			row := podRow(tc.pod, now)
			if row.Cells[1] != tc.ready || row.Cells[2] != tc.status || row.Cells[3] != tc.restarts {
				t.Errorf("READY %v STATUS %v RESTARTS %v, want %s %s %s", row.Cells[1], row.Cells[2], row.Cells[3], tc.ready, tc.status, tc.restarts)
			}
			if row.Cells[4] != "5m" {
				t.Errorf("AGE %v, want 5m", row.Cells[4])
			}
		})
	}
}

func TestPodWideColumns(t *testing.T) {
	p := pod(1, 0, corev1.PodRunning, nil, nil)
	p.Spec.NodeName = "node-1"
	p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.5"}}
	p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/ready"}}
	row := podRow(p, now)
	if row.Cells[5] != "10.0.0.5" || row.Cells[6] != "node-1" || row.Cells[7] != "<none>" || row.Cells[8] != "0/1" {
		t.Errorf("wide cells: %v", row.Cells[5:])
	}
}

func TestNodeStatusAndRoles(t *testing.T) {
	cases := []struct {
		node          corev1.Node
		status, roles string
	}{
		{corev1.Node{}, "Unknown", "<none>"},
		{corev1.Node{Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}, "Ready", "<none>"},
		{corev1.Node{Spec: corev1.NodeSpec{Unschedulable: true}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse}}}}, "NotReady,SchedulingDisabled", "<none>"},
		{corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "infra"}}}, "Unknown", "control-plane,infra,worker"},
	}
	for _, tc := range cases {
		if got := nodeStatus(&tc.node); got != tc.status {
			t.Errorf("status %q, want %q", got, tc.status)
		}
		if got := nodeRoles(&tc.node); got != tc.roles {
			t.Errorf("roles %q, want %q", got, tc.roles)
		}
	}
}

func TestServiceCells(t *testing.T) {
	cases := []struct {
		spec           corev1.ServiceSpec
		status         corev1.ServiceStatus
		external, port string
	}{
		{corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Ports: []corev1.ServicePort{{Port: 80, Protocol: "TCP"}}}, corev1.ServiceStatus{}, "<none>", "80/TCP"},
		{corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80, NodePort: 30080, Protocol: "TCP"}, {Port: 53, Protocol: "UDP"}}}, corev1.ServiceStatus{}, "<none>", "80:30080/TCP,53/UDP"},
		{corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}, corev1.ServiceStatus{}, "<pending>", "<none>"},
		{corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}, corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "1.2.3.4"}}}}, "1.2.3.4", "<none>"},
		{corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}, corev1.ServiceStatus{}, "example.com", "<none>"},
	}
	for _, tc := range cases {
		s := &corev1.Service{Spec: tc.spec, Status: tc.status}
		if got := serviceExternalIP(s); got != tc.external {
			t.Errorf("external IP %q, want %q", got, tc.external)
		}
		if got := servicePorts(s); got != tc.port {
			t.Errorf("ports %q, want %q", got, tc.port)
		}
	}
}

func TestListConversion(t *testing.T) {
	list := &corev1.PodList{
		ListMeta: metav1.ListMeta{ResourceVersion: "42", Continue: "next", RemainingItemCount: ptr.To[int64](7)},
		Items:    []corev1.Pod{*pod(1, 0, corev1.PodPending, nil, nil), *pod(1, 0, corev1.PodPending, nil, nil)},
	}
	table, err := Pods().ConvertToTable(context.Background(), list, &metav1.TableOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(table.Rows) != 2 || table.Rows[0].Object.Object == nil || len(table.ColumnDefinitions) != 9 {
		t.Fatalf("table: %d rows, %d columns", len(table.Rows), len(table.ColumnDefinitions))
	}
	if table.ResourceVersion != "42" || table.Continue != "next" || *table.RemainingItemCount != 7 {
		t.Errorf("list metadata not copied: %+v", table.ListMeta)
	}
	noHeaders, err := Pods().ConvertToTable(context.Background(), list, &metav1.TableOptions{NoHeaders: true})
	if err != nil || noHeaders.ColumnDefinitions != nil {
		t.Errorf("NoHeaders kept column definitions: %v", err)
	}
	if _, err := Pods().ConvertToTable(context.Background(), &corev1.Namespace{}, nil); err == nil {
		t.Error("a namespace converted as a pod")
	}
}

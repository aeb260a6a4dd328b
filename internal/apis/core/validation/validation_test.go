package validation

import (
	"strings"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podyard/podyard/internal/apis/core/defaults"
)

func validPod() *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", ResourceVersion: "1"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "app", Image: "busybox:1",
				Ports:        []corev1.ContainerPort{{Name: "http", ContainerPort: 80}},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		},
	}
	defaults.Pod(p)
	return p
}

// wantError checks that errs has exactly one error of the type at the path.
func wantError(t *testing.T, errs field.ErrorList, typ field.ErrorType, path string) {
	t.Helper()
	if path == "" {
		if len(errs) != 0 {
			t.Errorf("unexpected errors: %v", errs)
		}
		return
	}
	for _, e := range errs {
		if e.Type == typ && e.Field == path {
			return
		}
	}
	t.Errorf("want %s at %s, got %v", typ, path, errs)
}

func TestValidatePodCreate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		typ    field.ErrorType
		path   string
	}{
		{"valid", func(*corev1.Pod) {}, "", ""},
		{"name not DNS-1123", func(p *corev1.Pod) { p.Name = "Bad_Name" }, field.ErrorTypeInvalid, "metadata.name"},
		{"no name", func(p *corev1.Pod) { p.Name = "" }, field.ErrorTypeRequired, "metadata.name"},
		{"no namespace", func(p *corev1.Pod) { p.Namespace = "" }, field.ErrorTypeRequired, "metadata.namespace"},
		{"bad label", func(p *corev1.Pod) { p.Labels = map[string]string{"a b": "c"} }, field.ErrorTypeInvalid, "metadata.labels"},
		{"no containers", func(p *corev1.Pod) { p.Spec.Containers = nil }, field.ErrorTypeRequired, "spec.containers"},
		{"no container name", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "" }, field.ErrorTypeRequired, "spec.containers[0].name"},
		{"no image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = " " }, field.ErrorTypeRequired, "spec.containers[0].image"},
		{"duplicate container name", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "app", Image: "x", TerminationMessagePolicy: "File", ImagePullPolicy: "Always"}}
		}, field.ErrorTypeDuplicate, "spec.containers[0].name"},
		{"port 0", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 0 }, field.ErrorTypeRequired, "spec.containers[0].ports[0].containerPort"},
		{"port too big", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 65536 }, field.ErrorTypeInvalid, "spec.containers[0].ports[0].containerPort"},
		{"hostPort too big", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].HostPort = 70000 }, field.ErrorTypeInvalid, "spec.containers[0].ports[0].hostPort"},
		{"bad protocol", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Protocol = "HTTP" }, field.ErrorTypeNotSupported, "spec.containers[0].ports[0].protocol"},
		{"bad port name", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Name = "Not_OK" }, field.ErrorTypeInvalid, "spec.containers[0].ports[0].name"},
		{"duplicate port name", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{Name: "http", ContainerPort: 81, Protocol: "TCP"})
		}, field.ErrorTypeDuplicate, "spec.containers[0].ports[1].name"},
		{"bad env name", func(p *corev1.Pod) { p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A=B"}} }, field.ErrorTypeInvalid, "spec.containers[0].env[0].name"},
		{"env value and valueFrom", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "x", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}
		}, field.ErrorTypeInvalid, "spec.containers[0].env[0].valueFrom"},
		{"env two sources", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{
				FieldRef:        &corev1.ObjectFieldSelector{FieldPath: "metadata.name"},
				ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}, Key: "k"},
			}}}
		}, field.ErrorTypeInvalid, "spec.containers[0].env[0].valueFrom"},
		{"requests above limits", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
			}
		}, field.ErrorTypeInvalid, "spec.containers[0].resources.requests[cpu]"},
		{"negative request", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("-1")}
		}, field.ErrorTypeInvalid, "spec.containers[0].resources.requests[memory]"},
		{"mount of a missing volume", func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].Name = "nope" }, field.ErrorTypeNotFound, "spec.containers[0].volumeMounts[0].name"},
		{"mount without path", func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].MountPath = "" }, field.ErrorTypeRequired, "spec.containers[0].volumeMounts[0].mountPath"},
		{"duplicate volume", func(p *corev1.Pod) { p.Spec.Volumes = append(p.Spec.Volumes, p.Spec.Volumes[0]) }, field.ErrorTypeDuplicate, "spec.volumes[1].name"},
		{"volume with two sources", func(p *corev1.Pod) { p.Spec.Volumes[0].HostPath = &corev1.HostPathVolumeSource{Path: "/x"} }, field.ErrorTypeForbidden, "spec.volumes[0]"},
		{"hostPath without path", func(p *corev1.Pod) {
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{}}
		}, field.ErrorTypeRequired, "spec.volumes[0].hostPath.path"},
		{"configMap without name", func(p *corev1.Pod) {
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}
		}, field.ErrorTypeRequired, "spec.volumes[0].configMap.name"},
		{"secret mode too big", func(p *corev1.Pod) {
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: ptr.To[int32](0o1777)}}
		}, field.ErrorTypeInvalid, "spec.volumes[0].secret.defaultMode"},
		{"probe without handler", func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{}
		}, field.ErrorTypeRequired, "spec.containers[0].readinessProbe"},
		{"probe with two handlers", func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
				Exec: &corev1.ExecAction{Command: []string{"true"}}, TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}}}
		}, field.ErrorTypeForbidden, "spec.containers[0].readinessProbe"},
		{"probe on a bad port", func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{SuccessThreshold: 1, ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(0)}}}
		}, field.ErrorTypeInvalid, "spec.containers[0].livenessProbe.tcpSocket.port"},
		{"probe on init container", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "x", TerminationMessagePolicy: "File", ImagePullPolicy: "Always",
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}}}
		}, field.ErrorTypeForbidden, "spec.initContainers[0].readinessProbe"},
		{"bad restartPolicy", func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" }, field.ErrorTypeNotSupported, "spec.restartPolicy"},
		{"bad dnsPolicy", func(p *corev1.Pod) { p.Spec.DNSPolicy = "Google" }, field.ErrorTypeNotSupported, "spec.dnsPolicy"},
		{"dnsPolicy None without nameservers", func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone }, field.ErrorTypeRequired, "spec.dnsConfig.nameservers"},
		{"activeDeadlineSeconds 0", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](0) }, field.ErrorTypeInvalid, "spec.activeDeadlineSeconds"},
		{"negative grace", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](-1) }, field.ErrorTypeInvalid, "spec.terminationGracePeriodSeconds"},
		{"bad nodeSelector", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"-bad": "x"} }, field.ErrorTypeInvalid, "spec.nodeSelector"},
		{"Exists toleration with value", func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Value: "v"}}
		}, field.ErrorTypeInvalid, "spec.tolerations[0].operator"},
		{"tolerationSeconds without NoExecute", func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule, TolerationSeconds: ptr.To[int64](5)}}
		}, field.ErrorTypeInvalid, "spec.tolerations[0].effect"},
		{"empty nodeSelectorTerms", func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}}}
		}, field.ErrorTypeRequired, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"},
		{"In without values", func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn}}}}}}}
		}, field.ErrorTypeRequired, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values"},
		{"ephemeral containers on create", func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg", Image: "x", TerminationMessagePolicy: "File", ImagePullPolicy: "Always"}}}
		}, field.ErrorTypeForbidden, "spec.ephemeralContainers"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := validPod()
			tc.mutate(p)
			wantError(t, ValidatePodCreate(p), tc.typ, tc.path)
		})
	}
}

func TestValidatePodUpdate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		typ    field.ErrorType
		path   string
	}{
		{"labels", func(p *corev1.Pod) { p.Labels = map[string]string{"a": "b"} }, "", ""},
		{"image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "busybox:2" }, "", ""},
		{"empty image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }, field.ErrorTypeRequired, "spec.containers[0].image"},
		{"activeDeadlineSeconds lowered", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](50) }, "", ""},
		{"activeDeadlineSeconds raised", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](500) }, field.ErrorTypeInvalid, "spec.activeDeadlineSeconds"},
		{"activeDeadlineSeconds unset", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = nil }, field.ErrorTypeInvalid, "spec.activeDeadlineSeconds"},
		{"toleration added", func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "b", Operator: corev1.TolerationOpExists})
		}, "", ""},
		{"toleration removed", func(p *corev1.Pod) { p.Spec.Tolerations = nil }, field.ErrorTypeForbidden, "spec.tolerations"},
		{"restartPolicy", func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyNever }, field.ErrorTypeForbidden, "spec"},
		{"container added", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "b", Image: "x", TerminationMessagePolicy: "File", ImagePullPolicy: "Always"})
		}, field.ErrorTypeForbidden, "spec"},
		{"command", func(p *corev1.Pod) { p.Spec.Containers[0].Command = []string{"x"} }, field.ErrorTypeForbidden, "spec"},
		{"uid", func(p *corev1.Pod) { p.UID = "other" }, field.ErrorTypeInvalid, "metadata.uid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := validPod()
			old.UID, old.ResourceVersion = "u1", "1"
			old.Spec.ActiveDeadlineSeconds = ptr.To[int64](100)
			old.Spec.Tolerations = []corev1.Toleration{{Key: "a", Operator: corev1.TolerationOpExists}}
			p := old.DeepCopy()
			tc.mutate(p)
			errs := ValidatePodUpdate(p, old)
			wantError(t, errs, tc.typ, tc.path)
			if tc.path == "spec" && !strings.Contains(errs.ToAggregate().Error(), "pod updates may not change fields other than") {
				t.Errorf("message: %v", errs)
			}
		})
	}
}

func TestValidatePodStatusUpdate(t *testing.T) {
	old := validPod()
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		typ    field.ErrorType
		path   string
	}{
		{"running", func(p *corev1.Pod) { p.Status.Phase = corev1.PodRunning; p.Status.PodIP = "10.0.0.1" }, "", ""},
		{"bad podIP", func(p *corev1.Pod) { p.Status.PodIP = "not-an-ip" }, field.ErrorTypeInvalid, "status.podIP"},
		{"bad phase", func(p *corev1.Pod) { p.Status.Phase = "Sleeping" }, field.ErrorTypeNotSupported, "status.phase"},
		{"status of an unknown container", func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "ghost"}}
		}, field.ErrorTypeNotFound, "status.containerStatuses[0].name"},
		{"bad nominatedNodeName", func(p *corev1.Pod) { p.Status.NominatedNodeName = "Bad Node" }, field.ErrorTypeInvalid, "status.nominatedNodeName"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := old.DeepCopy()
			tc.mutate(p)
			wantError(t, ValidatePodStatusUpdate(p, old), tc.typ, tc.path)
		})
	}
	failed := old.DeepCopy()
	failed.Status.Phase = corev1.PodFailed
	back := failed.DeepCopy()
	back.Status.Phase = corev1.PodRunning
	wantError(t, ValidatePodStatusUpdate(back, failed), field.ErrorTypeForbidden, "status.phase")
}

func TestValidatePodEphemeralContainersUpdate(t *testing.T) {
	debugger := corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debugger", Image: "busybox:1", TerminationMessagePolicy: "File", ImagePullPolicy: "IfNotPresent"}, TargetContainerName: "app"}
	old := validPod()
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		typ    field.ErrorType
		path   string
	}{
		{"add", func(p *corev1.Pod) { p.Spec.EphemeralContainers = []corev1.EphemeralContainer{debugger} }, "", ""},
		{"no image", func(p *corev1.Pod) {
			d := debugger
			d.Image = ""
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{d}
		}, field.ErrorTypeRequired, "spec.ephemeralContainers[0].image"},
		{"name of an app container", func(p *corev1.Pod) {
			d := debugger
			d.Name = "app"
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{d}
		}, field.ErrorTypeDuplicate, "spec.ephemeralContainers[0].name"},
		{"ports", func(p *corev1.Pod) {
			d := debugger
			d.Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: "TCP"}}
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{d}
		}, field.ErrorTypeForbidden, "spec.ephemeralContainers[0].ports"},
		{"unknown target", func(p *corev1.Pod) {
			d := debugger
			d.TargetContainerName = "ghost"
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{d}
		}, field.ErrorTypeNotFound, "spec.ephemeralContainers[0].targetContainerName"},
		{"other spec change", func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{debugger}
			p.Spec.Containers[0].Image = "x:2"
		}, field.ErrorTypeForbidden, "spec"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := old.DeepCopy()
			tc.mutate(p)
			wantError(t, ValidatePodEphemeralContainersUpdate(p, old), tc.typ, tc.path)
		})
	}
	withDebugger := old.DeepCopy()
	withDebugger.Spec.EphemeralContainers = []corev1.EphemeralContainer{debugger}
	wantError(t, ValidatePodEphemeralContainersUpdate(old.DeepCopy(), withDebugger), field.ErrorTypeForbidden, "spec.ephemeralContainers")
	changed := withDebugger.DeepCopy()
	changed.Spec.EphemeralContainers[0].Image = "other:1"
	wantError(t, ValidatePodEphemeralContainersUpdate(changed, withDebugger), field.ErrorTypeForbidden, "spec.ephemeralContainers")
}

func TestValidateOtherObjects(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "x", Namespace: "ns"}
	immutable := &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"k": "v"}, Immutable: ptr.To(true)}
	changedCM := immutable.DeepCopy()
	changedCM.Data["k"] = "w"
	opaque := &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeOpaque}
	retyped := opaque.DeepCopy()
	retyped.Type = "example.com/other"
	svc := func(mutate func(*corev1.Service)) *corev1.Service {
		s := &corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
		defaults.Service(s)
		mutate(s)
		return s
	}
	cases := []struct {
		name string
		errs field.ErrorList
		typ  field.ErrorType
		path string
	}{
		{"binding ok", ValidatePodBinding(&corev1.Binding{Target: corev1.ObjectReference{Kind: "Node", Name: "n"}}), "", ""},
		{"binding without node", ValidatePodBinding(&corev1.Binding{}), field.ErrorTypeRequired, "target.name"},
		{"binding to a pod", ValidatePodBinding(&corev1.Binding{Target: corev1.ObjectReference{Kind: "Pod", Name: "n"}}), field.ErrorTypeNotSupported, "target.kind"},
		{"namespace name", ValidateNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "Bad.Name"}}), field.ErrorTypeInvalid, "metadata.name"},
		{"node podCIDR", ValidateNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: corev1.NodeSpec{PodCIDR: "10.0.0.0"}}), field.ErrorTypeInvalid, "spec.podCIDR"},
		{"service ok", ValidateService(svc(func(*corev1.Service) {})), "", ""},
		{"service without ports", ValidateService(svc(func(s *corev1.Service) { s.Spec.Ports = nil })), field.ErrorTypeRequired, "spec.ports"},
		{"service port 0", ValidateService(svc(func(s *corev1.Service) { s.Spec.Ports[0].Port = 0 })), field.ErrorTypeInvalid, "spec.ports[0].port"},
		{"service unnamed ports", ValidateService(svc(func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Port: 81, Protocol: "TCP"})
		})), field.ErrorTypeRequired, "spec.ports[0].name"},
		{"externalName required", ValidateService(svc(func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeExternalName })), field.ErrorTypeRequired, "spec.externalName"},
		{"configmap bad key", ValidateConfigMap(&corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"a/b": "v"}}), field.ErrorTypeInvalid, "data[a/b]"},
		{"configmap key in both", ValidateConfigMap(&corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"k": "v"}, BinaryData: map[string][]byte{"k": nil}}), field.ErrorTypeInvalid, "data[k]"},
		{"configmap too big", ValidateConfigMap(&corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"k": strings.Repeat("x", 1<<20)}}), field.ErrorTypeTooLong, ""},
		{"immutable configmap", ValidateConfigMapUpdate(changedCM, immutable), field.ErrorTypeForbidden, "data"},
		{"secret type change", ValidateSecretUpdate(retyped, opaque), field.ErrorTypeInvalid, "type"},
		{"tls secret without key", ValidateSecret(&corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil}}), field.ErrorTypeRequired, "data[tls.key]"},
		{"event in another namespace", ValidateEvent(&corev1.Event{ObjectMeta: meta, InvolvedObject: corev1.ObjectReference{Namespace: "other"}}), field.ErrorTypeInvalid, "involvedObject.namespace"},
		{"lease duration", ValidateLease(&coordinationv1.Lease{ObjectMeta: meta, Spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr.To[int32](0)}}), field.ErrorTypeInvalid, "spec.leaseDurationSeconds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.typ == field.ErrorTypeTooLong {
				if len(tc.errs) == 0 || tc.errs[0].Type != field.ErrorTypeTooLong {
					t.Errorf("want TooLong, got %v", tc.errs)
				}
				return
			}
			wantError(t, tc.errs, tc.typ, tc.path)
		})
	}
}

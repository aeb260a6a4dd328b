package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
)

// holdFinalizer keeps a dependent in place after the collector deleted it,
// until the test lets it go.
const holdFinalizer = "e2e.podyard.io/hold"

// ownedBy is an ownerReference to a ConfigMap.
func ownedBy(owner *corev1.ConfigMap, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID, BlockOwnerDeletion: ptr.To(block)}
}

func createConfigMap(t *testing.T, c kubernetes.Interface, ns, name string, owners ...metav1.OwnerReference) *corev1.ConfigMap {
	t.Helper()
	cm, err := c.CoreV1().ConfigMaps(ns).Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: owners},
		Data:       map[string]string{"k": "v"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create configmap %s: %v", name, err)
	}
	return cm
}

func createOwnedPod(t *testing.T, c kubernetes.Interface, ns, name string, finalizers []string, owners ...metav1.OwnerReference) *corev1.Pod {
	t.Helper()
	p := newPod(name, nil)
	p.Spec.Containers[0].Ports = nil
	p.OwnerReferences, p.Finalizers = owners, finalizers
	p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](2)
	created, err := c.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s: %v", name, err)
	}
	return created
}

func configMapGone(s *Server, ns, name string) bool {
	_, err := s.Client.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
	return apierrors.IsNotFound(err)
}

// TestGarbageCollection: deleting an owner deletes what it owns, as the
// propagation policy says, for every kind (kubectl delete --cascade).
func TestGarbageCollection(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	pods, cms := s.Client.CoreV1().Pods(ns), s.Client.CoreV1().ConfigMaps(ns)

	t.Run("background", func(t *testing.T) {
		owner := createConfigMap(t, s.Client, ns, "bg-owner")
		createConfigMap(t, s.Client, ns, "bg-dependent", ownedBy(owner, false))
		createOwnedPod(t, s.Client, ns, "bg-pod", nil, ownedBy(owner, false))
		// A dependent of the dependent goes too.
		dep, err := cms.Get(ctx, "bg-dependent", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		createConfigMap(t, s.Client, ns, "bg-grandchild", ownedBy(dep, false))
		s.Kubectl("delete", "configmap", "bg-owner", "-n", ns, "--cascade=background")
		waitFor(t, "the dependents deleted", func() bool {
			return configMapGone(s, ns, "bg-dependent") && configMapGone(s, ns, "bg-grandchild") && gone(s, ns, "bg-pod")
		})
	})

	t.Run("foreground waits for blocking dependents", func(t *testing.T) {
		owner := createConfigMap(t, s.Client, ns, "fg-owner")
		createOwnedPod(t, s.Client, ns, "fg-pod", []string{holdFinalizer}, ownedBy(owner, true))
		createConfigMap(t, s.Client, ns, "fg-dependent", ownedBy(owner, true))
		s.Kubectl("delete", "configmap", "fg-owner", "-n", ns, "--cascade=foreground", "--wait=false")

		// The collector deletes the dependents; the pod stays (held) and so
		// does its owner, marked for deletion with the foreground finalizer.
		waitFor(t, "the pod marked for deletion", func() bool {
			p, err := pods.Get(ctx, "fg-pod", metav1.GetOptions{})
			return err == nil && p.DeletionTimestamp != nil
		})
		waitFor(t, "the unheld dependent deleted", func() bool { return configMapGone(s, ns, "fg-dependent") })
		cm, err := cms.Get(ctx, "fg-owner", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the owner went before its blocking dependent: %v", err)
		}
		if cm.DeletionTimestamp == nil || !slices.Contains(cm.Finalizers, metav1.FinalizerDeleteDependents) {
			t.Errorf("owner deletionTimestamp %v finalizers %v, want it set and %q", cm.DeletionTimestamp, cm.Finalizers, metav1.FinalizerDeleteDependents)
		}
		out := s.Kubectl("get", "configmap", "fg-owner", "-n", ns, "-o", "jsonpath={.metadata.finalizers}")
		if !strings.Contains(out, "foregroundDeletion") {
			t.Errorf("kubectl shows the owner's finalizers as %q", out)
		}

		// Once the agent has stopped the pod, let it go: then the owner goes.
		waitFor(t, "the pod's deletion confirmed by its node", func() bool {
			p, err := pods.Get(ctx, "fg-pod", metav1.GetOptions{})
			return err == nil && p.DeletionGracePeriodSeconds != nil && *p.DeletionGracePeriodSeconds == 0
		})
		if _, err := cms.Get(ctx, "fg-owner", metav1.GetOptions{}); err != nil {
			t.Fatalf("the owner went before its blocking dependent: %v", err)
		}
		if _, err := pods.Patch(ctx, "fg-pod", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
			t.Fatalf("release the pod: %v", err)
		}
		waitFor(t, "the pod gone", func() bool { return gone(s, ns, "fg-pod") })
		waitFor(t, "the owner gone", func() bool { return configMapGone(s, ns, "fg-owner") })
	})

	t.Run("orphan", func(t *testing.T) {
		owner := createConfigMap(t, s.Client, ns, "orphan-owner")
		other := createConfigMap(t, s.Client, ns, "orphan-other-owner")
		createConfigMap(t, s.Client, ns, "orphan-dependent", ownedBy(owner, true), ownedBy(other, false))
		createOwnedPod(t, s.Client, ns, "orphan-pod", nil, ownedBy(owner, false))
		// kubectl waits until the owner is gone, which the orphan finalizer
		// holds back until the dependents no longer name it.
		s.Kubectl("delete", "configmap", "orphan-owner", "-n", ns, "--cascade=orphan")
		if !configMapGone(s, ns, "orphan-owner") {
			t.Error("the owner is still there")
		}
		cm, err := cms.Get(ctx, "orphan-dependent", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("an orphaned dependent was deleted: %v", err)
		}
		if len(cm.OwnerReferences) != 1 || cm.OwnerReferences[0].UID != other.UID {
			t.Errorf("orphaned configmap's ownerReferences %+v, want only the other owner", cm.OwnerReferences)
		}
		p, err := pods.Get(ctx, "orphan-pod", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("an orphaned pod was deleted: %v", err)
		}
		if len(p.OwnerReferences) != 0 || p.DeletionTimestamp != nil {
			t.Errorf("orphaned pod: ownerReferences %+v deletionTimestamp %v", p.OwnerReferences, p.DeletionTimestamp)
		}
	})

	t.Run("an owner that does not exist", func(t *testing.T) {
		// No object has this UID; nor has the ConfigMap of that name,
		// which is another object with the same name.
		createConfigMap(t, s.Client, ns, "impostor")
		ghost := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "impostor", UID: "0b6c5f4e-0000-4000-8000-000000000001"}
		createConfigMap(t, s.Client, ns, "dangling", ghost)
		createOwnedPod(t, s.Client, ns, "dangling-pod", nil, ghost)
		// An owner of another kind that does not exist.
		createConfigMap(t, s.Client, ns, "dangling-secret-owned", metav1.OwnerReference{APIVersion: "v1", Kind: "Secret", Name: "nothing", UID: "0b6c5f4e-0000-4000-8000-000000000002"})
		// One live owner among dead ones keeps a dependent.
		live := createConfigMap(t, s.Client, ns, "live-owner")
		createConfigMap(t, s.Client, ns, "half-dangling", ghost, ownedBy(live, false))
		waitFor(t, "dependents of a missing owner collected", func() bool {
			return configMapGone(s, ns, "dangling") && gone(s, ns, "dangling-pod") && configMapGone(s, ns, "dangling-secret-owned")
		})
		if configMapGone(s, ns, "impostor") || configMapGone(s, ns, "half-dangling") {
			t.Error("the collector deleted an object with a live owner, or the same-named non-owner")
		}
	})
}

// TestGarbageCollectionCustomKinds: kinds of Podyard's own groups own and
// are owned like built-in ones: a BCS Application's taskgroup Pods (controller,
// blockOwnerDeletion) go with it in the foreground, and what a
// RunCommand owns goes with it.
func TestGarbageCollectionCustomKinds(t *testing.T) {
	s, _ := SharedCluster(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	client, err := dynamic.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	apps := client.Resource(applications).Namespace(ns)

	spec, err := application.Parse([]byte(`{"apiVersion":"v4","kind":"application","metadata":{"name":"gc","namespace":"defaultGroup"},
		"restartPolicy":{"policy":"Always"},"killPolicy":{"gracePeriod":2},
		"spec":{"instance":2,"template":{"spec":{"containers":[
			{"image":"busybox","command":"sleep","args":["3600"],"resources":{"limits":{"cpu":"0.05","memory":"16"}}}]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	created, err := apps.Create(ctx, untyped(t, &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: "gc"}, Spec: spec}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	app := typed(t, created)
	// The taskgroup Pods as the application controller makes them (the
	// controller, where it runs, may make its own too; they go the same way).
	for _, i := range application.PlanTaskGroups(app, nil).Create {
		pod := application.Pod(app, application.PodOptions{Index: i, Cluster: "10001", UnixNano: app.CreationTimestamp.UnixNano() + int64(i)})
		if _, err := s.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("create taskgroup pod: %v", err)
		}
	}
	// A ConfigMap the application owns goes too.
	createConfigMap(t, s.Client, ns, "gc-data", metav1.OwnerReference{
		APIVersion: "bcs.podyard.io/v1alpha1", Kind: "Application", Name: app.Name, UID: app.UID,
	})
	selector := metav1.ListOptions{LabelSelector: application.LabelApplication + "=gc"}
	waitFor(t, "two taskgroups running", func() bool {
		list, err := s.Client.CoreV1().Pods(ns).List(ctx, selector)
		running := 0
		for _, p := range list.Items {
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
				running++
			}
		}
		return err == nil && running >= 2
	})

	// kubectl waits for the application, which waits for its taskgroups.
	s.Kubectl("delete", "app", "gc", "-n", ns, "--cascade=foreground", "--timeout=60s")
	list, err := s.Client.CoreV1().Pods(ns).List(ctx, selector)
	if err != nil || len(list.Items) != 0 {
		t.Errorf("taskgroup pods left after their application was deleted in the foreground: %v %d", err, len(list.Items))
	}
	waitFor(t, "the application's configmap collected", func() bool { return configMapGone(s, ns, "gc-data") })

	// A RunCommand (podyard.io) as an owner that does not exist: what
	// names it is collected.
	createConfigMap(t, s.Client, ns, "command-owned", metav1.OwnerReference{
		APIVersion: "podyard.io/v1alpha1", Kind: "RunCommand", Name: "0123456789abcdef0123456789abcdef", UID: "0b6c5f4e-0000-4000-8000-000000000003",
	})
	waitFor(t, "the dependent of a missing RunCommand collected", func() bool { return configMapGone(s, ns, "command-owned") })
}

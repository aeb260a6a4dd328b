package e2e

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// bind assigns a pod to a node through pods/binding, as a scheduler does.
func bind(t *testing.T, s *Server, ns, pod, node string) {
	t.Helper()
	err := s.Client.CoreV1().Pods(ns).Bind(context.Background(), &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("bind %s to %s: %v", pod, node, err)
	}
}

func gone(s *Server, ns, name string) bool {
	_, err := s.Client.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	return apierrors.IsNotFound(err)
}

func TestGracefulDeletion(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods(ns)

	t.Run("a pod on no node goes at once", func(t *testing.T) {
		createPods(t, s.Client, ns, "unbound", 1, nil)
		if err := pods.Delete(ctx, "unbound-0", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if !gone(s, ns, "unbound-0") {
			t.Error("unbound pod still exists after delete")
		}
	})
	t.Run("a bound pod gets deletionTimestamp and the grace period", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			specSecs *int64
			option   *int64
			want     int64
		}{
			{"default", nil, nil, 30},
			{"from-spec", ptr.To[int64](7), nil, 7},
			{"from-options", ptr.To[int64](7), ptr.To[int64](3), 3},
		} {
			p := newPod("bound-"+tc.name, nil)
			p.Spec.TerminationGracePeriodSeconds = tc.specSecs
			if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			bind(t, s, ns, p.Name, "node-1")
			if err := pods.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: tc.option}); err != nil {
				t.Fatal(err)
			}
			got, err := pods.Get(ctx, p.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("%s: a bound pod vanished on graceful delete: %v", tc.name, err)
			}
			if got.DeletionTimestamp == nil || got.DeletionGracePeriodSeconds == nil || *got.DeletionGracePeriodSeconds != tc.want {
				t.Errorf("%s: deletionTimestamp %v grace %v, want grace %d", tc.name, got.DeletionTimestamp, got.DeletionGracePeriodSeconds, tc.want)
			}
			// The node agent confirms with grace 0 once the containers stopped.
			if err := pods.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
				t.Fatal(err)
			}
			if !gone(s, ns, p.Name) {
				t.Errorf("%s: still there after a delete with grace 0", tc.name)
			}
		}
	})
	t.Run("a pod deleted right after its binding waits for its node", func(t *testing.T) {
		// The server decides the grace period twice, once on its watch cache's
		// copy; a copy from before the binding must never make it delete at once.
		for i := range 200 {
			name := fmt.Sprintf("racer-%d", i)
			if _, err := pods.Create(ctx, newPod(name, nil), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			bind(t, s, ns, name, "node-1")
			if err := pods.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			got, err := pods.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("attempt %d: the pod went at once: %v", i, err)
			}
			if got.DeletionGracePeriodSeconds == nil || *got.DeletionGracePeriodSeconds != 30 {
				t.Fatalf("attempt %d: grace period %v, want 30", i, got.DeletionGracePeriodSeconds)
			}
		}
	})
	t.Run("a terminal pod goes at once", func(t *testing.T) {
		createPods(t, s.Client, ns, "done", 1, nil)
		bind(t, s, ns, "done-0", "node-1")
		if _, err := pods.Patch(ctx, "done-0", types.MergePatchType, []byte(`{"status":{"phase":"Succeeded"}}`), metav1.PatchOptions{}, "status"); err != nil {
			t.Fatal(err)
		}
		if err := pods.Delete(ctx, "done-0", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if !gone(s, ns, "done-0") {
			t.Error("a Succeeded pod waited for a grace period")
		}
	})
	t.Run("finalizers hold the pod until removed", func(t *testing.T) {
		p := newPod("final", nil)
		p.Finalizers = []string{"example.com/hold"}
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := pods.Delete(ctx, "final", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := pods.Get(ctx, "final", metav1.GetOptions{})
		if err != nil || got.DeletionTimestamp == nil {
			t.Fatalf("pod with a finalizer: %v %v", got, err)
		}
		if _, err := pods.Patch(ctx, "final", types.JSONPatchType, []byte(`[{"op":"remove","path":"/metadata/finalizers"}]`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		if !gone(s, ns, "final") {
			t.Error("pod still there after its finalizer was removed")
		}
	})
	t.Run("preconditions", func(t *testing.T) {
		created := createPods(t, s.Client, ns, "pre", 1, nil)[0]
		err := pods.Delete(ctx, "pre-0", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr.To(types.UID("wrong"))}})
		wantStatus(t, "uid precondition", err, 409, "the UID in the precondition (wrong) does not match")
		err = pods.Delete(ctx, "pre-0", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: ptr.To("1")}})
		wantStatus(t, "resourceVersion precondition", err, 409, "the ResourceVersion in the precondition (1) does not match")
		if gone(s, ns, "pre-0") {
			t.Fatal("a failed precondition deleted the pod")
		}
		if err := pods.Delete(ctx, "pre-0", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &created.UID, ResourceVersion: &created.ResourceVersion}}); err != nil {
			t.Fatalf("matching preconditions: %v", err)
		}
	})
	t.Run("propagationPolicy and orphanDependents are accepted", func(t *testing.T) {
		createPods(t, s.Client, ns, "prop", 4, nil)
		for i, opts := range []metav1.DeleteOptions{
			{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)},
			{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)},
			{PropagationPolicy: ptr.To(metav1.DeletePropagationOrphan)},
			{OrphanDependents: ptr.To(true)},
		} {
			name := "prop-" + string(rune('0'+i))
			if err := pods.Delete(ctx, name, opts); err != nil {
				t.Errorf("delete with %+v: %v", opts, err)
			}
			waitFor(t, name+" deleted", func() bool { return gone(s, ns, name) })
		}
		createPods(t, s.Client, ns, "badprop", 1, nil)
		err := pods.Delete(ctx, "badprop-0", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletionPropagation("Sideways"))})
		wantStatus(t, "unknown propagationPolicy", err, 422, "propagationPolicy")
		err = pods.Delete(ctx, "badprop-0", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationOrphan), OrphanDependents: ptr.To(false)})
		wantStatus(t, "orphanDependents with propagationPolicy", err, 422)
		err = pods.Delete(ctx, "badprop-0", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](-5)})
		if err != nil {
			t.Errorf("negative grace period: %v", err)
		}
	})
	t.Run("deletecollection honours the selector", func(t *testing.T) {
		createPods(t, s.Client, ns, "keep", 2, map[string]string{"batch": "keep"})
		createPods(t, s.Client, ns, "drop", 3, map[string]string{"batch": "drop"})
		if err := pods.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "batch=drop"}); err != nil {
			t.Fatal(err)
		}
		left, _ := pods.List(ctx, metav1.ListOptions{LabelSelector: "batch"})
		if len(left.Items) != 2 || left.Items[0].Labels["batch"] != "keep" {
			t.Errorf("after deletecollection: %v", names(left.Items))
		}
	})
}

func TestBindingAndEviction(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods(ns)
	createPods(t, s.Client, ns, "b", 3, nil)

	bind(t, s, ns, "b-0", "node-1")
	p, _ := pods.Get(ctx, "b-0", metav1.GetOptions{})
	if p.Spec.NodeName != "node-1" || len(p.Status.Conditions) == 0 || p.Status.Conditions[0].Type != corev1.PodScheduled || p.Status.Conditions[0].Status != corev1.ConditionTrue {
		t.Errorf("bound pod: node %q conditions %+v", p.Spec.NodeName, p.Status.Conditions)
	}
	err := pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "b-0"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-2"}}, metav1.CreateOptions{})
	wantStatus(t, "second binding", err, 409, "already assigned to node")
	err = pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "nope"}, Target: corev1.ObjectReference{Name: "node-1"}}, metav1.CreateOptions{})
	wantStatus(t, "binding a missing pod", err, 404)
	err = pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "b-1"}}, metav1.CreateOptions{})
	wantStatus(t, "binding without a target", err, 422, "target.name")
	err = pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "b-1"}, Target: corev1.ObjectReference{Name: "n"}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if p, _ := pods.Get(ctx, "b-1", metav1.GetOptions{}); err != nil || p.Spec.NodeName != "" {
		t.Errorf("dry-run binding: %v, node %q", err, p.Spec.NodeName)
	}

	evict := func(name string, opts *metav1.DeleteOptions, dryRun bool) error {
		e := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, DeleteOptions: opts}
		if dryRun {
			if e.DeleteOptions == nil {
				e.DeleteOptions = &metav1.DeleteOptions{}
			}
			e.DeleteOptions.DryRun = []string{metav1.DryRunAll}
		}
		return pods.EvictV1(ctx, e)
	}
	if err := evict("b-1", nil, true); err != nil || gone(s, ns, "b-1") {
		t.Errorf("dry-run eviction: %v", err)
	}
	if err := evict("b-1", nil, false); err != nil {
		t.Fatalf("evict: %v", err)
	}
	if !gone(s, ns, "b-1") {
		t.Error("an evicted unbound pod is still there")
	}
	if err := evict("b-0", &metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](11)}, false); err != nil {
		t.Fatal(err)
	}
	if p, err := pods.Get(ctx, "b-0", metav1.GetOptions{}); err != nil || p.DeletionGracePeriodSeconds == nil || *p.DeletionGracePeriodSeconds != 11 {
		t.Errorf("eviction of a bound pod should delete gracefully with its options: %v %v", p, err)
	}
	wantStatus(t, "evicting a missing pod", evict("nope", nil, false), 404)
}

func TestNamespaceLifecycle(t *testing.T) {
	s := Shared(t)
	ctx := context.Background()
	_, err := s.Client.CoreV1().Pods("no-such-namespace").Create(ctx, newPod("p", nil), metav1.CreateOptions{})
	wantStatus(t, "pod in a missing namespace", err, 404, `namespaces "no-such-namespace" not found`)

	err = s.Client.CoreV1().Namespaces().Delete(ctx, "default", metav1.DeleteOptions{})
	wantStatus(t, "deleting default", err, 403, "may not be deleted")
	err = s.Client.CoreV1().RESTClient().Delete().Resource("namespaces").Do(ctx).Error()
	wantStatus(t, "deleting all namespaces at once", err, 405)
	if _, err := s.Client.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{}); err != nil {
		t.Errorf("kube-system after a refused deletecollection: %v", err)
	}

	ns := s.Namespace(t)
	createPods(t, s.Client, ns, "p", 3, nil)
	if _, err := s.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A finalizer on one pod keeps the namespace Terminating long enough to see it refuse new pods.
	held := newPod("held", nil)
	held.Finalizers = []string{"example.com/hold"}
	if _, err := s.Client.CoreV1().Pods(ns).Create(ctx, held, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil || got.Status.Phase != corev1.NamespaceTerminating {
		t.Fatalf("namespace after delete: %v %v", got, err)
	}
	_, err = s.Client.CoreV1().Pods(ns).Create(ctx, newPod("late", nil), metav1.CreateOptions{})
	wantStatus(t, "pod in a terminating namespace", err, 403, "because it is being terminated")

	waitFor(t, "namespace content deleted", func() bool {
		list, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		cms, err2 := s.Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		return err == nil && err2 == nil && len(list.Items) == 1 && list.Items[0].Name == "held" && len(cms.Items) == 0
	})
	if _, err := s.Client.CoreV1().Pods(ns).Patch(ctx, "held", types.JSONPatchType, []byte(`[{"op":"remove","path":"/metadata/finalizers"}]`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "namespace gone", func() bool {
		_, err := s.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

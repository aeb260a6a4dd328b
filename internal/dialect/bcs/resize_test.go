package bcs

import (
	"context"
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// resizeTaskGroups patches pods/resize of the Pods whose tasks' resources
// differ from the updated spec, skips the rest, and takes a Pod gone
// meanwhile as done.
func TestResizeTaskGroups(t *testing.T) {
	ctx := context.Background()
	app := seedApp(t)
	running := taskgroupPod(app, 0, 100)
	running.Status.Phase = corev1.PodRunning
	done := taskgroupPod(app, 1, 101)
	done.Status.Phase = corev1.PodFailed
	gone := taskgroupPod(app, 2, 102)
	gone.Status.Phase = corev1.PodRunning

	updated := app.DeepCopy()
	c := &updated.Spec.Template.Spec.Containers[0]
	c.Resources.Requests.CPU, c.Resources.Requests.Memory = "3", "200"
	c.Resources.Limits.CPU, c.Resources.Limits.Memory = "3", "200"
	same := taskgroupPod(updated, 3, 103) // built from the new spec already
	same.Status.Phase = corev1.PodRunning

	kube := fake.NewSimpleClientset(running, done, same)
	var patched []string
	kube.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchAction)
		if p.GetSubresource() != "resize" {
			t.Errorf("patch of %s/%s, want resize", p.GetName(), p.GetSubresource())
		}
		patched = append(patched, p.GetName())
		if p.GetName() == gone.Name {
			return true, nil, apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, gone.Name)
		}
		return false, nil, nil
	})
	if err := resizeTaskGroups(ctx, kube, updated, []*corev1.Pod{running, done, gone, same}); err != nil {
		t.Fatal(err)
	}
	if len(patched) != 2 || patched[0] != running.Name || patched[1] != gone.Name {
		t.Errorf("patched %v, want %s and %s", patched, running.Name, gone.Name)
	}
	p, err := kube.CoreV1().Pods(running.Namespace).Get(ctx, running.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := p.Spec.Containers[0].Resources
	if r.Requests.Cpu().String() != "3" || r.Limits.Memory().String() != "200Mi" {
		t.Errorf("resources after the resize: %+v", r)
	}

	// Another failure is the API's, as a BCS error, after trying them all.
	kube = fake.NewSimpleClientset(running)
	kube.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, running.Name, nil)
	})
	if err := resizeTaskGroups(ctx, kube, updated, []*corev1.Pod{running}); err == nil || err.Code != CodeBadParameters || err.Status != http.StatusBadRequest {
		t.Errorf("a refused resize: %v", err)
	}
}

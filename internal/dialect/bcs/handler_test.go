package bcs

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// The first create in a BCS namespace makes its Namespace with the
// original name; a create that fails takes the Namespace it made away.
func TestCreateMakesTheNamespace(t *testing.T) {
	ctx := context.Background()
	tg := target(t, KindConfigMap, "defaultGroup")
	obj, err := Translate(tg, []byte(seedConfigMap))
	if err != nil {
		t.Fatal(err)
	}

	kube := fake.NewSimpleClientset()
	c := objects{kube: kube, target: tg}
	if err := c.create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	ns, gerr := kube.CoreV1().Namespaces().Get(ctx, tg.KubeNamespace, metav1.GetOptions{})
	if gerr != nil || ns.Annotations[AnnotationNamespace] != "defaultGroup" {
		t.Fatalf("namespace: %v %+v", gerr, ns)
	}
	if err := c.create(ctx, obj); err == nil || err.Code != CodeExists || err.Status != 409 {
		t.Errorf("create twice: %v", err)
	}

	refused := fake.NewSimpleClientset()
	refused.PrependReactor("create", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "configmap-test", errors.New("no"))
	})
	c = objects{kube: refused, target: tg}
	if err := c.create(ctx, obj); err == nil || err.Code != CodeCommon || err.Status != 403 {
		t.Errorf("a refused create: %v, want 1405200 with 403", err)
	}
	if _, gerr := refused.CoreV1().Namespaces().Get(ctx, tg.KubeNamespace, metav1.GetOptions{}); !apierrors.IsNotFound(gerr) {
		t.Errorf("the namespace made for a refused create is left: %v", gerr)
	}

	// A namespace that was there stays.
	there := fake.NewSimpleClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tg.KubeNamespace}})
	there.PrependReactor("create", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("etcd is away")
	})
	c = objects{kube: there, target: tg}
	if err := c.create(ctx, obj); err == nil || err.Status != 500 {
		t.Errorf("a failed create: %v, want 500", err)
	}
	if _, gerr := there.CoreV1().Namespaces().Get(ctx, tg.KubeNamespace, metav1.GetOptions{}); gerr != nil {
		t.Errorf("a namespace that was there is gone: %v", gerr)
	}
}

func TestUpdateAndDelete(t *testing.T) {
	ctx := context.Background()
	tg := target(t, KindSecret, "defaultGroup")
	obj, err := Translate(tg, []byte(seedSecret))
	if err != nil {
		t.Fatal(err)
	}
	kube := fake.NewSimpleClientset()
	c := objects{kube: kube, target: tg}
	if err := c.update(ctx, obj); err == nil || err.Code != CodeNotFound || err.Status != 404 {
		t.Errorf("update of a missing secret: %v", err)
	}
	if err := c.delete(ctx, "secret-test"); err != nil {
		t.Errorf("delete of a missing secret: %v, want success as in the original", err)
	}
	if err := c.create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	obj.(*corev1.Secret).Data["secret-subkey"] = []byte("new")
	if err := c.update(ctx, obj); err != nil {
		t.Fatal(err)
	}
	sec, gerr := kube.CoreV1().Secrets(tg.KubeNamespace).Get(ctx, "secret-test", metav1.GetOptions{})
	if gerr != nil || string(sec.Data["secret-subkey"]) != "new" {
		t.Errorf("after update: %v %+v", gerr, sec)
	}
	if err := c.delete(ctx, "secret-test"); err != nil {
		t.Fatal(err)
	}
	if _, gerr := kube.CoreV1().Secrets(tg.KubeNamespace).Get(ctx, "secret-test", metav1.GetOptions{}); !apierrors.IsNotFound(gerr) {
		t.Errorf("after delete: %v", gerr)
	}
}

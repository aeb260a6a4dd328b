package namespace

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestEnsure(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}})
	if err := Ensure(ctx, client, []string{"default", "kube-system"}); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	for _, name := range []string{"default", "kube-system"} {
		if _, err := client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("namespace %s: %v", name, err)
		}
	}

	refused := errors.New("etcd unavailable")
	client.PrependReactor("create", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.CreateAction).GetObject().(*corev1.Namespace).Name == "kube-public" {
			return true, nil, refused
		}
		return false, nil, nil
	})
	err := Ensure(ctx, client, []string{"kube-public", "kube-node-lease"})
	if !errors.Is(err, refused) || !strings.Contains(err.Error(), "kube-public") {
		t.Errorf("Ensure with a failing create: %v", err)
	}
	if _, err := client.CoreV1().Namespaces().Get(ctx, "kube-node-lease", metav1.GetOptions{}); err != nil {
		t.Errorf("a failure stopped the names after it: %v", err)
	}
}

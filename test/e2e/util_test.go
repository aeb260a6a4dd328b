package e2e

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
)

// waitFor polls cond until it holds or 30 s pass.
func waitFor(t tester, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitForNamespace waits until the namespace's default service account exists,
// the point from which kubectl users can create pods in it.
func waitForNamespace(t tester, s *Server, ns string) {
	t.Helper()
	waitFor(t, "namespace "+ns, func() bool {
		_, err := s.Client.CoreV1().ServiceAccounts(ns).Get(context.Background(), "default", metav1.GetOptions{})
		return err == nil
	})
}

// Namespace creates a namespace for the calling test, ready for pods, and
// deletes it when the test ends.
func (s *Server) Namespace(t *testing.T) string {
	t.Helper()
	name := strings.ToLower(nonDNS.ReplaceAllString(t.Name(), "-"))
	if len(name) > 50 {
		name = name[:50]
	}
	name = strings.Trim(name, "-") + "-" + rand.String(5)
	ctx := context.Background()
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = s.Client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	waitForNamespace(t, s, name)
	return name
}

var nonDNS = regexp.MustCompile(`[^a-zA-Z0-9]+`)

// newPod is a minimal valid pod.
func newPod(name string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name:    "app",
			Image:   "busybox:1.36",
			Command: []string{"sleep", "3600"},
			Ports:   []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
		}}},
	}
}

// statusOf returns the HTTP code and Status of a failed API call.
func statusOf(err error) (int32, metav1.Status) {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Code, status.Status()
	}
	return 0, metav1.Status{Message: fmt.Sprint(err)}
}

// wantStatus fails the test unless err is an API error with the code, and
// its message contains each of the fragments.
func wantStatus(t *testing.T, what string, err error, code int32, fragments ...string) {
	t.Helper()
	got, status := statusOf(err)
	if got != code {
		t.Errorf("%s: got %d %q, want %d", what, got, status.Message, code)
		return
	}
	for _, f := range fragments {
		if !strings.Contains(status.Message, f) {
			t.Errorf("%s: message %q lacks %q", what, status.Message, f)
		}
	}
}

package bcs

import (
	"context"
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"

	"github.com/podyard/podyard/internal/bcs/application"
)

// onlyAlice may list Pods in namespace "ns".
var onlyAlice = authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	if a.GetUser().GetName() == "alice" && a.GetNamespace() == "ns" && a.GetVerb() == "list" && a.GetResource() == "pods" {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "not alice", nil
})

func TestTaskGroupCache(t *testing.T) {
	pod := func(ns, name, app string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		if app != "" {
			p.Labels = map[string]string{application.LabelApplication: app}
		}
		return p
	}
	client := fake.NewClientset(pod("ns", "a-0", "a"), pod("ns", "a-1", "a"), pod("ns", "b-0", "b"),
		pod("other", "a-0", "a"), pod("ns", "plain", ""))
	alice, bob := &user.DefaultInfo{Name: "alice"}, &user.DefaultInfo{Name: "bob"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var unset *TaskGroupCache
	if _, ok, err := unset.Pods(ctx, alice, "ns", "a"); ok || err != nil {
		t.Errorf("no cache: ok %v err %v, want the API asked", ok, err)
	}
	c := NewTaskGroupCache(onlyAlice)
	if _, ok, err := c.Pods(ctx, alice, "ns", "a"); ok || err != nil {
		t.Errorf("not started: ok %v err %v, want the API asked", ok, err)
	}
	if err := c.start(ctx, client); err != nil {
		t.Fatal(err)
	}
	if !cache.WaitForCacheSync(ctx.Done(), (*c.informer.Load()).HasSynced) {
		t.Fatal("cache not synced")
	}
	names := func(pods []*corev1.Pod) map[string]bool {
		out := map[string]bool{}
		for _, p := range pods {
			out[p.Namespace+"/"+p.Name] = true
		}
		return out
	}
	for _, tc := range []struct {
		app  string
		want []string
	}{
		{"a", []string{"ns/a-0", "ns/a-1"}},
		{"b", []string{"ns/b-0"}},
		{"", []string{"ns/a-0", "ns/a-1", "ns/b-0"}}, // every application's, no unlabelled Pod
		{"none", nil},
	} {
		pods, ok, err := c.Pods(ctx, alice, "ns", tc.app)
		got := names(pods)
		if !ok || err != nil || len(got) != len(tc.want) {
			t.Errorf("app %q: %v ok %v err %v, want %v", tc.app, got, ok, err, tc.want)
			continue
		}
		for _, w := range tc.want {
			if !got[w] {
				t.Errorf("app %q: %v lacks %s", tc.app, got, w)
			}
		}
	}
	if _, ok, err := c.Pods(ctx, bob, "ns", "a"); !ok || err == nil || err.Status != http.StatusForbidden {
		t.Errorf("bob: ok %v err %+v, want 403", ok, err)
	}
}

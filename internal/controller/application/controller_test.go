package application

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	bcsapp "github.com/podyard/podyard/internal/bcs/application"
)

// harness is a controller whose informers are never run: the test fills
// their stores, so it decides what the controller has seen.
type harness struct {
	c        *Controller
	client   *fake.Clientset
	podStore interface{ Add(any) error }
	mu       sync.Mutex
	statuses []string // bodies of status writes
}

func newHarness(t *testing.T, app *v1alpha1.Application, live ...*corev1.Pod) *harness {
	t.Helper()
	h := &harness{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.statuses = append(h.statuses, r.Method+" "+r.URL.Path)
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	clients, err := NewClients(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	h.client = fake.NewClientset()
	for _, p := range live {
		if err := h.client.Tracker().Add(p); err != nil {
			t.Fatal(err)
		}
	}
	factory := informers.NewSharedInformerFactory(h.client, 0)
	h.c = New(h.client, clients, factory, Options{Cluster: "10001"}, slog.New(slog.DiscardHandler))
	h.c.now = func() time.Time { return time.Unix(1700000000, 0) }
	if err := h.c.informer.GetIndexer().Add(app); err != nil {
		t.Fatal(err)
	}
	h.podStore = factory.Core().V1().Pods().Informer().GetIndexer()
	return h
}

func (h *harness) creates() int {
	n := 0
	for _, a := range h.client.Actions() {
		if a.GetVerb() == "create" && a.GetResource().Resource == "pods" {
			n++
		}
	}
	return n
}

func testApp(instance int32) *v1alpha1.Application {
	return &v1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "sleeper", Namespace: "ns", UID: types.UID("app-uid"), Generation: 1},
		Spec: v1alpha1.ApplicationSpec{
			Metadata:   v1alpha1.ObjectMeta{Name: "sleeper", Namespace: "defaultGroup"},
			Instance:   instance,
			KillPolicy: v1alpha1.KillPolicy{GracePeriod: 7},
			Template: v1alpha1.PodTemplateSpec{Spec: v1alpha1.PodSpec{Containers: []v1alpha1.Container{
				{Image: "busybox", Command: "sleep", Args: []string{"3600"}},
			}}},
		},
		Status: v1alpha1.ApplicationStatus{Status: v1alpha1.StatusStaging},
	}
}

func taskGroup(app *v1alpha1.Application, index int) *corev1.Pod {
	return bcsapp.Pod(app, bcsapp.PodOptions{Index: index, Cluster: "10001", UnixNano: int64(1000 + index)})
}

// A Pod the informer has not seen yet (created by an earlier sync or an
// earlier controller) is not created again: the API server is asked before
// anything is created.
func TestSyncCreatesOnlyWhatTheServerLacks(t *testing.T) {
	app := testApp(3)
	h := newHarness(t, app, taskGroup(app, 0), taskGroup(app, 2)) // the informer has seen none
	if err := h.c.sync(context.Background(), "ns/sleeper"); err != nil {
		t.Fatal(err)
	}
	if n := h.creates(); n != 1 {
		t.Fatalf("%d creates, want 1 (index 1)", n)
	}
	pods, err := h.client.CoreV1().Pods("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, p := range pods.Items {
		seen[p.Labels[bcsapp.LabelInstance]]++
		if ref := metav1.GetControllerOf(&p); ref == nil || ref.UID != app.UID {
			t.Errorf("pod %s not controlled by the application", p.Name)
		}
		if id := p.Annotations[bcsapp.AnnotationTaskGroupID]; id == "" {
			t.Errorf("pod %s has no taskgroup id", p.Name)
		}
	}
	if len(pods.Items) != 3 || seen["0"] != 1 || seen["1"] != 1 || seen["2"] != 1 {
		t.Errorf("pods by index %v", seen)
	}
	if len(h.statuses) != 1 || h.statuses[0] != "PUT /apis/bcs.podyard.io/v1alpha1/namespaces/ns/applications/sleeper/status" {
		t.Errorf("status writes %v", h.statuses)
	}
	// Synced again before the informer catches up: nothing more.
	if err := h.c.sync(context.Background(), "ns/sleeper"); err != nil {
		t.Fatal(err)
	}
	if n := h.creates(); n != 1 {
		t.Errorf("%d creates after a second sync, want 1", n)
	}
}

// Scaling down deletes the highest indexes with the kill grace period;
// a sync that has nothing to create does not read the API server's pods.
func TestSyncDeletesBeyondInstance(t *testing.T) {
	app := testApp(1)
	pods := []*corev1.Pod{taskGroup(app, 0), taskGroup(app, 1), taskGroup(app, 2)}
	h := newHarness(t, app, pods...)
	for _, p := range pods {
		if err := h.podStore.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.c.sync(context.Background(), "ns/sleeper"); err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, a := range h.client.Actions() {
		switch a.GetVerb() {
		case "delete":
			d := a.(k8stesting.DeleteAction)
			deleted = append(deleted, d.GetName())
			if g := d.GetDeleteOptions().GracePeriodSeconds; g == nil || *g != 7 {
				t.Errorf("delete %s with grace %v, want 7", d.GetName(), g)
			}
		case "list", "create":
			t.Errorf("unexpected %s of %s", a.GetVerb(), a.GetResource().Resource)
		}
	}
	slices.Sort(deleted) // deletes run in parallel
	if len(deleted) != 2 || deleted[0] != pods[1].Name || deleted[1] != pods[2].Name {
		t.Errorf("deleted %v, want %s and %s", deleted, pods[1].Name, pods[2].Name)
	}
}

// A deleted Application is left to the garbage collector.
func TestSyncDeletedApplication(t *testing.T) {
	app := testApp(2)
	h := newHarness(t, app)
	now := metav1.Now()
	gone := app.DeepCopy()
	gone.DeletionTimestamp = &now
	if err := h.c.informer.GetIndexer().Update(gone); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"ns/sleeper", "ns/missing"} {
		if err := h.c.sync(context.Background(), key); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(h.client.Actions()); n != 0 || len(h.statuses) != 0 {
		t.Errorf("%d actions, status writes %v", n, h.statuses)
	}
}

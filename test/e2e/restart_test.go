package e2e

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/storage/etcd3"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// informerView is what an informer's event handlers saw, with every
// impossible event (an add of a known pod, a delete of an unknown one)
// recorded as an error.
type informerView struct {
	mu     sync.Mutex
	pods   map[string]string // name -> resourceVersion
	errors []string
}

func (v *informerView) OnAdd(obj any, _ bool) {
	p := obj.(*corev1.Pod)
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.pods[p.Name]; ok {
		v.errors = append(v.errors, "duplicate add of "+p.Name)
	}
	v.pods[p.Name] = p.ResourceVersion
}

func (v *informerView) OnUpdate(_, obj any) {
	p := obj.(*corev1.Pod)
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.pods[p.Name]; !ok {
		v.errors = append(v.errors, "update of unknown "+p.Name)
	}
	v.pods[p.Name] = p.ResourceVersion
}

func (v *informerView) OnDelete(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	p := obj.(*corev1.Pod)
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.pods[p.Name]; !ok {
		v.errors = append(v.errors, "delete of unknown "+p.Name)
	}
	delete(v.pods, p.Name)
}

func (v *informerView) snapshot() (map[string]string, []string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]string, len(v.pods))
	for k, rv := range v.pods {
		out[k] = rv
	}
	return out, append([]string(nil), v.errors...)
}

// TestInformerAcrossRestart keeps a client-go informer running while the
// server restarts and checks that its handlers end with exactly the pods
// the server has, at their latest versions, with no impossible event.
func TestInformerAcrossRestart(t *testing.T) {
	s := StartServer(t)
	ns := s.Namespace(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pods := s.Client.CoreV1().Pods(ns)
	createPods(t, s.Client, ns, "before", 30, nil)

	view := &informerView{pods: map[string]string{}}
	factory := informers.NewSharedInformerFactoryWithOptions(s.Client, 0, informers.WithNamespace(ns))
	informer := factory.Core().V1().Pods().Informer()
	if _, err := informer.AddEventHandler(view); err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	defer func() { cancel(); factory.Shutdown() }()
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		t.Fatal("informer did not sync")
	}
	for i := range 10 {
		if err := pods.Delete(ctx, fmt.Sprintf("before-%d", i), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	s.Restart()

	createPods(t, s.Client, ns, "after", 20, nil)
	for i := 10; i < 20; i++ {
		if _, err := pods.Patch(ctx, fmt.Sprintf("before-%d", i), types.MergePatchType, []byte(`{"metadata":{"labels":{"touched":"yes"}}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 20; i < 25; i++ {
		if err := pods.Delete(ctx, fmt.Sprintf("before-%d", i), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	want, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantMap := map[string]string{}
	for _, p := range want.Items {
		wantMap[p.Name] = p.ResourceVersion
	}
	waitFor(t, "the informer to catch up after the restart", func() bool {
		got, _ := view.snapshot()
		return fmt.Sprint(sorted(got)) == fmt.Sprint(sorted(wantMap))
	})
	if _, errs := view.snapshot(); len(errs) > 0 {
		t.Errorf("impossible informer events: %v", errs)
	}
	if len(wantMap) != 35 {
		t.Errorf("server has %d pods, want 35", len(wantMap))
	}
}

func sorted(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"@"+v)
	}
	sort.Strings(out)
	return out
}

// TestCompactedResourceVersion compacts the etcd the server uses and checks
// that reads at a compacted version answer 410 Gone.
func TestCompactedResourceVersion(t *testing.T) {
	e := StartEtcd(t)
	s := startServer(t, serverOptions{dataDir: t.TempDir(), etcd: e})
	ns := s.Namespace(t)
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods(ns)
	createPods(t, s.Client, ns, "p", 6, nil)
	first, err := pods.List(ctx, metav1.ListOptions{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	old := first.ResourceVersion
	for i := range 6 {
		if _, err := pods.Patch(ctx, fmt.Sprintf("p-%d", i), types.MergePatchType, []byte(`{"metadata":{"labels":{"v":"2"}}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	latest, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rev, _ := strconv.ParseInt(latest.ResourceVersion, 10, 64)
	// Compact the way kube-apiserver's compactor does (a CAS on
	// compact_rev_key, then etcd compaction), as another API server sharing
	// this etcd would: Podyard learns of it through that key and drops the
	// compacted history from its watch cache too.
	client := e.Client(t)
	version, _, _, err := etcd3.Compact(ctx, client, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := etcd3.Compact(ctx, client, version, rev); err != nil {
		t.Fatalf("compact etcd at %d: %v", rev, err)
	}

	waitFor(t, "an exact list at a compacted version to answer 410", func() bool {
		_, err := pods.List(ctx, metav1.ListOptions{ResourceVersion: old, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
		code, _ := statusOf(err)
		return code == 410
	})
	_, err = pods.List(ctx, metav1.ListOptions{Limit: 2, Continue: first.Continue})
	wantStatus(t, "continue token from before the compaction", err, 410, "continue")
	// The latest version still lists.
	if _, err := pods.List(ctx, metav1.ListOptions{ResourceVersion: latest.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact}); err != nil {
		t.Errorf("exact list at the compaction revision: %v", err)
	}
}

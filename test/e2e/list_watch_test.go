package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// createPods creates n pods named prefix-0..n-1 with the labels.
func createPods(t *testing.T, c kubernetes.Interface, ns, prefix string, n int, labels map[string]string) []*corev1.Pod {
	t.Helper()
	out := make([]*corev1.Pod, n)
	for i := range n {
		p, err := c.CoreV1().Pods(ns).Create(context.Background(), newPod(fmt.Sprintf("%s-%d", prefix, i), labels), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = p
	}
	return out
}

func names(pods []corev1.Pod) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = p.Name
	}
	return out
}

func TestListSelectors(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods(ns)
	createPods(t, s.Client, ns, "front", 2, map[string]string{"tier": "front", "env": "prod"})
	createPods(t, s.Client, ns, "back", 3, map[string]string{"tier": "back", "env": "prod"})

	// Give two pods distinctive spec and status fields to select on.
	special := newPod("special", map[string]string{"tier": "db"})
	special.Spec.RestartPolicy = corev1.RestartPolicyNever
	special.Spec.SchedulerName = "my-scheduler"
	special.Spec.ServiceAccountName = "default"
	special.Spec.NodeName = "node-a"
	if _, err := pods.Create(ctx, special, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Patch(ctx, "special", types.MergePatchType, []byte(`{"status":{"phase":"Running","podIP":"10.1.1.1","nominatedNodeName":"node-b"}}`), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		label, field string
		want         int
	}{
		{"tier=front", "", 2},
		{"tier in (front,back)", "", 5},
		{"tier!=front", "", 4},
		{"env", "", 5},
		{"!env", "", 1},
		{"tier=front,env=prod", "", 2},
		{"", "metadata.name=back-1", 1},
		{"", "metadata.namespace=" + ns, 6},
		{"", "metadata.name!=back-1", 5},
		{"", "spec.nodeName=node-a", 1},
		{"", "spec.nodeName=", 5},
		{"", "spec.restartPolicy=Never", 1},
		{"", "spec.schedulerName=my-scheduler", 1},
		{"", "spec.serviceAccountName=default", 1},
		{"", "status.phase=Pending", 5},
		{"", "status.phase=Running", 1},
		{"", "status.podIP=10.1.1.1", 1},
		{"", "status.nominatedNodeName=node-b", 1},
		{"tier=back", "metadata.name=back-2", 1},
		{"tier=back", "status.phase=Running", 0},
	} {
		list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: tc.label, FieldSelector: tc.field})
		if err != nil {
			t.Errorf("label %q field %q: %v", tc.label, tc.field, err)
			continue
		}
		if len(list.Items) != tc.want {
			t.Errorf("label %q field %q: %d pods %v, want %d", tc.label, tc.field, len(list.Items), names(list.Items), tc.want)
		}
	}

	// Across all namespaces, the field selector narrows to ours.
	all, err := s.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "metadata.namespace=" + ns, LabelSelector: "tier=front"})
	if err != nil || len(all.Items) != 2 {
		t.Errorf("all-namespaces list: %v %v", err, all)
	}

	_, err = pods.List(ctx, metav1.ListOptions{LabelSelector: "tier in (front"})
	wantStatus(t, "bad label selector", err, 400, "unable to parse requirement")
	_, err = pods.List(ctx, metav1.ListOptions{FieldSelector: "spec.containers=x"})
	wantStatus(t, "unsupported field", err, 400, `field label not supported: spec.containers`)
	_, err = pods.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=a=b=c"})
	if err == nil {
		t.Error("malformed field selector accepted")
	}
}

func TestListPaginationAndResourceVersion(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods(ns)
	createPods(t, s.Client, ns, "p", 25, nil)

	var seen []string
	opts := metav1.ListOptions{Limit: 10}
	pages := 0
	for {
		page, err := pods.List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.Items) > 10 {
			t.Fatalf("page of %d items with limit 10", len(page.Items))
		}
		seen = append(seen, names(page.Items)...)
		if page.Continue == "" {
			break
		}
		if page.RemainingItemCount == nil {
			t.Errorf("page %d lacks remainingItemCount", pages)
		}
		opts.Continue = page.Continue
	}
	if pages != 3 || len(seen) != 25 {
		t.Errorf("paginated list: %d pages, %d pods", pages, len(seen))
	}

	// resourceVersion semantics.
	full, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rv := full.ResourceVersion
	if _, err := pods.Create(ctx, newPod("later", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	exact, err := pods.List(ctx, metav1.ListOptions{ResourceVersion: rv, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if err != nil || len(exact.Items) != 25 || exact.ResourceVersion != rv {
		t.Errorf("Exact list at %s: %v, %d items, rv %s", rv, err, len(exact.Items), exact.ResourceVersion)
	}
	notOlder, err := pods.List(ctx, metav1.ListOptions{ResourceVersion: rv, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
	if err != nil || len(notOlder.Items) < 25 {
		t.Errorf("NotOlderThan list: %v %d", err, len(notOlder.Items))
	}
	any0, err := pods.List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil || len(any0.Items) < 25 {
		t.Errorf("resourceVersion=0 list: %v", err)
	}
	consistent, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil || len(consistent.Items) != 26 {
		t.Errorf("consistent list should see the latest write: %v %d", err, len(consistent.Items))
	}
	// A paginated list at an exact version stays at that version.
	first, err := pods.List(ctx, metav1.ListOptions{Limit: 5, ResourceVersion: rv, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if err != nil || first.ResourceVersion != rv {
		t.Errorf("exact paginated list: %v rv %s want %s", err, first.ResourceVersion, rv)
	}

	for _, bad := range []metav1.ListOptions{
		{ResourceVersion: "abc"},
		{ResourceVersionMatch: metav1.ResourceVersionMatchExact},
		{ResourceVersion: rv, ResourceVersionMatch: "Sometimes"},
		{Continue: "not-a-token"},
		{Limit: 5, Continue: first.Continue, ResourceVersion: rv},
	} {
		if _, err := pods.List(ctx, bad); err == nil {
			t.Errorf("list with %+v succeeded", bad)
		} else if code, st := statusOf(err); code != 400 && code != 422 {
			t.Errorf("list with %+v: %d %s, want 400 or 422", bad, code, st.Message)
		}
	}
	// Get with resourceVersion=0 may come from the cache; a too-new version waits then times out.
	if _, err := pods.Get(ctx, "p-1", metav1.GetOptions{ResourceVersion: "0"}); err != nil {
		t.Errorf("get at rv 0: %v", err)
	}
	future, _ := strconv.ParseInt(consistent.ResourceVersion, 10, 64)
	// MaxRetries(0): client-go would otherwise retry the 504 (it carries Retry-After) ten times.
	err = s.Client.CoreV1().RESTClient().Get().Namespace(ns).Resource("pods").MaxRetries(0).
		Param("resourceVersion", strconv.FormatInt(future+1_000_000, 10)).Param("resourceVersionMatch", "NotOlderThan").Do(ctx).Error()
	wantStatus(t, "too new a resourceVersion", err, 504, "Too large resource version")
}

// TestPaginationUnderWrites lists page by page while writers create and
// delete pods: the pages together are exactly the snapshot of the first page.
func TestPaginationUnderWrites(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods(ns)
	initial := createPods(t, s.Client, ns, "base", 60, map[string]string{"base": "true"})

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = pods.Create(ctx, newPod(fmt.Sprintf("w%d-%d", w, i), nil), metav1.CreateOptions{})
				if i%2 == 0 {
					_ = pods.Delete(ctx, initial[(w*15+i/2)%60].Name, metav1.DeleteOptions{})
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	for round := range 3 {
		first, err := pods.List(ctx, metav1.ListOptions{Limit: 7})
		if err != nil {
			t.Fatal(err)
		}
		snapshot, err := pods.List(ctx, metav1.ListOptions{ResourceVersion: first.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
		if err != nil {
			t.Fatal(err)
		}
		got := names(first.Items)
		cont := first.Continue
		for cont != "" {
			page, err := pods.List(ctx, metav1.ListOptions{Limit: 7, Continue: cont})
			if err != nil {
				t.Fatal(err)
			}
			if page.ResourceVersion != first.ResourceVersion {
				t.Fatalf("page at rv %s, first page at %s", page.ResourceVersion, first.ResourceVersion)
			}
			got = append(got, names(page.Items)...)
			cont = page.Continue
		}
		want := names(snapshot.Items)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("round %d: pages (%d pods) differ from the snapshot at rv %s (%d pods)", round, len(got), first.ResourceVersion, len(want))
		}
	}
}

func TestWatch(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods(ns)
	createPods(t, s.Client, ns, "old", 2, nil)
	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}

	w, err := pods.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, LabelSelector: "watched=yes"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := pods.Create(ctx, newPod("ignored", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Create(ctx, newPod("new", map[string]string{"watched": "yes"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Patch(ctx, "new", types.MergePatchType, []byte(`{"metadata":{"annotations":{"a":"b"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "new", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []watch.EventType{watch.Added, watch.Modified, watch.Deleted} {
		ev := nextEvent(t, w)
		if p := ev.Object.(*corev1.Pod); want == watch.Deleted && ev.Type == watch.Modified && p.DeletionTimestamp != nil {
			// As in kube-apiserver, a pod on no node is first marked deleted (grace 0), then removed.
			ev = nextEvent(t, w)
		}
		if ev.Type != want || ev.Object.(*corev1.Pod).Name != "new" {
			t.Fatalf("got %s %s, want %s new", ev.Type, ev.Object.(*corev1.Pod).Name, want)
		}
	}

	t.Run("single pod watch path", func(t *testing.T) {
		w := rawWatch(t, s, fmt.Sprintf("/api/v1/watch/namespaces/%s/pods/old-1", ns), "")
		if _, err := pods.Patch(ctx, "old-1", types.MergePatchType, []byte(`{"metadata":{"labels":{"x":"1"}}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		w.expect(t, "ADDED", "old-1")
		w.expect(t, "MODIFIED", "old-1")
	})
	t.Run("namespace watch path with fieldSelector", func(t *testing.T) {
		w := rawWatch(t, s, fmt.Sprintf("/api/v1/watch/namespaces/%s/pods", ns), "fieldSelector=metadata.name%3Dold-0&resourceVersion="+list.ResourceVersion)
		if _, err := pods.Patch(ctx, "old-0", types.MergePatchType, []byte(`{"metadata":{"labels":{"y":"1"}}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		w.expect(t, "MODIFIED", "old-0")
	})
	t.Run("all-namespaces watch paths", func(t *testing.T) {
		for _, path := range []string{"/api/v1/watch/pods", "/api/v1/pods"} {
			query := "fieldSelector=metadata.namespace%3D" + ns + "&resourceVersion=" + list.ResourceVersion
			if path == "/api/v1/pods" {
				query += "&watch=true"
			}
			w := rawWatch(t, s, path, query)
			w.expect(t, "ADDED", "ignored")
		}
	})
	t.Run("sendInitialEvents with bookmarks ends with initial-events-end", func(t *testing.T) {
		send := true
		w, err := pods.Watch(ctx, metav1.ListOptions{SendInitialEvents: &send, AllowWatchBookmarks: true, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		added := 0
		for {
			ev := nextEvent(t, w)
			if ev.Type == watch.Added {
				added++
				continue
			}
			if ev.Type != watch.Bookmark {
				t.Fatalf("unexpected %s before the bookmark", ev.Type)
			}
			p := ev.Object.(*corev1.Pod)
			if p.Annotations[metav1.InitialEventsAnnotationKey] != "true" || p.ResourceVersion == "" {
				t.Fatalf("bookmark without initial-events-end: %+v", p.ObjectMeta)
			}
			break
		}
		if added != 3 {
			t.Errorf("initial events: %d ADDED, want 3", added)
		}
	})
	t.Run("timeoutSeconds ends the watch", func(t *testing.T) {
		timeout := int64(1)
		w, err := pods.Watch(ctx, metav1.ListOptions{TimeoutSeconds: &timeout, ResourceVersion: list.ResourceVersion})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case _, ok := <-w.ResultChan():
				if !ok {
					return
				}
			case <-deadline:
				t.Fatal("watch with timeoutSeconds=1 still open after 20s")
			}
		}
	})
	t.Run("allowWatchBookmarks sends a bookmark before the watch times out", func(t *testing.T) {
		// As kube-apiserver does, the watch cache sends a bookmark shortly
		// before a watch's deadline so the client can resume from it.
		timeout := int64(4)
		w, err := pods.Watch(ctx, metav1.ListOptions{AllowWatchBookmarks: true, TimeoutSeconds: &timeout, ResourceVersion: list.ResourceVersion, LabelSelector: "nothing=matches"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		// A write the watch does not match moves the cache's resourceVersion
		// past the watch's, which is what a bookmark reports.
		if _, err := pods.Create(ctx, newPod("unwatched", nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		deadline := time.After(30 * time.Second)
		for {
			select {
			case ev, ok := <-w.ResultChan():
				if !ok {
					t.Fatal("the watch ended without a bookmark")
				}
				if ev.Type == watch.Bookmark {
					if p := ev.Object.(*corev1.Pod); p.ResourceVersion == "" {
						t.Errorf("bookmark without a resourceVersion: %+v", p.ObjectMeta)
					}
					return
				}
			case <-deadline:
				t.Fatal("no bookmark within 30s")
			}
		}
	})
	t.Run("sendInitialEvents without NotOlderThan is refused", func(t *testing.T) {
		send := true
		_, err := pods.Watch(ctx, metav1.ListOptions{SendInitialEvents: &send})
		wantStatus(t, "sendInitialEvents alone", err, 422)
	})
}

func nextEvent(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("watch closed")
		}
		if ev.Type == watch.Error {
			t.Fatalf("watch error: %v", ev.Object)
		}
		return ev
	case <-time.After(30 * time.Second):
		t.Fatal("no watch event within 30s")
	}
	return watch.Event{}
}

// rawWatchStream reads a watch over plain HTTPS, as curl would.
type rawWatchStream struct {
	events chan metav1.WatchEvent
}

func rawWatch(t *testing.T, s *Server, path, query string) *rawWatchStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	url := s.URL + path
	if query != "" {
		url += "?" + query
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+s.Config.BearerToken)
	resp, err := s.httpClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		t.Fatalf("watch %s: %d", url, resp.StatusCode)
	}
	w := &rawWatchStream{events: make(chan metav1.WatchEvent, 100)}
	go func() {
		defer resp.Body.Close()
		defer close(w.events)
		dec := json.NewDecoder(resp.Body)
		for {
			var ev metav1.WatchEvent
			if err := dec.Decode(&ev); err != nil {
				return
			}
			w.events <- ev
		}
	}()
	return w
}

func (w *rawWatchStream) expect(t *testing.T, typ, name string) {
	t.Helper()
	select {
	case ev, ok := <-w.events:
		if !ok {
			t.Fatal("watch stream ended")
		}
		var p corev1.Pod
		if err := json.Unmarshal(ev.Object.Raw, &p); err != nil {
			t.Fatal(err)
		}
		if ev.Type != typ || p.Name != name {
			t.Fatalf("got %s %s, want %s %s", ev.Type, p.Name, typ, name)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s %s within 30s", typ, name)
	}
}

func TestPrettyAndAggregatedDiscovery(t *testing.T) {
	s := Shared(t)
	ns := s.Namespace(t)
	createPods(t, s.Client, ns, "p", 1, nil)
	c := s.httpClient(t)
	for _, tc := range []struct {
		path, accept, want string
	}{
		{"/api/v1/namespaces/" + ns + "/pods?pretty=true", "application/json", "{\n  \"kind\": \"PodList\""},
		{"/api/v1/namespaces/" + ns + "/pods/p-0?pretty=true", "application/json", "\n  \"metadata\": {\n"},
		{"/api", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", `"kind":"APIGroupDiscoveryList"`},
		{"/apis", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", `"name":"coordination.k8s.io"`},
	} {
		req, _ := http.NewRequest(http.MethodGet, s.URL+tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+s.Config.BearerToken)
		req.Header.Set("Accept", tc.accept)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), tc.want) {
			t.Errorf("GET %s (%s): %d, body lacks %q:\n%s", tc.path, tc.accept, resp.StatusCode, tc.want, trim(body))
		}
	}
}

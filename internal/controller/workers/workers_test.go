package workers

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/util/workqueue"
)

// TestRun: every key is synced; a failing key is reported and retried until
// it succeeds; the queue is shut down when ctx ends.
func TestRun(t *testing.T) {
	queue := workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Millisecond, 10*time.Millisecond))
	var mu sync.Mutex
	synced, failures := map[string]int{}, map[string]int{}
	done := make(chan struct{})
	sync := func(_ context.Context, key string) error {
		mu.Lock()
		defer mu.Unlock()
		synced[key]++
		if key == "flaky" && synced[key] < 3 {
			return errors.New("not yet")
		}
		if synced["a"] > 0 && synced["b"] > 0 && synced["flaky"] == 3 {
			close(done)
		}
		return nil
	}
	failed := func(key string, _ error) {
		mu.Lock()
		defer mu.Unlock()
		failures[key]++
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		Run(ctx, queue, 2, sync, failed)
		close(stopped)
	}()
	for _, k := range []string{"a", "b", "flaky"} {
		queue.Add(k)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("keys not synced")
	}
	cancel()
	<-stopped
	if !queue.ShuttingDown() {
		t.Error("queue not shut down")
	}
	mu.Lock()
	defer mu.Unlock()
	if failures["flaky"] != 2 || failures["a"] != 0 {
		t.Errorf("failures %v, want flaky twice", failures)
	}
}

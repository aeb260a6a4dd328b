package scheduler

import (
	"testing"

	"k8s.io/client-go/util/workqueue"
)

// TestPark: a pod that fit nowhere waits for the next cluster change, unless
// a change came after the snapshot it was decided on: then it is tried
// again at once (before, it waited for the one-minute retry).
func TestPark(t *testing.T) {
	s := &Scheduler{
		queue:         workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		unschedulable: map[string]bool{},
	}
	defer s.queue.ShutDown()

	s.park("ns/quiet", s.moves)
	if !s.unschedulable["ns/quiet"] || s.queue.Len() != 0 {
		t.Errorf("no change since the snapshot: parked %v, queued %d", s.unschedulable["ns/quiet"], s.queue.Len())
	}

	before := s.moves
	s.retryAll() // e.g. a sibling was deleted while the pod was being decided
	if s.queue.Len() != 1 {
		t.Fatalf("retryAll queued %d, want the parked pod", s.queue.Len())
	}
	s.park("ns/raced", before)
	if s.unschedulable["ns/raced"] || s.queue.Len() != 2 {
		t.Errorf("a change after the snapshot: parked %v, queued %d, want it queued again", s.unschedulable["ns/raced"], s.queue.Len())
	}
}

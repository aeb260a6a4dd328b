// Package workers runs a controller's workqueue, the loop every controller
// here shares: n workers, each syncing one key at a time (the queue never
// hands a key to two at once), a failed key retried at the queue's rate.
package workers

import (
	"context"

	"k8s.io/client-go/util/workqueue"
)

// Run syncs the keys of queue with n workers until ctx ends, then shuts
// the queue down. failed hears of each error while ctx is live (the key is
// retried all the same).
func Run(ctx context.Context, queue workqueue.TypedRateLimitingInterface[string], n int,
	sync func(context.Context, string) error, failed func(key string, err error)) {
	for range n {
		go func() {
			for next(ctx, queue, sync, failed) {
			}
		}()
	}
	<-ctx.Done()
	queue.ShutDown()
}

func next(ctx context.Context, queue workqueue.TypedRateLimitingInterface[string],
	sync func(context.Context, string) error, failed func(string, error)) bool {
	key, quit := queue.Get()
	if quit {
		return false
	}
	defer queue.Done(key)
	if err := sync(ctx, key); err != nil {
		if ctx.Err() == nil {
			failed(key, err)
		}
		queue.AddRateLimited(key)
		return true
	}
	queue.Forget(key)
	return true
}

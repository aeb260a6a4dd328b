package deployment

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

// TestWritten: an informer copy older than what the controller wrote is
// stale until the informer brings the write (or something newer); then it
// is forgotten.
func TestWritten(t *testing.T) {
	w := written{rv: map[types.UID]uint64{}}
	app := func(rv string) *v1alpha1.Application {
		return &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{UID: "u1", ResourceVersion: rv}}
	}
	if w.stale(app("5")) {
		t.Error("nothing written: not stale")
	}
	w.wrote(app("10"))
	if !w.stale(app("9")) {
		t.Error("older than the write: stale")
	}
	if w.stale(app("10")) {
		t.Error("the write itself: not stale")
	}
	if w.stale(app("9")) {
		t.Error("once the write was seen it is forgotten")
	}
	w.wrote(app("12"))
	w.forget(cache.DeletedFinalStateUnknown{Obj: app("12")})
	if w.stale(app("11")) {
		t.Error("a deleted object's write is forgotten")
	}
}

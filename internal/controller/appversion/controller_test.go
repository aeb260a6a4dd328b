package appversion

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	bcsversions "github.com/podyard/podyard/internal/bcs/versions"
)

// TestWithCreated: a version the controller made but its informer has not
// brought yet counts, so a sync in between records nothing again; once the
// informer has it, it is forgotten.
func TestWithCreated(t *testing.T) {
	now := time.Unix(1700000000, 0)
	app := &v1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "app-test", Namespace: "bcs-defaultgroup", UID: "uid-1", Generation: 2},
		Spec: v1alpha1.ApplicationSpec{Kind: "application", Metadata: v1alpha1.ObjectMeta{Name: "app-test", Namespace: "defaultGroup"}, Instance: 2,
			Template: v1alpha1.PodTemplateSpec{Spec: v1alpha1.PodSpec{Containers: []v1alpha1.Container{{Image: "nginx:1"}}}}},
	}
	made := bcsversions.Decide(app, nil, now)
	made.UID = "v-uid-1"
	c := &Controller{created: map[string]*v1alpha1.ApplicationVersion{"bcs-defaultgroup/app-test": made}}
	const key = "bcs-defaultgroup/app-test"
	if v := bcsversions.Decide(app, c.withCreated(key, nil), now.Add(time.Second)); v != nil {
		t.Errorf("stale cache: recorded %s again", v.ID)
	}
	if c.created[key] == nil {
		t.Error("forgotten before the informer brought it")
	}
	if got := c.withCreated(key, []*v1alpha1.ApplicationVersion{made}); len(got) != 1 || c.created[key] != nil {
		t.Errorf("informer has it: %d versions, remembered %v", len(got), c.created[key] != nil)
	}
	c.created[key] = made
	c.forget(key)
	if c.created[key] != nil {
		t.Error("forget kept it")
	}
}

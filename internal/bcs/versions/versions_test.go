package versions

import (
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/application"
)

func testApp(uid types.UID, instance int32, image string) *v1alpha1.Application {
	return &v1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "app-test", Namespace: "bcs-defaultgroup", UID: uid, Generation: 2},
		Spec: v1alpha1.ApplicationSpec{
			Kind: "application", Metadata: v1alpha1.ObjectMeta{Name: "app-test", Namespace: "defaultGroup"},
			Instance: instance,
			Template: v1alpha1.PodTemplateSpec{Spec: v1alpha1.PodSpec{Containers: []v1alpha1.Container{{Image: image}}}},
		},
	}
}

// recorded is the version id of app as the controller records it.
func recorded(app *v1alpha1.Application, id int64) *v1alpha1.ApplicationVersion {
	return For(app, strconv.FormatInt(id, 10))
}

func TestDecide(t *testing.T) {
	now := time.Unix(1700000000, 500)
	nowID := now.UnixNano()
	app := testApp("uid-1", 2, "nginx:1")
	scaled := testApp("uid-1", 3, "nginx:1")
	updated := testApp("uid-1", 2, "nginx:2")
	deleting := testApp("uid-1", 3, "nginx:1")
	deleting.DeletionTimestamp = &metav1.Time{Time: now}
	noUID := testApp("", 2, "nginx:1")
	former := testApp("uid-0", 2, "nginx:1") // deleted, same name
	otherApp := testApp("uid-2", 2, "nginx:1")
	otherApp.Name = "app-other"
	otherNS := testApp("uid-1", 2, "nginx:1")
	otherNS.Namespace = "bcs-othergroup"

	tests := []struct {
		name     string
		app      *v1alpha1.Application
		versions []*v1alpha1.ApplicationVersion
		wantID   int64 // 0: nothing to record
	}{
		{"create records", app, nil, nowID},
		{"unchanged spec records nothing", app, []*v1alpha1.ApplicationVersion{recorded(app, nowID-10)}, 0},
		{"unchanged newest, older differs", app, []*v1alpha1.ApplicationVersion{recorded(app, nowID-10), recorded(updated, nowID-20)}, 0},
		{"scale records", scaled, []*v1alpha1.ApplicationVersion{recorded(app, nowID-10)}, nowID},
		{"update records", updated, []*v1alpha1.ApplicationVersion{recorded(app, nowID-10)}, nowID},
		{"rollback to an older definition records", app, []*v1alpha1.ApplicationVersion{recorded(app, nowID-20), recorded(updated, nowID-10)}, nowID},
		{"deleting records nothing", deleting, []*v1alpha1.ApplicationVersion{recorded(app, nowID-10)}, 0},
		{"deleting without versions records nothing", deleting, nil, 0},
		{"no UID yet records nothing", noUID, nil, 0},
		{"clock not advanced: one more than the newest", scaled, []*v1alpha1.ApplicationVersion{recorded(app, nowID)}, nowID + 1},
		{"clock behind: one more than the newest", updated, []*v1alpha1.ApplicationVersion{recorded(app, nowID+1000), recorded(scaled, nowID+5)}, nowID + 1001},
		{"a former application's versions are ignored", app, []*v1alpha1.ApplicationVersion{recorded(former, nowID+1000)}, nowID},
		{"a former application's newer IDs do not count", scaled, []*v1alpha1.ApplicationVersion{recorded(app, nowID-10), recorded(former, nowID+1000)}, nowID},
		{"other applications' and namespaces' versions are ignored", app, []*v1alpha1.ApplicationVersion{recorded(otherApp, nowID-10), recorded(otherNS, nowID-10)}, nowID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.app, tt.versions, now)
			if tt.wantID == 0 {
				if got != nil {
					t.Fatalf("Decide = %s, want nothing", got.Name)
				}
				return
			}
			if got == nil {
				t.Fatalf("Decide = nil, want version %d", tt.wantID)
			}
			id := strconv.FormatInt(tt.wantID, 10)
			if got.ID != id || got.Name != "app-test-"+id || got.Application != "app-test" || got.Namespace != tt.app.Namespace {
				t.Errorf("Decide = %s/%s id %s application %s, want app-test-%s", got.Namespace, got.Name, got.ID, got.Application, id)
			}
			if got.Spec.Instance != tt.app.Spec.Instance || got.Spec.Template.Spec.Containers[0].Image != tt.app.Spec.Template.Spec.Containers[0].Image {
				t.Errorf("recorded spec %+v, want the application's", got.Spec)
			}
			ref := metav1.GetControllerOf(got)
			if ref == nil || ref.UID != tt.app.UID || ref.Kind != "Application" || ref.Name != "app-test" || ref.APIVersion != v1alpha1.SchemeGroupVersion.String() {
				t.Errorf("controller ref %+v, want the application", ref)
			}
			if got.Labels[application.LabelApplication] != "app-test" || got.Annotations[AnnotationGeneration] != "2" {
				t.Errorf("labels %v annotations %v", got.Labels, got.Annotations)
			}
		})
	}
}

// TestDecideSpecCopied: the version does not share the application's spec.
func TestDecideSpecCopied(t *testing.T) {
	app := testApp("uid-1", 2, "nginx:1")
	v := Decide(app, nil, time.Now())
	app.Spec.Template.Spec.Containers[0].Image = "changed"
	if v.Spec.Template.Spec.Containers[0].Image != "nginx:1" {
		t.Error("the recorded spec changed with the application's")
	}
}

// TestIDsIncrease: a create and scales recorded at one instant (a clock
// that does not advance) get strictly increasing IDs, in order.
func TestIDsIncrease(t *testing.T) {
	now := time.Unix(1700000000, 0)
	var versions []*v1alpha1.ApplicationVersion
	for n := int32(1); n <= 5; n++ {
		v := Decide(testApp("uid-1", n, "nginx:1"), versions, now)
		if v == nil {
			t.Fatalf("instance %d: nothing recorded", n)
		}
		versions = append(versions, v)
	}
	for i := 1; i < len(versions); i++ {
		if idNumber(versions[i].ID) <= idNumber(versions[i-1].ID) {
			t.Errorf("version %d id %s not after %s", i, versions[i].ID, versions[i-1].ID)
		}
	}
	if n := Newest(versions); n != versions[4] || n.Spec.Instance != 5 {
		t.Errorf("Newest = %v, want the last", n)
	}
	if Decide(testApp("uid-1", 5, "nginx:1"), versions, now) != nil {
		t.Error("the newest definition recorded again")
	}
}

func TestOfAndSort(t *testing.T) {
	app := testApp("uid-1", 1, "nginx:1")
	former := testApp("uid-0", 1, "nginx:1")
	// IDs of different lengths sort as numbers; the order given is shuffled.
	v9 := recorded(app, 9)
	v10 := recorded(app, 10)
	v100 := recorded(app, 100)
	old := recorded(former, 50)
	unowned := recorded(app, 60)
	unowned.OwnerReferences = nil
	got := Of(app, []*v1alpha1.ApplicationVersion{v100, old, v9, unowned, v10})
	if len(got) != 3 || got[0] != v9 || got[1] != v10 || got[2] != v100 {
		var ids []string
		for _, v := range got {
			ids = append(ids, v.ID)
		}
		t.Errorf("Of = %v, want [9 10 100]", ids)
	}
	if Newest(nil) != nil {
		t.Error("Newest of none is not nil")
	}
	if Recorded(app, nil) {
		t.Error("Recorded with no versions")
	}
}

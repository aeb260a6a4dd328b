package application

import "testing"

func TestIDs(t *testing.T) {
	ref := TaskGroupRef{Index: 0, App: "testapp", Namespace: "test", Cluster: "10001", UnixNano: 1547025443000246455}
	if got := ref.ID(); got != "0.testapp.test.10001.1547025443000246455" {
		t.Errorf("taskgroup id %q", got)
	}
	if got := TaskID(ref, 0); got != "1547025443000246455.0.0.testapp.test.10001" {
		t.Errorf("task id %q", got)
	}
	if got := TaskName(ref, 1); got != "1547025443000246455-1547025443000246455.1.0.testapp.test.10001" {
		t.Errorf("task name %q", got)
	}
	if got := TaskGroupName("app-test", 3); got != "app-test-3" {
		t.Errorf("taskgroup name %q", got)
	}
	back, err := ParseTaskGroupID("0.app-test.defaultGroup.10001.1527839061316356269")
	if err != nil || back != (TaskGroupRef{0, "app-test", "defaultGroup", "10001", 1527839061316356269}) {
		t.Errorf("parse: %+v %v", back, err)
	}
	for _, bad := range []string{"", "0.a.b.c", "0.a.b.c.d.e", "x.a.b.c.1", "0.a.b.c.x", "-1.a.b.c.1", "0..b.c.1"} {
		if _, err := ParseTaskGroupID(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

package process

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/podyard/podyard/internal/runtime"
)

// TestUpdateResources: a running container's resources change in place
// (the same process runs on), its status says so, and a restarted agent's
// runtime still knows them; as root its cgroup's limits change too.
func TestUpdateResources(t *testing.T) {
	dir := t.TempDir()
	var r *Runtime
	contained := false
	if m := maybeCgroups(t); m != nil {
		r, contained = newContainedRuntime(t, dir, m), true
	} else {
		r = newRuntime(t, dir)
	}
	cfg := config(t, "c", "sh", "-c", "echo $$ > pid; exec sleep 60")
	cfg.WorkingDir = dir
	cfg.Resources = runtime.Resources{CPUShares: 102, CPUPeriod: 100000, CPUQuota: 20000, MemoryLimit: 64 << 20}
	st, err := r.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	pid := waitFile(t, filepath.Join(dir, "pid"))
	want := runtime.Resources{CPUShares: 512, CPUPeriod: 100000, CPUQuota: 50000, MemoryLimit: 128 << 20}
	if err := r.UpdateResources(context.Background(), st.ID, want); err != nil {
		t.Fatal(err)
	}
	list, _ := r.List(context.Background())
	if len(list) != 1 || list[0].Resources != want || list[0].State != runtime.Running || !list[0].StartedAt.Equal(st.StartedAt) {
		t.Fatalf("after the update: %+v", list)
	}
	if contained {
		mem := cgroupOf(t, pid, "memory")
		if cgroupsV2() {
			assertFile(t, "/sys/fs/cgroup"+mem+"/memory.max", "134217728")
			assertFile(t, "/sys/fs/cgroup"+mem+"/cpu.max", "50000 100000")
		} else {
			assertFile(t, "/sys/fs/cgroup/memory"+mem+"/memory.limit_in_bytes", "134217728")
			cpu := cgroupOf(t, pid, "cpu")
			assertFile(t, "/sys/fs/cgroup/cpu"+cpu+"/cpu.cfs_quota_us", "50000")
			assertFile(t, "/sys/fs/cgroup/cpu"+cpu+"/cpu.shares", "512")
		}
	}
	again, err := New(context.Background(), r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := again.List(context.Background()); len(list) != 1 || list[0].Resources != want {
		t.Errorf("a restarted runtime sees %+v, want %+v", list, want)
	}
	if err := r.Stop(context.Background(), st.ID, 0); err != nil {
		t.Fatal(err)
	}
	waitExited(t, r, st.ID)
	if err := r.UpdateResources(context.Background(), st.ID, want); err == nil {
		t.Errorf("an exited container was updated")
	}
}

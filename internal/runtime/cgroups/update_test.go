package cgroups

import (
	"context"
	"os"
	"path"
	"strings"
	"testing"

	podruntime "github.com/podyard/podyard/internal/runtime"
)

// TestGroupUpdate: Update changes a group's cpu and memory limits in place.
func TestGroupUpdate(t *testing.T) {
	for name, m := range managers(t) {
		if strings.Contains(name, "no controllers") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			g, err := m.Create("uidupd", "c", 0, podruntime.Resources{CPUShares: 102, CPUPeriod: 100000, CPUQuota: 20000, MemoryLimit: 64 << 20})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Delete(context.Background())
			if err := g.Update(podruntime.Resources{CPUShares: 512, CPUPeriod: 100000, CPUQuota: 50000, MemoryLimit: 128 << 20}); err != nil {
				t.Fatal(err)
			}
			read := func(p string) string {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				return strings.TrimSpace(string(b))
			}
			if g.Unified != "" {
				dir := path.Join(g.Unified, g.Path)
				if got := read(path.Join(dir, "memory.max")); got != "134217728" {
					t.Errorf("memory.max %s", got)
				}
				if got := read(path.Join(dir, "cpu.max")); got != "50000 100000" {
					t.Errorf("cpu.max %s", got)
				}
				return
			}
			if got := read(path.Join("/sys/fs/cgroup/memory", g.Path, "memory.limit_in_bytes")); got != "134217728" {
				t.Errorf("memory.limit_in_bytes %s", got)
			}
			if got := read(path.Join("/sys/fs/cgroup/cpu", g.Path, "cpu.cfs_quota_us")); got != "50000" {
				t.Errorf("cpu.cfs_quota_us %s", got)
			}
			if got := read(path.Join("/sys/fs/cgroup/cpu", g.Path, "cpu.shares")); got != "512" {
				t.Errorf("cpu.shares %s", got)
			}
		})
	}
}

package e2e

import (
	"context"
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/bcs/clients"
	"github.com/podyard/podyard/internal/dialect/bcs"
)

// TestBCSVersions: the versions of the seed application in namespace
// defaultGroup, recorded by the server's controller: one on create, one
// more on a scale, IDs strictly increasing and listed oldest first; the
// newest Version has the new instance count; an unknown version is
// 1405202; deleting the application deletes its ApplicationVersions
// (garbage collector).
func TestBCSVersions(t *testing.T) {
	s := StartServer(t) // its own: defaultGroup and app-test are the seed's
	c := &bcsClient{t: t, base: s.URL + "/bcsapi/v4/scheduler/mesos", token: s.Config.BearerToken,
		http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(t, s)}}}}
	const cluster = bcs.DefaultClusterID
	seed, err := os.ReadFile(filepath.Join(repoRoot(), "internal/bcs/application/testdata/seed-application.json"))
	if err != nil {
		t.Fatal(err)
	}
	ns, _ := bcs.KubeNamespace("defaultGroup")
	base := "/namespaces/defaultGroup/applications"
	ctx := context.Background()
	versionClients, err := clients.NewApplicationVersions(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	versionObjects := func() int {
		list, err := versionClients.Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: application.LabelApplication + "=app-test"})
		if err != nil {
			t.Fatal(err)
		}
		return len(list.Items)
	}
	// ids lists the versions through the BCS API.
	ids := func() []string {
		data := c.do("GET", base+"/app-test/versions", cluster, "").ok(t, "versions")
		var out []string
		if data == nil {
			return nil
		}
		list, ok := data.([]any)
		if !ok {
			t.Fatalf("versions data %v is not a list", data)
		}
		for _, id := range list {
			s, ok := id.(string)
			if !ok {
				t.Fatalf("version id %v is not a string", id)
			}
			out = append(out, s)
		}
		return out
	}
	increasing := func(ids []string) bool {
		for i := 1; i < len(ids); i++ {
			a, errA := strconv.ParseUint(ids[i-1], 10, 64)
			b, errB := strconv.ParseUint(ids[i], 10, 64)
			if errA != nil || errB != nil || a >= b {
				return false
			}
		}
		return true
	}

	c.do("GET", base+"/app-test/versions", cluster, "").expect(t, "versions of a missing application", 404, bcs.CodeNotFound)
	c.do("POST", base, cluster, string(seed)).expect(t, "create", 200, 0)
	var got []string
	waitFor(t, "the create's version", func() bool { got = ids(); return len(got) >= 1 })
	if len(got) != 1 {
		t.Fatalf("versions after create: %v, want 1", got)
	}
	first := got[0]
	// The driver's own prefix lists the same.
	driver := *c
	driver.base = s.URL + "/v4/scheduler/mesos"
	if data := driver.do("GET", base+"/app-test/versions", cluster, "").ok(t, "versions (driver prefix)"); len(data.([]any)) != 1 {
		t.Errorf("versions under the driver's prefix: %v", data)
	}
	v := c.do("GET", base+"/app-test/versions/"+first, cluster, "").ok(t, "first version").(map[string]any)
	if v["Name"] != first || v["ID"] != "app-test" || v["Instances"] != float64(2) || v["RunAs"] != "defaultGroup" {
		t.Errorf("first version: %v", v)
	}

	c.do("PUT", base+"/app-test/scale/3", cluster, "").expect(t, "scale", 200, 0)
	waitFor(t, "the scale's version", func() bool { got = ids(); return len(got) >= 2 })
	if len(got) != 2 || got[0] != first || !increasing(got) {
		t.Fatalf("versions after scale: %v, want [%s, a later one]", got, first)
	}
	newest := c.do("GET", base+"/app-test/versions/"+got[1], cluster, "").ok(t, "newest version").(map[string]any)
	if newest["Name"] != got[1] || newest["Instances"] != float64(3) {
		t.Errorf("newest version: %v, want 3 instances", newest)
	}
	if containers, _ := newest["Container"].([]any); len(containers) != 1 {
		t.Errorf("newest version's containers: %v", newest["Container"])
	} else if _, ok := containers[0].(map[string]any)["LimitResoures"]; !ok {
		t.Errorf("container without LimitResoures: %v", containers[0])
	}
	// Nothing changes, nothing is recorded: the application's status
	// writes are not versions.
	time.Sleep(2 * time.Second)
	if again := ids(); len(again) != 2 {
		t.Errorf("versions without a change: %v, want still 2", again)
	}

	c.do("GET", base+"/app-test/versions/1", cluster, "").expect(t, "an unknown version", 404, bcs.CodeNotFound)
	c.do("GET", base+"/app-test/versions/nosuch", cluster, "").expect(t, "a version id not a number", 404, bcs.CodeNotFound)
	c.do("GET", base+"/none/versions/"+first, cluster, "").expect(t, "a version of an unknown application", 404, bcs.CodeNotFound)

	if n := versionObjects(); n != 2 {
		t.Errorf("%d ApplicationVersions, want 2", n)
	}
	c.do("DELETE", base+"/app-test?enforce=1", cluster, "").expect(t, "delete", 200, 0)
	waitFor(t, "the versions deleted with the application", func() bool { return versionObjects() == 0 })
	c.do("GET", base+"/app-test/versions", cluster, "").expect(t, "versions of the deleted application", 404, bcs.CodeNotFound)
}

package runner

import (
	"slices"
	"testing"
)

func TestCommandEnv(t *testing.T) {
	got := CommandEnv([]string{"HOME=/root", "PATH=/usr/bin:/bin", "PODYARD_TOKEN=secret", "KUBECONFIG=/elsewhere", "LANG=C"}, "/tmp/t/bin", "/tmp/t/kubeconfig")
	want := []string{"HOME=/root", "LANG=C", "PATH=/tmp/t/bin:/usr/bin:/bin", "KUBECONFIG=/tmp/t/kubeconfig"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := CommandEnv(nil, "/b", "/k"); got[0] != "PATH=/b:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" {
		t.Errorf("default PATH: %q", got)
	}
}

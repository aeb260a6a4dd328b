package supervisorbin

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"testing"
)

// TestEmbeddedIsCurrent fails when the supervisor's code or dependencies
// changed and podyard-supervisor.gz was not regenerated.
func TestEmbeddedIsCurrent(t *testing.T) {
	bin := embeddedBinary(t)
	if testing.Short() {
		t.Skip("builds the supervisor")
	}
	info, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("embedded supervisor: %v", err)
	}
	if info.GoVersion != runtime.Version() {
		t.Skipf("the embedded supervisor was built by %s, this toolchain is %s: a fresh build cannot match it", info.GoVersion, runtime.Version())
	}
	cmd := exec.CommandContext(t.Context(), "go", "run", "./gen", "-check")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

func TestInstall(t *testing.T) {
	want := embeddedBinary(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "bin")
	path, err := Install(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^podyard-supervisor-[0-9a-f]{12}$`).MatchString(filepath.Base(path)) || filepath.Dir(path) != dir {
		t.Errorf("installed at %s, want %s/podyard-supervisor-<12 hex>", path, dir)
	}
	check := func() os.FileInfo {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o755 {
			t.Errorf("mode %v, want 0755", fi.Mode())
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
			t.Errorf("%s does not hold the embedded supervisor", path)
		}
		return fi
	}
	first := check()

	// A second agent reuses the file.
	if again, err := Install(ctx, dir); err != nil || again != path {
		t.Fatalf("second Install: %s, %v; want %s", again, err, path)
	}
	if !os.SameFile(first, check()) {
		t.Error("the second Install rewrote an intact file")
	}

	// A damaged file is replaced.
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if again, err := Install(ctx, dir); err != nil || again != path {
		t.Fatalf("Install over a damaged file: %s, %v", again, err)
	}
	check()

	// It runs: without arguments it prints its usage and exits 2.
	var stderr bytes.Buffer
	cmd := exec.Command(path)
	cmd.Stderr = &stderr
	var exit *exec.ExitError
	if err := cmd.Run(); !errors.As(err, &exit) || exit.ExitCode() != 2 || !bytes.Contains(stderr.Bytes(), []byte("usage: podyard-supervisor DIR")) {
		t.Errorf("running it: %v, %q; want exit status 2 and its usage", err, stderr.String())
	}
}

func TestInstallConcurrently(t *testing.T) {
	embeddedBinary(t)
	dir := t.TempDir()
	const n = 8
	paths := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { paths[i], errs[i] = Install(context.Background(), dir) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || paths[i] != paths[0] {
			t.Errorf("Install %d: %s, %v; want %s", i, paths[i], errs[i], paths[0])
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("%s holds %q, want the supervisor alone", dir, names)
	}
}

// runs tells a program that ran, whatever its exit status, from one that
// cannot be started from where it is (a noexec mount fails like a file
// without execute permission: EACCES).
func TestRuns(t *testing.T) {
	dir := t.TempDir()
	script := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 3\n"), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := runs(t.Context(), script("exits3", 0o755)); err != nil {
		t.Errorf("a program that exits 3: %v, want nil", err)
	}
	if err := runs(t.Context(), script("noexec", 0o644)); err == nil {
		t.Error("a file that cannot be executed: nil error")
	}
}

// embeddedBinary is the embedded supervisor; the test is skipped where
// there is none.
func embeddedBinary(t *testing.T) []byte {
	t.Helper()
	bin, err := Binary()
	if errors.Is(err, ErrNotEmbedded) {
		t.Skipf("no supervisor is embedded on %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

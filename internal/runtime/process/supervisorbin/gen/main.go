// Command gen builds ./cmd/podyard-supervisor reproducibly for linux/amd64
// and writes it, gzipped, to podyard-supervisor.gz in package
// supervisorbin, which embeds it in podyard. Run it from anywhere in the
// module after changing the supervisor or its dependencies:
//
//	go generate ./internal/runtime/process/supervisorbin
//
// With -check it writes nothing and fails when a fresh build differs from
// the embedded binary.
//
// The build is reproducible: the same source, dependencies and Go toolchain
// give the same bytes in any directory (-trimpath, no build ID, no VCS
// stamp, no cgo, GOAMD64=v1, the caller's GOFLAGS and GOEXPERIMENT
// ignored). The gzip has an empty header and a fixed level; the check
// compares decompressed bytes, so a compressor that changes between Go
// releases does not matter.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
)

const (
	pkgDir = "internal/runtime/process/supervisorbin" // relative to the module root
	gzName = "podyard-supervisor.gz"
	source = "./cmd/podyard-supervisor"
	regen  = "go generate ./" + pkgDir
)

func main() {
	check := flag.Bool("check", false, "compare a fresh build with the embedded supervisor instead of writing it")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *check); err != nil {
		fmt.Fprintln(os.Stderr, "supervisorbin/gen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, check bool) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	out := filepath.Join(root, pkgDir, gzName)
	fresh, err := build(ctx, root)
	if err != nil {
		return err
	}
	old, err := readGzip(out)
	if err != nil && !(errors.Is(err, fs.ErrNotExist) && !check) {
		return fmt.Errorf("embedded supervisor: %w", err)
	}
	if bytes.Equal(old, fresh) {
		if !check {
			fmt.Printf("%s is up to date (%s)\n", filepath.Join(pkgDir, gzName), describe(fresh))
		}
		return nil
	}
	if check {
		return fmt.Errorf("%s is not a build of the current %s\n"+
			"  embedded:    %s\n  fresh build: %s\n"+
			"regenerate it with `%s` (from the module root) and commit it",
			filepath.Join(pkgDir, gzName), source, describe(old), describe(fresh), regen)
	}
	gz, err := compress(fresh)
	if err != nil {
		return err
	}
	if err := writeAtomic(out, gz); err != nil {
		return err
	}
	fmt.Printf("wrote %s: %d bytes gzipped (%s)\n", filepath.Join(pkgDir, gzName), len(gz), describe(fresh))
	return nil
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	b, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(b))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the podyard module (go env GOMOD is %q)", gomod)
	}
	return filepath.Dir(gomod), nil
}

// build compiles the supervisor in a temporary directory and returns it.
func build(ctx context.Context, root string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "podyard-supervisor-gen")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "podyard-supervisor")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -w -buildid=", "-o", bin, source)
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOAMD64=v1", "GOFLAGS=", "GOEXPERIMENT=")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %s: %w\n%s", source, err, b)
	}
	return os.ReadFile(bin)
}

func readGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// compress gzips b deterministically: fixed level, empty header (no name,
// no modification time).
func compress(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".gen-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// describe names a supervisor binary: size, hash and the Go release and
// dependencies it was built with.
func describe(bin []byte) string {
	if len(bin) == 0 {
		return "none"
	}
	s := fmt.Sprintf("%d bytes, sha256 %x", len(bin), sha256.Sum256(bin))
	info, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		return s
	}
	s += ", " + info.GoVersion
	for _, d := range info.Deps {
		v := d.Version
		if d.Replace != nil {
			v = "=> " + d.Replace.Path + " " + d.Replace.Version
		}
		s += ", " + d.Path + " " + v
	}
	return s
}

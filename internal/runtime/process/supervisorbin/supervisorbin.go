// Package supervisorbin carries the process runtime's supervisor,
// cmd/podyard-supervisor, inside podyard and writes it out on the node, so
// that podyard is the only binary a node needs. The supervisor starts each
// container; podyard itself spends ~60-80 ms initialising packages the
// supervisor never uses, most of a pod's start, where the small binary
// starts in a few milliseconds.
//
// On linux/amd64 the package embeds podyard-supervisor.gz, a reproducible
// build of ./cmd/podyard-supervisor (CGO_ENABLED=0, GOAMD64=v1, -trimpath,
// no build ID or VCS stamp). On other platforms it embeds nothing and
// Install returns ErrNotEmbedded.
//
// The embedded copy must be rebuilt whenever the supervisor's code or its
// dependencies (internal/runtime/process and what it imports, go.mod)
// change. From anywhere in the module:
//
//	go generate ./internal/runtime/process/supervisorbin
//
// (the same as `go run ./internal/runtime/process/supervisorbin/gen`). The
// package's test rebuilds the supervisor and fails when the embedded copy
// differs from that build (`go run ./internal/runtime/process/supervisorbin/gen -check`).
package supervisorbin

//go:generate go run ./gen

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// ErrNotEmbedded is returned by Install where podyard carries no
// supervisor (platforms other than linux/amd64).
var ErrNotEmbedded = errors.New("no supervisor is embedded for this platform")

// Name is the file name of the embedded supervisor before its content hash.
const Name = "podyard-supervisor"

// Install writes the embedded supervisor to dir as
// podyard-supervisor-<first 12 hex digits of its SHA-256>, unless a file of
// that name already holds exactly those bytes, and returns its absolute
// path. The file appears atomically (temporary file, fsync, rename), so
// agents installing into one directory at once both get a whole binary. It
// then runs the binary once without arguments to be sure it can run there
// (a directory on a noexec mount cannot hold it).
func Install(ctx context.Context, dir string) (string, error) {
	bin, err := Binary()
	if err != nil {
		return "", err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return "", fmt.Errorf("install supervisor: %w", err)
	}
	sum := sha256.Sum256(bin)
	path := filepath.Join(dir, Name+"-"+hex.EncodeToString(sum[:])[:12])
	if !installed(path, bin) {
		if err := write(dir, path, bin); err != nil {
			return "", fmt.Errorf("install supervisor: %w", err)
		}
	}
	if err := runs(ctx, path); err != nil {
		return "", fmt.Errorf("install supervisor: %s does not run: %w", path, err)
	}
	return path, nil
}

// installed reports whether path is an executable file holding bin.
func installed(path string, bin []byte) bool {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != int64(len(bin)) || fi.Mode().Perm()&0o111 == 0 {
		return false
	}
	have, err := os.ReadFile(path)
	return err == nil && bytes.Equal(have, bin)
}

// write puts bin at path through a temporary file in dir.
func write(dir, path string, bin []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+Name+"-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	_, err = tmp.Write(bin)
	if err == nil {
		err = tmp.Chmod(0o755)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// The rename is durable once the directory is synced.
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// runs starts the supervisor without arguments: it prints its usage and
// exits 2. Any exit status means it ran; an error starting it (EACCES on a
// noexec mount, ENOEXEC) that it cannot run from there.
func runs(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		err := exec.CommandContext(ctx, path).Run()
		var exit *exec.ExitError
		if err == nil || errors.As(err, &exit) && exit.Exited() {
			return nil
		}
		// ETXTBSY: a child forked elsewhere in this process while an
		// installer held the file open for writing keeps that descriptor
		// until its own exec (golang/go#22315); it goes in moments.
		if !errors.Is(err, syscall.ETXTBSY) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
	}
}

func gunzip(gz []byte) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// Binary returns the embedded supervisor, decompressed, or
// ErrNotEmbedded.
func Binary() ([]byte, error) {
	if len(embedded) == 0 {
		return nil, ErrNotEmbedded
	}
	bin, err := gunzip(embedded)
	if err != nil {
		return nil, fmt.Errorf("embedded supervisor: %w", err)
	}
	return bin, nil
}

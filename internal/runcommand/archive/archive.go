// Package archive checks and unpacks the ZIP context of a run command: only
// regular files and directories, every path inside the working directory,
// within a size and a file-count limit. Check is pure; Unpack writes.
package archive

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Limits bound what a context may unpack to.
type Limits struct {
	MaxBytes int64 // total size of the files, uncompressed
	MaxFiles int   // files and directories
}

// DefaultLimits are 50 MiB in at most 1,000 entries.
func DefaultLimits() Limits { return Limits{MaxBytes: 50 << 20, MaxFiles: 1000} }

// ErrTooLarge marks a context over its limits.
var ErrTooLarge = errors.New("context too large")

// Check tells whether data is a ZIP archive that Unpack would accept. It
// trusts no header: sizes are counted while decompressing.
func Check(data []byte, limits Limits) error {
	r, err := open(data, limits)
	if err != nil {
		return err
	}
	var total int64
	for _, f := range r.File {
		if f.FileInfo().IsDir() {
			continue
		}
		n, err := copyLimited(io.Discard, f, limits.MaxBytes-total)
		total += n
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	return nil
}

// Unpack writes the archive's files under dir, after the checks of Check.
func Unpack(data []byte, dir string, limits Limits) error {
	r, err := open(data, limits)
	if err != nil {
		return err
	}
	var total int64
	for _, f := range r.File {
		target := filepath.Join(dir, filepath.FromSlash(path.Clean(f.Name)))
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("unpack %s: %w", f.Name, err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fmt.Errorf("unpack %s: %w", f.Name, err)
		}
		mode := os.FileMode(0o644)
		if f.Mode()&0o111 != 0 {
			mode = 0o755
		}
		out, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
		if err != nil {
			return fmt.Errorf("unpack %s: %w", f.Name, err)
		}
		n, err := copyLimited(out, f, limits.MaxBytes-total)
		total += n
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("unpack %s: %w", f.Name, err)
		}
	}
	return nil
}

// open reads the directory of the archive and checks every entry's name
// and type; contents are checked as they are read.
func open(data []byte, limits Limits) (*zip.Reader, error) {
	r, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("not a ZIP archive: %w", err)
	}
	if len(r.File) > limits.MaxFiles {
		return nil, fmt.Errorf("%w: %d entries, at most %d", ErrTooLarge, len(r.File), limits.MaxFiles)
	}
	seen := map[string]bool{}
	for _, f := range r.File {
		if err := checkName(f.Name); err != nil {
			return nil, err
		}
		if t := f.Mode().Type(); t != 0 && t != os.ModeDir {
			return nil, fmt.Errorf("%s: only regular files and directories, not %s", f.Name, describe(t))
		}
		clean := path.Clean(f.Name)
		if seen[clean] && !f.FileInfo().IsDir() {
			return nil, fmt.Errorf("%s: appears twice", f.Name)
		}
		seen[clean] = true
	}
	return r, nil
}

// checkName refuses any path that would land outside the working directory.
func checkName(name string) error {
	if name == "" || strings.Contains(name, "\\") || strings.ContainsRune(name, 0) {
		return fmt.Errorf("%q: not a valid path", name)
	}
	if path.IsAbs(name) || filepath.VolumeName(name) != "" {
		return fmt.Errorf("%s: an absolute path, the context must stay in the working directory", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return fmt.Errorf("%s: leaves the working directory", name)
		}
	}
	return nil
}

func describe(t os.FileMode) string {
	switch {
	case t&os.ModeSymlink != 0:
		return "a link"
	case t&os.ModeDevice != 0:
		return "a device"
	case t&os.ModeNamedPipe != 0:
		return "a pipe"
	default:
		return "a special file"
	}
}

// copyLimited copies f's contents, failing once more than limit bytes come.
func copyLimited(w io.Writer, f *zip.File, limit int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	n, err := io.Copy(w, io.LimitReader(rc, limit+1))
	if err != nil {
		return n, err
	}
	if n > limit {
		return n, fmt.Errorf("%w: unpacks to more than %d bytes", ErrTooLarge, limit)
	}
	return n, nil
}

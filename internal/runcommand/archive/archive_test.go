package archive

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type entry struct {
	name string
	body string
	mode os.FileMode
}

func build(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h.SetMode(mode)
		f, err := w.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(e.body))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCheck(t *testing.T) {
	small := Limits{MaxBytes: 100, MaxFiles: 3}
	tests := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"files and directories", build(t, entry{name: "ns.yaml", body: "kind: Namespace"}, entry{name: "dir/", mode: os.ModeDir | 0o755}, entry{name: "dir/run.sh", body: "echo", mode: 0o755}), ""},
		{"empty archive", build(t), ""},
		{"not a zip", []byte("plain text"), "not a ZIP archive"},
		{"parent path", build(t, entry{name: "../x", body: "x"}), "leaves the working directory"},
		{"nested parent path", build(t, entry{name: "a/../../x", body: "x"}), "leaves the working directory"},
		{"absolute path", build(t, entry{name: "/etc/x", body: "x"}), "absolute path"},
		{"backslash path", build(t, entry{name: `..\x`, body: "x"}), "not a valid path"},
		{"symlink", build(t, entry{name: "link", body: "/etc/passwd", mode: os.ModeSymlink | 0o777}), "not a link"},
		{"too many files", build(t, entry{name: "a"}, entry{name: "b"}, entry{name: "c"}, entry{name: "d"}), "4 entries, at most 3"},
		{"too many bytes", build(t, entry{name: "big", body: strings.Repeat("x", 101)}), "more than 100 bytes"},
		{"bytes summed over files", build(t, entry{name: "a", body: strings.Repeat("x", 60)}, entry{name: "b", body: strings.Repeat("x", 60)}), "more than 40 bytes"},
		{"duplicate file", build(t, entry{name: "a"}, entry{name: "./a"}), "appears twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.data, small)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("want accepted, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("want error containing %q, got %v", tt.wantErr, err)
			}
		})
	}
	if err := Check(build(t, entry{name: "big", body: strings.Repeat("x", 101)}), small); !errors.Is(err, ErrTooLarge) {
		t.Errorf("size error is not ErrTooLarge: %v", err)
	}
}

func TestUnpack(t *testing.T) {
	dir := t.TempDir()
	data := build(t, entry{name: "ns.yaml", body: "kind: Namespace\n"}, entry{name: "bin/run.sh", body: "echo hi\n", mode: 0o755})
	if err := Unpack(data, dir, DefaultLimits()); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "ns.yaml")); string(got) != "kind: Namespace\n" {
		t.Errorf("ns.yaml: %q", got)
	}
	if fi, err := os.Stat(filepath.Join(dir, "bin/run.sh")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("bin/run.sh: %v %v", fi, err)
	}
	if err := Unpack(build(t, entry{name: "../escape", body: "x"}), dir, DefaultLimits()); err == nil {
		t.Error("unpacked a path outside the directory")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escape")); err == nil {
		t.Error("a file was written outside the directory")
	}
}

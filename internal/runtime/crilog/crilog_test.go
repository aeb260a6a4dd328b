package crilog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRotationKeepsNewestFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	w, err := NewWriter(path, 200, 3)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	for i := 0; i < 50; i++ {
		if err := w.Copy("stdout", strings.NewReader("a line of about forty bytes, plus time\n")); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "0.log*"))
	if len(files) != 3 {
		t.Fatalf("want the current file and 2 rotated ones, got %v", files)
	}
	st, _ := os.Stat(path)
	if st.Size() >= 200 {
		t.Errorf("current file is %d bytes, want it rotated below 200", st.Size())
	}
}

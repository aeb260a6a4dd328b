// Package crilog writes container output in the CRI log format that the
// kubelet's readers (k8s.io/cri-client/pkg/logs) understand:
//
//	2016-10-06T00:17:09.669794202Z stdout F a whole line
//	2016-10-06T00:17:09.669794203Z stdout P the first part of a long line
//
// and rotates the file by size the way the kubelet's log manager does: the
// current file is renamed to <path>.<timestamp> and a new one is created, so a
// follower sees the file recreated.
package crilog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// MaxLineSize is where a line is cut into partial ("P") records, as
// containerd does.
const MaxLineSize = 16 * 1024

// TimeFormat is the timestamp of each record: RFC 3339 with nanoseconds.
const TimeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// Writer appends records from several streams to one log file.
type Writer struct {
	path     string
	maxSize  int64
	maxFiles int
	now      func() time.Time

	mu   sync.Mutex
	file *os.File
	size int64
}

// NewWriter opens (appending) the log at path. A file larger than maxSize
// is rotated, keeping at most maxFiles files in all (the current one
// included); maxSize <= 0 turns rotation off.
func NewWriter(path string, maxSize int64, maxFiles int) (*Writer, error) {
	w := &Writer{path: path, maxSize: maxSize, maxFiles: maxFiles, now: time.Now}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("crilog: open %s: %w", w.path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("crilog: stat %s: %w", w.path, err)
	}
	w.file, w.size = f, st.Size()
	return nil
}

// Copy reads r until EOF and writes its lines as records of stream
// ("stdout" or "stderr"). Every record is written as soon as its line
// ends, or when MaxLineSize bytes have no newline.
func (w *Writer) Copy(stream string, r io.Reader) error {
	br := bufio.NewReaderSize(r, MaxLineSize)
	for {
		line, isPrefix, err := br.ReadLine()
		if len(line) > 0 || (err == nil && !isPrefix) {
			tag := "F"
			if isPrefix {
				tag = "P"
			}
			if werr := w.write(stream, tag, line); werr != nil {
				return werr
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return fmt.Errorf("crilog: read %s: %w", stream, err)
		}
	}
}

func (w *Writer) write(stream, tag string, content []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.file == nil {
		return fmt.Errorf("crilog: %s is closed", w.path)
	}
	rec := make([]byte, 0, len(TimeFormat)+len(stream)+len(content)+5)
	rec = w.now().UTC().AppendFormat(rec, TimeFormat)
	rec = append(rec, ' ')
	rec = append(rec, stream...)
	rec = append(rec, ' ')
	rec = append(rec, tag...)
	rec = append(rec, ' ')
	rec = append(rec, content...)
	rec = append(rec, '\n')
	n, err := w.file.Write(rec)
	w.size += int64(n)
	if err != nil {
		return fmt.Errorf("crilog: write %s: %w", w.path, err)
	}
	if w.maxSize > 0 && w.size >= w.maxSize {
		return w.rotate()
	}
	return nil
}

// rotate renames the full file aside and starts a new one; called with mu held.
func (w *Writer) rotate() error {
	if err := w.file.Close(); err != nil {
		return fmt.Errorf("crilog: close %s: %w", w.path, err)
	}
	w.file = nil
	rotated := w.path + "." + w.now().UTC().Format("20060102-150405.000000000")
	if err := os.Rename(w.path, rotated); err != nil {
		return fmt.Errorf("crilog: rotate %s: %w", w.path, err)
	}
	if err := w.open(); err != nil {
		return err
	}
	return removeOldest(w.path, w.maxFiles-1)
}

// removeOldest keeps the newest keep rotated files of path.
func removeOldest(path string, keep int) error {
	matches, err := filepath.Glob(path + ".*")
	if err != nil {
		return fmt.Errorf("crilog: list rotated logs: %w", err)
	}
	var rotated []string
	for _, m := range matches {
		if !strings.HasSuffix(m, ".tmp") {
			rotated = append(rotated, m)
		}
	}
	sort.Strings(rotated) // the timestamp suffix sorts by age
	for len(rotated) > max(keep, 0) {
		if err := os.Remove(rotated[0]); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("crilog: remove %s: %w", rotated[0], err)
		}
		rotated = rotated[1:]
	}
	return nil
}

// Close flushes nothing (every record is written at once) and closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.file == nil {
		return nil
	}
	err := w.file.Close()
	w.file = nil
	return err
}

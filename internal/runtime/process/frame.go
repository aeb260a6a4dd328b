package process

import (
	"encoding/binary"
	"fmt"
	"io"
)

// A connection to a supervisor's socket starts with one byte saying what
// it is for, then carries frames: a type byte, a 4-byte big-endian length,
// the payload.
const (
	helloWatch  byte = 'W' // wait for the container to end (EOF); nothing else
	helloAttach byte = 'A' // attach: output frames out, stdin and resize frames in
)

const (
	frameStdin      byte = 0
	frameStdout     byte = 1
	frameStderr     byte = 2
	frameStdinClose byte = 3
	frameResize     byte = 4 // JSON TerminalSize
)

const maxFrame = 1 << 20

func writeFrame(w io.Writer, typ byte, payload []byte) error {
	var hdr [5]byte
	hdr[0] = typ
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
	if _, err := w.Write(append(hdr[:], payload...)); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	return nil
}

func readFrame(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("frame of %d bytes is over the limit", n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, fmt.Errorf("read frame: %w", err)
	}
	return hdr[0], payload, nil
}

package agent

import (
	"bytes"
	"net"
	"testing"
)

// recordingConn records each write it gets.
type recordingConn struct {
	net.Conn
	writes [][]byte
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func frame(payload string) []byte {
	n := len(payload)
	return append([]byte{0, 0, 0, 1, 0, byte(n >> 16), byte(n >> 8), byte(n)}, payload...)
}

func TestFrameConnWritesWholeFrames(t *testing.T) {
	a, b, empty := frame("hello"), frame("world!"), frame("")
	tests := []struct {
		name   string
		pieces [][]byte
		want   [][]byte
	}{
		{"header field by field, then payload", [][]byte{a[:4], a[4:8], a[8:]}, [][]byte{a}},
		{"two frames in one write", [][]byte{append(append([]byte{}, a...), b...)}, [][]byte{a, b}},
		{"a frame without payload", [][]byte{empty[:3], empty[3:]}, [][]byte{empty}},
		{"frame split mid-payload", [][]byte{b[:10], b[10:]}, [][]byte{b}},
		{"end of one frame and start of the next", [][]byte{a[:6], append(append([]byte{}, a[6:]...), b[:3]...), b[3:]}, [][]byte{a, b}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordingConn{}
			c := &frameConn{Conn: rec}
			for _, p := range tt.pieces {
				if n, err := c.Write(p); n != len(p) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if len(rec.writes) != len(tt.want) {
				t.Fatalf("%d writes, want %d: %q", len(rec.writes), len(tt.want), rec.writes)
			}
			for i := range tt.want {
				if !bytes.Equal(rec.writes[i], tt.want[i]) {
					t.Errorf("write %d = %q, want %q", i, rec.writes[i], tt.want[i])
				}
			}
		})
	}
}

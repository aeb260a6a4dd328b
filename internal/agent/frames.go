package agent

import (
	"bufio"
	"net"
	"net/http"
)

// spdyFrameHeader is the size of a SPDY/3.1 frame header; its last three
// bytes are the length of the frame's payload.
const spdyFrameHeader = 8

// wholeFrames is a ResponseWriter whose hijacked connection sends each
// SPDY frame in one write. The SPDY library writes a frame field by field,
// and over TLS each write is a record and a syscall of its own: three per
// data frame instead of one.
type wholeFrames struct{ http.ResponseWriter }

func (w wholeFrames) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return &frameConn{Conn: conn}, rw, nil
}

// frameConn holds written bytes until they make a whole frame.
type frameConn struct {
	net.Conn
	pending []byte
}

func (c *frameConn) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(c.pending) < spdyFrameHeader {
			take := min(spdyFrameHeader-len(c.pending), len(p))
			c.pending, p = append(c.pending, p[:take]...), p[take:]
			if len(c.pending) < spdyFrameHeader {
				break
			}
		}
		h := c.pending[:spdyFrameHeader]
		frame := spdyFrameHeader + (int(h[5])<<16 | int(h[6])<<8 | int(h[7]))
		take := min(frame-len(c.pending), len(p))
		c.pending, p = append(c.pending, p[:take]...), p[take:]
		if len(c.pending) == frame {
			_, err := c.Conn.Write(c.pending)
			c.pending = c.pending[:0]
			if err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

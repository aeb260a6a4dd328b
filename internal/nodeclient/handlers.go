package nodeclient

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/proxy"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/apiserver/pkg/registry/rest"
	translator "k8s.io/apiserver/pkg/util/proxy"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	"k8s.io/klog/v2"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// The kubelet's streaming timeouts, on both hops.
const (
	StreamIdleTimeout     = 4 * time.Hour
	StreamCreationTimeout = 30 * time.Second
)

// RemoteCommandHandler serves an exec or attach (loc is the agent's URL
// for it) to any client: WebSocket v5.channel.k8s.io, or SPDY and the older
// WebSocket protocols through k8s.io/cri-streaming. The API server ends the
// client's protocol itself and runs the session on the agent with
// RunOnAgent, so an agent lost mid-command is an error the client sees,
// not a clean end of its stream.
func RemoteCommandHandler(loc *url.URL, transport http.RoundTripper, s Streams) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if wsstream.IsWebSocketRequestWithStreamCloseProtocol(req) {
			serveWebSocketV5(w, req, loc, transport, s)
			return
		}
		// ServeExec serves attach too: the protocol is the same, and the
		// agent's URL says which it is.
		remotecommand.ServeExec(w, req, agentSession{loc, transport}, "", "", "", nil,
			&remotecommand.Options{Stdin: s.Stdin, Stdout: s.Stdout, Stderr: s.Stderr, TTY: s.TTY},
			StreamIdleTimeout, StreamCreationTimeout, remotecommand.SupportedStreamingProtocols)
	})
}

// agentSession is the cri-streaming executor that runs the session on the agent.
type agentSession struct {
	loc       *url.URL
	transport http.RoundTripper
}

func (a agentSession) ExecInContainer(ctx context.Context, _, _, _ string, _ []string, in io.Reader, out, errOut io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	return RunOnAgent(ctx, a.loc, a.transport, Session{
		Streams: Streams{Stdin: in != nil, Stdout: out != nil, Stderr: errOut != nil, TTY: tty},
		Stdin:   in, Stdout: out, Stderr: errOut, Resize: resize,
	})
}

// The channels of the WebSocket remote-command protocols, by number.
const (
	channelStdin = iota
	channelStdout
	channelStderr
	channelError
	channelResize
)

// serveWebSocketV5 speaks v5.channel.k8s.io to the client (kubectl's
// default) with k8s.io/streaming's wsstream.
func serveWebSocketV5(w http.ResponseWriter, req *http.Request, loc *url.URL, transport http.RoundTripper, s Streams) {
	channel := func(want bool, t wsstream.ChannelType) wsstream.ChannelType {
		if want {
			return t
		}
		return wsstream.IgnoreChannel
	}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		remotecommandconsts.StreamProtocolV5Name: {Binary: true, Channels: []wsstream.ChannelType{
			channelStdin:  channel(s.Stdin, wsstream.ReadChannel),
			channelStdout: channel(s.Stdout, wsstream.WriteChannel),
			channelStderr: channel(s.Stderr, wsstream.WriteChannel),
			channelError:  wsstream.WriteChannel,
			channelResize: wsstream.ReadChannel,
		}},
	})
	conn.SetIdleTimeout(StreamIdleTimeout)
	_, streams, err := conn.Open(w, withQuietClose(req))
	if err != nil {
		return // the library answered the client
	}
	defer conn.Close()
	// An empty message on the lowest output channel tells the client the
	// session is open.
	first := channelError
	if s.Stdout {
		first = channelStdout
	} else if s.Stderr {
		first = channelStderr
	}
	if _, err := streams[first].Write(nil); err != nil {
		return
	}
	session := Session{Streams: s}
	if s.Stdin {
		session.Stdin = streams[channelStdin]
	}
	if s.Stdout {
		session.Stdout = streams[channelStdout]
	}
	if s.Stderr {
		session.Stderr = streams[channelStderr]
	}
	if s.TTY {
		sizes := make(chan remotecommand.TerminalSize)
		go func() {
			defer close(sizes)
			dec := json.NewDecoder(streams[channelResize])
			for {
				var size remotecommand.TerminalSize
				if dec.Decode(&size) != nil {
					return
				}
				select {
				case sizes <- size:
				case <-req.Context().Done():
					return
				}
			}
		}()
		session.Resize = sizes
	}
	outcome := RunOnAgent(req.Context(), loc, transport, session)
	status, _ := json.Marshal(exitStatus(outcome))
	streams[channelError].Write(status)
}

// PortForwardHandler proxies a port-forward upgrade; kubectl's SPDY
// tunnelled in WebSocket is unwrapped on the way.
func PortForwardHandler(loc *url.URL, transport http.RoundTripper, responder rest.Responder) http.Handler {
	handler := upgradeHandler(loc, transport, responder)
	return translator.NewTranslatingHandler(handler, translator.NewTunnelingHandler(handler), wsstream.IsWebSocketRequestWithTunnelingProtocol)
}

// ProxyHandler proxies any other request to the agent (nodes/proxy).
func ProxyHandler(loc *url.URL, transport http.RoundTripper, responder rest.Responder) http.Handler {
	h := proxy.NewUpgradeAwareHandler(loc, transport, true, false, errorResponder{responder})
	h.RejectForwardingRedirects = true
	return h
}

func upgradeHandler(loc *url.URL, transport http.RoundTripper, responder rest.Responder) *proxy.UpgradeAwareHandler {
	h := proxy.NewUpgradeAwareHandler(loc, transport, false, true, errorResponder{responder})
	// Never follow a redirect on an upgrade (CVE-2020-8559), and never
	// reuse a backend connection after a refused upgrade (CVE-2018-1002105):
	// the handler closes it, and redirects are refused.
	h.RejectForwardingRedirects = true
	return h
}

type errorResponder struct{ rest.Responder }

func (e errorResponder) Error(_ http.ResponseWriter, _ *http.Request, err error) {
	e.Responder.Error(err)
}

// withQuietClose gives the library a logger that leaves out the error its
// read loop reports when this side closes the connection: every session
// ends that way (the client waits for the server to hang up), so it was an
// ERROR line per exec.
func withQuietClose(req *http.Request) *http.Request {
	logger := klog.FromContext(req.Context())
	if logger.GetSink() == nil {
		return req
	}
	return req.WithContext(klog.NewContext(req.Context(), logr.New(quietCloseSink{logger.GetSink()})))
}

type quietCloseSink struct{ logr.LogSink }

func (s quietCloseSink) Error(err error, msg string, keysAndValues ...any) {
	if !errors.Is(err, net.ErrClosed) {
		s.LogSink.Error(err, msg, keysAndValues...)
	}
}

func (s quietCloseSink) WithValues(keysAndValues ...any) logr.LogSink {
	return quietCloseSink{s.LogSink.WithValues(keysAndValues...)}
}

func (s quietCloseSink) WithName(name string) logr.LogSink {
	return quietCloseSink{s.LogSink.WithName(name)}
}

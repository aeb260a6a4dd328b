package nodeclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
	utilexec "k8s.io/utils/exec"
)

// ErrAgentLost is the outcome of an exec or attach whose connection to the
// node agent ended before the agent reported how the command ended. A
// plain proxy passes that on as a clean end, and clients report success;
// it is an error.
var ErrAgentLost = errors.New("the connection to the node agent was lost before the command finished")

// Session is what one exec or attach connects: the client's side of each
// stream the agent should open.
type Session struct {
	Streams
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Resize         <-chan remotecommand.TerminalSize
}

// RunOnAgent runs an exec or attach on the agent at loc (its /exec or
// /attach URL with the kubelet's parameters) over SPDY with the v4
// remote-command protocol. It returns nil when the command succeeded, a
// k8s.io/utils/exec CodeExitError with its exit code, the agent's error,
// or ErrAgentLost.
func RunOnAgent(ctx context.Context, loc *url.URL, transport http.RoundTripper, s Session) error {
	rt, err := spdy.NewRoundTripperWithConfig(spdy.RoundTripperConfig{UpgradeTransport: transport, PingPeriod: 5 * time.Second})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, loc.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set(httpstream.HeaderProtocolVersion, remotecommandconsts.StreamProtocolV4Name)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("node agent: %w", err)
	}
	conn, err := rt.NewConnection(resp)
	if err != nil {
		return fmt.Errorf("node agent: %w", err)
	}
	defer conn.Close()
	if p := resp.Header.Get(httpstream.HeaderProtocolVersion); p != remotecommandconsts.StreamProtocolV4Name {
		return fmt.Errorf("node agent: it speaks remote-command protocol %q, not %s", p, remotecommandconsts.StreamProtocolV4Name)
	}
	go func() { // the client went away: end the session
		select {
		case <-ctx.Done():
			conn.Close()
		case <-conn.CloseChan():
		}
	}()

	create := func(streamType string) (httpstream.Stream, error) {
		h := http.Header{}
		h.Set(corev1.StreamType, streamType)
		return conn.CreateStream(h)
	}
	// The streams in client-go's order: the error stream first.
	errStream, err := create(corev1.StreamTypeError)
	if err != nil {
		return fmt.Errorf("node agent: %w", err)
	}
	var copies sync.WaitGroup
	if s.Stdin != nil && s.Streams.Stdin {
		in, err := create(corev1.StreamTypeStdin)
		if err != nil {
			return fmt.Errorf("node agent: %w", err)
		}
		go func() {
			io.Copy(in, s.Stdin)
			in.Close() // half-close: the command sees the end of its input
		}()
	}
	for _, o := range []struct {
		want bool
		typ  string
		w    io.Writer
	}{{s.Streams.Stdout, corev1.StreamTypeStdout, s.Stdout}, {s.Streams.Stderr && !s.TTY, corev1.StreamTypeStderr, s.Stderr}} {
		if !o.want || o.w == nil {
			continue
		}
		st, err := create(o.typ)
		if err != nil {
			return fmt.Errorf("node agent: %w", err)
		}
		copies.Go(func() { io.Copy(o.w, st) })
	}
	if s.TTY && s.Resize != nil {
		resize, err := create(corev1.StreamTypeResize)
		if err != nil {
			return fmt.Errorf("node agent: %w", err)
		}
		go func() {
			enc := json.NewEncoder(resize)
			for size := range s.Resize {
				if enc.Encode(size) != nil {
					return
				}
			}
		}()
	}
	status, readErr := io.ReadAll(errStream)
	copies.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return decodeStatus(status, readErr)
}

// decodeStatus turns what the agent wrote on the error stream into the
// outcome; nothing at all means the agent never finished the session.
func decodeStatus(message []byte, readErr error) error {
	if len(message) == 0 {
		if readErr != nil {
			return fmt.Errorf("%w: %v", ErrAgentLost, readErr)
		}
		return ErrAgentLost
	}
	var st metav1.Status
	if err := json.Unmarshal(message, &st); err != nil {
		return fmt.Errorf("node agent: error stream: %w in %q", err, message)
	}
	if st.Status == metav1.StatusSuccess {
		return nil
	}
	if st.Reason == remotecommandconsts.NonZeroExitCodeReason && st.Details != nil {
		for _, c := range st.Details.Causes {
			if c.Type == remotecommandconsts.ExitCodeCauseType {
				code, err := strconv.Atoi(c.Message)
				if err != nil {
					return fmt.Errorf("node agent: bad exit code %q", c.Message)
				}
				return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: code}
			}
		}
	}
	return errors.New(st.Message)
}

// exitStatus is the v4/v5 error-stream form of an outcome.
func exitStatus(err error) metav1.Status {
	var exit utilexec.CodeExitError
	switch {
	case err == nil:
		return metav1.Status{Status: metav1.StatusSuccess}
	case errors.As(err, &exit):
		return metav1.Status{
			Status: metav1.StatusFailure, Reason: remotecommandconsts.NonZeroExitCodeReason,
			Message: err.Error(),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{
				Type: remotecommandconsts.ExitCodeCauseType, Message: strconv.Itoa(exit.Code),
			}}},
		}
	default:
		return metav1.Status{
			Status: metav1.StatusFailure, Reason: metav1.StatusReasonInternalError, Code: http.StatusInternalServerError,
			Message: fmt.Sprintf("Internal error occurred: error executing command in container: %v", err),
		}
	}
}

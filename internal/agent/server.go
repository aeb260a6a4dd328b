package agent

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"strconv"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/cri-streaming/pkg/streaming/portforward"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"

	"github.com/podyard/podyard/internal/nodeclient"
	"github.com/podyard/podyard/internal/pki"
	"github.com/podyard/podyard/internal/queryparams"
	"github.com/podyard/podyard/internal/registry/pod"
	podruntime "github.com/podyard/podyard/internal/runtime"
	"github.com/podyard/podyard/internal/runtime/logread"
)

// streamServer is the agent's HTTPS endpoint for the API server: logs,
// exec, attach and port-forward, on the kubelet's paths. It accepts only
// the API server's client certificate.
type streamServer struct {
	srv   *http.Server
	port  int32
	caPEM []byte
}

func (s *streamServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.srv.Shutdown(ctx)
}

func (a *Agent) startServer(ctx context.Context) (*streamServer, error) {
	caPEM, certFile, keyFile, err := pki.EnsureAgent(a.cfg.DataDir, []string{a.hostIP, "127.0.0.1", a.cfg.NodeName})
	if err != nil {
		return nil, fmt.Errorf("agent: certificates: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("agent: certificates: %w", err)
	}
	tlsConfig := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    a.cfg.ClusterCA,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || cs.PeerCertificates[0].Subject.CommonName != pki.AgentClientUser {
				return errors.New("only the API server may connect")
			}
			return nil
		},
		NextProtos: []string{"http/1.1"}, // upgrades (SPDY, WebSocket) need HTTP/1.1
	}
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("agent: listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", a.serveLogs)
	for _, p := range []string{"/exec/{namespace}/{pod}/{container}", "/exec/{namespace}/{pod}/{uid}/{container}"} {
		mux.HandleFunc(p, a.serveExec)
	}
	for _, p := range []string{"/attach/{namespace}/{pod}/{container}", "/attach/{namespace}/{pod}/{uid}/{container}"} {
		mux.HandleFunc(p, a.serveAttach)
	}
	mux.HandleFunc("POST /podyard/signal/{namespace}/{pod}/{uid}/{container}", a.serveSignal)
	mux.HandleFunc("PUT /podyard/file/{namespace}/{pod}/{uid}/{container}", a.serveFile)
	for _, p := range []string{"/portForward/{namespace}/{pod}", "/portForward/{namespace}/{pod}/{uid}"} {
		mux.HandleFunc(p, a.servePortForward)
	}
	srv := &http.Server{
		Handler:           mux,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	go func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("streaming server", "err", err)
		}
	}()
	return &streamServer{srv: srv, port: int32(ln.Addr().(*net.TCPAddr).Port), caPEM: caPEM}, nil
}

// target resolves the pod (and its UID, when the path names one).
func (a *Agent) target(w http.ResponseWriter, r *http.Request) *podWorker {
	ns, name := r.PathValue("namespace"), r.PathValue("pod")
	pw := a.worker(ns, name)
	if pw == nil || (r.PathValue("uid") != "" && string(pw.uid) != r.PathValue("uid")) {
		http.Error(w, fmt.Sprintf("pod %s/%s not found on node %s", ns, name, a.cfg.NodeName), http.StatusNotFound)
		return nil
	}
	return pw
}

func (a *Agent) serveLogs(w http.ResponseWriter, r *http.Request) {
	pw := a.target(w, r)
	if pw == nil {
		return
	}
	var opts corev1.PodLogOptions
	if err := queryparams.Decode(r.URL.Query(), &opts); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if errs := pod.ValidateLogOptions(&opts); len(errs) > 0 {
		http.Error(w, errs.ToAggregate().Error(), http.StatusBadRequest)
		return
	}
	name := r.PathValue("container")
	c, _, err := pw.container(name, opts.Previous)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p, _ := pw.snapshot()
	path := a.logPath(p, name, c.Attempt)
	stream := ""
	if opts.Stream != nil {
		stream = *opts.Stream
	}
	w.Header().Set("Content-Type", "text/plain")
	out := io.Writer(w)
	if f, ok := w.(http.Flusher); ok && opts.Follow {
		out = flushWriter{w, f}
	}
	running := func() bool {
		cur, run, err := pw.container(name, false)
		return err == nil && run && cur.ID == c.ID
	}
	if err := logread.Read(r.Context(), path, logread.Options(&opts, time.Now()), stream, running, out); err != nil && r.Context().Err() == nil {
		a.log.Warn("read container log", "pod", p.Name, "container", name, "err", err)
	}
}

type flushWriter struct {
	w io.Writer
	f http.Flusher
}

func (fw flushWriter) Write(p []byte) (int, error) {
	n, err := fw.w.Write(p)
	fw.f.Flush()
	return n, err
}

// streamTarget is the pod worker and stream options of an exec or attach
// (the API server sends the kubelet's parameters), or nil when it answered.
func (a *Agent) streamTarget(w http.ResponseWriter, r *http.Request) (*podWorker, *remotecommand.Options) {
	pw := a.target(w, r)
	if pw == nil {
		return nil, nil
	}
	opts, err := remotecommand.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, nil
	}
	return pw, opts
}

func (a *Agent) serveExec(w http.ResponseWriter, r *http.Request) {
	pw, opts := a.streamTarget(w, r)
	if pw == nil {
		return
	}
	cmd := r.URL.Query()["command"]
	if len(cmd) == 0 {
		http.Error(w, "command is required: give one or more command= parameters", http.StatusBadRequest)
		return
	}
	execOpts, err := nodeclient.ParseExecOptions(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	exec := podruntime.ExecOptions{Env: execOpts.Env, User: execOpts.User, WorkingDir: execOpts.WorkingDir, Privileged: execOpts.Privileged}
	remotecommand.ServeExec(wholeFrames{w}, r, containerStreams{a: a, pw: pw, exec: exec, timeout: execOpts.Timeout}, pw.pod.Name, string(pw.uid), r.PathValue("container"), cmd,
		opts, nodeclient.StreamIdleTimeout, nodeclient.StreamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

func (a *Agent) serveAttach(w http.ResponseWriter, r *http.Request) {
	pw, opts := a.streamTarget(w, r)
	if pw == nil {
		return
	}
	remotecommand.ServeAttach(wholeFrames{w}, r, containerStreams{a: a, pw: pw}, pw.pod.Name, string(pw.uid), r.PathValue("container"),
		opts, nodeclient.StreamIdleTimeout, nodeclient.StreamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

// runningContainer is the runtime ID of the named running container of
// the request's pod, or "" when it answered.
func (a *Agent) runningContainer(w http.ResponseWriter, r *http.Request) string {
	pw := a.target(w, r)
	if pw == nil {
		return ""
	}
	id, err := containerStreams{a: a, pw: pw}.running(r.PathValue("container"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return ""
	}
	return id
}

// serveSignal sends ?signal=N to the container's processes named
// ?process=P and answers {"signaled":n} (0 is an answer, not an error).
func (a *Agent) serveSignal(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	process := q.Get("process")
	sig, err := strconv.Atoi(q.Get("signal"))
	if process == "" || err != nil || sig < 1 || sig > 64 {
		http.Error(w, "want ?process=NAME&signal=N with N from 1 to 64", http.StatusBadRequest)
		return
	}
	id := a.runningContainer(w, r)
	if id == "" {
		return
	}
	n, err := a.rt.Signal(r.Context(), id, process, syscall.Signal(sig))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	a.log.Info("signalled processes", "pod", r.PathValue("namespace")+"/"+r.PathValue("pod"), "container", r.PathValue("container"), "process", process, "signal", sig, "count", n)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(nodeclient.SignalResult{Signaled: n})
}

// serveFile writes the body (at most nodeclient.MaxFileBytes) to ?path= in
// the container with ?mode= (octal, default 0644), owned by ?user= if given.
func (a *Agent) serveFile(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filePath := q.Get("path")
	mode := uint64(0o644)
	if m := q.Get("mode"); m != "" {
		var err error
		if mode, err = strconv.ParseUint(m, 8, 32); err != nil || mode > 0o7777 {
			http.Error(w, fmt.Sprintf("mode %q: want an octal file mode such as 0644", m), http.StatusBadRequest)
			return
		}
	}
	if !path.IsAbs(filePath) {
		http.Error(w, fmt.Sprintf("path %q: want an absolute path", filePath), http.StatusBadRequest)
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, nodeclient.MaxFileBytes+1))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if len(data) > nodeclient.MaxFileBytes {
		http.Error(w, fmt.Sprintf("the file is larger than %d bytes", nodeclient.MaxFileBytes), http.StatusRequestEntityTooLarge)
		return
	}
	id := a.runningContainer(w, r)
	if id == "" {
		return
	}
	if err := a.rt.WriteFile(r.Context(), id, filePath, data, fileMode(mode), q.Get("user")); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	a.log.Info("wrote a file in a container", "pod", r.PathValue("namespace")+"/"+r.PathValue("pod"), "container", r.PathValue("container"), "path", filePath, "bytes", len(data), "mode", fmt.Sprintf("%#o", mode), "user", q.Get("user"))
	w.WriteHeader(http.StatusNoContent)
}

// fileMode is a chmod-style octal mode (with set-id and sticky bits).
func fileMode(m uint64) os.FileMode {
	mode := os.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= os.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= os.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= os.ModeSticky
	}
	return mode
}

func (a *Agent) servePortForward(w http.ResponseWriter, r *http.Request) {
	pw := a.target(w, r)
	if pw == nil {
		return
	}
	opts, err := portforward.NewV4Options(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	portforward.ServePortForward(wholeFrames{w}, r, containerStreams{a: a, pw: pw}, pw.pod.Name, string(pw.uid), opts,
		nodeclient.StreamIdleTimeout, nodeclient.StreamCreationTimeout, portforward.SupportedProtocols)
}

// containerStreams adapts the runtime to the streaming library.
type containerStreams struct {
	a    *Agent
	pw   *podWorker
	exec podruntime.ExecOptions // how an exec runs (the API server's exec options)
	// timeout, when set, ends an exec after that long.
	timeout time.Duration
}

func (s containerStreams) running(name string) (string, error) {
	c, running, err := s.pw.container(name, false)
	if err != nil {
		return "", err
	}
	if !running {
		return "", fmt.Errorf("container %q in pod %q is not running", name, s.pw.pod.Name)
	}
	return c.ID, nil
}

func (s containerStreams) ExecInContainer(ctx context.Context, _ string, _ string, container string, cmd []string, in io.Reader, out, errOut io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	id, err := s.running(container)
	if err != nil {
		return err
	}
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	return s.a.rt.Exec(ctx, id, cmd, s.exec, in, out, errOut, tty, terminalSizes(resize))
}

func (s containerStreams) AttachContainer(ctx context.Context, _ string, _ string, container string, in io.Reader, out, errOut io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	id, err := s.running(container)
	if err != nil {
		return err
	}
	return s.a.rt.Attach(ctx, id, in, out, errOut, tty, terminalSizes(resize))
}

func (s containerStreams) PortForward(ctx context.Context, _ string, uid string, port int32, stream io.ReadWriteCloser) error {
	return s.a.rt.PortForward(ctx, uid, port, stream)
}

// terminalSizes converts the streaming library's resize events.
func terminalSizes(in <-chan remotecommand.TerminalSize) <-chan podruntime.TerminalSize {
	if in == nil {
		return nil
	}
	out := make(chan podruntime.TerminalSize)
	go func() {
		defer close(out)
		for size := range in {
			out <- podruntime.TerminalSize{Width: size.Width, Height: size.Height}
		}
	}()
	return out
}

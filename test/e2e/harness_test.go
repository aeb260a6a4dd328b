package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/podyard/podyard/internal/pki"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// The suite runs the real podyard binary. TestMain builds it (and, for
// PODYARD_E2E_ETCD=external, a real etcd server) once into a temp dir.
var (
	podyardBin string
	etcdBin    string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

// tester is what the harness needs of a test; *testing.T has it, and so has
// suiteTester, which owns the servers shared by the whole package.
type tester interface {
	Helper()
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
	Logf(format string, args ...any)
	Cleanup(func())
	TempDir() string
}

// suiteTester backs the shared server: failures before any test runs abort
// the suite, cleanups run after the last test.
type suiteTester struct {
	mu       sync.Mutex
	cleanups []func()
	dirs     []string
}

func (*suiteTester) Helper() {}
func (*suiteTester) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("shared e2e server: "+format, args...))
}
func (*suiteTester) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "shared e2e server: "+format+"\n", args...)
}
func (*suiteTester) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (s *suiteTester) Cleanup(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleanups = append(s.cleanups, f)
}
func (s *suiteTester) TempDir() string {
	dir, err := os.MkdirTemp("", "podyard-e2e")
	if err != nil {
		s.Fatalf("%v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dirs = append(s.dirs, dir)
	return dir
}
func (s *suiteTester) finish() {
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		s.cleanups[i]()
	}
	for _, d := range s.dirs {
		os.RemoveAll(d)
	}
}

var (
	suite      = &suiteTester{}
	sharedOnce sync.Once
	shared     *Server
)

// Shared returns the server most tests share (each in its own namespace),
// started on first use and stopped after the last test: one etcd and one
// server instead of one per test keeps the suite fast.
func Shared(t *testing.T) *Server {
	t.Helper()
	sharedOnce.Do(func() { shared = StartServer(suite) })
	if shared == nil {
		t.Fatal("the shared server failed to start")
	}
	return shared.For(t)
}

// For returns a view of s whose failures are reported to t.
func (s *Server) For(t *testing.T) *Server {
	view := *s
	view.t = t
	return &view
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "podyard-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	root := repoRoot()
	podyardBin = os.Getenv("PODYARD_BIN")
	if podyardBin == "" {
		// What users get: the agent writes out the supervisor built into
		// podyard (no podyard-supervisor beside it); run commands find
		// podyard-runcommand beside podyard.
		podyardBin = filepath.Join(dir, "podyard")
		for bin, pkg := range map[string]string{
			podyardBin:                               "./cmd/podyard",
			filepath.Join(dir, "podyard-runcommand"): "./cmd/podyard-runcommand",
		} {
			if err := goBuild(root, bin, pkg); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
	if externalEtcd() {
		etcdBin = filepath.Join(dir, "etcd")
		if err := goBuild(root, etcdBin, "./test/etcdserver"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	defer suite.finish()
	return m.Run()
}

func externalEtcd() bool { return os.Getenv("PODYARD_E2E_ETCD") == "external" }

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..")
}

func goBuild(root, out, pkg string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// Server is a running podyard server started by a test.
type Server struct {
	t          tester
	DataDir    string
	URL        string
	Kubeconfig string
	Config     *rest.Config
	Client     kubernetes.Interface
	Etcd       *EtcdProcess // non-nil when the server uses an external etcd

	listen string
	args   []string // the command and its flags, less --data-dir and --listen
	cmd    *exec.Cmd
	logs   *lockedBuffer
	done   chan error
}

type serverOptions struct {
	dataDir string
	etcd    *EtcdProcess
	args    []string // default: server
}

// StartServer starts `podyard server` on a free port with a fresh data dir
// (or the given one) and waits for its ready line. The process is stopped
// when the test ends. Its scheduler is off: tests of the API place pods
// themselves, on nodes that exist only as API objects.
func StartServer(t tester) *Server {
	t.Helper()
	opts := serverOptions{dataDir: t.TempDir(), args: []string{"server", "--scheduler=false"}}
	if externalEtcd() {
		opts.etcd = StartEtcd(t)
	}
	return startServer(t, opts)
}

func startServer(t tester, opts serverOptions) *Server {
	t.Helper()
	if len(opts.args) == 0 {
		opts.args = []string{"server"}
	}
	s := &Server{t: t, DataDir: opts.dataDir, Etcd: opts.etcd, listen: "127.0.0.1:0", args: opts.args}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

var readyLine = regexp.MustCompile(`ready at (https://\S+)`)

func (s *Server) start() {
	t := s.t
	t.Helper()
	args := append(append([]string{}, s.args...), "--data-dir", s.DataDir, "--listen", s.listen)
	if e := s.Etcd; e != nil {
		args = append(args, "--etcd-servers", e.URL,
			"--etcd-cafile", e.TLS.CACertFile, "--etcd-certfile", e.TLS.EtcdClientCertFile, "--etcd-keyfile", e.TLS.EtcdClientKeyFile)
	}
	cmd := exec.Command(podyardBin, args...)
	cmd.SysProcAttr = dieWithTest()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("%v", err)
	}
	s.logs = &lockedBuffer{}
	cmd.Stderr = s.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start podyard: %v", err)
	}
	s.cmd = cmd
	s.done = make(chan error, 1)
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := readyLine.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { s.done <- cmd.Wait() }()
	select {
	case s.URL = <-urls:
	case err := <-s.done:
		t.Fatalf("podyard exited before ready: %v\n%s", err, s.logs.String())
	case <-time.After(90 * time.Second):
		t.Fatalf("podyard not ready after 90s\n%s", s.logs.String())
	}
	// Restarts reuse the port so clients configured earlier keep working.
	s.listen = strings.TrimPrefix(s.URL, "https://")
	s.Kubeconfig = filepath.Join(s.DataDir, "kubeconfig")
	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	cfg.QPS, cfg.Burst = 1000, 2000
	s.Config = cfg
	s.Client = kubernetes.NewForConfigOrDie(cfg)
}

// Stop sends SIGTERM and waits for a clean exit.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("podyard exited uncleanly after SIGTERM: %v\n%s", err, s.logs.String())
		}
	case <-time.After(60 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		s.t.Errorf("podyard did not stop within 60s of SIGTERM\n%s", s.logs.String())
	}
	s.cmd = nil
}

// Restart stops the server and starts it again on the same data dir and port.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// Logs is what the server wrote to stderr.
func (s *Server) Logs() string { return s.logs.String() }

// Kubectl runs the real kubectl against the server and returns its stdout;
// it fails the test when kubectl fails.
func (s *Server) Kubectl(args ...string) string {
	s.t.Helper()
	out, errOut, err := s.KubectlResult("", args...)
	if err != nil {
		s.t.Fatalf("kubectl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// KubectlResult runs kubectl with stdin and returns stdout, stderr and the error.
func (s *Server) KubectlResult(stdin string, args ...string) (string, string, error) {
	return s.KubectlEnv(nil, stdin, args...)
}

// KubectlEnv is KubectlResult with extra environment variables.
func (s *Server) KubectlEnv(env []string, stdin string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	cmd.Env = append(append(os.Environ(), "KUBECONFIG="+s.Kubeconfig, "HOME="+s.DataDir), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

// EtcdProcess is a real etcd server process started by a test. It serves
// https and requires client certificates, as a production cluster does.
type EtcdProcess struct {
	URL  string
	TLS  *pki.Bundle // its CA, server certificate and a client certificate
	cmd  *exec.Cmd
	done chan error
}

// StartEtcd starts the etcd server built from its Go module on free ports.
func StartEtcd(t tester) *EtcdProcess {
	t.Helper()
	if etcdBin == "" {
		etcdBin = filepath.Join(t.TempDir(), "etcd")
		if err := goBuild(repoRoot(), etcdBin, "./test/etcdserver"); err != nil {
			t.Fatalf("%v", err)
		}
	}
	certs, err := pki.Ensure(t.TempDir(), nil)
	if err != nil {
		t.Fatalf("etcd certificates: %v", err)
	}
	// etcd takes its ports as flags, so they are picked before it binds them;
	// should another process take one in between, start again on new ones.
	for attempt := 1; ; attempt++ {
		e, logs := startEtcdOnce(t, certs)
		err := e.waitReady(t)
		if err == nil {
			return e
		}
		if attempt < 3 && strings.Contains(logs.String(), "address already in use") {
			continue
		}
		t.Fatalf("etcd not ready: %v\n%s", err, logs.String())
	}
}

func startEtcdOnce(t tester, certs *pki.Bundle) (*EtcdProcess, *lockedBuffer) {
	t.Helper()
	client, peer := freeAddr(t), freeAddr(t)
	e := &EtcdProcess{URL: "https://" + client, TLS: certs}
	logs := &lockedBuffer{}
	e.cmd = exec.Command(etcdBin,
		"--name", "e2e",
		"--data-dir", t.TempDir(),
		"--listen-client-urls", e.URL, "--advertise-client-urls", e.URL,
		"--cert-file", certs.EtcdServerCertFile, "--key-file", certs.EtcdServerKeyFile,
		"--trusted-ca-file", certs.CACertFile, "--client-cert-auth",
		"--listen-peer-urls", "http://"+peer, "--initial-advertise-peer-urls", "http://"+peer,
		"--initial-cluster", "e2e=http://"+peer,
		"--log-level", "warn",
	)
	e.cmd.Stdout, e.cmd.Stderr = logs, logs
	e.cmd.SysProcAttr = dieWithTest()
	if err := e.cmd.Start(); err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	e.done = make(chan error, 1)
	go func() { e.done <- e.cmd.Wait() }()
	t.Cleanup(func() {
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-e.done:
		case <-time.After(30 * time.Second):
			_ = e.cmd.Process.Kill()
			<-e.done
		}
	})
	return e, logs
}

// waitReady waits until etcd answers a read, or has exited.
func (e *EtcdProcess) waitReady(t tester) error {
	c := e.Client(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.Get(ctx, "health")
		cancel()
		if err == nil {
			return nil
		}
		select {
		case exit := <-e.done:
			e.done <- exit // for the cleanup
			return fmt.Errorf("etcd exited: %v", exit)
		default:
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Client is an etcd v3 client of the process, authenticating with the client certificate.
func (e *EtcdProcess) Client(t tester) *clientv3.Client {
	t.Helper()
	tlsInfo := transport.TLSInfo{CertFile: e.TLS.EtcdClientCertFile, KeyFile: e.TLS.EtcdClientKeyFile, TrustedCAFile: e.TLS.CACertFile}
	tlsConfig, err := tlsInfo.ClientConfig()
	if err != nil {
		t.Fatalf("etcd client TLS: %v", err)
	}
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{e.URL}, DialTimeout: 5 * time.Second, TLS: tlsConfig})
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func freeAddr(t tester) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("%v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// dieWithTest makes a child process get SIGKILL if the test binary dies
// (a timeout panic, a kill), so no server outlives its test.
func dieWithTest() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// KubectlStream runs a long-lived kubectl (get -w, logs -f) whose output
// lines the test reads as they come; it is killed when the test ends.
func (s *Server) KubectlStream(t *testing.T, args ...string) *lineStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.Kubeconfig, "HOME="+s.DataDir)
	cmd.SysProcAttr = dieWithTest()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("kubectl %v: %v", args, err)
	}
	l := &lineStream{lines: make(chan string, 1000)}
	go func() {
		defer close(l.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			l.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	return l
}

type lineStream struct{ lines chan string }

// waitForLine reads lines until one matches, failing after 30 s.
func (l *lineStream) waitForLine(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-l.lines:
			if !ok {
				t.Fatalf("output ended before a line matching %s", re)
			}
			if re.MatchString(line) {
				return line
			}
		case <-timeout:
			t.Fatalf("no line matching %s within 30s", re)
		}
	}
}

// Package etcd runs etcd inside the Podyard process: the default storage
// when no external etcd cluster is named.
package etcd

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap/zapcore"
)

// Config configures an embedded etcd member.
type Config struct {
	DataDir string // WAL and snapshots; reused across restarts
	Logger  *slog.Logger
	// StartTimeout bounds how long etcd may take to become ready (default 60 s,
	// a large WAL replays slowly).
	StartTimeout time.Duration
	// TLS secures the client port: etcd serves with CertFile and accepts only
	// clients with a certificate signed by TrustedCAFile. Without it, any
	// local user could read every secret in etcd.
	TLS TLS
}

// TLS names PEM files.
type TLS struct {
	CertFile, KeyFile, TrustedCAFile string
}

// Server is a running single-member etcd.
type Server struct {
	etcd    *embed.Etcd
	log     *slog.Logger
	closing *atomic.Bool
}

// Start runs a single-member etcd on loopback ports the kernel picks as etcd
// binds them (port 0), so no other process can take them in between. The
// ports differ from start to start: a single member never dials its own peer
// URL, and clients learn the client URL from ClientURLs.
func Start(ctx context.Context, c Config) (*Server, error) {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = time.Minute
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("etcd: data dir: %w", err)
	}
	clientURL := loopbackURL(c.TLS.CertFile != "")
	peerURL := loopbackURL(false)

	cfg := embed.NewConfig()
	cfg.Name = "podyard"
	cfg.Dir = c.DataDir
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*clientURL}, []url.URL{*clientURL}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*peerURL}, []url.URL{*peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	if c.TLS.CertFile != "" {
		cfg.ClientTLSInfo.CertFile, cfg.ClientTLSInfo.KeyFile = c.TLS.CertFile, c.TLS.KeyFile
		cfg.ClientTLSInfo.TrustedCAFile = c.TLS.TrustedCAFile
		cfg.ClientTLSInfo.ClientCertAuth = true
	}
	// etcd logs through zap: send its warnings and errors to Podyard's log.
	closing := &atomic.Bool{}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zapLogger(c.Logger, zapcore.WarnLevel, closing))
	// The API server compacts every 5 minutes itself, as kube-apiserver does.
	cfg.AutoCompactionRetention = "0"

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd: start in %s: %w", c.DataDir, err)
	}
	timer := time.NewTimer(c.StartTimeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("etcd: failed while starting: %w", err)
	case <-timer.C:
		e.Close()
		return nil, fmt.Errorf("etcd: not ready after %s", c.StartTimeout)
	case <-ctx.Done():
		e.Close()
		return nil, fmt.Errorf("etcd: start: %w", ctx.Err())
	}
	s := &Server{etcd: e, log: c.Logger, closing: closing}
	c.Logger.Info("embedded etcd ready", "clientURLs", s.ClientURLs(), "dataDir", c.DataDir)
	return s, nil
}

// ClientURLs are the URLs clients reach this member at: its gRPC listeners'
// addresses (the configured URLs say port 0).
func (s *Server) ClientURLs() []string {
	scheme := s.etcd.Config().ListenClientUrls[0].Scheme
	urls := make([]string, 0, len(s.etcd.Clients))
	for _, l := range s.etcd.Clients {
		urls = append(urls, (&url.URL{Scheme: scheme, Host: l.Addr().String()}).String())
	}
	return urls
}

// InProcessClient is a client that calls this member's gRPC services as
// functions: no loopback connection, TLS or HTTP/2 framing on the write path.
// Close it before the server.
func (s *Server) InProcessClient() *clientv3.Client {
	return v3client.New(s.etcd.Server)
}

// Close stops etcd after its pending writes are on disk.
func (s *Server) Close() {
	s.closing.Store(true)
	s.etcd.Close()
	s.log.Info("embedded etcd stopped")
}

// loopbackURL is a loopback URL with port 0: the kernel picks the port when
// etcd listens.
func loopbackURL(tls bool) *url.URL {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return &url.URL{Scheme: scheme, Host: "127.0.0.1:0"}
}

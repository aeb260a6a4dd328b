package etcd

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestStartTwiceOnFreshPortsKeepsData: two members start side by side (each
// on ports the kernel picked), and a restart on the same data dir keeps what
// was written through the in-process client.
func TestStartTwiceOnFreshPortsKeepsData(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()

	first, err := Start(ctx, Config{DataDir: dir + "/a", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	second, err := Start(ctx, Config{DataDir: dir + "/b", Logger: quiet})
	if err != nil {
		first.Close()
		t.Fatal(err)
	}
	defer second.Close()
	a, b := first.ClientURLs(), second.ClientURLs()
	if len(a) != 1 || len(b) != 1 || a[0] == b[0] || strings.HasSuffix(a[0], ":0") {
		t.Fatalf("client URLs %v and %v: want one real port each, different", a, b)
	}

	client := first.InProcessClient()
	if _, err := client.Put(ctx, "/k", "v"); err != nil {
		t.Fatal(err)
	}
	client.Close()
	first.Close()

	again, err := Start(ctx, Config{DataDir: dir + "/a", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	tcp, err := clientv3.New(clientv3.Config{Endpoints: again.ClientURLs(), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	resp, err := tcp.Get(ctx, "/k")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
		t.Fatalf("after restart /k = %v, want v", resp.Kvs)
	}
}

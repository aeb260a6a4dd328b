package process

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podyard/podyard/internal/runtime"
)

func TestMergeEnv(t *testing.T) {
	for _, tc := range []struct {
		base, extra, want []string
	}{
		{nil, nil, []string{}},
		{[]string{"A=1", "B=2"}, nil, []string{"A=1", "B=2"}},
		{[]string{"A=1", "B=2"}, []string{"B=3", "C=4"}, []string{"A=1", "B=3", "C=4"}},
		{[]string{"PATH=/bin"}, []string{"PATH=/x", "PATH=/y"}, []string{"PATH=/y"}},
		{[]string{"A=1"}, []string{"E="}, []string{"A=1", "E="}},
	} {
		if got := MergeEnv(tc.base, tc.extra); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("MergeEnv(%q, %q) = %q, want %q", tc.base, tc.extra, got, tc.want)
		}
	}
}

func TestResolveUser(t *testing.T) {
	passwd := []byte("root:x:0:0:root:/root:/bin/sh\n# comment\nweb:x:1000:1000::/home/web:/bin/sh\nbad:x:a:b::/:/bin/sh\n")
	group := []byte("root:x:0:\nweb:x:1000:\nwheel:x:10:web,other\nadm:x:4:other\n")
	for _, tc := range []struct {
		user    string
		want    ids
		wantErr string
	}{
		{user: "root", want: ids{uid: 0, gid: 0, home: "/root"}},
		{user: "web", want: ids{uid: 1000, gid: 1000, groups: []uint32{10}, home: "/home/web"}},
		{user: "1000", want: ids{uid: 1000, gid: 1000, groups: []uint32{10}, home: "/home/web"}},
		{user: "4242", want: ids{uid: 4242, gid: 0}},
		{user: "4242:77", want: ids{uid: 4242, gid: 77}},
		{user: "web:wheel", want: ids{uid: 1000, gid: 10, home: "/home/web"}},
		{user: "web:4", want: ids{uid: 1000, gid: 4, home: "/home/web"}},
		{user: "nobody-here", wantErr: "no such user"},
		{user: "web:nogroup", wantErr: "no such group"},
		{user: "bad", wantErr: "bad /etc/passwd entry"},
		{user: ":1", wantErr: "want NAME or UID"},
		{user: "web:", wantErr: "want NAME or UID"},
	} {
		got, err := resolveUser(tc.user, passwd, group)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: want error %q, got %v (%+v)", tc.user, tc.wantErr, err, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: got %+v, %v; want %+v", tc.user, got, err, tc.want)
		}
	}
}

func TestMatchProcessName(t *testing.T) {
	for _, tc := range []struct {
		name, comm, argv0 string
		want              bool
	}{
		{"nginx", "nginx", "nginx: master process", true},
		{"nginx", "nginx", "/usr/sbin/nginx", true},
		{"sleep", "sh", "/bin/sh", false},
		{"a-very-long-process-name", "a-very-long-pro", "/opt/bin/a-very-long-process-name", true},
		{"a-very-long-process-name", "a-very-long-pro", "/opt/bin/a-very-long-process-nam", false},
		{"worker", "python3", "/srv/worker", true},
		{"", "x", "x", false},
		{"x", "y", "", false},
	} {
		if got := matchProcessName(tc.name, tc.comm, tc.argv0); got != tc.want {
			t.Errorf("matchProcessName(%q, %q, %q) = %v", tc.name, tc.comm, tc.argv0, got)
		}
	}
}

func TestInCgroup(t *testing.T) {
	v2 := []byte("0::/podyard/poduid/web_0\n")
	v1 := []byte("12:freezer:/podyard/poduid/web_0\n11:memory:/podyard/poduid/web_0\n1:name=systemd:/user.slice\n0::/user.slice\n")
	for _, tc := range []struct {
		data []byte
		path string
		want bool
	}{
		{v2, "/podyard/poduid/web_0", true},
		{v2, "/podyard/poduid/web_1", false},
		{v2, "/podyard/poduid/web", false},
		{[]byte("0::/podyard/poduid/web_0/sub\n"), "/podyard/poduid/web_0", true},
		{v1, "/podyard/poduid/web_0", true},
		{v1, "/other", false},
		{nil, "/podyard", false},
	} {
		if got := inCgroup(tc.data, tc.path); got != tc.want {
			t.Errorf("inCgroup(%q, %q) = %v", tc.data, tc.path, got)
		}
	}
}

func TestExecOptions(t *testing.T) {
	r := newRuntime(t, t.TempDir())
	st, err := r.Start(context.Background(), config(t, "c", "sleep", "300"))
	if err != nil {
		t.Fatal(err)
	}
	wd := t.TempDir()
	var out, errOut buffer
	err = r.Exec(context.Background(), st.ID, []string{"sh", "-c", "echo $FOO $NEW; pwd"},
		runtime.ExecOptions{Env: []string{"FOO=over", "NEW=added"}, WorkingDir: wd}, nil, &out, &errOut, false, nil)
	if err != nil {
		t.Fatalf("%v: %s", err, errOut.String())
	}
	if want := "over added\n" + wd + "\n"; out.String() != want {
		t.Errorf("stdout %q, want %q", out.String(), want)
	}

	err = r.Exec(context.Background(), st.ID, []string{"id", "-u"}, runtime.ExecOptions{User: "no-such-user-here"}, nil, nil, nil, false, nil)
	if err == nil || !strings.Contains(err.Error(), "no such user") {
		t.Errorf("unknown user: %v", err)
	}
	if os.Geteuid() != 0 {
		err = r.Exec(context.Background(), st.ID, []string{"id", "-u"}, runtime.ExecOptions{User: "0"}, nil, nil, nil, false, nil)
		if err == nil || !strings.Contains(err.Error(), "must run as root") {
			t.Errorf("another user without root: %v", err)
		}
		return
	}
	for _, tty := range []bool{false, true} {
		var out, errOut buffer
		var stderr io.WriteCloser
		if !tty {
			stderr = &errOut
		}
		err = r.Exec(context.Background(), st.ID, []string{"sh", "-c", "id -u; id -g"}, runtime.ExecOptions{User: "65534:65533", Privileged: true}, nil, &out, stderr, tty, nil)
		if err != nil {
			t.Fatalf("tty %v: %v: %s", tty, err, errOut.String())
		}
		if got := strings.ReplaceAll(out.String(), "\r", ""); got != "65534\n65533\n" {
			t.Errorf("tty %v: id: %q", tty, got)
		}
	}
}

func TestSignal(t *testing.T) {
	t.Run("process group", func(t *testing.T) { testSignal(t, newRuntime(t, t.TempDir())) })
	// With a cgroup the container's processes are its cgroup's: also one
	// that left the process group.
	t.Run("cgroup", func(t *testing.T) {
		testSignal(t, newContainedRuntime(t, t.TempDir(), testCgroupRoot(t, 0)))
	})
}

func testSignal(t *testing.T, r *Runtime) {
	dir := t.TempDir()
	// A script's command name is its file's name, which is what is matched.
	script := filepath.Join(dir, "usr2-recorder")
	mark := filepath.Join(dir, "got")
	os.WriteFile(script, []byte("#!/bin/sh\ntrap 'echo usr2 >> "+mark+"' USR2\necho $$ > "+mark+".ready\nwhile :; do sleep 0.1; done\n"), 0o755)
	st, err := r.Start(context.Background(), config(t, "c", script))
	if err != nil {
		t.Fatal(err)
	}
	// Stopped before the cleanups run: a runtime that saw its supervisor
	// killed would still be writing to its directory while it is removed.
	defer r.Stop(context.Background(), st.ID, 0)
	waitFile(t, mark+".ready")
	n, err := r.Signal(context.Background(), st.ID, "no-such-process", syscall.SIGUSR2)
	if err != nil || n != 0 {
		t.Fatalf("no match: %d, %v", n, err)
	}
	// At least the script; a child it forked that has not yet run
	// sleep has its name too, and gets it as from killall.
	n, err = r.Signal(context.Background(), st.ID, "usr2-recorder", syscall.SIGUSR2)
	if err != nil || n < 1 {
		t.Fatalf("signal: %d, %v", n, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, _ := os.ReadFile(mark)
		if string(data) == "usr2\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the trap never ran: %q", data)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The supervisor is not the container's: its name never matches, and
	// sleep children are signalled by their own name.
	// A sleep runs most of the time, not always (the loop forks the next).
	deadline = time.Now().Add(10 * time.Second)
	for {
		n, err := r.Signal(context.Background(), st.ID, "sleep", syscall.SIGCONT)
		if err != nil {
			t.Fatal(err)
		}
		if n >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no sleep child was ever signalled")
		}
		time.Sleep(20 * time.Millisecond)
	}
	supervisor := filepath.Base(os.Args[0])
	if n, err := r.Signal(context.Background(), st.ID, supervisor, syscall.SIGTERM); err != nil || n != 0 {
		t.Errorf("the supervisor %q must never be signalled: %d, %v", supervisor, n, err)
	}
	if !r.Running(st.ID) {
		t.Error("the container stopped")
	}
}

func TestWriteFile(t *testing.T) {
	r := newRuntime(t, t.TempDir())
	st, err := r.Start(context.Background(), config(t, "c", "sleep", "300"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "a", "b", "conf.ini")
	if err := r.WriteFile(context.Background(), st.ID, target, []byte("k=v\n"), 0o640, ""); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(target)
	if err != nil || string(data) != "k=v\n" {
		t.Fatalf("content %q, %v", data, err)
	}
	fi, _ := os.Stat(target)
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", fi.Mode())
	}
	// Again: replaced, and the mode is set even on an existing file.
	if err := r.WriteFile(context.Background(), st.ID, target, []byte("x"), 0o600, ""); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(target); string(data) != "x" {
		t.Errorf("rewritten: %q", data)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after rewrite %v", fi.Mode())
	}
	if err := r.WriteFile(context.Background(), st.ID, "relative/x", nil, 0o644, ""); err == nil {
		t.Error("a relative path must be refused")
	}
	if err := r.WriteFile(context.Background(), st.ID, filepath.Join(dir, "u"), nil, 0o644, "no-such-user-here"); err == nil || !strings.Contains(err.Error(), "no such user") {
		t.Errorf("unknown user: %v", err)
	}
	if os.Geteuid() == 0 {
		owned := filepath.Join(dir, "owned")
		if err := r.WriteFile(context.Background(), st.ID, owned, []byte("o"), 0o644, "65534:65533"); err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(owned)
		if s := fi.Sys().(*syscall.Stat_t); s.Uid != 65534 || s.Gid != 65533 {
			t.Errorf("owner %d:%d", s.Uid, s.Gid)
		}
	}
}

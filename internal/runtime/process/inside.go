package process

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// What the runtime does inside a running container besides exec: signals
// by process name (BCS's signal message, which the original sent with
// killall in the container) and files written where the container sees
// them (BCS's local and remote file messages).

// Signal sends sig to each process of the container whose name is name,
// matched as killall does: the kernel's command name (/proc/PID/comm, cut
// at 15 bytes) or the base name of argv[0]. The container's processes are
// those of its cgroup, or without cgroups those of its process group (a
// process that left it with setsid is not found). The supervisor is never
// one of them.
func (r *Runtime) Signal(ctx context.Context, id string, name string, sig syscall.Signal) (int, error) {
	c, err := r.running(id)
	if err != nil {
		return 0, err
	}
	if name == "" {
		return 0, errors.New("signal: no process name given")
	}
	pids, err := c.processes()
	if err != nil {
		return 0, fmt.Errorf("signal %s: %w", c.spec.Name, err)
	}
	n := 0
	for _, pid := range pids {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		comm, argv0, ok := processName(pid)
		if !ok || !matchProcessName(name, comm, argv0) {
			continue
		}
		if err := unix.Kill(pid, sig); err != nil {
			if errors.Is(err, unix.ESRCH) {
				continue // it ended meanwhile
			}
			return n, fmt.Errorf("signal %s: process %d: %w", c.spec.Name, pid, err)
		}
		n++
	}
	return n, nil
}

// matchProcessName is killall's match of a process by name: its command
// name (which the kernel cuts at 15 bytes) or the base name of argv[0]
// (how a longer name still matches).
func matchProcessName(name, comm, argv0 string) bool {
	return name != "" && (comm == name || (argv0 != "" && filepath.Base(argv0) == name))
}

// processName reads a process's command name and argv[0]; ok is false
// when it is gone.
func processName(pid int) (comm, argv0 string, ok bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return "", "", false
	}
	comm = strings.TrimSuffix(string(data), "\n")
	if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
		argv0, _, _ = strings.Cut(string(cmdline), "\x00")
	}
	return comm, argv0, true
}

// processes lists the container's processes: its cgroup's, or without one
// its process group's. Neither the supervisor nor this process is listed.
func (c *container) processes() ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var st state
	_ = readJSON(c.dir, stateFile, &st)
	self := os.Getpid()
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self || (st.SupervisorPID > 0 && pid == st.SupervisorPID) {
			continue
		}
		if c.spec.Cgroup != nil {
			data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
			if err == nil && inCgroup(data, c.spec.Cgroup.Path) {
				out = append(out, pid)
			}
			continue
		}
		if pid == c.pid || processGroup(pid) == c.pid {
			out = append(out, pid)
		}
	}
	return out, nil
}

// inCgroup reports whether a /proc/PID/cgroup file names cgroup path (or
// one below it) in any hierarchy.
func inCgroup(procCgroup []byte, path string) bool {
	for _, line := range strings.Split(string(procCgroup), "\n") {
		// hierarchy-ID:controllers:path; the path may hold ':'.
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if p := parts[2]; p == path || strings.HasPrefix(p, path+"/") {
			return true
		}
	}
	return false
}

// processGroup is a process's group id (/proc/PID/stat field 5), 0 when gone.
func processGroup(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 3 { // state, ppid, pgrp
		return 0
	}
	pgrp, _ := strconv.Atoi(fields[2])
	return pgrp
}

// WriteFile writes data to path in the container's view of the file
// system: through /proc/PID/root of its process, so inside its mount
// namespace, with every lookup kept inside that root (RESOLVE_IN_ROOT:
// a symbolic link cannot lead out of it). Missing parent directories are
// created (0755, owned by the agent's user); the file gets mode exactly
// (not masked by the umask) and, when user is given, its owner (which
// needs root).
func (r *Runtime) WriteFile(ctx context.Context, id string, path string, data []byte, mode os.FileMode, user string) error {
	c, err := r.running(id)
	if err != nil {
		return err
	}
	if !filepath.IsAbs(path) || filepath.Clean(path) == "/" {
		return fmt.Errorf("write file %q: want an absolute path of a file", path)
	}
	root, err := c.openRoot()
	if err != nil {
		return fmt.Errorf("write file %s: %w", path, err)
	}
	defer unix.Close(root)
	var owner *ids
	if user != "" {
		u, err := lookupUser(root, user)
		if err != nil {
			return fmt.Errorf("write file %s: %w", path, err)
		}
		if os.Geteuid() != 0 && int(u.uid) != os.Geteuid() {
			return fmt.Errorf("write file %s owned by %q: the agent must run as root to give a file another owner", path, user)
		}
		owner = &u
	}
	rel := strings.TrimPrefix(filepath.Clean(path), "/")
	if err := mkdirAllIn(root, filepath.Dir(rel)); err != nil {
		return fmt.Errorf("write file %s: %w", path, err)
	}
	fd, err := openIn(root, rel, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, uint32(mode.Perm()))
	if err != nil {
		return fmt.Errorf("write file %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write file %s: %w", path, err)
	}
	if owner != nil {
		if err := f.Chown(int(owner.uid), int(owner.gid)); err != nil {
			return fmt.Errorf("write file %s: owner %q: %w", path, user, err)
		}
	}
	// After the chown, which clears set-id bits; the umask never applies.
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("write file %s: mode %v: %w", path, mode, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write file %s: %w", path, err)
	}
	return nil
}

// openRoot opens the root directory the container's process sees.
func (c *container) openRoot() (int, error) {
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/root", c.pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("root of container %s: %w", c.spec.Name, err)
	}
	return fd, nil
}

// openIn opens rel below root with every lookup kept inside root. Kernels
// before 5.6 lack openat2: there a lookup is relative to root but an
// absolute symbolic link resolves in the agent's view.
func openIn(root int, rel string, flags int, mode uint32) (int, error) {
	fd, err := unix.Openat2(root, rel, &unix.OpenHow{Flags: uint64(flags), Mode: uint64(mode), Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	if errors.Is(err, unix.ENOSYS) {
		fd, err = unix.Openat(root, rel, flags, mode)
	}
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: "/" + rel, Err: err}
	}
	return fd, nil
}

// mkdirAllIn creates dir (relative to root) and its missing parents.
func mkdirAllIn(root int, dir string) error {
	if dir == "." || dir == "" {
		return nil
	}
	parent := root
	cur := ""
	for _, name := range strings.Split(dir, "/") {
		cur = filepath.Join(cur, name)
		fd, err := openIn(root, cur, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) {
			if err := unix.Mkdirat(parent, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				return &os.PathError{Op: "mkdir", Path: "/" + cur, Err: err}
			}
			fd, err = openIn(root, cur, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		}
		if parent != root {
			unix.Close(parent)
		}
		if err != nil {
			return err
		}
		parent = fd
	}
	if parent != root {
		unix.Close(parent)
	}
	return nil
}

// readIn reads a small file below root (at most 4 MiB).
func readIn(root int, rel string) ([]byte, error) {
	fd, err := openIn(root, rel, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "/"+rel)
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 4<<20))
}

// ids are the credentials of a user in a container.
type ids struct {
	uid, gid uint32
	groups   []uint32 // supplementary
	home     string   // "" when the user has no passwd entry
}

// lookupUser resolves user (name or uid, optionally :group or :gid) in the
// container's /etc/passwd and /etc/group, as runc does: a uid without an
// entry is that uid with gid 0; a name must have one.
func lookupUser(root int, user string) (ids, error) {
	passwd, err := readIn(root, "etc/passwd")
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return ids{}, fmt.Errorf("user %q: %w", user, err)
	}
	group, err := readIn(root, "etc/group")
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return ids{}, fmt.Errorf("user %q: %w", user, err)
	}
	return resolveUser(user, passwd, group)
}

// resolveUser is lookupUser on the contents of /etc/passwd and /etc/group.
func resolveUser(user string, passwd, group []byte) (ids, error) {
	name, grp, hasGroup := strings.Cut(user, ":")
	if name == "" || (hasGroup && grp == "") {
		return ids{}, fmt.Errorf("user %q: want NAME or UID, optionally :GROUP or :GID", user)
	}
	var out ids
	var entry []string
	for _, f := range dbEntries(passwd, 7) {
		if f[0] == name || f[2] == name {
			entry = f
			break
		}
	}
	userName := ""
	switch uid, err := strconv.ParseUint(name, 10, 32); {
	case entry != nil:
		u, err1 := strconv.ParseUint(entry[2], 10, 32)
		g, err2 := strconv.ParseUint(entry[3], 10, 32)
		if err1 != nil || err2 != nil {
			return ids{}, fmt.Errorf("user %q: bad /etc/passwd entry %q", user, strings.Join(entry, ":"))
		}
		out.uid, out.gid, out.home, userName = uint32(u), uint32(g), entry[5], entry[0]
	case err == nil:
		out.uid = uint32(uid)
	default:
		return ids{}, fmt.Errorf("user %q: no such user in the container's /etc/passwd", name)
	}
	groups := dbEntries(group, 4)
	if hasGroup {
		found := false
		for _, f := range groups {
			if f[0] == grp || f[2] == grp {
				g, err := strconv.ParseUint(f[2], 10, 32)
				if err != nil {
					return ids{}, fmt.Errorf("user %q: bad /etc/group entry %q", user, strings.Join(f, ":"))
				}
				out.gid, found = uint32(g), true
				break
			}
		}
		if !found {
			g, err := strconv.ParseUint(grp, 10, 32)
			if err != nil {
				return ids{}, fmt.Errorf("user %q: no such group in the container's /etc/group", user)
			}
			out.gid = uint32(g)
		}
		return out, nil // an explicit group: no supplementary ones (as runc)
	}
	if userName != "" {
		for _, f := range groups {
			for _, member := range strings.Split(f[3], ",") {
				if member == userName {
					if g, err := strconv.ParseUint(f[2], 10, 32); err == nil && uint32(g) != out.gid {
						out.groups = append(out.groups, uint32(g))
					}
				}
			}
		}
	}
	return out, nil
}

// dbEntries splits a passwd or group file into entries of n fields.
func dbEntries(data []byte, n int) [][]string {
	var out [][]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, ":", n)
		if len(f) == n {
			out = append(out, f)
		}
	}
	return out
}

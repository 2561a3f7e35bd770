package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// LockFileName is the lock file in RUNDIR a daemon holds with flock.
const LockFileName = "ljdns.lock"

// ErrLocked is returned by LockRundir when another daemon owns RUNDIR.
var ErrLocked = errors.New("daemon: another ljdns serve owns this run directory")

// RundirLock is an exclusive flock on RUNDIR/ljdns.lock: the kernel drops
// it when the holder exits in any way (SIGKILL included), so stale control
// sockets left behind never block a new daemon.
type RundirLock struct {
	f    *os.File
	path string
}

// LockRundir takes the lock of dir without waiting.
func LockRundir(dir string) (*RundirLock, error) {
	path := filepath.Join(dir, LockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("daemon: lock %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		pid, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s, pid %s)", ErrLocked, path, strings.TrimSpace(string(pid)))
		}
		return nil, fmt.Errorf("daemon: lock %s: %w", path, err)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return &RundirLock{f: f, path: path}, nil
}

// Unlock releases the lock (the file stays).
func (l *RundirLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// ControlDir returns RUNDIR/control.
func ControlDir(rundir string) string { return filepath.Join(rundir, "control") }

// controlServer serves RUNDIR/control/<pid>: each line read is handed to
// the current configuration's Control hook and its output written back.
type controlServer struct {
	ln   net.Listener
	path string
	wg   sync.WaitGroup
	mu   sync.Mutex
	conn map[net.Conn]struct{}
}

// ListenControl opens the control socket RUNDIR/control/<pid> (mode 0600)
// after removing stale sockets of dead daemons; call it while holding the
// RUNDIR lock.
func (s *Server) ListenControl(rundir string) (string, error) {
	dir := ControlDir(rundir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("daemon: control socket: %w", err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Type()&os.ModeSocket != 0 {
			os.Remove(filepath.Join(dir, e.Name())) // we hold the lock: every socket here is stale
		}
	}
	path := filepath.Join(dir, strconv.Itoa(os.Getpid()))
	old := unix.Umask(0o177)
	ln, err := net.Listen("unix", path)
	unix.Umask(old)
	if err != nil {
		return "", fmt.Errorf("daemon: control socket: %w", err)
	}
	os.Chmod(path, 0o600)
	cs := &controlServer{ln: ln, path: path, conn: map[net.Conn]struct{}{}}
	s.mu.Lock()
	s.control = cs
	s.mu.Unlock()
	cs.wg.Add(1)
	go func() {
		defer cs.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			cs.mu.Lock()
			cs.conn[c] = struct{}{}
			cs.mu.Unlock()
			cs.wg.Add(1)
			go func() {
				defer cs.wg.Done()
				s.serveControl(c)
				cs.mu.Lock()
				delete(cs.conn, c)
				cs.mu.Unlock()
				c.Close()
			}()
		}
	}()
	return path, nil
}

// ControlPath returns the control socket's path ("" without one).
func (s *Server) ControlPath() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.control == nil {
		return ""
	}
	return s.control.path
}

func (s *Server) serveControl(c net.Conn) {
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		h := s.gen.Load().cfg.Control
		var out string
		if h == nil {
			out = "error: no control handler (no configuration environment)"
		} else {
			out = h(line)
		}
		if out != "" && !strings.HasSuffix(out, "\n") {
			out += "\n"
		}
		if _, err := io.WriteString(c, out); err != nil {
			return
		}
	}
}

func (cs *controlServer) close() {
	cs.ln.Close()
	os.Remove(cs.path)
	cs.mu.Lock()
	for c := range cs.conn {
		c.Close()
	}
	cs.mu.Unlock()
	cs.wg.Wait()
}

// DialControl connects to the control socket of the daemon owning rundir:
// the socket in RUNDIR/control that accepts a connection.
func DialControl(rundir string) (net.Conn, error) {
	dir := ControlDir(rundir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("daemon: no control socket in %s: %w", rundir, err)
	}
	var last error = fmt.Errorf("daemon: no control socket in %s", dir)
	for _, e := range ents {
		if e.Type()&os.ModeSocket == 0 {
			continue
		}
		c, err := net.DialTimeout("unix", filepath.Join(dir, e.Name()), 2*time.Second)
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, last
}

// Notify sends state (READY=1, STOPPING=1, RELOADING=1, STATUS=...) to the
// service manager when NOTIFY_SOCKET is set (sd_notify(3)); it does
// nothing otherwise.
func Notify(state string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	if path[0] == '@' {
		path = "\x00" + path[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("daemon: sd_notify: %w", err)
	}
	defer c.Close()
	_, err = c.Write([]byte(state))
	return err
}

package daemon

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

// Level is a log level, with kresd's names (log_level()).
type Level int32

// Log levels, most severe first.
const (
	LevelCrit Level = iota
	LevelErr
	LevelWarning
	LevelNotice
	LevelInfo
	LevelDebug
)

var levelNames = []string{"crit", "err", "warning", "notice", "info", "debug"}

// String returns kresd's name of the level.
func (l Level) String() string {
	if l >= 0 && int(l) < len(levelNames) {
		return levelNames[l]
	}
	return "level(" + itoa(int(l)) + ")"
}

// ParseLevel returns the level named s (kresd's names; "error" and "warn" too).
func ParseLevel(s string) (Level, bool) {
	switch strings.ToLower(s) {
	case "error":
		return LevelErr, true
	case "warn":
		return LevelWarning, true
	}
	for i, n := range levelNames {
		if strings.EqualFold(n, s) {
			return Level(i), true
		}
	}
	return 0, false
}

// Logger writes `[group] message` lines (kresd's format and log groups) to
// its writer, stderr by default. It is safe for concurrent use; the level
// and the debug groups change at run time (log_level, log_groups).
type Logger struct {
	mu     sync.Mutex
	w      io.Writer
	level  atomic.Int32
	groups atomic.Pointer[map[string]bool] // groups logged at debug level whatever the level
}

// NewLogger returns a logger writing to w at level notice (kresd's default).
func NewLogger(w io.Writer) *Logger {
	l := &Logger{w: w}
	l.level.Store(int32(LevelNotice))
	return l
}

var stderrLog = NewLogger(os.Stderr)

// StderrLogger returns the process-wide logger on stderr.
func StderrLogger() *Logger { return stderrLog }

// SetLevel sets the most verbose level written.
func (l *Logger) SetLevel(v Level) { l.level.Store(int32(v)) }

// Level returns the current level.
func (l *Logger) Level() Level { return Level(l.level.Load()) }

// SetGroups sets the groups logged at debug level whatever the level (log_groups).
func (l *Logger) SetGroups(groups []string) {
	m := map[string]bool{}
	for _, g := range groups {
		m[g] = true
	}
	l.groups.Store(&m)
}

// Groups returns the groups set by SetGroups.
func (l *Logger) Groups() []string {
	var out []string
	if m := l.groups.Load(); m != nil {
		for g := range *m {
			out = append(out, g)
		}
	}
	return out
}

// Enabled reports whether a message of level v in group would be written.
func (l *Logger) Enabled(v Level, group string) bool {
	if v <= Level(l.level.Load()) {
		return true
	}
	if m := l.groups.Load(); m != nil && (*m)[group] {
		return true
	}
	return false
}

// Logf writes one `[group] message` line when level v is enabled.
func (l *Logger) Logf(v Level, group, format string, args ...any) {
	if l == nil || !l.Enabled(v, group) {
		return
	}
	msg := fmt.Sprintf(format, args...)
	msg = strings.TrimRight(msg, "\n")
	line := fmt.Sprintf("[%-6s] %s\n", group, msg)
	l.mu.Lock()
	io.WriteString(l.w, line)
	l.mu.Unlock()
}

// Errorf logs at level err.
func (l *Logger) Errorf(group, format string, args ...any) { l.Logf(LevelErr, group, format, args...) }

// Warnf logs at level warning.
func (l *Logger) Warnf(group, format string, args ...any) {
	l.Logf(LevelWarning, group, format, args...)
}

// Noticef logs at level notice.
func (l *Logger) Noticef(group, format string, args ...any) {
	l.Logf(LevelNotice, group, format, args...)
}

// Infof logs at level info.
func (l *Logger) Infof(group, format string, args ...any) { l.Logf(LevelInfo, group, format, args...) }

// Debugf logs at level debug.
func (l *Logger) Debugf(group, format string, args ...any) {
	l.Logf(LevelDebug, group, format, args...)
}

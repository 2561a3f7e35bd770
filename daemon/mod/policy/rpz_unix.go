package policy

import (
	"os"
	"syscall"
)

// inodeOf returns the file's inode (a file renamed over the old one).
func inodeOf(st os.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Ino
	}
	return 0
}

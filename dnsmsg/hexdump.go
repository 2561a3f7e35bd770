package dnsmsg

import (
	"fmt"
	"strings"
)

// Hexdump formats b as API.md §1.7 describes: lines of 16 bytes, each an
// 8-digit hex offset, the bytes in hex and their printable characters
// (control bytes as '.').
func Hexdump(b []byte) string {
	var sb strings.Builder
	for off := 0; off < len(b); off += 16 {
		chunk := b[off:min(off+16, len(b))]
		fmt.Fprintf(&sb, "%08X  ", off)
		for _, c := range chunk {
			fmt.Fprintf(&sb, "%02X ", c)
		}
		sb.WriteString(strings.Repeat("   ", 16-len(chunk)))
		sb.WriteByte(' ')
		for _, c := range chunk {
			if c < 0x20 || c == 0x7F {
				c = '.'
			}
			sb.WriteByte(c)
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

//go:build !amd64

package luabind

import "runtime"

// returnPCs fills pcs with return addresses of the calling goroutine's
// frames, innermost first.
func returnPCs(pcs []uintptr) int { return runtime.Callers(2, pcs) }

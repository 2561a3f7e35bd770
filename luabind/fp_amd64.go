package luabind

import "unsafe"

// callerFP returns the frame pointer of its caller (fp_amd64.s).
func callerFP() unsafe.Pointer

// returnPCs fills pcs with the return addresses of the calling goroutine's
// frames, innermost first, by following the frame-pointer chain (amd64
// keeps frame pointers): two loads per frame instead of the runtime's
// table-driven unwinder. It returns the number filled.
//
//go:nosplit
func returnPCs(pcs []uintptr) int {
	fp := callerFP()
	n := 0
	for fp != nil && n < len(pcs) {
		pc := *(*uintptr)(unsafe.Add(fp, 8))
		if pc == 0 {
			break
		}
		pcs[n] = pc
		n++
		fp = *(*unsafe.Pointer)(fp)
	}
	return n
}

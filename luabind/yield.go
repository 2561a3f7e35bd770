package luabind

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// CanYield reports whether a Go function called now may yield the running
// coroutine. gopher-lua runs metamethods, iterators and callbacks of Go
// functions (table.sort comparators, gsub replacement functions) in a
// nested VM loop; a yield from there corrupts the VM on resume. So a yield
// is safe only when the innermost VM loop was entered by a coroutine
// resume (threadRun), not by a call from Go.
//
// It is on the hot path of every blocking socket call in a scheduler
// coroutine and of coroutine.yield: on amd64 it follows the frame-pointer
// chain (two loads per frame) and classifies return addresses through a
// cache, instead of asking the runtime's table-driven unwinder.
func CanYield() bool {
	var pcs [32]uintptr
	n := returnPCs(pcs[:])
	if ok, known := yieldable(pcs[:n], n < len(pcs)); known {
		return ok
	}
	var more [256]uintptr
	n = runtime.Callers(1, more[:])
	ok, _ := yieldable(more[:n], true)
	return ok
}

// yieldable applies the rule to return addresses, innermost first: the
// caller of the innermost VM loop must be a resume. known is false when
// the answer lies beyond pcs (not the whole stack).
func yieldable(pcs []uintptr, whole bool) (ok, known bool) {
	for i, pc := range pcs {
		if classifyPC(pc) != pcVMLoop {
			continue
		}
		if i+1 < len(pcs) {
			return classifyPC(pcs[i+1]) == pcResume, true
		}
		break
	}
	// no VM loop below us (called from Go), or the loop's caller is cut off
	return true, whole
}

const (
	pcOther  = iota // any other function
	pcVMLoop        // gopher-lua's mainLoop
	pcResume        // a coroutine resume entering the VM loop
)

// pcKinds caches classifyPC for every state of the process: a map that is
// replaced, never changed, so that lookups take no lock.
var (
	pcKinds   atomic.Pointer[map[uintptr]uint8]
	pcKindsMu sync.Mutex // serialises replacements
)

func classifyPC(pc uintptr) uint8 {
	if m := pcKinds.Load(); m != nil {
		if k, ok := (*m)[pc]; ok {
			return k
		}
	}
	kind := uint8(pcOther)
	if f := runtime.FuncForPC(pc - 1); f != nil {
		name := f.Name()
		if strings.HasPrefix(name, "github.com/yuin/gopher-lua.") {
			switch name[strings.LastIndexByte(name, '.')+1:] {
			case "mainLoop", "mainLoopWithContext":
				kind = pcVMLoop
			case "threadRun", "coResume", "Resume", "coWrapAux":
				kind = pcResume
			}
		}
	}
	pcKindsMu.Lock()
	old := pcKinds.Load()
	next := make(map[uintptr]uint8, 1+lenOf(old))
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	next[pc] = kind
	pcKinds.Store(&next)
	pcKindsMu.Unlock()
	return kind
}

func lenOf(m *map[uintptr]uint8) int {
	if m == nil {
		return 0
	}
	return len(*m)
}

package daemon

import "time"

// spawnIdle is how long a pooled goroutine waits for work before it exits.
const spawnIdle = 10 * time.Second

// spawn runs f on a pooled goroutine: an idle one if there is one, else a
// new one that stays around for spawnIdle after its work. Pooled goroutines
// keep their grown stacks, so asynchronous requests do not pay for stack
// growth each time (runtime.newstack showed in the forwarding profile).
func (s *Server) spawn(f func()) {
	select {
	case s.work <- f:
		return
	default:
	}
	go s.worker(f)
}

func (s *Server) worker(f func()) {
	t := time.NewTimer(spawnIdle)
	defer t.Stop()
	for {
		f()
		f = nil
		t.Reset(spawnIdle)
		select {
		case f = <-s.work:
		case <-t.C:
			return
		case <-s.ctx.Done():
			return
		}
	}
}

package client

import (
	"context"
	"runtime"

	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
	"ljdns/luabind"
	"ljdns/luamod/dns"
	"ljdns/luamod/nbio"
)

// streamTypeName is the registry name of transfer iterators.
const streamTypeName = "dns.client.stream"

// streamBuffer is how many messages a transfer may run ahead of the Lua
// code reading them.
const streamBuffer = 64

// xfer is the goroutine side of a transfer: messages as they come, then
// the final error. It never references the Stream, so that a Stream the
// script dropped (a `break` out of the loop) can be collected, and its
// cleanup cancels the transfer.
type xfer struct {
	msgs chan *dnsmsg.Packet
	end  chan struct{} // closed after err is set
	err  error
}

// Stream is the Lua iterator over the messages of one multi-message
// answer (AXFR, IXFR).
type Stream struct {
	x       *xfer
	pending []*dnsmsg.Packet // received, not handed to Lua yet
	ended   bool             // x.end seen and drained
	err     error
	cancel  context.CancelFunc
}

func registerStream(L *lua.LState) {
	luabind.RegisterType(L, luabind.TypeSpec{
		Name: streamTypeName,
		Methods: map[string]lua.LGFunction{
			"next":  streamNext,
			"err":   streamErr,
			"close": streamClose,
		},
		Meta: map[string]lua.LGFunction{
			"__call": streamCall,
			"__tostring": func(L *lua.LState) int {
				L.Push(lua.LString("dns.client.stream"))
				return 1
			},
		},
	})
}

// c:stream(query) -> stream | nil, err
func clientStreamMethod(L *lua.LState) int {
	c := openClient(L, 1)
	q, _ := queryArgs(L, c, 2)
	if q == nil {
		return 2
	}
	ctx, cancel := context.WithCancel(luaContext(L))
	x := &xfer{msgs: make(chan *dnsmsg.Packet, streamBuffer), end: make(chan struct{})}
	t := c.t
	go func() {
		x.err = t.Stream(ctx, q, func(p *dnsmsg.Packet) error {
			select {
			case x.msgs <- p:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		close(x.end)
	}()
	s := &Stream{x: x, cancel: cancel}
	runtime.AddCleanup(s, func(cancel context.CancelFunc) { cancel() }, cancel)
	sched := nbio.SchedOf(L)
	all := sched.Yields(L) // a for loop cannot yield: take everything now
	work := func() any {
		var got []*dnsmsg.Packet
		for {
			p, ok := x.recv(true)
			if !ok {
				return got
			}
			got = append(got, p)
			if !all {
				return got
			}
		}
	}
	finish := func(L *lua.LState, v any) int {
		s.pending = v.([]*dnsmsg.Packet)
		if len(s.pending) == 0 {
			s.finish()
			if s.err != nil {
				return luabind.Fail(L, "%s", errText(s.err))
			}
		}
		luabind.Push(L, streamTypeName, s)
		return 1
	}
	return sched.Async(L, work, finish, nil)
}

// recv returns the next message; ok is false at the end of the transfer.
// Without wait it returns at once (ok false, x.done() false when nothing
// is there yet).
func (x *xfer) recv(wait bool) (*dnsmsg.Packet, bool) {
	select {
	case p := <-x.msgs:
		return p, true
	default:
	}
	if !wait {
		select {
		case <-x.end:
		default:
			return nil, false
		}
	} else {
		select {
		case p := <-x.msgs:
			return p, true
		case <-x.end:
		}
	}
	select { // messages sent just before the end
	case p := <-x.msgs:
		return p, true
	default:
		return nil, false
	}
}

func (x *xfer) done() bool {
	select {
	case <-x.end:
		return len(x.msgs) == 0
	default:
		return false
	}
}

// finish records the end of the transfer.
func (s *Stream) finish() {
	if !s.ended {
		s.ended = true
		s.err = s.x.err
		s.cancel()
	}
}

// take returns the next message without waiting: ok false and !s.ended
// means none is there yet.
func (s *Stream) take() (*dnsmsg.Packet, bool) {
	if len(s.pending) > 0 {
		p := s.pending[0]
		s.pending[0] = nil
		s.pending = s.pending[1:]
		return p, true
	}
	if s.ended {
		return nil, false
	}
	if p, ok := s.x.recv(false); ok {
		return p, true
	}
	if s.x.done() {
		s.finish()
	}
	return nil, false
}

// for msg in s: the iterator. It cannot yield (gopher-lua calls iterators
// in a nested VM loop), so when no message is there yet it blocks; inside
// a scheduler coroutine stream() has taken every message already.
func streamCall(L *lua.LState) int {
	s := luabind.Check[*Stream](L, 1, streamTypeName)
	p, ok := s.take()
	if !ok && !s.ended {
		p, ok = s.x.recv(true)
		if !ok {
			s.finish()
		}
	}
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	dns.PushPacket(L, p)
	return 1
}

// s:next() -> packet | nil [, err]: yields in a scheduler coroutine.
func streamNext(L *lua.LState) int {
	s := luabind.Check[*Stream](L, 1, streamTypeName)
	if p, ok := s.take(); ok {
		dns.PushPacket(L, p)
		return 1
	}
	if !s.ended {
		x := s.x
		return nbio.SchedOf(L).Async(L, func() any {
			p, ok := x.recv(true)
			if !ok {
				return nil
			}
			return p
		}, func(L *lua.LState, v any) int {
			if p, ok := v.(*dnsmsg.Packet); ok {
				dns.PushPacket(L, p)
				return 1
			}
			s.finish()
			return pushEnd(L, s)
		}, nil)
	}
	return pushEnd(L, s)
}

func pushEnd(L *lua.LState, s *Stream) int {
	if s.err != nil {
		return luabind.Fail(L, "%s", errText(s.err))
	}
	L.Push(lua.LNil)
	return 1
}

// s:err() -> nil (completed or still going) | message
func streamErr(L *lua.LState) int {
	s := luabind.Check[*Stream](L, 1, streamTypeName)
	if s.err == nil {
		L.Push(lua.LNil)
	} else {
		L.Push(lua.LString(errText(s.err)))
	}
	return 1
}

// s:close(): abandons the transfer (idempotent).
func streamClose(L *lua.LState) int {
	s := luabind.Check[*Stream](L, 1, streamTypeName)
	if !s.ended {
		s.ended = true
		s.cancel()
		s.pending = nil
	}
	return 0
}

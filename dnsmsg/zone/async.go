package zone

// Parse-ahead mode: the scanner runs in a background goroutine and hands
// records over in batches, so scanning overlaps with whatever the caller
// does with each record (two cores for loading a zone).

// asyncBatch is the number of records per batch. Each hand-over costs the
// two goroutines a wake-up: 4096 records per batch take a fifth less CPU
// over a 1M-record zone than 512 did (BenchmarkScannerAsync1M).
const asyncBatch = 4096

// batch is a run of records whose owners and RDATA are stored in data.
type batch struct {
	items []item
	data  []byte
}

// item is one record of a batch: its owner is data[owner:rdata] (shared
// by the records of one owner), its RDATA data[rdata:end].
type item struct {
	owner, ownerEnd, rdata, end int32
	typ, class                  uint16
	ttl                         uint32
	line                        int32
}

// asyncState is the consumer's side of parse-ahead mode.
type asyncState struct {
	ch    chan *batch   // filled batches, closed by the producer at the end
	free  chan *batch   // batches to reuse
	stop  chan struct{} // closed to ask the producer to quit
	done  chan struct{} // closed when the producer has quit
	cur   *batch
	i     int
	err   error // producer's final error (read after ch is closed)
	final error // consumer's copy of err
	ended bool
	rec   Record
}

// SetAsync turns parse-ahead mode on or off (off by default). In this
// mode the scanner parses in a background goroutine; only Next, Record,
// Err, Reset, ResetFile, Restart, SetAsync and Close may be called, and
// Record's slices stay valid until the next call to Next. Switching off
// (or Reset/Close) stops the goroutine.
func (s *Scanner) SetAsync(on bool) {
	if !on {
		s.stopAsync()
	}
	s.async = on
}

// startAsync launches the producer goroutine.
func (s *Scanner) startAsync() {
	a := &asyncState{
		ch:   make(chan *batch, 2),
		free: make(chan *batch, 4),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	s.as = a
	go func() {
		defer close(a.done)
		defer close(a.ch)
		for {
			var b *batch
			select {
			case b = <-a.free:
			default:
				b = &batch{items: make([]item, 0, asyncBatch), data: make([]byte, 0, 64<<10)}
			}
			b.items, b.data = b.items[:0], b.data[:0]
			more := true
			var o, oe int32
			gen := s.ownerGen - 1
			for len(b.items) < asyncBatch {
				if !s.next() {
					more = false
					break
				}
				r := &s.rec
				if s.ownerGen != gen || len(b.items) == 0 {
					// a new owner (records with a blank owner share it)
					o = int32(len(b.data))
					b.data = append(b.data, r.Owner...)
					oe, gen = int32(len(b.data)), s.ownerGen
				}
				d := int32(len(b.data))
				b.data = append(b.data, r.RData...)
				b.items = append(b.items, item{o, oe, d, int32(len(b.data)), r.Type, r.Class, r.TTL, int32(r.Line)})
			}
			if len(b.items) > 0 {
				select {
				case a.ch <- b:
				case <-a.stop:
					return
				}
			}
			if !more {
				a.err = s.err
				return
			}
		}
	}()
}

// nextAsync is Next in parse-ahead mode.
func (s *Scanner) nextAsync() bool {
	a := s.as
	if a == nil {
		if s.err != nil {
			return false
		}
		s.startAsync()
		a = s.as
	}
	for {
		if a.cur != nil && a.i < len(a.cur.items) {
			it, d := &a.cur.items[a.i], a.cur.data
			a.rec = Record{Owner: d[it.owner:it.ownerEnd:it.ownerEnd], Type: it.typ, Class: it.class, TTL: it.ttl,
				RData: d[it.rdata:it.end:it.end], Line: int(it.line)}
			a.i++
			return true
		}
		if a.ended {
			return false
		}
		if a.cur != nil {
			select {
			case a.free <- a.cur:
			default:
			}
			a.cur = nil
		}
		b, ok := <-a.ch
		if !ok {
			a.ended, a.final = true, a.err
			return false
		}
		a.cur, a.i = b, 0
	}
}

// stopAsync stops the producer (if any) and returns to synchronous mode
// state; the scanner's own error, if the producer ended with one, is kept.
func (s *Scanner) stopAsync() {
	a := s.as
	if a == nil {
		return
	}
	close(a.stop)
	for range a.ch { // unblock a producer waiting to send
	}
	<-a.done
	s.as = nil
}

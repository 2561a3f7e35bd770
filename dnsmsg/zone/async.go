package zone

// Parse-ahead mode: the scanner runs in a background goroutine and hands
// records over in batches, so scanning overlaps with whatever the caller
// does with each record (two cores for loading a zone).

// asyncBatch is the number of records per batch. Each hand-over costs the
// two goroutines a wake-up: 4096 records per batch take a fifth less CPU
// over a 1M-record zone than 512 did (BenchmarkScannerAsync1M).
const asyncBatch = 4096

// batch is a run of records whose Owner/RData slices point into data.
type batch struct {
	recs []Record
	offs []int32 // per record: owner start, rdata start, rdata end
	data []byte
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
				b = &batch{recs: make([]Record, 0, asyncBatch), offs: make([]int32, 0, 3*asyncBatch), data: make([]byte, 0, 64<<10)}
			}
			b.recs, b.offs, b.data = b.recs[:0], b.offs[:0], b.data[:0]
			more := true
			for len(b.recs) < asyncBatch {
				if !s.next() {
					more = false
					break
				}
				r := &s.rec
				o := len(b.data)
				b.data = append(b.data, r.Owner...)
				d := len(b.data)
				b.data = append(b.data, r.RData...)
				b.offs = append(b.offs, int32(o), int32(d), int32(len(b.data)))
				b.recs = append(b.recs, Record{Type: r.Type, Class: r.Class, TTL: r.TTL, Line: r.Line})
			}
			for i := range b.recs {
				o, d, e := b.offs[3*i], b.offs[3*i+1], b.offs[3*i+2]
				b.recs[i].Owner = b.data[o:d:d]
				b.recs[i].RData = b.data[d:e:e]
			}
			if len(b.recs) > 0 {
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
		if a.cur != nil && a.i < len(a.cur.recs) {
			a.rec = a.cur.recs[a.i]
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

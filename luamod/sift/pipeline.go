package sift

// pipeline.go parses on a second goroutine while the sink consumes on the
// Lua state's goroutine, so both cores work when the whole loop is Go.

import (
	"sync"

	"ljdns/dnsmsg/zone"
)

// Pipeline sizes.
const (
	batchRecords = 1024     // records per batch
	batchBytes   = 64 << 10 // initial byte capacity of a batch
	batchesAhead = 4        // batches the parser may run ahead
)

// recBatch is a run of records whose slices point into buf.
type recBatch struct {
	recs []zone.Record
	buf  []byte
}

func (b *recBatch) add(r *zone.Record) {
	start := len(b.buf)
	b.buf = append(b.buf, r.Owner...)
	b.buf = append(b.buf, r.RData...)
	b.recs = append(b.recs, zone.Record{Type: r.Type, Class: r.Class, TTL: r.TTL, Line: r.Line,
		// offsets for now; fixed up when the batch is sealed (buf may move)
		Owner: nil, RData: nil})
	rec := &b.recs[len(b.recs)-1]
	rec.Owner = b.buf[start : start+len(r.Owner)]
	rec.RData = b.buf[start+len(r.Owner) : len(b.buf)]
	_ = rec
}

// pipedSource reads src on its own goroutine in batches, applying filter
// there (when given). It implements recordSource; Close stops the parser
// and waits for it, so src can be closed afterwards.
type pipedSource struct {
	full  chan *recBatch
	free  chan *recBatch
	stop  chan struct{}
	wg    sync.WaitGroup
	cur   *recBatch
	i     int
	once  sync.Once
	inner recordSource
}

func newPipedSource(src recordSource, filter *Filter) *pipedSource {
	p := &pipedSource{
		full:  make(chan *recBatch, batchesAhead),
		free:  make(chan *recBatch, batchesAhead+2),
		stop:  make(chan struct{}),
		inner: src,
	}
	p.wg.Add(1)
	go p.produce(src, filter)
	return p
}

func (p *pipedSource) newBatch() *recBatch {
	select {
	case b := <-p.free:
		b.recs, b.buf = b.recs[:0], b.buf[:0]
		return b
	default:
		return &recBatch{recs: make([]zone.Record, 0, batchRecords), buf: make([]byte, 0, batchBytes)}
	}
}

func (p *pipedSource) produce(src recordSource, filter *Filter) {
	defer p.wg.Done()
	defer close(p.full)
	b := p.newBatch()
	for src.Next() {
		r := src.Record()
		if filter != nil && !filter.Match(r) {
			continue
		}
		// Records must not move once added: start a new batch instead
		// of letting buf grow past its capacity.
		if len(b.recs) == cap(b.recs) || len(b.buf)+len(r.Owner)+len(r.RData) > cap(b.buf) && len(b.recs) > 0 {
			select {
			case p.full <- b:
			case <-p.stop:
				return
			}
			b = p.newBatch()
		}
		b.add(r)
	}
	if len(b.recs) > 0 {
		select {
		case p.full <- b:
		case <-p.stop:
		}
	}
}

// Next implements recordSource.
func (p *pipedSource) Next() bool {
	for p.cur == nil || p.i+1 >= len(p.cur.recs) {
		if p.cur != nil {
			select {
			case p.free <- p.cur:
			default:
			}
		}
		b, ok := <-p.full
		if !ok {
			p.cur = nil
			return false
		}
		p.cur, p.i = b, -1
	}
	p.i++
	return true
}

// Record implements recordSource.
func (p *pipedSource) Record() *zone.Record { return &p.cur.recs[p.i] }

// Close stops the parser goroutine and waits for it (the inner source is
// closed by its owner afterwards).
func (p *pipedSource) Close() error {
	p.once.Do(func() {
		close(p.stop)
		for range p.full { // unblock a pending send
		}
		p.wg.Wait()
	})
	return nil
}

package sift

// pipeline.go parses on a second goroutine while the sink consumes on the
// Lua state's goroutine, so both cores work when the whole loop is Go.

import (
	"io"
	"os"
	"sync"

	"ljdns/luamod/dns/zone"
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
// there (when given). A multiSource gets one goroutine per part, and its
// parts' records arrive interleaved. It implements recordSource; Close
// stops the parsers and waits for them, so src can be closed afterwards.
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
	parts := []recordSource{src}
	if m, ok := src.(*multiSource); ok {
		parts = m.parts
	}
	for _, part := range parts {
		p.wg.Add(1)
		go p.produce(part, filter)
	}
	go func() {
		p.wg.Wait()
		close(p.full)
	}()
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
		for range p.full { // unblock pending sends; closed once all parsers quit
		}
	})
	return nil
}

// multiSource is parts of one zone file that parse independently (cut by
// zone.FindSplit). Read directly it yields the parts in order; a
// pipedSource parses them at once.
type multiSource struct {
	parts   []recordSource
	cutLine int // first line of the second part
	i       int
	c       io.Closer
}

// Next implements recordSource.
func (m *multiSource) Next() bool {
	for ; m.i < len(m.parts); m.i++ {
		if m.parts[m.i].Next() {
			return true
		}
	}
	return false
}

// Record implements recordSource.
func (m *multiSource) Record() *zone.Record { return m.parts[m.i].Record() }

// Close closes the parts and the file.
func (m *multiSource) Close() error {
	for _, p := range m.parts {
		p.Close()
	}
	return m.c.Close()
}

// splitMinSize is the smallest zone file parsed in two parts at once.
var splitMinSize int64 = 8 << 20

// openSplitZone opens the zone file at path as two parts cut near the
// middle, or returns nil (small file, no cut point, $INCLUDE, error).
func openSplitZone(path string) recordSource {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() < splitMinSize {
		f.Close()
		return nil
	}
	size := st.Size()
	first := zone.NewScanner(io.NewSectionReader(f, 0, size), siftOrigin, siftClass, siftTTL)
	sp, ok := zone.FindSplit(io.NewSectionReader(f, 0, size), size/2, first)
	if !ok {
		f.Close()
		return nil
	}
	first.Reset(io.NewSectionReader(f, 0, sp.Offset))
	first.SetFile(path)
	second := zone.NewScanner(io.NewSectionReader(f, sp.Offset, size-sp.Offset), siftOrigin, siftClass, siftTTL)
	second.SetFile(path)
	second.StartAt(sp)
	return &multiSource{parts: []recordSource{first, second}, cutLine: sp.Line, c: f}
}

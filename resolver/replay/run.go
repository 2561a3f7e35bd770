package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"sync"
	"time"

	"ljdns/clock"
	"ljdns/dnsclient"
	"ljdns/dnsmsg"
)

// RCODEs the runner answers with itself.
const (
	rcodeFormErr  = 1
	rcodeServFail = 2
	rcodeNotImp   = 4
)

// Exchanger sends one query to one name server and returns its answer,
// already matched to the query; it has resolver.Exchanger's signature.
type Exchanger func(ctx context.Context, server netip.AddrPort, q *dnsmsg.Packet, tcp bool) (*dnsmsg.Packet, error)

// Query is one question the runner asks the resolver under test.
type Query struct {
	Name         []byte
	Type, Class  uint16
	DO, CD, AD   bool
	RD           bool
	ID           uint16
	QueryMessage *dnsmsg.Packet
}

// Resolver is the system under test: it answers a query as a recursive
// resolver (the answer's rcode, AD flag and sections are used).
type Resolver interface {
	Resolve(ctx context.Context, q Query) (*dnsmsg.Packet, error)
}

// Factory builds the resolver under test for one scenario from its
// settings. It returns an *Unsupported error for a configuration it cannot
// honour (the scenario is then skipped).
type Factory func(s *Settings) (Resolver, error)

// Unsupported is a scenario feature the resolver under test lacks.
type Unsupported struct{ What string }

func (u *Unsupported) Error() string { return "unsupported: " + u.What }

// Status is the outcome of a scenario.
type Status int

// Outcomes.
const (
	Pass Status = iota
	Fail
	Skip
)

func (s Status) String() string { return [...]string{"PASS", "FAIL", "SKIP"}[s] }

// Result is the outcome of one scenario file.
type Result struct {
	File   string
	Status Status
	Reason string // why it failed or was skipped
}

// String is the one-line report: "PASS file", "FAIL file: reason".
func (r Result) String() string {
	if r.Reason == "" {
		return r.Status.String() + " " + r.File
	}
	return r.Status.String() + " " + r.File + ": " + r.Reason
}

// Runner plays scenarios against resolvers built by New.
type Runner struct {
	New     Factory
	Skip    map[string]string // file base name -> reason (see SkipList)
	Timeout time.Duration     // real time allowed to one query (default 30s)
	Trace   io.Writer         // when set, every upstream query and answer is logged
	Now     func() time.Time  // the start time of scenarios without one (default time.Now)
}

// RunFile parses and plays one scenario file. A malformed file fails with
// the parse error (file:line).
func (r *Runner) RunFile(path string) Result {
	if why, ok := r.Skip[filepath.Base(path)]; ok {
		return Result{File: path, Status: Skip, Reason: why}
	}
	s, err := ParseFile(path)
	if err != nil {
		return Result{File: path, Status: Fail, Reason: err.Error()}
	}
	return r.Run(s)
}

// Run plays a parsed scenario.
func (r *Runner) Run(s *Scenario) Result {
	res := Result{File: s.File}
	if why, ok := r.Skip[filepath.Base(s.File)]; ok {
		res.Status, res.Reason = Skip, why
		return res
	}
	fail := func(format string, args ...any) Result {
		res.Status, res.Reason = Fail, fmt.Sprintf(format, args...)
		return res
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	st, err := MapConfig(s, now().UTC().Truncate(time.Second))
	if err != nil {
		return fail("%s: %v", s.File, err)
	}
	w := &world{s: s, trace: r.Trace, fired: map[*Entry]int{}, used: map[*Step]bool{}, settings: st}
	st.Clock = clock.NewFake(st.Start)
	st.Exchange = w.exchange
	st.Trace = r.Trace
	res1, err := r.New(st)
	if err != nil {
		var u *Unsupported
		if errors.As(err, &u) {
			res.Status, res.Reason = Skip, err.Error()
			return res
		}
		return fail("resolver: %v", err)
	}
	if c, ok := res1.(io.Closer); ok {
		defer c.Close()
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	var last *dnsmsg.Packet
	for _, step := range s.Steps {
		w.setStep(step.ID)
		switch step.Kind {
		case StepTimePasses:
			st.Clock.Advance(time.Duration(step.Elapse) * time.Second)
		case StepReply:
		case StepQuery:
			w.tracef("step %d: query (line %d)\n", step.ID, step.Line)
			last, err = r.query(res1, step.Entry, timeout)
			if err != nil {
				return fail("step %d (line %d): %v", step.ID, step.Line, err)
			}
		case StepCheckAnswer:
			if last == nil {
				return fail("step %d (line %d): no answer from the preceding query", step.ID, step.Line)
			}
			if err := step.Entry.Compare(last); err != nil {
				return fail("step %d (line %d): %v", step.ID, step.Line, err)
			}
		}
	}
	for _, rg := range s.Ranges {
		for _, e := range rg.Entries {
			if e.Mandatory && w.firedCount(e) == 0 {
				return fail("MANDATORY entry at line %d never answered", e.Line)
			}
		}
	}
	return res
}

// query sends the entry of a QUERY step to the resolver and returns the
// answer as a client would receive it (nil for a RAW query that is not a
// well-formed query: Deckard expects no answer to those).
func (r *Runner) query(res Resolver, e *Entry, timeout time.Duration) (*dnsmsg.Packet, error) {
	var qp *dnsmsg.Packet
	if e.Raw != nil {
		qp = dnsmsg.NewPacketFrom(len(e.Raw), e.Raw)
		if qp.Parse(false) != 0 || qp.Flag("qr") {
			return nil, nil
		}
	} else {
		m := entryMessage(e)
		m.id = uint16(rand.Uint32())
		var err error
		if qp, err = buildPacket(m); err != nil {
			return nil, fmt.Errorf("query: %v", err)
		}
		qp = qp.Copy()
	}
	qm := packetMessage(qp)
	ans := &message{id: qm.id, opcode: qm.opcode, question: qm.question,
		flags: flagQR | flagRA | qm.flags&(flagRD|flagCD), edns: qm.edns, payload: 1232, do: qm.do}
	switch {
	case qm.opcode != 0:
		ans.rcode = rcodeNotImp
	case len(qm.question) == 0:
		ans.rcode = rcodeFormErr
	default:
		q := qm.question[0]
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		type out struct {
			p   *dnsmsg.Packet
			err error
		}
		done := make(chan out, 1)
		go func() {
			p, err := res.Resolve(ctx, Query{Name: q.Name, Type: q.Type, Class: q.Class, DO: qm.do,
				CD: qm.flags&flagCD != 0, AD: qm.flags&flagAD != 0, RD: qm.flags&flagRD != 0, ID: qm.id, QueryMessage: qp})
			done <- out{p, err}
		}()
		var o out
		select {
		case o = <-done:
		case <-time.After(timeout + time.Second):
			return nil, fmt.Errorf("the resolver did not answer within %v", timeout)
		}
		if o.err != nil || o.p == nil {
			ans.rcode = rcodeServFail
			break
		}
		rm := packetMessage(o.p)
		ans.rcode = rm.rcode
		ans.flags |= rm.flags & flagAD // AA stays clear, as in the daemon's answer
		ans.sections = rm.sections
	}
	p, err := buildPacket(ans)
	if err != nil {
		return nil, fmt.Errorf("answer: %v", err)
	}
	return p.Copy(), nil
}

// world is the simulated network of one scenario: it answers the
// resolver's upstream queries from the RANGE entries and REPLY steps.
type world struct {
	mu       sync.Mutex
	s        *Scenario
	settings *Settings
	step     int
	fired    map[*Entry]int
	used     map[*Step]bool // REPLY steps already consumed
	trace    io.Writer
}

func (w *world) setStep(id int) {
	w.mu.Lock()
	w.step = id
	w.mu.Unlock()
}

func (w *world) firedCount(e *Entry) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fired[e]
}

func (w *world) tracef(format string, args ...any) {
	if w.trace != nil {
		fmt.Fprintf(w.trace, format, args...)
	}
}

// errNoAnswer is what a query the scenario does not answer gets: the
// network stays silent, as for a timeout.
type errNoAnswer struct{ why string }

func (e *errNoAnswer) Error() string { return "no answer (" + e.why + ")" }

// Timeout reports true: to the resolver this is a timeout.
func (e *errNoAnswer) Timeout() bool { return true }

// exchange is the in-memory Exchanger: no socket is ever opened.
func (w *world) exchange(ctx context.Context, server netip.AddrPort, q *dnsmsg.Packet, tcp bool) (*dnsmsg.Packet, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	qw := append([]byte(nil), q.Bytes()...)
	qp := dnsmsg.NewPacketFrom(len(qw), qw)
	if qp.Parse(false) != 0 {
		return nil, fmt.Errorf("replay: the resolver sent a malformed query to %v", server)
	}
	addr := server.Addr().Unmap()
	qm := packetMessage(qp)
	proto := "udp"
	if tcp {
		proto = "tcp"
	}
	w.tracef("  -> %v/%s %s", addr, proto, questionText(qm.question))
	if addr.Is4() && w.settings.NoIPv4 || addr.Is6() && w.settings.NoIPv6 {
		w.tracef(": address family disabled\n")
		return nil, &errNoAnswer{"address family disabled by the scenario"}
	}
	e := w.find(addr, qp)
	if e == nil {
		w.tracef(": no entry\n")
		return nil, &errNoAnswer{"no scenario entry for the query"}
	}
	w.fired[e]++
	if e.NoAnswer {
		w.tracef(": entry line %d: do_not_answer\n", e.Line)
		return nil, &errNoAnswer{"do_not_answer"}
	}
	wire, err := replyWire(e, qp, qm, tcp)
	if err != nil {
		return nil, fmt.Errorf("replay: entry at line %d: %v", e.Line, err)
	}
	a, err := dnsclient.MatchAnswer(qw, wire)
	if err != nil {
		w.tracef(": entry line %d: answer dropped: %v\n", e.Line, err)
		return nil, &errNoAnswer{"answer dropped: " + err.Error()}
	}
	w.tracef(": entry line %d: %s, %d/%d/%d records\n", e.Line, rcodeText(a.Rcode()), a.Count(0), a.Count(1), a.Count(2))
	return a, nil
}

// find returns the entry answering qp sent to addr, nil for none: the
// first range eligible by step and address answers (with its first
// matching entry, or not at all); without one, the first unused REPLY step
// from the current one on whose entry matches (consumed).
func (w *world) find(addr netip.Addr, qp *dnsmsg.Packet) *Entry {
	for _, rg := range w.s.Ranges {
		if w.step < rg.From || w.step > rg.To {
			continue
		}
		if len(rg.Addrs) > 0 {
			in := false
			for _, a := range rg.Addrs {
				in = in || a == addr
			}
			if !in {
				continue
			}
		}
		for _, e := range rg.Entries {
			if e.Compare(qp) == nil {
				return e
			}
		}
		return nil
	}
	for _, st := range w.s.Steps {
		if st.Kind != StepReply || st.ID < w.step || w.used[st] {
			continue
		}
		if st.Entry.Compare(qp) == nil {
			w.used[st] = true
			return st.Entry
		}
	}
	return nil
}

// replyWire builds the answer of template e to query qp: ADJUST applied,
// EDNS as in the query, truncated (TC, question only) when it exceeds the
// query's UDP payload.
func replyWire(e *Entry, qp *dnsmsg.Packet, qm *message, tcp bool) ([]byte, error) {
	if e.Raw != nil {
		wire := append([]byte(nil), e.Raw...)
		if e.RawID && len(wire) >= 2 {
			wire[0], wire[1] = byte(qm.id>>8), byte(qm.id)
		}
		return wire, nil
	}
	m := entryMessage(e)
	m.id = qm.id + 1 // a template's own ID does not match the query's
	if e.CopyID {
		m.id = qm.id
		if len(m.question) > 0 && len(qm.question) > 0 {
			m.question = append([]Question(nil), m.question...)
			m.question[0].Name = qm.question[0].Name
		}
	}
	if e.CopyQuery {
		m.question = qm.question
	}
	m.edns, m.version, m.do, m.payload = qm.edns, qm.version, qm.do, 1232
	if !m.edns && m.rcode > 15 {
		m.rcode &= 15
	}
	p, err := buildPacket(m)
	if err != nil {
		return nil, err
	}
	limit := 512
	if qm.edns && qm.payload > limit {
		limit = qm.payload
	}
	if tcp || p.Size <= limit {
		return p.Bytes(), nil
	}
	m.flags |= flagTC
	m.sections = [3][]*rrset{}
	if p, err = buildPacket(m); err != nil {
		return nil, err
	}
	return p.Bytes(), nil
}

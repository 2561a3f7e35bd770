package workarounds

import (
	"context"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/daemon"
)

// recorder remembers whether a request had NO_0X20 after the module.
type recorder struct{ got bool }

func (r *recorder) Name() string { return "recorder" }
func (r *recorder) Begin(q *daemon.Request, s daemon.State) daemon.State {
	r.got = q.Options.Has(daemon.No0x20)
	return daemon.Done
}

// TestWorkarounds: NO_0X20 for names at and below a listed zone (any case),
// not for others nor for a name that only ends like one.
func TestWorkarounds(t *testing.T) {
	rec := &recorder{}
	s, err := daemon.New(&daemon.Config{Layers: []daemon.Layer{New(), rec}, Log: daemon.NewLogger(io.Discard)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	}()
	for name, want := range map[string]bool{
		"avqs.mcafee.com.": true, "x.Y.CDNGC.net.": true, "panthercdn.com.": true,
		"mcafee.com.": false, "xpanthercdn.com.": false, "example.com.": false,
	} {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		w, _ := m.Pack()
		rec.got = !want
		s.Exchange(w, netip.MustParseAddrPort("127.0.0.1:5300"), netip.MustParseAddrPort("127.0.0.1:53"), daemon.UDP, 0)
		if rec.got != want {
			t.Errorf("%s: NO_0X20 %v", name, rec.got)
		}
	}
}

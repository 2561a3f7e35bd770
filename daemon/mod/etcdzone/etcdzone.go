// Package etcdzone is the etcdzone module of `ljdns serve` (issue 17): the
// zones kept in etcd (layout of package etcdstore) loaded into an
// authority.Engine and kept current by etcd's watch, so every server of a
// fleet answers from local memory, as fast as from a zone file, and sees a
// change without polling. A watch response is applied whole and each zone
// it changes is swapped whole, so an answer never mixes two revisions of a
// zone. While etcd is unreachable the zones stay served; Stats and the log
// say so; the watch resumes from the last revision applied, or the zones
// are loaded again in full when that revision was compacted.
//
// Queries are answered in Begin (before the caches, whatever the RD bit)
// by the zonefile module's answer path over the same engine, and so are
// transfers: AXFR over TCP and TLS (IXFR answered AXFR-style) to
// Options.ACL (default loopback) or signed with one of Options.Keys, as
// the zonefile module transfers its zones; refusals are NOTAUTH. Each
// transfer is one revision of the zone (zones are swapped whole).
package etcdzone

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/netip"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"ljdns/authority"
	"ljdns/daemon"
	"ljdns/daemon/mod/zonefile"
	"ljdns/dnsmsg"
	"ljdns/etcdstore"
)

// Options configures the module.
type Options struct {
	Endpoints []string    // etcd client endpoints (host:port or URLs)
	Prefix    string      // key prefix of the zones (etcdstore.DefaultPrefix)
	TLS       *tls.Config // nil: plain
	Username  string
	Password  string
	Engine    authority.Options
	Log       *daemon.Logger // nil: stderr
	// OnChange is called after a zone was swapped or removed (a packet
	// cache in front of the module drops its answers there).
	OnChange func(origin string)
	// Stats receives the counters (etcdzone.connected, .revision,
	// .outages, .reloads, .updates, .errors, .zones, .rrsets) when they change.
	Stats func(key string, v int64)
	// Probe is the interval of the reachability check (default 1 s).
	Probe time.Duration
	// ACL is who may transfer the zones without a key (nil:
	// zonefile.DefaultACL, loopback); Keys are the TSIG keys that may
	// transfer them from any address. SetTransfer changes both later.
	ACL  []netip.Prefix
	Keys []*dnsmsg.TSIG
}

// Module is the etcdzone layer.
type Module struct {
	zf     *zonefile.Module
	f      *etcdstore.Follower
	cl     *clientv3.Client
	log    *daemon.Logger
	o      Options
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// New connects to etcd (lazily: an unreachable cluster is not an error)
// and starts loading and following the zones.
func New(o Options) (*Module, error) {
	if len(o.Endpoints) == 0 {
		return nil, fmt.Errorf("etcdzone: no endpoints")
	}
	log := o.Log
	if log == nil {
		log = daemon.NewLogger(nil)
	}
	cl, err := clientv3.New(clientv3.Config{Endpoints: o.Endpoints, TLS: o.TLS, Username: o.Username,
		Password: o.Password, DialTimeout: 5 * time.Second, DialKeepAliveTime: 5 * time.Second,
		DialKeepAliveTimeout: 3 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return nil, fmt.Errorf("etcdzone: %v", err)
	}
	m := &Module{zf: zonefile.New(zonefile.Options{Engine: o.Engine, Log: log, Poll: -1}), cl: cl, log: log, o: o,
		done: make(chan struct{})}
	m.zf.SetTransfer(o.ACL, o.Keys)
	eng := m.zf.Engine()
	m.f = &etcdstore.Follower{
		Store: etcdstore.New(cl, o.Prefix),
		Probe: o.Probe,
		Zone: func(origin string, z *authority.Zone) {
			eng.Add(z)
			m.log.Infof("etcdzone", "zone %s serial %d served (revision %d)", origin, z.Serial(), m.f.Stats().Revision)
			if o.OnChange != nil {
				o.OnChange(origin)
			}
		},
		Remove: func(origin string) {
			if n, err := dnsmsg.NameFromText(origin); err == nil {
				eng.Remove(dnsmsg.LowerName(n.Wire))
			}
			m.log.Noticef("etcdzone", "zone %s removed", origin)
			if o.OnChange != nil {
				o.OnChange(origin)
			}
		},
		Logf: func(format string, args ...any) { m.log.Warnf("etcdzone", format, args...) },
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() {
		defer close(m.done)
		m.f.Run(ctx)
	}()
	if o.Stats != nil {
		go m.report(ctx)
	}
	return m, nil
}

// report pushes the counters to Options.Stats every 500 ms.
func (m *Module) report(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		st := m.f.Stats()
		conn := int64(0)
		if st.Connected {
			conn = 1
		}
		for k, v := range map[string]int64{"connected": conn, "revision": st.Revision, "outages": st.Outages,
			"reloads": st.Reloads, "updates": st.Updates, "errors": st.Errors, "zones": int64(st.Zones),
			"rrsets": int64(st.RRsets)} {
			m.o.Stats("etcdzone."+k, v)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Name is "etcdzone".
func (m *Module) Name() string { return "etcdzone" }

// Engine is the engine the zones are served from.
func (m *Module) Engine() *authority.Engine { return m.zf.Engine() }

// Stats returns the follower's counters.
func (m *Module) Stats() etcdstore.Stats { return m.f.Stats() }

// Loaded is closed once the zones were loaded the first time.
func (m *Module) Loaded() <-chan struct{} { return m.f.Loaded() }

// Store is the zone store the module follows (push, edit, get).
func (m *Module) Store() *etcdstore.Store { return m.f.Store }

// SetTransfer replaces who may transfer the zones (Options.ACL, .Keys).
func (m *Module) SetTransfer(acl []netip.Prefix, keys []*dnsmsg.TSIG) { m.zf.SetTransfer(acl, keys) }

// Begin answers queries for names in the zones, and transfers.
func (m *Module) Begin(r *daemon.Request, s daemon.State) daemon.State {
	return m.zf.Begin(r, s)
}

// Close stops following and closes the etcd client.
func (m *Module) Close() error {
	m.once.Do(func() {
		m.cancel()
		<-m.done
		m.cl.Close()
	})
	return nil
}

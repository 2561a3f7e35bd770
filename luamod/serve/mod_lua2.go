package serve

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/authority"
	"ljdns/daemon"
	"ljdns/daemon/cache"
	"ljdns/dnsmsg"
	"ljdns/host"
	"ljdns/luabind"
)

// The lua2 module serves a PowerDNS lua2 backend script (API version 2)
// the way pdns 4.7.3 with launch=lua2 serves it (SERVE.md §5):
//
//	modules = { lua2 = { filename = 'backend.lua', query_logging = false,
//	                     concurrent = false, packet_cache = true,
//	                     version_string = 'full', server_id = '' } }
//
// version_string and server_id answer CHAOS TXT version.bind and
// id.server as pdns's settings of those names do (lua2ChaosStrings).
//
// Each worker loads the script into a Lua state of its own (an ljdns state
// with the AuthLua4 globals), as each pdns thread has its own backend. The
// answers follow authority.AnswerBackend; the daemon's packet cache (20 s
// positive, 60 s negative) sits in front unless packet_cache = false.

func init() { registerModuleBinding("lua2", openLua2) }

// lua2ZoneRefresh is how often dns_get_all_domains is asked again (pdns
// zone-cache-refresh-interval).
const lua2ZoneRefresh = 300 * time.Second

const lua2AXFR = 252

type lua2Options struct {
	filename     string
	queryLogging bool
	concurrent   bool
	packetCache  bool
	version      string // pdns version-string: full (default), anonymous, powerdns, or the text
	serverID     string // pdns server-id: the host name by default; disabled
}

// lua2ChaosStrings returns the CHAOS TXT answers of opt (authority's
// Version and ServerID): "full" gives this program's version, "anonymous"
// nothing (SERVFAIL, as pdns), "powerdns" pdns's anonymous text; a server
// id of "disabled" nothing (REFUSED), "" the host name.
func lua2ChaosStrings(opt lua2Options, full string) (version, id string) {
	switch opt.version {
	case "", "full":
		version = full
	case "anonymous":
	case "powerdns":
		version = "Served by PowerDNS - https://www.powerdns.com/"
	default:
		version = opt.version
	}
	switch opt.serverID {
	case "":
		id, _ = os.Hostname()
	case "disabled":
	default:
		id = opt.serverID
	}
	return version, id
}

// lua2Module is one configuration generation's lua2 backend: a state per
// worker.
type lua2Module struct {
	mu       sync.Mutex
	opt      lua2Options
	set      bool
	states   []*lua2State
	budget   time.Duration
	log      *daemon.Logger
	errLog   logOnce
	warnLog  logOnce
	zones    atomic.Pointer[authority.BackendZones]
	zonesAt  atomic.Int64 // unix nanoseconds of the last dns_get_all_domains
	allDoms  bool         // the script has dns_get_all_domains
	stop     chan struct{}
	stopOnce sync.Once
	keys     lua2Keys // zones' keys (live signing)
	version  string   // CHAOS TXT answers (lua2ChaosStrings)
	serverID string
	layer    *lua2Layer
	pktLayer *lua2PacketLayer
}

// lua2State is one worker's script state.
type lua2State struct {
	m        *lua2Module
	mu       sync.Mutex
	L        *lua.LState
	fns      map[string]*lua.LFunction
	intr     *luabind.Interrupt
	bmu      sync.Mutex   // orders the watchdog's Fire against the end of a call
	deadline atomic.Int64 // unix nanoseconds; 0: no call running
	dnssec   bool         // dns_dnssec: zones with keys are signed on line
	qtypes   map[uint16]*lua.LUserData
	rdata    map[string][]byte // parsed contents (type + content)
	names    map[string][]byte // parsed record names
	rets     [1]lua.LValue     // call's results (no allocation per call)
	checks   uint32            // results converted (every 64th is checked for unknown keys)
}

var lua2Funcs = []string{"dns_lookup", "dns_list", "dns_get_domaininfo", "dns_get_all_domains",
	"dns_get_domain_metadata", "dns_get_all_domain_metadata", "dns_get_domain_keys",
	"dns_get_before_and_after_names_absolute", "dns_set_notified", "dns_init", "dns_deinit"}

func openLua2(L *lua.LState, env *Env) lua.LValue {
	m := env.Shared("lua2", func() any {
		m := &lua2Module{log: env.Log(), stop: make(chan struct{})}
		m.layer = &lua2Layer{m: m}
		m.pktLayer = &lua2PacketLayer{m: m}
		return m
	}).(*lua2Module)
	env.AddLayer(m.pktLayer)
	env.AddLayer(m.layer)
	M := L.NewTable()
	M.RawSetString("config", L.NewFunction(func(L *lua.LState) int {
		cfg, _ := L.Get(1).(*lua.LTable)
		if cfg == nil {
			if L.Get(1) == lua.LNil {
				return 0
			}
			L.ArgError(1, "table expected")
		}
		opt := lua2Options{packetCache: true}
		var bad error
		cfg.ForEach(func(k, v lua.LValue) {
			switch k.String() {
			case "filename":
				opt.filename = v.String()
			case "query_logging":
				opt.queryLogging = lua.LVAsBool(v)
			case "concurrent":
				opt.concurrent = lua.LVAsBool(v)
			case "packet_cache":
				opt.packetCache = lua.LVAsBool(v)
			case "version_string":
				opt.version = v.String()
			case "server_id":
				opt.serverID = v.String()
			default:
				bad = fmt.Errorf("lua2: unknown option %q", k.String())
			}
		})
		if bad != nil {
			L.RaiseError("%v", bad)
		}
		if opt.filename == "" {
			L.RaiseError("lua2: filename is required")
		}
		if err := m.configure(env, opt); err != nil {
			L.RaiseError("%v", err)
		}
		return 0
	}))
	return M
}

// configure loads the script into this worker's state and adds the layers.
func (m *lua2Module) configure(env *Env, opt lua2Options) error {
	m.mu.Lock()
	if m.set && m.opt != opt {
		m.mu.Unlock()
		return errors.New("lua2: every worker must be configured alike")
	}
	first := !m.set
	m.opt, m.set = opt, true
	if first {
		m.version, m.serverID = lua2ChaosStrings(opt, env.gen.ld.o.Version)
	}
	m.budget = env.w.budget
	if first && opt.packetCache {
		m.pktLayer.PacketLayer.C = cache.NewPacketCache(cache.PacketOptions{})
	}
	m.mu.Unlock()
	var L *lua.LState
	if mk := env.gen.ld.o.NewState; mk != nil {
		L = mk()
	} else {
		L = lua.NewState()
	}
	st := &lua2State{m: m, L: L, fns: map[string]*lua.LFunction{}, qtypes: map[uint16]*lua.LUserData{}, rdata: map[string][]byte{}, names: map[string][]byte{}}
	if err := st.load(opt.filename); err != nil {
		L.Close()
		return err
	}
	m.mu.Lock()
	for len(m.states) <= env.Worker() {
		m.states = append(m.states, nil)
	}
	old := m.states[env.Worker()]
	m.states[env.Worker()] = st
	m.mu.Unlock()
	if old != nil {
		old.close()
	}
	if first {
		go m.watch()
	}
	if env.Worker() == 0 {
		if err := m.refreshZones(st); err != nil {
			return err
		}
	}
	return nil
}

// load runs the script and checks its functions as pdns does at start.
func (st *lua2State) load(filename string) error {
	L := st.L
	openAuthLua4(L, func(level int, msg string) { st.m.pdnslog(level, msg) })
	st.intr = luabind.NewInterrupt()
	L.SetContext(st.intr)
	if err := L.DoFile(filename); err != nil {
		return fmt.Errorf("lua2: %s", firstLine(host.FormatError(err)))
	}
	for _, n := range lua2Funcs {
		if f, ok := L.GetGlobal(n).(*lua.LFunction); ok {
			st.fns[n] = f
		}
	}
	if st.fns["dns_lookup"] == nil {
		return errors.New("lua2: dns_lookup missing")
	}
	if lua.LVAsBool(L.GetGlobal("dns_dnssec")) {
		if st.fns["dns_get_domain_metadata"] == nil {
			return errors.New("lua2: dns_dnssec is true but dns_get_domain_metadata is missing")
		}
		if st.fns["dns_get_before_and_after_names_absolute"] == nil {
			return errors.New("lua2: dns_dnssec is true but dns_get_before_and_after_names_absolute is missing")
		}
		st.dnssec = true
	}
	if f := st.fns["dns_init"]; f != nil {
		if _, err := st.call("dns_init", f, 0); err != nil {
			return err
		}
	}
	return nil
}

func (st *lua2State) close() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if f := st.fns["dns_deinit"]; f != nil {
		if _, err := st.call("dns_deinit", f, 0); err != nil {
			st.m.log.Warnf("system", "lua2: %v", err)
		}
	}
	st.L.Close()
}

// pdnslog writes a script's log line (default level Warning).
func (m *lua2Module) pdnslog(level int, msg string) {
	switch {
	case level <= 3:
		m.log.Errorf("system", "lua2: %s", msg)
	case level == 4:
		m.log.Warnf("system", "lua2: %s", msg)
	case level == 5:
		m.log.Noticef("system", "lua2: %s", msg)
	case level == 6:
		m.log.Infof("system", "lua2: %s", msg)
	default:
		m.log.Debugf("system", "lua2: %s", msg)
	}
}

// errLua2Budget stops a script call over the Lua CPU budget.
var errLua2Budget = errors.New("Lua CPU budget of the request exceeded")

// watch interrupts script calls past their deadline.
func (m *lua2Module) watch() {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-m.stop:
			return
		}
		now := time.Now().UnixNano()
		m.mu.Lock()
		for _, st := range m.states {
			if st == nil {
				continue
			}
			st.bmu.Lock()
			if d := st.deadline.Load(); d != 0 && now > d {
				st.deadline.Store(0)
				st.intr.Fire(errLua2Budget) // only while a call runs: call clears the deadline under bmu
			}
			st.bmu.Unlock()
		}
		m.mu.Unlock()
	}
}

// call runs a script function with the state held by the caller, under
// the Lua CPU budget. The results are valid until the next call.
func (st *lua2State) call(name string, f *lua.LFunction, nret int, args ...lua.LValue) ([]lua.LValue, error) {
	L := st.L
	if b := st.m.budget; b > 0 {
		st.deadline.Store(time.Now().Add(b).UnixNano())
	}
	top := L.GetTop()
	err := L.CallByParam(lua.P{Fn: f, NRet: nret, Protect: true}, args...)
	st.bmu.Lock()
	st.deadline.Store(0)
	over := st.intr.Err() != nil
	if over {
		st.intr.Reset()
	}
	st.bmu.Unlock()
	if err != nil {
		L.SetTop(top)
		if over {
			return nil, fmt.Errorf("%s: %w", name, errLua2Budget)
		}
		return nil, fmt.Errorf("%s: %s", name, firstLine(host.FormatError(err)))
	}
	rets := st.rets[:0]
	if nret > len(st.rets) {
		rets = make([]lua.LValue, 0, nret)
	}
	for i := range nret {
		rets = append(rets, L.Get(top+1+i))
	}
	L.SetTop(top)
	return rets, nil
}

func (st *lua2State) qtype(code uint16) *lua.LUserData {
	ud := st.qtypes[code]
	if ud == nil {
		ud = pushQType(st.L, code)
		st.qtypes[code] = ud
	}
	return ud
}

// lua2Backend is the authority.Backend of one query.
type lua2Backend struct {
	st      *lua2State
	perCall bool // concurrent: the state is taken per call, not per query
}

func (b *lua2Backend) Lookup(qtype uint16, qname []byte, id int64, ctx *authority.LookupContext) ([]authority.BackendRecord, error) {
	st := b.st
	if b.perCall {
		st.mu.Lock()
		defer st.mu.Unlock()
	}
	L := st.L
	var ct *lua.LTable
	if ctx != nil {
		ct = L.CreateTable(0, 2)
		var src lua.LString
		if ctx.Source.IsValid() {
			src = lua.LString(ctx.Source.String())
			ct.RawSetString("source_address", src)
		}
		if ctx.RealSource.IsValid() {
			if ctx.RealSource != ctx.Source {
				src = lua.LString(ctx.RealSource.String())
			}
			ct.RawSetString("real_source_address", src)
		}
	} else {
		ct = L.CreateTable(0, 0)
	}
	rets, err := st.call("dns_lookup", st.fns["dns_lookup"], 1, st.qtype(qtype), pushDNCopy(L, qname), lua.LNumber(id), ct)
	if st.m.opt.queryLogging {
		st.m.log.Noticef("system", "lua2: dns_lookup(%s, %s, %d) -> %v", qtypeName(qtype), dnText(qname), id, lua2Show(rets, err))
	}
	if err != nil {
		return nil, err
	}
	return st.records("dns_lookup", rets[0])
}

func lua2Show(rets []lua.LValue, err error) string {
	if err != nil {
		return err.Error()
	}
	if len(rets) == 0 {
		return "nothing"
	}
	if t, ok := rets[0].(*lua.LTable); ok {
		return fmt.Sprintf("%d records", t.Len())
	}
	return rets[0].String()
}

// records converts a lookup or list result (lua2api2's conversion). The
// array is read by index and each record by its known keys, which
// allocates nothing; a result with non-array keys is an error (checked in
// full when the array part is empty, else on every 64th result), and
// unknown record keys are warned about on every 64th result (pdns warns
// and ignores them).
func (st *lua2State) records(fn string, v lua.LValue) ([]authority.BackendRecord, error) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("%s: returned %s, want an array of records", fn, v.Type())
	}
	st.checks++
	check := st.checks%64 == 1
	n := t.Len()
	if n == 0 || check {
		var bad error
		count := 0
		t.ForEach(func(k, _ lua.LValue) {
			count++
			if _, ok := k.(lua.LNumber); !ok && bad == nil {
				bad = fmt.Errorf("%s: result has key %q: want an array of records", fn, k.String())
			}
		})
		if bad != nil {
			return nil, bad
		}
		if count != n {
			return nil, fmt.Errorf("%s: result is not an array of records (%d entries, %d in sequence)", fn, count, n)
		}
	}
	if n == 0 {
		return nil, nil
	}
	out := make([]authority.BackendRecord, 0, n)
	for i := 1; i <= n; i++ {
		e := t.RawGetInt(i)
		et, ok := e.(*lua.LTable)
		if !ok {
			return nil, fmt.Errorf("%s: record %d is a %s, want a table", fn, i, e.Type())
		}
		r, err := st.record(fn, et, check)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// lua2RecordKeys are the keys of a record table pdns reads.
var lua2RecordKeys = map[string]bool{"name": true, "type": true, "content": true, "ttl": true, "domain_id": true,
	"auth": true, "last_modified": true, "scopeMask": true}

func (st *lua2State) record(fn string, t *lua.LTable, check bool) (authority.BackendRecord, error) {
	r := authority.BackendRecord{Auth: true, DomainID: -1}
	parseErr := func(key string, v lua.LValue) error {
		return fmt.Errorf("%s: unable to parse %s value %q (%s)", fn, key, v.String(), v.Type())
	}
	if check {
		t.ForEach(func(k, _ lua.LValue) {
			if ks, ok := k.(lua.LString); ok && lua2RecordKeys[string(ks)] {
				return
			}
			if ok, _ := st.m.warnLog.allow(); ok {
				st.m.log.Warnf("system", "lua2: %s: unsupported key '%s' in lookup or list result", fn, k.String())
			}
		})
	}
	switch x := t.RawGetString("name").(type) {
	case lua.LString:
		w, err := st.name(string(x))
		if err != nil {
			return r, fmt.Errorf("%s: bad name %q: %v", fn, string(x), err)
		}
		r.Name = w
	case *lua.LUserData:
		d, ok := x.Value.(*dnName)
		if !ok || d.w == nil {
			return r, parseErr("name", x)
		}
		r.Name = d.w
	case *lua.LNilType:
	default:
		return r, parseErr("name", x)
	}
	switch x := t.RawGetString("type").(type) {
	case lua.LString:
		r.Type = qtypeCode(string(x))
	case lua.LNumber:
		r.Type = uint16(x)
	case *lua.LUserData:
		q, ok := x.Value.(*qType)
		if !ok {
			return r, parseErr("type", x)
		}
		r.Type = q.code
	case *lua.LNilType:
	default:
		return r, parseErr("type", x)
	}
	var content string
	switch x := t.RawGetString("content").(type) {
	case lua.LString:
		content = string(x)
	case lua.LNumber:
		content = x.String()
	case *lua.LNilType:
	default:
		return r, parseErr("content", x)
	}
	for _, key := range [...]string{"ttl", "domain_id", "last_modified", "scopeMask"} {
		v := t.RawGetString(key)
		if v == lua.LNil {
			continue
		}
		n, ok := v.(lua.LNumber)
		if !ok {
			return r, parseErr(key, v)
		}
		switch key {
		case "ttl":
			r.TTL = uint32(int64(n))
		case "domain_id":
			r.DomainID = int64(n)
		case "scopeMask":
			r.ScopeMask = int(n)
		}
	}
	switch x := t.RawGetString("auth").(type) {
	case lua.LBool:
		r.Auth = bool(x)
	case *lua.LNilType:
	default:
		return r, parseErr("auth", x)
	}
	if r.Name == nil {
		return r, fmt.Errorf("%s: record without name", fn)
	}
	if r.Type == 0 {
		return r, fmt.Errorf("%s: record of %s has an unknown type", fn, dnText(r.Name))
	}
	rd, err := st.parseContent(r.Type, content)
	if err != nil {
		return r, fmt.Errorf("%s: bad content %q of %s %s: %v", fn, content, dnText(r.Name), qtypeName(r.Type), err)
	}
	r.RData = rd
	return r, nil
}

// name parses a record's name string, remembering recent ones.
func (st *lua2State) name(s string) ([]byte, error) {
	if w, ok := st.names[s]; ok {
		return w, nil
	}
	w, err := parseDN(s)
	if err != nil {
		return nil, err
	}
	if len(st.names) > 10000 {
		clear(st.names)
	}
	st.names[s] = w
	return w, nil
}

// parseContent turns presentation content into wire RDATA; names in it are
// absolute with or without a trailing dot, as pdns reads them.
func (st *lua2State) parseContent(t uint16, content string) ([]byte, error) {
	switch t {
	case dnsmsg.TypeA, dnsmsg.TypeAAAA:
		a, err := netip.ParseAddr(strings.TrimSpace(content))
		if err != nil || a.Is4() != (t == dnsmsg.TypeA) || a.Zone() != "" {
			return nil, errors.New("not an address of that family")
		}
		return a.AsSlice(), nil
	}
	key := string(rune(t)) + content
	if rd, ok := st.rdata[key]; ok {
		return rd, nil
	}
	pt, rd, err := dnsmsg.ParseRData(qtypeName(t) + " " + content)
	if err != nil {
		return nil, err
	}
	if pt != t {
		return nil, errors.New("type mismatch")
	}
	if len(st.rdata) > 10000 {
		clear(st.rdata)
	}
	st.rdata[key] = rd
	return rd, nil
}

// refreshZones asks dns_get_all_domains for the zone list (pdns's zone
// cache); without the function zones are found by SOA lookups.
func (m *lua2Module) refreshZones(st *lua2State) error {
	f := st.fns["dns_get_all_domains"]
	if f == nil {
		return nil
	}
	m.allDoms = true
	rets, err := st.call("dns_get_all_domains", f, 1)
	if err != nil {
		return err
	}
	m.zonesAt.Store(time.Now().UnixNano())
	t, ok := rets[0].(*lua.LTable)
	if !ok {
		if rets[0] == lua.LFalse || rets[0] == lua.LNil {
			m.zones.Store(nil)
			return nil
		}
		return fmt.Errorf("dns_get_all_domains: returned %s", rets[0].Type())
	}
	var ds []authority.BackendDomain
	var bad error
	t.ForEach(func(k, v lua.LValue) {
		var w []byte
		switch x := k.(type) {
		case *lua.LUserData:
			if d, ok := x.Value.(*dnName); ok {
				w = d.w
			}
		case lua.LString:
			w, _ = parseDN(string(x))
		}
		if w == nil {
			bad = fmt.Errorf("dns_get_all_domains: key %s is not a DNSName", k.String())
			return
		}
		d := authority.BackendDomain{Name: w, ID: -1, Kind: "NATIVE"}
		if it, ok := v.(*lua.LTable); ok {
			lua2DomainInfo(it, &d)
		}
		ds = append(ds, d)
	})
	if bad != nil {
		return bad
	}
	m.zones.Store(authority.NewBackendZones(ds))
	return nil
}

func lua2DomainInfo(t *lua.LTable, d *authority.BackendDomain) {
	num := func(k string) (int64, bool) {
		n, ok := t.RawGetString(k).(lua.LNumber)
		return int64(n), ok
	}
	if n, ok := num("id"); ok {
		d.ID = n
	}
	if n, ok := num("serial"); ok {
		d.Serial = uint32(n)
	}
	if n, ok := num("last_check"); ok {
		d.LastCheck = n
	}
	if n, ok := num("notified_serial"); ok {
		d.NotifiedSerial = n
	}
	if s, ok := t.RawGetString("kind").(lua.LString); ok {
		d.Kind = string(s)
	}
	if v := t.RawGetString("account"); v != lua.LNil {
		d.Account = v.String()
	}
	if ms, ok := t.RawGetString("masters").(*lua.LTable); ok {
		ms.ForEach(func(_, v lua.LValue) { d.Masters = append(d.Masters, v.String()) })
	}
}

// lua2Layer answers from the script in Begin.
type lua2Layer struct{ m *lua2Module }

// Name is "lua2".
func (l *lua2Layer) Name() string { return "lua2" }

// Close calls dns_deinit in each state (the generation retired).
func (l *lua2Layer) Close() error {
	m := l.m
	m.stopOnce.Do(func() { close(m.stop) })
	m.mu.Lock()
	states := m.states
	m.states = nil
	m.mu.Unlock()
	for _, st := range states {
		if st != nil {
			st.close()
		}
	}
	return nil
}

func (l *lua2Layer) state(r *daemon.Request) *lua2State {
	m := l.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.states) == 0 {
		return nil
	}
	return m.states[r.Worker%len(m.states)]
}

// Begin answers r from the script; names outside every zone pass on.
func (l *lua2Layer) Begin(r *daemon.Request, s daemon.State) daemon.State {
	if s&(daemon.Done|daemon.Fail) != 0 || r.Query.Opcode() != 0 {
		return s
	}
	qname, qtype, qclass := r.QName(), r.QType(), r.QClass() // valid during the request
	if qname == nil {
		return s
	}
	m := l.m
	st := l.state(r)
	if st == nil {
		return s
	}
	edns, size := r.EDNS()
	q := authority.BackendQuery{QName: qname, QType: qtype, QClass: qclass, TCP: r.Proto.Stream(), DO: r.DO(),
		EDNS: edns, EDNSSize: size, Ctx: authority.LookupContext{Source: r.Client.Addr(), RealSource: r.Client.Addr()}}
	if edns {
		q.OPTSize = 11
	}
	if qclass == 3 { // CHAOS: version.bind, id.server (no script call)
		q.Version, q.ServerID = m.version, m.serverID
	}
	be := &lua2Backend{st: st, perCall: m.opt.concurrent}
	if !m.opt.concurrent {
		st.mu.Lock()
	}
	if m.allDoms && time.Now().UnixNano()-m.zonesAt.Load() > int64(lua2ZoneRefresh) {
		if m.opt.concurrent {
			st.mu.Lock()
		}
		if err := m.refreshZones(st); err != nil {
			m.zonesAt.Store(time.Now().UnixNano()) // keep the last list; try again later
			if ok, _ := m.errLog.allow(); ok {
				m.log.Errorf("system", "lua2: %v (the last zone list stays)", err)
			}
		}
		if m.opt.concurrent {
			st.mu.Unlock()
		}
	}
	if m.allDoms {
		q.Zones = m.zones.Load()
		if q.Zones == nil {
			q.Zones = authority.NewBackendZones(nil)
		}
	}
	var res authority.BackendResult
	var err error
	if qtype == lua2AXFR && q.TCP {
		if ip := r.Client.Addr().Unmap(); !ip.IsLoopback() {
			// pdns allow-axfr-ips: 127.0.0.0/8 and ::1 by default
			res = authority.BackendResult{Rcode: daemon.RcodeRefused}
		} else {
			res, err = l.axfr(be, &q, r)
		}
	} else {
		res, err = authority.AnswerBackend(be, &q, r.Answer)
	}
	if !m.opt.concurrent {
		st.mu.Unlock()
	}
	if err != nil {
		l.fail(r, err)
		return daemon.Fail
	}
	if res.NoZone {
		r.ResetAnswer()
		if r.MayRecurse() {
			return s // not ours: other layers, forwarding or recursion
		}
		r.SetRcode(daemon.RcodeRefused)
		r.Answer.Buf[3] &^= 0x80
		return daemon.Done
	}
	a := r.Answer
	if res.AA {
		a.Buf[2] |= 0x04
	}
	if res.TC {
		a.Buf[2] |= 0x02
	}
	a.Buf[3] &^= 0x80 // no RA from an authoritative server
	r.SetRcode(res.Rcode)
	r.Cacheable = !res.ScopeMask && !res.TC && qtype != lua2AXFR
	return daemon.Done
}

// fail logs why a query got SERVFAIL, at most once a second.
func (l *lua2Layer) fail(r *daemon.Request, err error) {
	r.ResetAnswer()
	r.SetEDE(daemon.EDEOther, "lua2 backend failed")
	if ok, lost := l.m.errLog.allow(); ok {
		if lost > 0 {
			l.m.log.Errorf("system", "lua2: %v (%d more errors suppressed)", err, lost)
		} else {
			l.m.log.Errorf("system", "lua2: %v", err)
		}
	}
}

// axfr answers an AXFR over a stream from dns_list: the SOA, every other
// record, the SOA; in one message, or several when the zone needs them.
func (l *lua2Layer) axfr(be *lua2Backend, q *authority.BackendQuery, r *daemon.Request) (authority.BackendResult, error) {
	a := r.Answer
	res := authority.BackendResult{}
	zone := dnsmsg.LowerName(q.QName)
	st := be.st
	f := st.fns["dns_list"]
	soaRecs, err := be.Lookup(dnsmsg.TypeSOA, zone, -1, nil)
	if err != nil {
		return res, err
	}
	var soa *authority.BackendRecord
	for i := range soaRecs {
		if soaRecs[i].Type == dnsmsg.TypeSOA {
			soa = &soaRecs[i]
			break
		}
	}
	if soa == nil || f == nil {
		if f == nil && soa != nil {
			st.m.log.Errorf("system", "lua2: dns_list missing - cannot do AXFR")
		}
		res.Rcode = 9 // NOTAUTH
		return res, nil
	}
	id := soa.DomainID
	if be.perCall {
		st.mu.Lock()
	}
	rets, err := st.call("dns_list", f, 1, pushDN(st.L, zone), lua.LNumber(id))
	var recs []authority.BackendRecord
	if err == nil {
		if rets[0] == lua.LFalse || rets[0] == lua.LNil {
			if be.perCall {
				st.mu.Unlock()
			}
			res.Rcode = 9
			return res, nil
		}
		recs, err = st.records("dns_list", rets[0])
	}
	if be.perCall {
		st.mu.Unlock()
	}
	if err != nil {
		return res, err
	}
	a.Begin(dnsmsg.SectionAN)
	rrset := func(r *authority.BackendRecord) *dnsmsg.RRSet {
		return &dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: r.Name}, Type: r.Type, Class: 1, TTL: r.TTL, RData: [][]byte{r.RData}}
	}
	all := make([]*authority.BackendRecord, 0, len(recs)+2)
	all = append(all, soa)
	for i := range recs {
		if recs[i].Type != dnsmsg.TypeSOA {
			all = append(all, &recs[i])
		}
	}
	all = append(all, soa)
	res.AA = true
	fits := true
	for _, rec := range all {
		if !a.Put(rrset(rec), true) {
			fits = false
			break
		}
	}
	if fits {
		return res, nil
	}
	// several messages (RFC 5936 §2.2), each with the question
	var hdr [4]byte
	copy(hdr[:], a.Buf[:4])
	hdr[2] |= 0x84 // QR, AA
	qn, qt, qc, _ := r.Query.Question()
	var msgs [][]byte
	var p *dnsmsg.Packet
	start := func() {
		p = dnsmsg.NewPacket(65535)
		p.SetQuestion(qn, qt, qc)
		copy(p.Buf[:4], hdr[:])
		p.Begin(dnsmsg.SectionAN)
	}
	start()
	for _, rec := range all {
		if p.Put(rrset(rec), true) {
			continue
		}
		if p.Count(dnsmsg.SectionAN) == 0 {
			return res, errors.New("dns_list: a record does not fit an AXFR message")
		}
		msgs = append(msgs, append([]byte{}, p.Bytes()...))
		start()
		if !p.Put(rrset(rec), true) {
			return res, errors.New("dns_list: a record does not fit an AXFR message")
		}
	}
	msgs = append(msgs, append([]byte{}, p.Bytes()...))
	if !r.SetMessages(msgs) {
		return res, errors.New("dns_list: the zone does not fit one message on this transport")
	}
	return res, nil
}

// lua2PacketLayer is the packet cache in front of the script; answers from
// it carry no RA, as the script's own.
type lua2PacketLayer struct {
	cache.PacketLayer
	m *lua2Module
}

// Name is "lua2.pktcache".
func (l *lua2PacketLayer) Name() string { return "lua2.pktcache" }

// Begin answers from the cache.
func (l *lua2PacketLayer) Begin(r *daemon.Request, s daemon.State) daemon.State {
	if l.C == nil {
		return s
	}
	st := l.PacketLayer.Begin(r, s)
	if st&daemon.Done != 0 && r.Cached {
		r.Answer.Buf[3] &^= 0x80
	}
	return st
}

// Finish stores the script's answers.
func (l *lua2PacketLayer) Finish(r *daemon.Request, s daemon.State) daemon.State {
	if l.C == nil {
		return s
	}
	return l.PacketLayer.Finish(r, s)
}

// Consume notes ECS scopes of upstream answers.
func (l *lua2PacketLayer) Consume(r *daemon.Request, s daemon.State, a *dnsmsg.Packet) daemon.State {
	if l.C == nil {
		return s
	}
	return l.PacketLayer.Consume(r, s, a)
}

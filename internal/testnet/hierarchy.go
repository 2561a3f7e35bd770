package testnet

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Variant names one case the hierarchy serves: a three-level name under the rig's own root,
// secure, insecure or broken in one way. Hierarchy.Names maps each to its name.
type Variant string

// The variants BuildHierarchy builds. Every name but SecureNSEC3's sits under example.
// (RSASHA256, NSEC3 with opt-out), which sits under the root (ECDSAP256SHA256, NSEC).
const (
	Secure       Variant = "secure"     // www.secure.example.: ECDSAP256SHA256, NSEC
	SecureNSEC3  Variant = "secure3"    // www.secure.lab.: RSASHA256 KSK+ZSK, NSEC3; lab. is ECDSA, salted NSEC3
	Insecure     Variant = "insecure"   // www.insecure.example.: unsigned; no DS, covered by an opt-out NSEC3
	Expired      Variant = "expired"    // www.expired.example.: every RRSIG expired 30 days ago
	NotYetValid  Variant = "future"     // www.future.example.: every RRSIG incepts in 30 days
	DSMismatch   Variant = "dsmismatch" // www.dsmismatch.example.: the parent's DS is for a key the zone lacks
	Stripped     Variant = "stripped"   // www.stripped.example.: signed, then every RRSIG removed; DS in the parent
	Lame         Variant = "lame"       // www.lame.example.: NS is a server that does not serve the zone (REFUSED)
	Unresponsive Variant = "dead"       // www.dead.example.: NS is a socket that reads queries and never answers
	TCPOnly      Variant = "tcponly"    // www.tcponly.example.: signed; its knotd answers UDP with TC=1 only
	DSDigest     Variant = "dsdigest"   // www.dsdigest.example.: the parent's DS names the zone's KSK with a wrong digest
	ForgedNSEC   Variant = "forged"     // www.forged.example.: removed after signing; the NSEC before it widened to deny it, RRSIG kept
	NSEC3Iter    Variant = "nsec3iter"  // www.nsec3iter.example.: from *.nsec3iter.example.; NSEC3 with NSEC3IterHigh iterations
)

// NSEC3IterHigh is the NSEC3 iteration count of NSEC3Iter's zone: above the RFC 9276 §3.2 caps
// of validators (150 in Unbound, BIND 9.18 and Knot Resolver 5, 50 in newer ones), so its
// proofs (the wildcard answer's, its NXDOMAINs) make answers insecure, with EDE 27.
const NSEC3IterHigh = 200

// Variants lists every Variant in a fixed order.
var Variants = []Variant{Secure, SecureNSEC3, Insecure, Expired, NotYetValid, DSMismatch, Stripped,
	Lame, Unresponsive, TCPOnly, DSDigest, ForgedNSEC, NSEC3Iter}

// Names besides the variants' www.<zone>, for negative and wildcard answers: every signed
// zone has no nx.<zone> (NXDOMAIN) and no AAAA at www.<zone> (NODATA); secure.example.
// (NSEC) and secure.lab. (NSEC3) have a wildcard *.wild.<zone> A 192.0.2.1, so
// x.wild.<zone> is a wildcard answer and x.wild.<zone> AAAA a wildcard NODATA.
const WildcardLabel = "wild"

// The roles of the hierarchy's servers, keys of Hierarchy.Servers.
const (
	RoleRoot    = "root"     // knotd serving "."
	RoleExample = "example"  // knotd serving example.
	RoleLab     = "lab"      // nsd serving lab.
	RoleSLDKnot = "sld-knot" // knotd serving every second-level zone under example.
	RoleSLDNSD  = "sld-nsd"  // nsd serving secure.lab.; the lame delegation points here too
	RoleTCPOnly = "tcponly"  // knotd with mod-noudp serving tcponly.example.
)

// RootNS is the name of the hierarchy's root server, the one name of its root hints.
const RootNS = "ns.root."

// HierarchyOptions tunes BuildHierarchy. The zero value is the usual hierarchy.
type HierarchyOptions struct {
	Now      time.Time     // the time signatures are made around; zero: time.Now()
	Validity time.Duration // how long good signatures last from an hour before Now; zero: 30 days
}

// HierarchyZone is one zone of the hierarchy as written to disk.
type HierarchyZone struct {
	Name    string         // origin, fully qualified
	Variant Variant        // the case it carries ("" for the root and the TLDs)
	Role    string         // the server that serves it; "" for none (lame, unresponsive)
	NS      netip.AddrPort // the address of its name server, as the parent's glue gives it
	File    string         // the zone file served ("" when none)
	Signed  bool           // RRSIGs were made for it (even if later stripped)
	Keys    []Key          // the keys it is signed with
	DS      []string       // the DS RRs its parent publishes (a foreign key's for DSMismatch)
}

// Hierarchy is a DNS tree on loopback addresses: a root, the TLDs example. and lab. and their
// second-level zones, each level on servers of its own, signed with ldns tools.
type Hierarchy struct {
	Dir        string                   // where zones, keys and anchors are written
	Roots      []netip.AddrPort         // root server addresses (root hints for RootNS)
	AnchorDS   string                   // path: the root KSK's DS RR in zone-file form (kresd trust_anchors.add_file)
	AnchorBind string                   // path: a BIND trust-anchors { . static-ds ...; }; clause (delv -a)
	RootDS     string                   // the root KSK's DS RR, one line (kresd trust_anchors.add)
	Names      map[Variant]string       // the name of each variant (www.<zone>)
	Zones      map[string]HierarchyZone // by origin
	Servers    map[string]*Peer         // by role (RoleRoot, ...); nil before the servers are started
	Dead       netip.AddrPort           // the never-answering socket Unresponsive's NS points at
}

// roles lists the server roles in the order they start.
var roles = []string{RoleRoot, RoleExample, RoleLab, RoleSLDKnot, RoleSLDNSD, RoleTCPOnly}

// hierarchyAddrs are the addresses a hierarchy uses: one per role and the dead socket.
type hierarchyAddrs struct {
	roles map[string]netip.AddrPort
	dead  netip.AddrPort
}

// hzone is a zone being built: its place in the tree and how it is signed and broken.
type hzone struct {
	HierarchyZone
	parent *hzone
	kids   []*hzone
	alg    Algorithm // "" for an unsigned zone
	split  bool      // a KSK and a ZSK rather than one combined key
	sign   SignOptions
	extra  []string // records beyond SOA, NS and the name server's address
	served bool     // written and loaded by a rig server
}

// nsName is the name of z's name server: ns.<zone>, or RootNS for the root.
func (z *hzone) nsName() string {
	if z.Name == "." {
		return RootNS
	}
	return "ns." + z.Name
}

// BuildHierarchy writes, signs and serves the hierarchy in a directory of t's, and stops its
// servers when t ends. It must run inside an Isolate()d test: it binds 127.0.0.x:53.
func BuildHierarchy(t testing.TB, o HierarchyOptions) *Hierarchy {
	t.Helper()
	requireNamespace(t, "the hierarchy")
	a := hierarchyAddrs{roles: map[string]netip.AddrPort{}}
	for _, r := range roles {
		a.roles[r] = FreeAddr(t)
	}
	a.dead = FreeAddr(t)
	h := writeHierarchy(t, t.TempDir(), a, o)
	h.serve(t, a)
	return h
}

// writeHierarchy generates and signs every zone of the hierarchy in dir and writes the trust
// anchors, without starting anything.
func writeHierarchy(t testing.TB, dir string, a hierarchyAddrs, o HierarchyOptions) *Hierarchy {
	t.Helper()
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Validity == 0 {
		o.Validity = 30 * 24 * time.Hour
	}
	good := SignOptions{Inception: o.Now.Add(-time.Hour), Expiration: o.Now.Add(o.Validity)}
	day := 24 * time.Hour

	zone := func(parent *hzone, name string, v Variant, role string, ns netip.AddrPort, alg Algorithm) *hzone {
		z := &hzone{HierarchyZone: HierarchyZone{Name: name, Variant: v, Role: role, NS: ns},
			parent: parent, alg: alg, sign: good, served: role != ""}
		if parent != nil {
			parent.kids = append(parent.kids, z)
		}
		if v != "" {
			z.extra = []string{"www." + name + " A 192.0.2.1", "www." + name + ` TXT "` + string(v) + `"`}
		}
		return z
	}
	root := zone(nil, ".", "", RoleRoot, a.roles[RoleRoot], ECDSAP256SHA256)
	root.split = true
	example := zone(root, "example.", "", RoleExample, a.roles[RoleExample], RSASHA256)
	example.split = true
	example.sign.NSEC3, example.sign.OptOut = true, true
	lab := zone(root, "lab.", "", RoleLab, a.roles[RoleLab], ECDSAP256SHA256)
	lab.sign.NSEC3, lab.sign.Salt = true, "aabbccdd"

	sld := a.roles[RoleSLDKnot]
	secure := zone(example, "secure.example.", Secure, RoleSLDKnot, sld, ECDSAP256SHA256)
	secure.extra = append(secure.extra, "*."+WildcardLabel+".secure.example. A 192.0.2.1")
	secure3 := zone(lab, "secure.lab.", SecureNSEC3, RoleSLDNSD, a.roles[RoleSLDNSD], RSASHA256)
	secure3.split, secure3.sign.NSEC3 = true, true
	secure3.extra = append(secure3.extra, "*."+WildcardLabel+".secure.lab. A 192.0.2.1")
	zone(example, "insecure.example.", Insecure, RoleSLDKnot, sld, "")
	zone(example, "expired.example.", Expired, RoleSLDKnot, sld, ECDSAP256SHA256).sign =
		SignOptions{Inception: o.Now.Add(-60 * day), Expiration: o.Now.Add(-30 * day)}
	zone(example, "future.example.", NotYetValid, RoleSLDKnot, sld, ECDSAP256SHA256).sign =
		SignOptions{Inception: o.Now.Add(30 * day), Expiration: o.Now.Add(60 * day)}
	zone(example, "dsmismatch.example.", DSMismatch, RoleSLDKnot, sld, ECDSAP256SHA256)
	zone(example, "stripped.example.", Stripped, RoleSLDKnot, sld, ECDSAP256SHA256)
	// Lame: the glue names the nsd that serves secure.lab. only; it answers REFUSED.
	zone(example, "lame.example.", Lame, "", a.roles[RoleSLDNSD], "")
	zone(example, "dead.example.", Unresponsive, "", a.dead, "")
	zone(example, "tcponly.example.", TCPOnly, RoleTCPOnly, a.roles[RoleTCPOnly], ECDSAP256SHA256)
	zone(example, "dsdigest.example.", DSDigest, RoleSLDKnot, sld, ECDSAP256SHA256)
	zone(example, "forged.example.", ForgedNSEC, RoleSLDKnot, sld, ECDSAP256SHA256)
	iter := zone(example, "nsec3iter.example.", NSEC3Iter, RoleSLDKnot, sld, ECDSAP256SHA256)
	iter.sign.NSEC3, iter.sign.Iterations = true, NSEC3IterHigh
	iter.extra = []string{"*.nsec3iter.example. A 192.0.2.1", `*.nsec3iter.example. TXT "nsec3iter"`}

	h := &Hierarchy{Dir: dir, Roots: []netip.AddrPort{a.roles[RoleRoot]}, Names: map[Variant]string{},
		Zones: map[string]HierarchyZone{}, Dead: a.dead}
	var build func(z *hzone)
	build = func(z *hzone) {
		for _, k := range z.kids {
			build(k)
		}
		z.write(t, dir)
		h.Zones[z.Name] = z.HierarchyZone
		if z.Variant != "" {
			h.Names[z.Variant] = "www." + z.Name
		}
	}
	build(root)
	h.writeAnchors(t, root)
	return h
}

// write generates z's zone file in its own directory under dir, makes its keys and signs it.
// Its children are already written, so their DS records are known.
func (z *hzone) write(t testing.TB, dir string) {
	t.Helper()
	zdir := filepath.Join(dir, strings.TrimSuffix(z.Name, "."))
	if z.Name == "." {
		zdir = filepath.Join(dir, "root")
	}
	if err := os.MkdirAll(zdir, 0o755); err != nil {
		t.Fatalf("testnet: %v", err)
	}
	if z.alg != "" {
		ksk := GenerateKey(t, zdir, z.Name, z.alg, true)
		z.Keys = append(z.Keys, ksk)
		if z.split {
			z.Keys = append(z.Keys, GenerateKey(t, zdir, z.Name, z.alg, false))
		}
		z.Signed = true
		z.DS = []string{ksk.DS}
		if z.Variant == DSMismatch {
			// The parent gets the DS of a key of the same algorithm that the zone never sees.
			unused := filepath.Join(zdir, "unused")
			if err := os.Mkdir(unused, 0o755); err != nil {
				t.Fatalf("testnet: %v", err)
			}
			other := GenerateKey(t, unused, z.Name, z.alg, true)
			z.DS = []string{other.DS}
		}
		if z.Variant == DSDigest {
			z.DS = []string{wrongDigest(t, ksk.DS)}
		}
	}
	if !z.served {
		return
	}
	// An opt-out parent leaves its unsigned delegations out of the NSEC3 chain: they are added
	// after signing, so an opt-out NSEC3 covers them rather than matching them (RFC 5155 6).
	late := func(k *hzone) bool { return z.sign.OptOut && len(k.DS) == 0 }
	var b strings.Builder
	fmt.Fprintf(&b, "$TTL 300\n%s SOA %s hostmaster.%s 1 3600 600 86400 60\n", z.Name, z.nsName(),
		strings.TrimPrefix(z.Name, "."))
	fmt.Fprintf(&b, "%s NS %s\n%s A %s\n", z.Name, z.nsName(), z.nsName(), z.NS.Addr())
	for _, r := range z.extra {
		b.WriteString(r + "\n")
	}
	for _, k := range z.kids {
		if !late(k) {
			b.WriteString(k.delegation())
		}
	}
	unsigned := filepath.Join(zdir, "zone")
	writeFile(t, unsigned, b.String())
	z.File = unsigned
	if z.Signed {
		z.File = filepath.Join(zdir, "zone.signed")
		SignZone(t, unsigned, z.File, z.Name, z.sign, z.Keys...)
		switch z.Variant {
		case Stripped:
			stripped := filepath.Join(zdir, "zone.stripped")
			StripRRSIG(t, z.File, stripped)
			z.File = stripped
		case ForgedNSEC:
			forged := filepath.Join(zdir, "zone.forged")
			ForgeNSEC(t, z.File, forged, "www."+z.Name)
			z.File = forged
		}
	}
	var tail strings.Builder
	for _, k := range z.kids {
		if late(k) {
			tail.WriteString(k.delegation())
		}
	}
	if tail.Len() > 0 {
		appendFile(t, z.File, tail.String())
	}
}

// delegation is the parent's side of the cut at z: NS, glue and DS.
func (z *hzone) delegation() string {
	s := fmt.Sprintf("%s NS %s\n%s A %s\n", z.Name, z.nsName(), z.nsName(), z.NS.Addr())
	for _, ds := range z.DS {
		s += ds + "\n"
	}
	return s
}

// writeAnchors writes the root KSK's DS as the trust anchor files.
func (h *Hierarchy) writeAnchors(t testing.TB, root *hzone) {
	t.Helper()
	f := strings.Fields(root.DS[0])
	i := slices.Index(f, "DS")
	if i < 0 || len(f) != i+5 {
		t.Fatalf("testnet: unexpected DS record %q", root.DS[0])
	}
	tag, alg, digestType, digest := f[i+1], f[i+2], f[i+3], f[i+4]
	h.RootDS = fmt.Sprintf(". 3600 IN DS %s %s %s %s", tag, alg, digestType, digest)
	h.AnchorDS = filepath.Join(h.Dir, "root.ds")
	writeFile(t, h.AnchorDS, h.RootDS+"\n")
	h.AnchorBind = filepath.Join(h.Dir, "root.anchor.conf")
	writeFile(t, h.AnchorBind, fmt.Sprintf("trust-anchors {\n\t. static-ds %s %s %s \"%s\";\n};\n",
		tag, alg, digestType, digest))
}

// serve starts a knotd or nsd for every role, and the dead socket.
func (h *Hierarchy) serve(t testing.TB, a hierarchyAddrs) {
	t.Helper()
	zones := map[string][]Zone{}
	for _, z := range h.Zones {
		if z.Role != "" {
			zones[z.Role] = append(zones[z.Role], Zone{Name: z.Name, File: z.File})
		}
	}
	h.Servers = map[string]*Peer{}
	for _, role := range roles {
		zs := zones[role]
		slices.SortFunc(zs, func(x, y Zone) int { return strings.Compare(x.Name, y.Name) })
		addrs := []netip.AddrPort{a.roles[role]}
		switch role {
		case RoleLab, RoleSLDNSD:
			h.Servers[role] = StartNSD(t, NSDConfig{Addrs: addrs, Zones: zs})
		default:
			h.Servers[role] = StartKnot(t, KnotConfig{Addrs: addrs, Zones: zs, TCPOnly: role == RoleTCPOnly})
		}
	}
	Blackhole(t, a.dead)
}

// KresdConfig is the configuration of a kresd that resolves through the hierarchy: its root
// hints instead of the real ones, and local name server addresses allowed (option ALLOW_LOCAL:
// kresd otherwise ignores name servers in 127/8). With validate, the rig's root DS is its
// trust anchor, read-only; without, it has none and passes data and signatures on unvalidated.
func (h *Hierarchy) KresdConfig(validate bool) KresdConfig {
	c := KresdConfig{Addrs: []netip.AddrPort{}, Config: "option('ALLOW_LOCAL', true)\n",
		RootHints: map[string][]netip.Addr{}}
	for _, a := range h.Roots {
		c.RootHints[RootNS] = append(c.RootHints[RootNS], a.Addr())
	}
	if validate {
		c.TrustAnchorFile = h.AnchorDS
	}
	return c
}

// StartKresd starts a kresd on a free address that resolves through the hierarchy, validating
// with the rig's trust anchor or not at all (see KresdConfig).
func (h *Hierarchy) StartKresd(t testing.TB, validate bool) *Peer {
	t.Helper()
	return StartKresd(t, h.KresdConfig(validate))
}

func appendFile(t testing.TB, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(s)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.Fatalf("testnet: %v", err)
	}
}

// wrongDigest returns the DS RR ds with the last digit of its digest changed: same key tag,
// algorithm and digest type, a digest that no key has.
func wrongDigest(t testing.TB, ds string) string {
	ds = strings.TrimSpace(ds)
	if ds == "" {
		t.Fatalf("testnet: no DS to break")
	}
	last := ds[len(ds)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return ds[:len(ds)-1] + string(repl)
}

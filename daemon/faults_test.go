package daemon

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"ljdns/internal/testnet"
)

// envFlood makes the test binary a connection flooder (TestConnFloodHelper).
const envFlood = "LJDNS_DAEMON_FLOOD"

// TestConnFloodHelper is not a test: run with LJDNS_DAEMON_FLOOD=addr,n it
// opens n TCP connections to addr from 127.0.1.x sources (200 each), prints
// "open N", and holds them until its stdin closes.
func TestConnFloodHelper(t *testing.T) {
	spec := os.Getenv(envFlood)
	if spec == "" {
		t.Skip("helper process only")
	}
	addr, nstr, _ := strings.Cut(spec, ",")
	n, _ := strconv.Atoi(nstr)
	var conns []net.Conn
	for i := 0; i < n; i++ {
		src := fmt.Sprintf("127.0.1.%d", 1+i/200)
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			fmt.Printf("error %d %v\n", i, err)
			break
		}
		conns = append(conns, c)
	}
	fmt.Printf("open %d\n", len(conns))
	bufio.NewReader(os.Stdin).ReadString('\n')
	for _, c := range conns {
		c.Close()
	}
}

// TestManyConnections: 5000 TCP connections held open by another process
// (NOFILE is 20000 here: client and server apart); queries keep being
// answered over UDP and TCP; when the other process dies every connection
// is released.
func TestManyConnections(t *testing.T) {
	testnet.Isolate(t)
	const n = 5000
	s := startServer(t, &Config{TCPIdle: time.Minute,
		Layers: []Layer{&memLayer{name: "mem", addr: netip.MustParseAddr("192.0.2.1"), ttl: 60}}})
	addr := s.Addrs(KindDNS)[0]
	cmd := exec.Command(os.Args[0], "-test.run", "^TestConnFloodHelper$")
	cmd.Env = append(os.Environ(), envFlood+"="+addr.String()+","+strconv.Itoa(n))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	sc := bufio.NewScanner(stdout)
	opened := -1
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "open ") {
			opened, _ = strconv.Atoi(strings.TrimPrefix(line, "open "))
			break
		}
		t.Log("helper: " + line)
	}
	if opened != n {
		t.Fatalf("helper opened %d connections, want %d", opened, n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.conns.n.Load() != n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := s.conns.n.Load(); got != n {
		t.Fatalf("server holds %d connections, want %d", got, n)
	}
	for _, netw := range []string{"udp", "tcp"} {
		if m := exchange(t, netw, addr, query("example.org", dns.TypeA)); m.Rcode != dns.RcodeSuccess {
			t.Fatalf("%s query during the flood: %v", netw, m)
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline = time.Now().Add(10 * time.Second)
	for s.conns.n.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := s.conns.n.Load(); got != 0 {
		t.Fatalf("%d connections still counted after the client died", got)
	}
}

// TestRandomBytesLive sends random datagrams and random TCP streams to a
// running server, then checks it still answers.
func TestRandomBytesLive(t *testing.T) {
	testnet.Isolate(t)
	s := startServer(t, &Config{TCPIdle: 500 * time.Millisecond,
		Layers: []Layer{&memLayer{name: "mem", addr: netip.MustParseAddr("192.0.2.1"), ttl: 60}, bigLayer{50}}})
	addr := s.Addrs(KindDNS)[0]
	rng := rand.New(rand.NewPCG(1, 2))
	good := pack(t, query("example.org", dns.TypeA))
	c, err := net.Dial("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 5000; i++ {
		var b []byte
		if i%2 == 0 { // a mutated query: more of it gets past the header checks
			b = append([]byte(nil), good...)
			for k := 0; k < 1+rng.IntN(4); k++ {
				b[rng.IntN(len(b))] = byte(rng.UintN(256))
			}
			b = b[:rng.IntN(len(b)+1)]
			if len(b) > 2 {
				b[2] &^= 0x80 // a query, mostly
			}
		} else {
			b = make([]byte, rng.IntN(600))
			for k := range b {
				b[k] = byte(rng.UintN(256))
			}
		}
		c.Write(b)
		if i%100 == 99 {
			time.Sleep(2 * time.Millisecond) // let the reader keep up: most datagrams should be parsed, not lost
		}
	}
	for i := 0; i < 50; i++ {
		tc, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, rng.IntN(3000))
		for k := range b {
			b[k] = byte(rng.UintN(256))
		}
		if i%3 == 0 {
			b = append(binary.BigEndian.AppendUint16(nil, uint16(len(good))), good...)
			b[14+rng.IntN(len(good)-12)] ^= 0xff
		}
		tc.Write(b)
		tc.Close()
	}
	for _, netw := range []string{"udp", "tcp"} {
		if m := exchange(t, netw, addr, query("example.org", dns.TypeA)); m.Rcode != dns.RcodeSuccess {
			t.Fatalf("%s after the noise: %v", netw, m)
		}
	}
	if s.Counters().Panics.Load() != 0 {
		t.Fatalf("%d panics", s.Counters().Panics.Load())
	}
	t.Logf("requests %d, dropped %d, FORMERR %d", s.Counters().Requests.Load(), s.Counters().Dropped.Load(), s.Counters().FormErr.Load())
}

// TestWorkers: -f 2 gives each worker its own SO_REUSEPORT sockets on the
// same address, and both answer.
func TestWorkers(t *testing.T) {
	testnet.Isolate(t)
	seen := make(chan int, 1000)
	probe := layerFunc{name: "probe", begin: func(r *Request, s State) State {
		seen <- r.Worker
		return s
	}}
	s := startServer(t, &Config{Workers: 2, Layers: []Layer{probe, &memLayer{name: "mem", addr: netip.MustParseAddr("192.0.2.1"), ttl: 60}}})
	addr := s.Addrs(KindDNS)[0]
	if len(s.listeners[Listen{Addr: netip.MustParseAddrPort("127.0.0.1:0")}.String()].udp) != 2 {
		t.Fatalf("sockets per worker: %+v", s.listeners)
	}
	workers := map[int]bool{}
	for i := 0; i < 200 && len(workers) < 2; i++ {
		// a new source port each time: the kernel spreads them over the sockets
		exchange(t, []string{"udp", "tcp"}[i%2], addr, query("example.org", dns.TypeA))
		workers[<-seen] = true
	}
	if !workers[0] || !workers[1] {
		t.Fatalf("workers seen %v, want 0 and 1", workers)
	}
}

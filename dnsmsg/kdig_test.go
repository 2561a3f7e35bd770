package dnsmsg

import (
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestKdigReadsOurAnswer serves a compressed answer written by Put to
// kdig, which must print every record as we do; kdig's own query (with
// EDNS) must parse with our strict parser.
func TestKdigReadsOurAnswer(t *testing.T) {
	kdig, err := exec.LookPath("kdig")
	if err != nil {
		t.Skip("kdig not installed")
	}
	records := []*RRSet{
		mustRR(t, "example.com", TypeSOA, 3600, "ns1.example.com. hostmaster.example.com. 2026112201 7200 3600 1209600 3600"),
		mustRR(t, "example.com", TypeNS, 3600, "ns1.example.com.", "ns2.example.net."),
		mustRR(t, "example.com", TypeMX, 300, "10 mail.example.com.", "20 mx.example.net."),
		mustRR(t, "www.example.com", TypeCNAME, 60, "example.com."),
		mustRR(t, "example.com", TypeA, 60, "192.0.2.1", "192.0.2.2"),
		mustRR(t, "example.com", TypeAAAA, 60, "2001:db8::1"),
		mustRR(t, "_sip._udp.example.com", 33, 60, "0 5 5060 sip.example.com."),
		mustRR(t, "example.com", TypeTXT, 60, `"v=spf1 -all"`),
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	parsed := make(chan string, 1)
	go func() {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4096)
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			parsed <- err.Error()
			return
		}
		q := NewPacketFrom(n, buf[:n])
		if code := q.Parse(false); code != 0 {
			parsed <- "parse " + StrError(code)
			return
		}
		qn, qt, _, _ := q.Question()
		if string(qn) != "\x07example\x03com\x00" || qt != 255 || q.OPT() == nil {
			parsed <- "unexpected query " + q.String()
			return
		}
		parsed <- ""
		a := NewPacket(4096)
		a.SetQuestion(qn, qt, ClassINET)
		a.setU16(0, int(q.ID()))
		a.SetFlag("qr", true)
		for _, rr := range records {
			a.Put(rr, false)
		}
		conn.WriteTo(a.Bytes(), from)
	}()
	port := strconv.Itoa(conn.LocalAddr().(*net.UDPAddr).Port)
	out, err := exec.Command(kdig, "@127.0.0.1", "-p", port, "+retry=0", "+timeout=3", "+edns=0", "+noall", "+answer",
		"example.com", "ANY").CombinedOutput()
	if msg := <-parsed; msg != "" {
		t.Fatalf("kdig's query: %s", msg)
	}
	if err != nil {
		t.Fatalf("kdig: %v\n%s", err, out)
	}
	got := strings.Fields(string(out))
	for _, rr := range records {
		for _, rd := range rr.RData {
			line := strings.Join([]string{rr.Owner.String(), strconv.Itoa(int(rr.TTL)), "IN", TypeString(rr.Type), RDataText(rr.Type, rd)}, " ")
			if !strings.Contains(strings.Join(got, " "), strings.Join(strings.Fields(line), " ")) {
				t.Errorf("kdig does not show %q:\n%s", line, out)
			}
		}
	}
}

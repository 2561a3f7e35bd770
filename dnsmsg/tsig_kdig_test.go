package dnsmsg

import (
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTSIGInteropKdig answers kdig's TSIG-signed queries on 127.0.0.1:
// we verify kdig's MAC, sign the answer chaining it, and kdig must accept it.
func TestTSIGInteropKdig(t *testing.T) {
	kdig, err := exec.LookPath("kdig")
	if err != nil {
		t.Skip("kdig not installed")
	}
	for _, alg := range []string{"hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"} {
		t.Run(alg, func(t *testing.T) {
			key, err := ParseTSIGKey(alg + ":key.example:" + testSecret)
			if err != nil {
				t.Fatal(err)
			}
			conn, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			verified := make(chan int, 1)
			go func() {
				conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				buf := make([]byte, 4096)
				n, from, err := conn.ReadFrom(buf)
				if err != nil {
					verified <- -1
					return
				}
				q := NewPacketFrom(n, buf[:n])
				server := key.Copy()
				code := server.Verify(q)
				verified <- code
				if code != 0 {
					return
				}
				a := NewPacket(4096)
				qn, qt, qc, _ := q.Question()
				a.SetQuestion(qn, qt, qc)
				a.setU16(0, int(q.ID()))
				a.SetFlag("qr", true)
				a.SetFlag("aa", true)
				a.Put(mustRR(t, "example.com", TypeSOA, 3600, "ns.example.com. admin.example.com. 7 1 2 3 4"), false)
				if err := signer(server).Sign(a, 300); err != nil {
					return
				}
				conn.WriteTo(a.Bytes(), from)
			}()
			port := strconv.Itoa(conn.LocalAddr().(*net.UDPAddr).Port)
			out, err := exec.Command(kdig, "@127.0.0.1", "-p", port, "-y", alg+":key.example:"+testSecret,
				"+retry=0", "+timeout=3", "+noedns", "example.com", "SOA").CombinedOutput()
			if code := <-verified; code != 0 {
				t.Fatalf("kdig query did not verify: %d", code)
			}
			if err != nil || !strings.Contains(string(out), "status: NOERROR") || !strings.Contains(string(out), "admin.example.com.") ||
				strings.Contains(strings.ToLower(string(out)), "warning") {
				t.Fatalf("kdig: %v\n%s", err, out)
			}
		})
	}
}

var signer = func(t *TSIG) *TSIG { return t }

package zone

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// genzoneScript is the synthetic zone generator shared by the benchmarks.
const genzoneScript = "/work/shared/bench/genzone.py"

// genzonePath returns a zone of n records made by genzone.py, generated
// once into the temp dir; it skips the test when python3 or the script
// is missing.
func genzonePath(tb testing.TB, n int) string {
	tb.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("ljdns-genzone-%d.zone", n))
	if st, err := os.Stat(path); err == nil && st.Size() > 0 {
		return path
	}
	if _, err := os.Stat(genzoneScript); err != nil {
		tb.Skip("genzone.py not available")
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		tb.Skip("python3 not available")
	}
	f, err := os.CreateTemp(os.TempDir(), "ljdns-genzone-*.tmp") // unique: tests may run concurrently
	if err != nil {
		tb.Fatal(err)
	}
	tmp := f.Name()
	f.Close()
	cmd := exec.Command(py, genzoneScript, "--records", fmt.Sprint(n), "-o", tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		tb.Skipf("genzone.py failed: %v %s", err, out)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
	return path
}

func genzone(tb testing.TB, n int) []byte {
	data, err := os.ReadFile(genzonePath(tb, n))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func benchScanner(b *testing.B, n int) { benchScannerMode(b, n, false) }

func benchScannerMode(b *testing.B, n int, async bool) {
	data := genzone(b, n)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		s := NewScanner(bytes.NewReader(data), ".", ClassINET, 3600)
		s.SetAsync(async)
		cnt := 0
		for s.Next() {
			cnt++
		}
		if s.Err() != nil || cnt != n {
			b.Fatalf("%d records, err %v", cnt, s.Err())
		}
	}
	reportCPU(b, c0)
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func benchMiekg(b *testing.B, n int) {
	data := genzone(b, n)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		zp := newMiekgParser(bytes.NewReader(data))
		cnt := 0
		for _, ok := zp.Next(); ok; _, ok = zp.Next() {
			cnt++
		}
		if zp.Err() != nil || cnt != n {
			b.Fatalf("%d records, err %v", cnt, zp.Err())
		}
	}
	reportCPU(b, c0)
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkScanner100k(b *testing.B)    { benchScanner(b, 100000) }
func BenchmarkScanner1M(b *testing.B)      { benchScanner(b, 1000000) }
func BenchmarkScannerAsync1M(b *testing.B) { benchScannerMode(b, 1000000, true) }
func BenchmarkMiekg100k(b *testing.B)      { benchMiekg(b, 100000) }
func BenchmarkMiekg1M(b *testing.B)        { benchMiekg(b, 1000000) }

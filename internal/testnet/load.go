package testnet

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PerfConfig describes one dnsperf run.
type PerfConfig struct {
	Server   netip.AddrPort
	Queries  []Query       // name and type of each line of the data file (DO, CD, TCP are per run here)
	Duration time.Duration // -l (default 5 s)
	Clients  int           // -c (default 20)
	Threads  int           // -T (default 2)
	// Outstanding is -q, the most queries in flight (default dnsperf's 100).
	Outstanding int
	Rate        int           // -Q: queries per second (0: as fast as it can)
	Timeout     time.Duration // -t (default dnsperf's 5 s)
	TCP         bool          // -m tcp
	DO          bool          // -D: EDNS0 with the DNSSEC OK bit
	// Latencies runs dnsperf -v and turns its per-query lines into
	// percentiles. Printing a line per query costs the generator CPU, so
	// peak-rate runs that compare qps leave it off.
	Latencies bool
	// PID is the server's process: its CPU time (utime+stime of it and its
	// descendants, from /proc) is read before and after. 0: not measured.
	PID int
}

// PerfResult is what one dnsperf run measured.
type PerfResult struct {
	Sent, Completed, Lost int
	QPS                   float64       // dnsperf's "Queries per second"
	RunTime               time.Duration // dnsperf's "Run time"
	Rcodes                map[string]int
	// ServerCPU is the CPU time the server used during the run, and
	// CPUPerQuery that divided by the completed queries (zero when
	// PerfConfig.PID was 0). /proc counts in clock ticks (10 ms).
	ServerCPU   time.Duration
	CPUPerQuery time.Duration
	// Latency percentiles of the answered queries (with Latencies only);
	// Answered is how many per-query lines had a latency, TimedOut how many
	// were marked T.
	P50, P90, P99, P999 time.Duration
	Answered, TimedOut  int
	Output              string // dnsperf's output less the per-query lines
}

// LossRatio is Lost/Sent (0 when nothing was sent).
func (r *PerfResult) LossRatio() float64 {
	if r.Sent == 0 {
		return 0
	}
	return float64(r.Lost) / float64(r.Sent)
}

// String is a one-line summary.
func (r *PerfResult) String() string {
	s := fmt.Sprintf("%.0f qps, %d/%d completed, %d lost (%.3f%%)", r.QPS, r.Completed, r.Sent, r.Lost, 100*r.LossRatio())
	if r.ServerCPU > 0 {
		s += fmt.Sprintf(", server CPU %.2f µs/query", float64(r.CPUPerQuery.Nanoseconds())/1000)
	}
	if r.Answered > 0 {
		s += fmt.Sprintf(", latency p50 %v p90 %v p99 %v p99.9 %v", r.P50, r.P90, r.P99, r.P999)
	}
	return s
}

// Perf runs dnsperf against c.Server and returns what it measured.
func Perf(c PerfConfig) (*PerfResult, error) {
	if _, err := exec.LookPath("dnsperf"); err != nil {
		return nil, errors.New("dnsperf is not installed")
	}
	if len(c.Queries) == 0 {
		return nil, errors.New("perf: no queries")
	}
	dir, err := os.MkdirTemp("", "ljdns-testnet-dnsperf-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var data strings.Builder
	for _, q := range c.Queries {
		fmt.Fprintf(&data, "%s %s\n", q.Name, typeString(q.Type))
	}
	dataFile := filepath.Join(dir, "queries.txt")
	if err := os.WriteFile(dataFile, []byte(data.String()), 0o644); err != nil {
		return nil, err
	}
	args := perfArgs(c, dataFile)
	before, err := treeCPU(c.PID)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("dnsperf", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	res, lat, perr := parsePerf(stdout)
	werr := cmd.Wait()
	after, err := treeCPU(c.PID)
	if err != nil {
		return nil, err
	}
	if werr != nil {
		return nil, fmt.Errorf("dnsperf %s: %v\n%s%s", strings.Join(args, " "), werr, res.Output, stderr.String())
	}
	if perr != nil {
		return nil, perr
	}
	if c.PID != 0 {
		res.ServerCPU = after - before
		if res.Completed > 0 {
			res.CPUPerQuery = res.ServerCPU / time.Duration(res.Completed)
		}
	}
	setPercentiles(res, lat)
	return res, nil
}

// perfArgs builds dnsperf's command line.
func perfArgs(c PerfConfig, dataFile string) []string {
	dur := c.Duration
	if dur <= 0 {
		dur = 5 * time.Second
	}
	clients, threads := c.Clients, c.Threads
	if clients <= 0 {
		clients = 20
	}
	if threads <= 0 {
		threads = 2
	}
	threads = min(threads, clients)
	args := []string{"-s", c.Server.Addr().String(), "-p", strconv.Itoa(int(c.Server.Port())),
		"-d", dataFile, "-l", strconv.FormatFloat(dur.Seconds(), 'f', -1, 64),
		"-c", strconv.Itoa(clients), "-T", strconv.Itoa(threads)}
	if c.Outstanding > 0 {
		args = append(args, "-q", strconv.Itoa(c.Outstanding))
	}
	if c.Rate > 0 {
		args = append(args, "-Q", strconv.Itoa(c.Rate))
	}
	if c.Timeout > 0 {
		args = append(args, "-t", strconv.FormatFloat(c.Timeout.Seconds(), 'f', -1, 64))
	}
	if c.TCP {
		args = append(args, "-m", "tcp")
	}
	if c.DO {
		args = append(args, "-D")
	}
	if c.Latencies {
		args = append(args, "-v")
	}
	return args
}

// parsePerf reads dnsperf's standard output: "> RCODE name type seconds"
// or "> T name type" per query with -v, then the statistics block.
func parsePerf(r interface{ Read([]byte) (int, error) }) (*PerfResult, []time.Duration, error) {
	res := &PerfResult{Rcodes: map[string]int{}}
	var lat []time.Duration
	var out strings.Builder
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "> ") {
			f := strings.Fields(line[2:])
			switch {
			case len(f) >= 1 && f[0] == "T":
				res.TimedOut++
			case len(f) >= 4:
				s, err := strconv.ParseFloat(f[len(f)-1], 64)
				if err != nil {
					return res, nil, fmt.Errorf("dnsperf line %q: %v", line, err)
				}
				lat = append(lat, time.Duration(s*1e9))
			}
			continue
		}
		out.WriteString(line)
		out.WriteByte('\n')
		key, val, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		first := strings.Fields(val + " ")
		num := func() string {
			if len(first) == 0 {
				return ""
			}
			return first[0]
		}
		var err error
		switch key {
		case "Queries sent":
			res.Sent, err = strconv.Atoi(num())
		case "Queries completed":
			res.Completed, err = strconv.Atoi(num())
		case "Queries lost":
			res.Lost, err = strconv.Atoi(num())
		case "Queries per second":
			res.QPS, err = strconv.ParseFloat(num(), 64)
		case "Run time (s)":
			var s float64
			s, err = strconv.ParseFloat(num(), 64)
			res.RunTime = time.Duration(s * 1e9)
		case "Response codes":
			for _, part := range strings.Split(val, ",") {
				f := strings.Fields(part)
				if len(f) >= 2 {
					n, e := strconv.Atoi(f[1])
					if e == nil {
						res.Rcodes[f[0]] += n
					}
				}
			}
		}
		if err != nil {
			return res, nil, fmt.Errorf("dnsperf line %q: %v", line, err)
		}
	}
	res.Output = out.String()
	if err := sc.Err(); err != nil {
		return res, nil, err
	}
	if !strings.Contains(res.Output, "Queries sent:") {
		return res, nil, fmt.Errorf("dnsperf printed no statistics:\n%s", res.Output)
	}
	return res, lat, nil
}

// setPercentiles fills the latency percentiles; it sorts lat.
func setPercentiles(r *PerfResult, lat []time.Duration) {
	r.Answered = len(lat)
	slices.Sort(lat)
	r.P50, r.P90, r.P99, r.P999 = Percentile(lat, 0.50), Percentile(lat, 0.90), Percentile(lat, 0.99), Percentile(lat, 0.999)
}

// Percentile returns the p-quantile (0 < p <= 1, nearest rank) of sorted
// latencies; 0 for none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// 100 on every Linux architecture Go runs on).
const clockTick = 10 * time.Millisecond

// treeCPU returns the user+system CPU time of pid and its descendants
// (nsd serves from forked children), from /proc/*/stat. 0 for pid 0.
func treeCPU(pid int) (time.Duration, error) {
	if pid == 0 {
		return 0, nil
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	type proc struct{ ppid, ticks int }
	procs := map[int]proc{}
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, ticks, err := procStat(n)
		if err != nil {
			continue // it ended meanwhile
		}
		procs[n] = proc{ppid, ticks}
	}
	if _, ok := procs[pid]; !ok {
		return 0, fmt.Errorf("process %d is not running", pid)
	}
	total := 0
	for n, p := range procs {
		for a, hops := n, 0; a > 1 && hops < 64; a, hops = procs[a].ppid, hops+1 {
			if a == pid {
				total += p.ticks
				break
			}
		}
	}
	return time.Duration(total) * clockTick, nil
}

// procStat reads the parent and utime+stime (in ticks) of one process.
func procStat(pid int) (ppid, ticks int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	return parseStat(string(b))
}

// parseStat parses a /proc/PID/stat line; the command name in parentheses
// may hold spaces, so fields are counted from its closing parenthesis.
func parseStat(s string) (ppid, ticks int, err error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("bad stat line %q", s)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("short stat line %q", s)
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, err
	}
	ut, err1 := strconv.Atoi(f[11])
	st, err2 := strconv.Atoi(f[12])
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("bad stat times in %q", s)
	}
	return ppid, ut + st, nil
}

// RateComparison is a fixed-rate run against a server and against a
// control server, measured one after the other in the same call.
type RateComparison struct {
	Rate            int
	Server, Control *PerfResult
}

// ExtraLoss is the server's loss ratio minus the control's: what the
// server loses beyond what the generator and the machine lose anyway.
func (rc *RateComparison) ExtraLoss() float64 {
	return rc.Server.LossRatio() - rc.Control.LossRatio()
}

// String summarises both runs.
func (rc *RateComparison) String() string {
	return fmt.Sprintf("at %d qps: server %v; control %v; extra loss %.3f%%",
		rc.Rate, rc.Server, rc.Control, 100*rc.ExtraLoss())
}

// FixedRate runs dnsperf at rate queries per second (-Q), with per-query
// latencies, first against control (Server and PID taken from control,
// the rest from c) and then against c.Server, and returns both results
// for comparing loss and tail latency.
func FixedRate(c PerfConfig, control netip.AddrPort, controlPID, rate int) (*RateComparison, error) {
	if rate <= 0 {
		return nil, errors.New("FixedRate needs a positive rate")
	}
	c.Rate, c.Latencies = rate, true
	cc := c
	cc.Server, cc.PID = control, controlPID
	ctl, err := Perf(cc)
	if err != nil {
		return nil, fmt.Errorf("control run: %w", err)
	}
	srv, err := Perf(c)
	if err != nil {
		return nil, fmt.Errorf("server run: %w", err)
	}
	return &RateComparison{Rate: rate, Server: srv, Control: ctl}, nil
}

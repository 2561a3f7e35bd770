#!/bin/sh
# Compare DNS-over-UDP throughput on loopback: the Lua responder
# (examples/responder.lua on ljdns), a plain-Go miekg/dns server giving the
# same answers (luamod/nbio/internal/goresponder) and knotd serving the same
# zone. Each server runs alone while dnsperf loads it for DURATION seconds.
#
# Usage: examples/dnsperf-compare.sh [DURATION]   (run from the repository root)
# Needs: go, dnsperf (Debian dnsperf), knotd (Debian knot; skipped if absent).
set -eu
DURATION=${1:-10}
ZONE=$(pwd)/examples/responder.zone
WORK=$(mktemp -d /tmp/dnsperf-compare.XXXXXX)
LUA_PORT=${LUA_PORT:-25353}
GO_PORT=${GO_PORT:-25354}
KNOT_PORT=${KNOT_PORT:-25355}
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

go build -o "$WORK/ljdns" ./cmd/ljdns
go build -o "$WORK/goresponder" ./luamod/nbio/internal/goresponder

# The query mix: answers, a CNAME, NODATA and NXDOMAIN.
cat > "$WORK/queries" <<'Q'
www.example.org A
example.org SOA
mail.example.org A
example.org MX
www.example.org AAAA
ftp.example.org A
ns1.example.org A
mail.example.org AAAA
nope.example.org A
example.org NS
Q

# cpu PID: CPU time (user+system clock ticks) the process has used.
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# perf NAME PORT PID: run dnsperf, print "NAME qps lost q/cpu-s". The last
# figure (answered queries per CPU second of the server) depends much less
# on what else the machine is running than qps does.
perf() {
	c0=$(cpu "$3")
	out=$(dnsperf -s 127.0.0.1 -p "$2" -d "$WORK/queries" -l "$DURATION" -c 4 -q 200 2>&1)
	c1=$(cpu "$3")
	qps=$(printf '%s\n' "$out" | awk '/Queries per second/ {print $4}')
	lost=$(printf '%s\n' "$out" | awk '/Queries lost/ {print $3}')
	done=$(printf '%s\n' "$out" | awk '/Queries completed/ {print $3}')
	eff=$(awk -v d="$done" -v t=$((c1 - c0)) -v hz="$HZ" 'BEGIN { if (t > 0) printf "%.0f", d / (t / hz); else print 0 }')
	echo "$1 qps=$qps lost=$lost queries/cpu-s=$eff"
	eval "QPS_$1=\${qps:-0}; EFF_$1=\${eff:-0}"
}

wait_port() { # wait until a UDP server answers on port $1
	i=0
	while ! dnsperf -s 127.0.0.1 -p "$1" -d "$WORK/queries" -n 1 -t 1 >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt 50 ] || { echo "server on port $1 did not start" >&2; exit 1; }
		sleep 0.2
	done
}

"$WORK/ljdns" examples/responder.lua -q -a 127.0.0.1 -p "$LUA_PORT" "$ZONE" &
LUA_PID=$!; PIDS="$PIDS $LUA_PID"
wait_port "$LUA_PORT"
perf lua "$LUA_PORT" "$LUA_PID"
kill "$LUA_PID"

"$WORK/goresponder" -addr "127.0.0.1:$GO_PORT" -zone "$ZONE" >/dev/null &
GO_PID=$!; PIDS="$PIDS $GO_PID"
wait_port "$GO_PORT"
perf go "$GO_PORT" "$GO_PID"
kill "$GO_PID"

QPS_knot=0
EFF_knot=0
if command -v knotd >/dev/null 2>&1; then
	mkdir -p "$WORK/knot"
	cat > "$WORK/knot.conf" <<K
server:
    listen: 127.0.0.1@$KNOT_PORT
    rundir: $WORK/knot
    background-workers: 1
database:
    storage: $WORK/knot
template:
  - id: default
    storage: $WORK/knot
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: example.org
    file: $ZONE
K
	knotd -c "$WORK/knot.conf" >/dev/null 2>&1 &
	KNOT_PID=$!; PIDS="$PIDS $KNOT_PID"
	wait_port "$KNOT_PORT"
	perf knot "$KNOT_PORT" "$KNOT_PID"
	kill "$KNOT_PID"
fi

awk -v l="$QPS_lua" -v g="$QPS_go" -v k="$QPS_knot" -v el="$EFF_lua" -v eg="$EFF_go" -v ek="$EFF_knot" 'BEGIN {
	printf "qps: lua/go = %.2f", (g > 0 ? l / g : 0)
	if (k > 0) printf ", lua/knot = %.2f", l / k
	printf "\nqueries per CPU second: lua/go = %.2f", (eg > 0 ? el / eg : 0)
	if (ek > 0) printf ", lua/knot = %.2f", el / ek
	printf "\n"
}'

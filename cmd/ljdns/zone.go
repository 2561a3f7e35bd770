package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"ljdns/etcdstore"
)

const zoneUsage = `usage: ljdns zone [--endpoints HOST:PORT,...] [--prefix P] COMMAND ...
  push NAME ZONEFILE   write the zone to etcd (staged, then switched whole)
  get NAME             print the zone as a zone file
  edit NAME [FILE]     apply add/del lines (from FILE or standard input) as one transaction
  list                 list the zones
  delete NAME          remove a zone
Endpoints default to $LJDNS_ETCD_ENDPOINTS, then $ETCDCTL_ENDPOINTS, then 127.0.0.1:2379;
the prefix to $LJDNS_ETCD_PREFIX, then /dns/. Edit lines:
  add OWNER [TTL] [IN] TYPE RDATA | del OWNER [TTL] [IN] TYPE RDATA | del OWNER TYPE | del OWNER
`

// runZone is `ljdns zone ...`: the zones of etcdstore from the command line.
func runZone(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("zone", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, zoneUsage) }
	endpoints := fs.String("endpoints", firstEnv("LJDNS_ETCD_ENDPOINTS", "ETCDCTL_ENDPOINTS", "127.0.0.1:2379"), "etcd endpoints, comma-separated")
	prefix := fs.String("prefix", firstEnv("LJDNS_ETCD_PREFIX", "", etcdstore.DefaultPrefix), "key prefix of the zones")
	timeout := fs.Duration("timeout", 60*time.Second, "time limit of the whole command")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	a := fs.Args()
	need := map[string]int{"push": 3, "get": 2, "edit": 2, "list": 1, "delete": 2}
	if len(a) == 0 || need[a[0]] == 0 || len(a) < need[a[0]] {
		fs.Usage()
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	cl, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(*endpoints, ","), DialTimeout: 5 * time.Second,
		Logger: zap.NewNop()})
	if err != nil {
		fmt.Fprintf(stderr, "ljdns zone: %v\n", err)
		return 1
	}
	defer cl.Close()
	s := etcdstore.New(cl, *prefix)
	fail := func(err error) int {
		fmt.Fprintf(stderr, "ljdns zone %s: %v\n", a[0], err)
		return 1
	}
	switch a[0] {
	case "push":
		res, err := s.PushFile(ctx, a[1], a[2])
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "%s: %d RRsets in %d requests, serial %d, revision %d\n", a[1], res.Sets, res.Batches, res.Serial, res.Revision)
	case "get":
		if _, err := s.Get(ctx, a[1], stdout); err != nil {
			return fail(err)
		}
	case "edit":
		var in []byte
		if len(a) > 2 && a[2] != "-" {
			in, err = os.ReadFile(a[2])
		} else {
			in, err = io.ReadAll(stdin)
		}
		if err != nil {
			return fail(err)
		}
		res, err := s.Edit(ctx, a[1], string(in))
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "%s: %d RRsets changed, serial %d, revision %d\n", a[1], res.Sets, res.Serial, res.Revision)
	case "list":
		zs, err := s.Zones(ctx)
		if err != nil {
			return fail(err)
		}
		for _, z := range zs {
			fmt.Fprintln(stdout, z)
		}
	case "delete":
		if err := s.Delete(ctx, a[1]); err != nil {
			return fail(err)
		}
	}
	return 0
}

// firstEnv returns the first set variable of a, b, else def.
func firstEnv(a, b, def string) string {
	if v := os.Getenv(a); v != "" {
		return v
	}
	if b != "" {
		if v := os.Getenv(b); v != "" {
			return v
		}
	}
	return def
}

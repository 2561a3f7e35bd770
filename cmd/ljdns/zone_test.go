package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ljdns/internal/etcdtest"
)

func TestZoneCommand(t *testing.T) {
	c := etcdtest.Start(t, 1)
	ep := strings.Join(c.Endpoints(), ",")
	dir := t.TempDir()
	zf := filepath.Join(dir, "example.com.zone")
	os.WriteFile(zf, []byte("$TTL 60\n@ SOA ns h 5 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n"), 0o644)
	run := func(stdin string, args ...string) (string, int) {
		var out, errb bytes.Buffer
		rc := runZone(append([]string{"--endpoints", ep}, args...), strings.NewReader(stdin), &out, &errb)
		return out.String() + errb.String(), rc
	}
	if out, rc := run("", "push", "example.com", zf); rc != 0 || !strings.Contains(out, "3 RRsets") {
		t.Fatalf("push: %d %s", rc, out)
	}
	if out, rc := run("add www A 192.0.2.2\n", "edit", "example.com"); rc != 0 || !strings.Contains(out, "serial 6") {
		t.Fatalf("edit: %d %s", rc, out)
	}
	out, rc := run("", "get", "example.com")
	if rc != 0 || !strings.Contains(out, "www.example.com. 60 IN A 192.0.2.2") || !strings.Contains(out, " 6 1 1 1 1") {
		t.Fatalf("get: %d %s", rc, out)
	}
	if out, rc := run("", "list"); rc != 0 || out != "example.com.\n" {
		t.Fatalf("list: %d %q", rc, out)
	}
	if out, rc := run("", "push", "example.com", filepath.Join(dir, "missing")); rc == 0 {
		t.Fatalf("push of a missing file: %s", out)
	}
	if out, rc := run("", "get", "nosuch.com"); rc == 0 || !strings.Contains(out, "no such zone") {
		t.Fatalf("get of a missing zone: %d %s", rc, out)
	}
}

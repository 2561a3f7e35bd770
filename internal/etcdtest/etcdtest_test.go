package etcdtest

import (
	"context"
	"testing"
	"time"
)

func TestCluster(t *testing.T) {
	c := Start(t, 3)
	cl := c.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := cl.Put(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	r, err := cl.Get(ctx, "k")
	if err != nil || len(r.Kvs) != 1 || string(r.Kvs[0].Value) != "v" {
		t.Fatalf("get: %v %v", r, err)
	}
	if c.Leader() < 0 {
		t.Fatal("no leader")
	}
}

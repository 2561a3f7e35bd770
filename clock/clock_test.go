package clock

import (
	"sync/atomic"
	"testing"
	"time"
)

var epoch = time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)

func TestFakeNowAdvanceSet(t *testing.T) {
	f := NewFake(epoch)
	if !f.Now().Equal(epoch) {
		t.Fatal(f.Now())
	}
	f.Advance(90 * time.Second)
	if got := f.Since(epoch); got != 90*time.Second {
		t.Fatal(got)
	}
	f.Set(epoch) // backwards: ignored
	if got := f.Since(epoch); got != 90*time.Second {
		t.Fatal(got)
	}
}

func TestFakeTimersFireInOrderAtTheirDeadline(t *testing.T) {
	f := NewFake(epoch)
	var order []string
	var seen []time.Time
	f.AfterFunc(3*time.Second, func() { order = append(order, "c"); seen = append(seen, f.Now()) })
	f.AfterFunc(1*time.Second, func() { order = append(order, "a"); seen = append(seen, f.Now()) })
	f.AfterFunc(2*time.Second, func() { order = append(order, "b"); seen = append(seen, f.Now()) })
	f.Advance(2 * time.Second)
	if len(order) != 2 || order[0] != "a" || order[1] != "b" {
		t.Fatalf("after 2s: %v", order)
	}
	f.Advance(10 * time.Second)
	if len(order) != 3 || order[2] != "c" {
		t.Fatalf("after 12s: %v", order)
	}
	for i, want := range []time.Duration{1, 2, 3} {
		if got := seen[i].Sub(epoch); got != want*time.Second {
			t.Errorf("event %d saw the clock at %v", i, got)
		}
	}
	if !f.Now().Equal(epoch.Add(12 * time.Second)) {
		t.Fatal(f.Now())
	}
}

func TestFakeTimerStopReset(t *testing.T) {
	f := NewFake(epoch)
	tm := f.NewTimer(time.Minute)
	if !tm.Stop() {
		t.Fatal("Stop of a pending timer returned false")
	}
	f.Advance(time.Hour)
	select {
	case <-tm.C():
		t.Fatal("a stopped timer fired")
	default:
	}
	if tm.Reset(time.Second) {
		t.Fatal("Reset of a stopped timer returned true")
	}
	f.Advance(time.Second)
	select {
	case at := <-tm.C():
		if !at.Equal(epoch.Add(time.Hour + time.Second)) {
			t.Fatal(at)
		}
	default:
		t.Fatal("the reset timer did not fire")
	}
	if tm.Stop() {
		t.Fatal("Stop of a fired timer returned true")
	}
}

func TestFakeSleepWakesOnAdvance(t *testing.T) {
	f := NewFake(epoch)
	var woke atomic.Bool
	done := make(chan struct{})
	go func() {
		f.Sleep(time.Hour)
		woke.Store(true)
		close(done)
	}()
	f.BlockUntil(1)
	f.Advance(59 * time.Minute)
	if woke.Load() {
		t.Fatal("woke before its hour")
	}
	f.Advance(time.Minute)
	<-done
	if f.Waiters() != 0 {
		t.Fatal(f.Waiters())
	}
}

func TestFakeAfterZeroFiresAtOnce(t *testing.T) {
	f := NewFake(epoch)
	select {
	case <-f.After(0):
	default:
		t.Fatal("After(0) did not fire at once")
	}
	f.Sleep(0)
	f.Sleep(-time.Second)
}

func TestFakeTicker(t *testing.T) {
	f := NewFake(epoch)
	tk := f.NewTicker(10 * time.Second)
	n := 0
	for range 3 {
		f.Advance(10 * time.Second)
		select {
		case <-tk.C():
			n++
		default:
		}
	}
	if n != 3 {
		t.Fatalf("%d ticks", n)
	}
	f.Advance(25 * time.Second) // two ticks due, one kept (channel of one), like time.Ticker
	<-tk.C()
	select {
	case <-tk.C():
		t.Fatal("a second tick was buffered")
	default:
	}
	tk.Reset(time.Minute)
	f.Advance(59 * time.Second)
	select {
	case <-tk.C():
		t.Fatal("ticked before its new period")
	default:
	}
	f.Advance(time.Second)
	<-tk.C()
	tk.Stop()
	f.Advance(time.Hour)
	select {
	case <-tk.C():
		t.Fatal("a stopped ticker ticked")
	default:
	}
}

func TestRealClock(t *testing.T) {
	var c Clock = Real
	start := c.Now()
	c.Sleep(time.Millisecond)
	<-c.After(time.Millisecond)
	if c.Since(start) <= 0 {
		t.Fatal("time did not move")
	}
	done := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(done) })
	<-done
	tm := c.NewTimer(time.Hour)
	if !tm.Stop() {
		t.Fatal("Stop")
	}
	tk := c.NewTicker(time.Millisecond)
	<-tk.C()
	tk.Stop()
}

// Both implement Clock.
var _ Clock = (*Fake)(nil)

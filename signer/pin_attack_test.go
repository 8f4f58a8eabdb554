package signer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// TestPINAttackGuessesBetweenRightOnes guesses four PINs, lets the holder's system use the
// right one (which clears the count of wrong PINs in a row), and again: the key never locked,
// so a caller next to a busy holder tried PINs without end (a six-digit PIN in days). Wrong
// PINs are now also bounded over a day, whatever succeeds between them; a day later the
// bound starts again.
func TestPINAttackGuessesBetweenRightOnes(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	g := testGuard(t, GuardOptions{Now: clock, Logger: slog.New(slog.DiscardHandler)})
	if err := g.SetPIN(ctx, "k", []byte("123456")); err != nil {
		t.Fatal(err)
	}
	guess := 0
	round := func() (locked bool) {
		for range MaxPINTries - 1 {
			err := g.Verify(ctx, "k", fmt.Appendf(nil, "%06d", 900000+guess))
			guess++
			advance(time.Minute)
			if errors.Is(err, ErrLocked) {
				return true
			}
			if !errors.Is(err, ErrWrongPIN) {
				t.Fatalf("guess %d: %v", guess, err)
			}
		}
		err := g.Verify(ctx, "k", []byte("123456"))
		advance(time.Minute)
		if errors.Is(err, ErrLocked) {
			return true
		}
		if err != nil {
			t.Fatalf("right PIN: %v", err)
		}
		return false
	}
	for r := 0; ; r++ {
		if round() {
			break
		}
		if guess > MaxPINDailyFailures {
			t.Fatalf("%d wrong PINs in %d rounds, each followed by the right one, and the key is not locked", guess, r+1)
		}
	}
	if guess != MaxPINDailyFailures {
		t.Fatalf("locked after %d wrong PINs, want %d", guess, MaxPINDailyFailures)
	}
	if err := g.Verify(ctx, "k", []byte("123456")); !errors.Is(err, ErrLocked) {
		t.Fatalf("right PIN once locked: %v", err)
	}
	if err := g.Unlock(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	// After an unlock, and in another day, the holder's own mistakes start again from none.
	for day := range 3 {
		for range MaxPINDailyFailures/(MaxPINTries-1) - 1 {
			if round() {
				t.Fatalf("day %d: locked within the daily bound", day)
			}
		}
		advance(24 * time.Hour)
	}
}

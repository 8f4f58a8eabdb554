package genmemo

import (
	"fmt"
	"sync"
	"testing"
)

func TestGenerations(t *testing.T) {
	m := New[int](8)
	if _, ok := m.Get("a"); ok {
		t.Fatal("an empty table answers")
	}
	g := m.Gen()
	m.Put("a", g, 1)
	if v, ok := m.Get("a"); !ok || v != 1 {
		t.Fatalf("got %d %v", v, ok)
	}
	if _, ok := m.Get("b"); ok {
		t.Fatal("another key is answered")
	}
	m.Bump()
	if _, ok := m.Get("a"); ok {
		t.Fatal("a value read before a write is answered after it")
	}
	// Read before the write, put after it: never held.
	m.Put("a", g, 2)
	if _, ok := m.Get("a"); ok {
		t.Fatal("a value of an older generation was held")
	}
	m.Put("a", m.Gen(), 3)
	if v, ok := m.Get("a"); !ok || v != 3 {
		t.Fatalf("got %d %v", v, ok)
	}
}

// Keys sharing a slot replace each other and never answer for one another; the table holds
// at most its size whatever is looked up.
func TestSlotsBounded(t *testing.T) {
	m := New[string](4)
	for i := range 1000 {
		k := fmt.Sprint("k", i)
		m.Put(k, m.Gen(), k)
	}
	held := 0
	for i := range 1000 {
		k := fmt.Sprint("k", i)
		if v, ok := m.Get(k); ok {
			held++
			if v != k {
				t.Fatalf("%s answered with %s", k, v)
			}
		}
	}
	if held == 0 || held > 4 {
		t.Fatalf("%d values held in 4 slots", held)
	}
}

// Readers and a writer at once (run with -race): after Bump returns, no lookup answers a
// value put under an older generation.
func TestConcurrent(t *testing.T) {
	m := New[int](16)
	var wg sync.WaitGroup
	var mu sync.RWMutex
	value := 0 // the "store"
	for range 4 {
		wg.Go(func() {
			for range 2000 {
				mu.RLock()
				g := m.Gen()
				v := value
				mu.RUnlock()
				m.Put("k", g, v)
				mu.RLock()
				if got, ok := m.Get("k"); ok && got != value {
					t.Errorf("answered %d, the store holds %d", got, value)
				}
				mu.RUnlock()
			}
		})
	}
	for range 200 {
		mu.Lock()
		value++
		m.Bump()
		mu.Unlock()
	}
	wg.Wait()
}

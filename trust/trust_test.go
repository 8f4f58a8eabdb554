package trust

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/verifier"
)

var ctx = context.Background()

func sameSet(t *testing.T, got verifier.TrustSet, name string, want TrustSetInput) {
	t.Helper()
	if got.Name != name {
		t.Errorf("set name %q, want %q", got.Name, name)
	}
	for _, l := range []struct {
		list string
		got  []*smx509.Certificate
		want [][]byte
	}{{"roots", got.Roots, want.Roots}, {"intermediates", got.Intermediates, want.Intermediates}, {"makers", got.Makers, want.Makers}} {
		if !slices.EqualFunc(rawsOf(l.got), l.want, bytes.Equal) {
			t.Errorf("set %s: %s hold %d certificates, not the %d put", name, l.list, len(l.got), len(l.want))
		}
	}
}

func TestPutGetListRemove(t *testing.T) {
	e := newEnv(t)
	s := e.sets(t, Options{})
	if got := s.List(); len(got) != 0 {
		t.Fatalf("new store lists %d sets", len(got))
	}
	gd, bj := newPKI(t, "Guangdong"), newPKI(t, "Beijing")
	g1, err := s.Put(ctx, "gd", gd.input())
	if err != nil {
		t.Fatal(err)
	}
	if g1 != 1 {
		t.Fatalf("first generation %d, want 1", g1)
	}
	if _, err := s.Put(ctx, "bj.city", bj.input()); err != nil {
		t.Fatal(err)
	}
	set, gen, err := s.TrustSet("gd")
	if err != nil || gen != g1 {
		t.Fatalf("TrustSet(gd) = gen %d, %v; want %d", gen, err, g1)
	}
	sameSet(t, set, "gd", gd.input())

	list := s.List()
	if len(list) != 2 || list[0].Name != "bj.city" || list[1].Name != "gd" || list[1].Generation != g1 {
		t.Fatalf("List = %+v", list)
	}
	sameSet(t, list[0].TrustSet, "bj.city", bj.input())

	// Replacing the contents.
	g2, err := s.Put(ctx, "gd", bj.input())
	if err != nil || g2 <= g1 {
		t.Fatalf("second Put: generation %d, %v; want above %d", g2, err, g1)
	}
	set, gen, _ = s.TrustSet("gd")
	sameSet(t, set, "gd", bj.input())
	if gen != g2 {
		t.Fatalf("TrustSet generation %d, want %d", gen, g2)
	}

	if err := s.Remove(ctx, "gd"); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.TrustSet("gd")
	wantKind(t, err, ErrNotFound, `"gd"`)
	if list := s.List(); len(list) != 1 || list[0].Name != "bj.city" {
		t.Fatalf("List after Remove = %+v", list)
	}
	wantKind(t, s.Remove(ctx, "gd"), ErrNotFound, "gd")
}

func TestGenerationNeverGoesBack(t *testing.T) {
	e := newEnv(t)
	s := e.sets(t, Options{})
	a, b := newPKI(t, "A"), newPKI(t, "B")
	var gens []uint64
	step := func(what string, gen uint64, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if len(gens) > 0 && gen <= gens[len(gens)-1] {
			t.Fatalf("%s: generation %d after %v", what, gen, gens)
		}
		gens = append(gens, gen)
	}
	current := func() uint64 {
		t.Helper()
		_, g, err := s.TrustSet("x")
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	g, err := s.Put(ctx, "x", a.input())
	step("put a", g, err)
	g, err = s.Put(ctx, "x", b.input())
	step("put b", g, err)
	if err := s.Remove(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	g, err = s.Put(ctx, "x", a.input()) // the same contents as the first generation
	step("put a after remove", g, err)
	if g != 4 {
		t.Fatalf("generation after put, put, remove, put: %d, want 4 (the removal counts)", g)
	}

	e.reopen(t)
	s = e.sets(t, Options{})
	if current() != gens[len(gens)-1] {
		t.Fatalf("after reopen generation %d, want %d", current(), gens[len(gens)-1])
	}
	if err := s.Remove(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	e.reopen(t)
	s = e.sets(t, Options{})
	if _, _, err := s.TrustSet("x"); err == nil {
		t.Fatal("a removed set is back after reopen")
	}
	g, err = s.Put(ctx, "x", b.input())
	step("put b after remove and reopen", g, err)
	if g != 6 {
		t.Fatalf("generation %d, want 6", g)
	}
}

func TestPersistedAcrossReopen(t *testing.T) {
	e := newEnv(t)
	s := e.sets(t, Options{})
	p := newPKI(t, "Persist")
	in := p.input()
	in.Makers = append(in.Makers, p.inter.cert.Raw) // a maker CA beside the maker
	gen, err := s.Put(ctx, "persist", in)
	if err != nil {
		t.Fatal(err)
	}
	e.reopen(t)
	s = e.sets(t, Options{})
	set, g, err := s.TrustSet("persist")
	if err != nil || g != gen {
		t.Fatalf("after reopen: generation %d, %v; want %d", g, err, gen)
	}
	sameSet(t, set, "persist", in)
}

func TestNoChangeKeepsGeneration(t *testing.T) {
	e := newEnv(t)
	calls := 0
	s := e.sets(t, Options{OnChange: func(string) { calls++ }})
	p := newPKI(t, "Same")
	g1, err := s.Put(ctx, "same", p.input())
	if err != nil {
		t.Fatal(err)
	}
	g2, err := s.PutPEM(ctx, "same", pemOf(p.root), pemOf(p.inter), pemOf(p.maker))
	if err != nil || g2 != g1 {
		t.Fatalf("the same certificates again: generation %d, %v; want %d", g2, err, g1)
	}
	if calls != 1 {
		t.Fatalf("OnChange called %d times for one change", calls)
	}
	// Another order is another set.
	in := p.input()
	in.Makers = [][]byte{p.inter.cert.Raw, p.maker.cert.Raw}
	g3, _ := s.Put(ctx, "same", in)
	in.Makers = [][]byte{p.maker.cert.Raw, p.inter.cert.Raw}
	g4, _ := s.Put(ctx, "same", in)
	if g3 != g1+1 || g4 != g3+1 || calls != 3 {
		t.Fatalf("generations %d %d %d, %d calls", g1, g3, g4, calls)
	}
}

func TestDuplicatesDropped(t *testing.T) {
	e := newEnv(t)
	s := e.sets(t, Options{})
	p := newPKI(t, "Dup")
	other := newMaker(t, "Other Maker", p.inter)
	in := TrustSetInput{
		Roots:         ders(p.root, p.root),
		Intermediates: ders(p.inter, p.inter, p.inter),
		Makers:        ders(p.maker, other, p.maker, other),
	}
	if _, err := s.Put(ctx, "dup", in); err != nil {
		t.Fatal(err)
	}
	set, _, _ := s.TrustSet("dup")
	sameSet(t, set, "dup", TrustSetInput{Roots: ders(p.root), Intermediates: ders(p.inter), Makers: ders(p.maker, other)})
	// A certificate in two lists stays in both: a self-signed maker may be its own root.
	self := newRoot(t, "Self Maker")
	if _, err := s.Put(ctx, "self", TrustSetInput{Roots: ders(self), Makers: ders(self)}); err != nil {
		t.Fatal(err)
	}
	set, _, _ = s.TrustSet("self")
	if len(set.Roots) != 1 || len(set.Makers) != 1 {
		t.Fatalf("self-signed maker: %d roots, %d makers", len(set.Roots), len(set.Makers))
	}
}

func TestDefaultCreatedOnce(t *testing.T) {
	e := newEnv(t)
	own := newPKI(t, "Own")
	def := own.input()
	s := e.sets(t, Options{Default: &def})
	set, gen, err := s.TrustSet(DefaultName)
	if err != nil || gen != 1 {
		t.Fatalf("default: generation %d, %v", gen, err)
	}
	sameSet(t, set, DefaultName, def)

	// Opening again does not write it again.
	s = e.sets(t, Options{Default: &def})
	if _, gen, _ := s.TrustSet(DefaultName); gen != 1 {
		t.Fatalf("default rewritten on the second Open: generation %d", gen)
	}
	// A default changed by Put stays changed, whatever Options.Default says.
	other := newPKI(t, "Other")
	g2, err := s.Put(ctx, DefaultName, other.input())
	if err != nil {
		t.Fatal(err)
	}
	e.reopen(t)
	var logged bytes.Buffer
	s = e.sets(t, Options{Default: &def, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if !strings.Contains(logged.String(), "differs from the configured one") {
		t.Errorf("no warning that the stored default is not the configured one; logged %q", logged.String())
	}
	set, gen, _ = s.TrustSet(DefaultName)
	if gen != g2 {
		t.Fatalf("after reopen default generation %d, want %d", gen, g2)
	}
	sameSet(t, set, DefaultName, other.input())

	wantKind(t, s.Remove(ctx, DefaultName), ErrInvalidInput, "default", "cannot be removed")
	if _, _, err := s.TrustSet(DefaultName); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentPutsLoseNothing(t *testing.T) {
	e := newEnv(t)
	// Two Sets over one store stand for two writers that share nothing in memory.
	s1, s2 := e.sets(t, Options{}), e.sets(t, Options{})
	p := newPKI(t, "Busy")
	const writers, each = 6, 5
	makers := make([]*issued, writers*each)
	for i := range makers {
		makers[i] = newMaker(t, fmt.Sprintf("Maker %d", i), p.inter)
	}
	var mu sync.Mutex
	calls := map[string]int{}
	count := func(s *Sets) {
		s.Watch(func(name string) {
			mu.Lock()
			calls[name]++
			mu.Unlock()
		})
	}
	count(s1)
	count(s2)
	var wg sync.WaitGroup
	errc := make(chan error, writers*each)
	gens := make(chan uint64, writers*each)
	for w := range writers {
		s := s1
		if w%2 == 1 {
			s = s2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				in := TrustSetInput{Roots: ders(p.root), Intermediates: ders(p.inter), Makers: ders(makers[w*each+i])}
				g, err := s.Put(ctx, "busy", in)
				errc <- err
				gens <- g
			}
		}()
	}
	wg.Wait()
	close(errc)
	close(gens)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	seen := map[uint64]bool{}
	for g := range gens {
		if seen[g] {
			t.Fatalf("generation %d given out twice", g)
		}
		seen[g] = true
	}
	if err := s1.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s2.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for i, s := range []*Sets{s1, s2} {
		if _, gen, _ := s.TrustSet("busy"); gen != writers*each {
			t.Fatalf("writer %d sees generation %d after %d changes", i+1, gen, writers*each)
		}
	}
	// Each change is announced by the Sets that made it; Reload announces the other's.
	if n := calls["busy"]; n < writers*each {
		t.Fatalf("watchers called %d times for %d changes", n, writers*each)
	}
}

func TestOnChangeAndWatch(t *testing.T) {
	e := newEnv(t)
	var got []string
	var s *Sets
	s = e.sets(t, Options{OnChange: func(name string) {
		// Called once the change is visible.
		_, _, err := s.TrustSet(name)
		got = append(got, fmt.Sprintf("%s:%v", name, err == nil))
	}})
	var watched []string
	cancel := s.Watch(func(name string) { watched = append(watched, name) })
	a, b := newPKI(t, "A"), newPKI(t, "B")
	if _, err := s.Put(ctx, "a", a.input()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutPEM(ctx, "b", pemOf(b.root), nil, pemOf(b.maker)); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := s.Put(ctx, "b", a.input()); err != nil {
		t.Fatal(err)
	}
	// Refused changes call nobody.
	_, _ = s.Put(ctx, "b", TrustSetInput{})
	_ = s.Remove(ctx, "nosuch")
	want := []string{"a:true", "b:true", "a:false", "b:true"}
	if !slices.Equal(got, want) {
		t.Fatalf("OnChange calls %v, want %v", got, want)
	}
	if !slices.Equal(watched, []string{"a", "b", "a"}) {
		t.Fatalf("Watch calls %v, want a, b, a (and none after cancel)", watched)
	}
}

func TestReloadTakesOtherWriters(t *testing.T) {
	e := newEnv(t)
	s1, s2 := e.sets(t, Options{}), e.sets(t, Options{})
	var seen []string
	s2.Watch(func(name string) { seen = append(seen, name) })
	p := newPKI(t, "R")
	g, err := s1.Put(ctx, "r", p.input())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s2.TrustSet("r"); err == nil {
		t.Fatal("s2 sees s1's change before Reload")
	}
	if err := s2.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, gen, err := s2.TrustSet("r"); err != nil || gen != g {
		t.Fatalf("after Reload: generation %d, %v; want %d", gen, err, g)
	}
	if err := s2.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, []string{"r"}) {
		t.Fatalf("watcher calls %v, want one for r", seen)
	}
	// A Put of what another writer stored already writes nothing, but brings the view
	// up to date and says so.
	g2, err := s1.Put(ctx, "r", newPKI(t, "R2").input())
	if err != nil {
		t.Fatal(err)
	}
	set, _, _ := s1.TrustSet("r")
	in := TrustSetInput{Roots: rawsOf(set.Roots), Intermediates: rawsOf(set.Intermediates), Makers: rawsOf(set.Makers)}
	if got, err := s2.Put(ctx, "r", in); err != nil || got != g2 {
		t.Fatalf("s2 puts what s1 stored: generation %d, %v; want %d", got, err, g2)
	}
	if _, gen, _ := s2.TrustSet("r"); gen != g2 {
		t.Fatalf("s2 sees generation %d, want %d", gen, g2)
	}
	if !slices.Equal(seen, []string{"r", "r"}) {
		t.Fatalf("watcher calls %v, want two for r", seen)
	}
	g = g2
	// s2 removes it; s1 puts the same contents again: a new generation, not the old one.
	if err := s2.Remove(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	g3, err := s1.Put(ctx, "r", p.input())
	if err != nil || g3 != g+2 {
		t.Fatalf("put after another's remove: generation %d, %v; want %d", g3, err, g+2)
	}
}

func TestTrustSetDoesNotAllocate(t *testing.T) {
	e := newEnv(t)
	s := e.sets(t, Options{})
	if _, err := s.Put(ctx, "hot", newPKI(t, "Hot").input()); err != nil {
		t.Fatal(err)
	}
	var sink uint64
	allocs := testing.AllocsPerRun(1000, func() {
		_, g, err := s.TrustSet("hot")
		if err != nil {
			panic(err)
		}
		sink += g
	})
	if allocs != 0 {
		t.Fatalf("TrustSet allocates %.1f times per call", allocs)
	}
	if sink == 0 {
		t.Fatal("no generation read")
	}
}

func TestConcurrentReadsDuringWrites(t *testing.T) {
	e := newEnv(t)
	s := e.sets(t, Options{})
	a, b := newPKI(t, "A"), newPKI(t, "B")
	if _, err := s.Put(ctx, "rw", a.input()); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bad error
	var once sync.Once
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last uint64
			for {
				select {
				case <-stop:
					return
				default:
				}
				set, g, err := s.TrustSet("rw")
				if err == nil && (g < last || len(set.Roots) != 1) {
					once.Do(func() { bad = fmt.Errorf("generation %d after %d, %d roots", g, last, len(set.Roots)) })
				}
				if err == nil {
					last = g
				}
				_ = s.List()
			}
		}()
	}
	for i := range 20 {
		in := a.input()
		if i%2 == 1 {
			in = b.input()
		}
		if _, err := s.Put(ctx, "rw", in); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if bad != nil {
		t.Fatal(bad)
	}
}

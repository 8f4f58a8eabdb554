package trust

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/store"
	"github.com/eseal/eseal/verifier"
)

// SpaceName is the keyspace the trust sets are kept in:
//
//	sets, err := trust.Open(ctx, store.MustSpace(db, trust.SpaceName), opts)
const SpaceName = "trust"

// prefixSet is the key prefix of the set records: one key per name, "set/<name>".
const prefixSet = "set/"

// maxTries bounds the compare-and-swap retries of one change.
const maxTries = store.MaxUpdateTries

// Options configure Open. The zero value opens the sets kept in the store, with no
// default set, the default Limits and slog.Default().
type Options struct {
	// Default, when not nil, is the default set (our own root and seal maker): Open
	// creates it under DefaultName when the store has no set of that name, and leaves a
	// set already there as it is. An invalid Default is an error of kind ErrConfig.
	Default *TrustSetInput
	// OnChange, when not nil, is called with a set's name after each change to it (Put,
	// PutPEM, LoadFiles that changed it, Remove), once the change is stored and visible
	// to TrustSet; see Watch.
	OnChange func(name string)
	// Limits bound the sets and bundles given.
	Limits Limits
	// Logger receives a line per change; nil means slog.Default().
	Logger *slog.Logger
}

// Sets are the named trust sets kept in a store. They implement verifier.TrustSource.
// Sets are safe for concurrent use.
type Sets struct {
	kv  store.KV
	lim Limits
	log *slog.Logger

	mu       sync.Mutex // held to replace view and to change watchers
	view     atomic.Pointer[map[string]*entry]
	watchers map[int]func(string)
	nextW    int
}

var _ verifier.TrustSource = (*Sets)(nil)

// entry is a set as TrustSet hands it out. A removed set stays as a tombstone so that
// a change read late never brings back an older generation.
type entry struct {
	set     verifier.TrustSet
	gen     uint64
	removed bool
}

// record is a set as the store keeps it. A removed set keeps its record, Removed and
// without certificates, so that its generation is never given out again.
type record struct {
	V             int      `json:"v"`
	Name          string   `json:"name"`
	Generation    uint64   `json:"generation"`
	Removed       bool     `json:"removed,omitempty"`
	Roots         [][]byte `json:"roots,omitempty"`
	Intermediates [][]byte `json:"intermediates,omitempty"`
	Makers        [][]byte `json:"makers,omitempty"`
}

// Info describes a set for List.
type Info struct {
	verifier.TrustSet
	Generation uint64
}

// Open loads every set kept in kv (the keyspace SpaceName of the store), checking each
// again, and creates the default set when Options.Default asks for it. A stored set that
// does not decode or no longer passes the checks is an error of kind ErrCorrupt.
func Open(ctx context.Context, kv store.KV, opts Options) (*Sets, error) {
	const op = "trust.Open"
	if kv == nil {
		return nil, errorf(ErrConfig, op, "", "", nil, "no store")
	}
	s := &Sets{kv: kv, lim: opts.Limits.withDefaults(), log: opts.Logger, watchers: map[int]func(string){}}
	if s.log == nil {
		s.log = slog.Default()
	}
	empty := map[string]*entry{}
	s.view.Store(&empty)
	if opts.OnChange != nil {
		s.Watch(opts.OnChange)
	}
	if opts.Default != nil {
		set, err := s.lim.check(op, DefaultName, *opts.Default, nil)
		if err != nil {
			return nil, errorf(ErrConfig, op, DefaultName, "Options.Default", bare(err), "the default trust set is not valid")
		}
		differs := false
		rec, created, err := s.change(ctx, op, DefaultName, set, func(old *record) (*record, error) {
			if old != nil && !old.Removed {
				differs = !sameLists(old, set)
				return nil, nil
			}
			return newRecord(set, old), nil
		})
		if err != nil {
			return nil, err
		}
		switch {
		case created:
			s.log.InfoContext(ctx, "default trust set created", "set", DefaultName, "generation", rec.Generation)
		case differs:
			s.log.WarnContext(ctx, "the stored default trust set differs from the configured one; the stored one is used (put the configured one to replace it)",
				"set", DefaultName, "generation", rec.Generation)
		}
	}
	if _, err := s.load(ctx, op); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload reads every set from the store again, taking in changes another process made
// (a newer generation), and calls the watchers for each set it changed. Changes made
// through these Sets are seen at once without it.
func (s *Sets) Reload(ctx context.Context) error {
	changed, err := s.load(ctx, "trust.Reload")
	for _, name := range changed {
		s.notify(name)
	}
	return err
}

// load reads every record and applies those newer than what the view holds; it returns
// the names it changed.
func (s *Sets) load(ctx context.Context, op string) ([]string, error) {
	loadLim := s.lim
	loadLim.MaxCerts, loadLim.MaxBytes = math.MaxInt, math.MaxInt // stored sets were bounded when put
	var changed []string
	err := s.kv.Scan(ctx, []byte(prefixSet), func(k, v []byte) error {
		name := string(k[len(prefixSet):])
		rec, err := decodeRecord(op, name, v)
		if err != nil {
			return err
		}
		var set verifier.TrustSet
		if !rec.Removed {
			set, err = loadLim.check(op, name, rec.input(), nil)
			if err != nil {
				return errorf(ErrCorrupt, op, name, "", bare(err), "the stored set no longer passes the checks")
			}
		}
		if s.apply(set, rec) {
			changed = append(changed, name)
		}
		return nil
	})
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return changed, err
		}
		return changed, errorf(ErrUnavailable, op, "", "", err, "reading the store")
	}
	return changed, nil
}

// Put makes the set called name hold the certificates of in, replacing what it held,
// and returns its new generation. Every certificate is checked (see TrustSetInput); the
// first that fails makes the whole Put fail, naming it by list and place
// ("intermediates[1]") and subject. Duplicates within a list are dropped. A Put that
// changes nothing (the same certificates in the same order) writes nothing and returns
// the generation the set has.
//
// The change is one synced compare-and-swap of the set's record, retried when another
// writer changed it meanwhile, so concurrent changes are never lost: each one takes the
// next generation.
func (s *Sets) Put(ctx context.Context, name string, in TrustSetInput) (uint64, error) {
	return s.put(ctx, "trust.Put", name, in, nil)
}

func (s *Sets) put(ctx context.Context, op, name string, in TrustSetInput, src *[nLists]string) (uint64, error) {
	if err := checkName(op, name); err != nil {
		return 0, err
	}
	set, err := s.lim.check(op, name, in, src)
	if err != nil {
		return 0, err
	}
	rec, changed, err := s.change(ctx, op, name, set, func(old *record) (*record, error) {
		if old != nil && !old.Removed && sameLists(old, set) {
			return nil, nil
		}
		return newRecord(set, old), nil
	})
	if err != nil {
		return 0, err
	}
	gen := rec.Generation
	if !changed {
		// What is stored is what was asked for; another process may have stored it,
		// so the view takes it too.
		if s.apply(set, rec) {
			s.notify(name)
		}
	} else {
		s.log.InfoContext(ctx, "trust set changed", "set", name, "generation", gen,
			"roots", len(set.Roots), "intermediates", len(set.Intermediates), "makers", len(set.Makers))
		s.notify(name)
	}
	return gen, nil
}

// Remove removes the set called name; its generation is kept, so that the name, put
// again, takes a newer one. The default set cannot be removed (ErrInvalidInput); an
// unknown name is an error of kind ErrNotFound.
func (s *Sets) Remove(ctx context.Context, name string) error {
	const op = "trust.Remove"
	if err := checkName(op, name); err != nil {
		return err
	}
	if name == DefaultName {
		return errorf(ErrInvalidInput, op, name, "", nil, "the default trust set cannot be removed; put other certificates in it instead")
	}
	rec, _, err := s.change(ctx, op, name, verifier.TrustSet{}, func(old *record) (*record, error) {
		if old == nil || old.Removed {
			return nil, errorf(ErrNotFound, op, name, "", nil, "no such trust set")
		}
		return &record{V: 1, Name: name, Generation: old.Generation + 1, Removed: true}, nil
	})
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "trust set removed", "set", name, "generation", rec.Generation)
	s.notify(name)
	return nil
}

// change runs a compare-and-swap loop on the record of name: next gets the stored record
// (nil when there is none) and returns the one to write, or nil to write nothing. A record
// written is applied to the view (set is its parsed form, for a record that is not
// removed). It returns the record stored at the end, and whether it wrote it.
func (s *Sets) change(ctx context.Context, op, name string, set verifier.TrustSet, next func(old *record) (*record, error)) (*record, bool, error) {
	key := []byte(prefixSet + name)
	for range maxTries {
		oldRaw, err := s.kv.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			oldRaw, err = nil, nil
		}
		if err != nil {
			return nil, false, errorf(ErrUnavailable, op, name, "", err, "reading the store")
		}
		var old *record
		if oldRaw != nil {
			if old, err = decodeRecord(op, name, oldRaw); err != nil {
				return nil, false, err
			}
		}
		rec, err := next(old)
		if err != nil {
			return nil, false, err
		}
		if rec == nil {
			return old, false, nil
		}
		raw, err := json.Marshal(rec)
		if err != nil {
			return nil, false, errorf(ErrUnavailable, op, name, "", err, "encoding the record")
		}
		err = s.kv.CompareAndSwap(ctx, key, oldRaw, raw)
		if err == nil {
			s.apply(set, rec)
			return rec, true, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return nil, false, errorf(ErrUnavailable, op, name, "", err, "writing the store")
		}
	}
	return nil, false, errorf(ErrConflict, op, name, "", nil, "other writers changed the set %d times in a row; not changed", maxTries)
}

// apply puts rec (set, parsed) in the view unless the view has the same or a newer
// generation of the set; it reports whether it did.
func (s *Sets) apply(set verifier.TrustSet, rec *record) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := *s.view.Load()
	if e, ok := cur[rec.Name]; ok && e.gen >= rec.Generation {
		return false
	}
	next := make(map[string]*entry, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	e := &entry{gen: rec.Generation, removed: rec.Removed}
	if !rec.Removed {
		e.set = set
		e.set.Name = rec.Name
	}
	next[rec.Name] = e
	s.view.Store(&next)
	return true
}

// TrustSet implements verifier.TrustSource: the set called name and its generation. An
// unknown or removed name is an error of kind ErrNotFound. It takes no lock and
// allocates nothing when the set exists. The set's slices are shared: callers must not
// modify them.
func (s *Sets) TrustSet(name string) (verifier.TrustSet, uint64, error) {
	if e, ok := (*s.view.Load())[name]; ok && !e.removed {
		return e.set, e.gen, nil
	}
	return verifier.TrustSet{}, 0, errorf(ErrNotFound, "trust.TrustSet", clip(name, MaxNameLen+8), "", nil, "no such trust set")
}

// List returns every set, with its generation, in name order. The sets' slices are
// shared: callers must not modify them.
func (s *Sets) List() []Info {
	view := *s.view.Load()
	out := make([]Info, 0, len(view))
	for _, e := range view {
		if !e.removed {
			out = append(out, Info{TrustSet: e.set, Generation: e.gen})
		}
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Watch registers fn to be called with a set's name after each change to it, once the
// change is stored and visible to TrustSet (a verifier drops what it remembers of the
// set then). Calls may come from several goroutines at once and should be quick. The
// returned function unregisters fn.
func (s *Sets) Watch(fn func(name string)) (cancel func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextW
	s.nextW++
	s.watchers[id] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.watchers, id)
	}
}

func (s *Sets) notify(name string) {
	s.mu.Lock()
	fns := make([]func(string), 0, len(s.watchers))
	ids := make([]int, 0, len(s.watchers))
	for id := range s.watchers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		fns = append(fns, s.watchers[id])
	}
	s.mu.Unlock()
	for _, fn := range fns {
		fn(name)
	}
}

func newRecord(set verifier.TrustSet, old *record) *record {
	rec := &record{V: 1, Name: set.Name, Generation: 1,
		Roots: raws(set.Roots), Intermediates: raws(set.Intermediates), Makers: raws(set.Makers)}
	if old != nil {
		rec.Generation = old.Generation + 1
	}
	return rec
}

func (r *record) input() TrustSetInput {
	return TrustSetInput{Roots: r.Roots, Intermediates: r.Intermediates, Makers: r.Makers}
}

func decodeRecord(op, name string, raw []byte) (*record, error) {
	var rec record
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return nil, errorf(ErrCorrupt, op, clip(name, MaxNameLen+8), "", err, "the stored record does not decode")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errorf(ErrCorrupt, op, clip(name, MaxNameLen+8), "", nil, "the stored record has data after its end")
	}
	switch {
	case rec.V != 1:
		return nil, errorf(ErrCorrupt, op, clip(name, MaxNameLen+8), "", nil, "stored record of version %d, this build reads version 1", rec.V)
	case rec.Name != name || !ValidName(name):
		return nil, errorf(ErrCorrupt, op, clip(name, MaxNameLen+8), "", nil, "the stored record names the set %q", clip(rec.Name, MaxNameLen+8))
	case rec.Generation == 0:
		return nil, errorf(ErrCorrupt, op, name, "", nil, "the stored record has generation 0")
	case rec.Removed && len(rec.Roots)+len(rec.Intermediates)+len(rec.Makers) != 0:
		return nil, errorf(ErrCorrupt, op, name, "", nil, "the stored record is removed but holds certificates")
	}
	return &rec, nil
}

func sameLists(r *record, set verifier.TrustSet) bool {
	return sameRaws(r.Roots, set.Roots) && sameRaws(r.Intermediates, set.Intermediates) && sameRaws(r.Makers, set.Makers)
}

func sameRaws(a [][]byte, b []*smx509.Certificate) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i].Raw) {
			return false
		}
	}
	return true
}

func raws(cs []*smx509.Certificate) [][]byte {
	out := make([][]byte, len(cs))
	for i, c := range cs {
		out[i] = c.Raw
	}
	return out
}

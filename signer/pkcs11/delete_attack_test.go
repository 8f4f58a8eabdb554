//go:build cgo

package pkcs11

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	p11 "github.com/miekg/pkcs11"

	"github.com/eseal/eseal/signer"
)

// midLookupCtx runs hook once, when a search for a private key has found it and before the
// store caches its handle: the moment a concurrent Delete can slip in.
type midLookupCtx struct {
	p11Ctx
	mu        sync.Mutex
	searching map[p11.SessionHandle]bool
	hook      func()
	fired     atomic.Bool
}

func (f *midLookupCtx) FindObjectsInit(sh p11.SessionHandle, temp []*p11.Attribute) error {
	priv := false
	for _, a := range temp {
		if a.Type == p11.CKA_CLASS && string(a.Value) == string(p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY).Value) {
			priv = true
		}
	}
	f.mu.Lock()
	f.searching[sh] = priv
	f.mu.Unlock()
	return f.p11Ctx.FindObjectsInit(sh, temp)
}

func (f *midLookupCtx) FindObjectsFinal(sh p11.SessionHandle) error {
	err := f.p11Ctx.FindObjectsFinal(sh)
	f.mu.Lock()
	priv := f.searching[sh]
	f.mu.Unlock()
	if priv && f.hook != nil && f.fired.CompareAndSwap(false, true) {
		f.hook()
	}
	return err
}

// TestPKCS11AttackDeletedKeyHandleCached: a Delete that overtakes a lookup of the same key
// (a seal revoked while it signs) leaves the lookup caching the handle of the destroyed
// object; the next use of that handle fails with a stale-handle code, which drops the cache,
// so the deleted key is not found again, and neither Find nor Signer answers for it.
func TestPKCS11AttackDeletedKeyHandleCached(t *testing.T) {
	e := softHSM(t)
	s := openStore(t, e, "ecdsa-p256", 2)
	label := genKey(t, s, "overtaken")
	ctx := context.Background()
	s.handles.Clear()
	s.pubs.Clear()
	var derr error
	f := &midLookupCtx{p11Ctx: s.ctx, searching: map[p11.SessionHandle]bool{}}
	f.hook = func() { derr = s.Delete(ctx, label) }
	s.mu.Lock()
	s.ctx = f
	s.mu.Unlock()
	// The lookup found the key; the Delete overtook it before it cached the handle.
	_, _ = s.Find(ctx, label)
	if derr != nil {
		t.Fatalf("delete: %v", derr)
	}
	if _, err := s.Find(ctx, label); !errors.Is(err, signer.ErrKeyNotFound) {
		t.Fatalf("Find after the key was deleted: %v, want not found", err)
	}
	if _, err := s.Signer(ctx, label); !errors.Is(err, signer.ErrKeyNotFound) {
		t.Fatalf("Signer after the key was deleted: %v, want not found", err)
	}
}

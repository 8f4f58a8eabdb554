package registry

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/internal/crashtest"
	"github.com/eseal/eseal/ses"
)

// Environment of the child process of TestCrashLifecycle.
const (
	crashDirEnv  = "ESEAL_REGISTRY_CRASH_DIR"
	crashKeysEnv = "ESEAL_REGISTRY_CRASH_KEYS" // KEK hex, head key hex
	crashSealEnv = "ESEAL_REGISTRY_CRASH_SEAL"
)

// crashChild runs lifecycle steps in one goroutine and signings in two others until it is
// killed, printing one line per acknowledged operation:
//
//	app ID             an application filed
//	seal CODE STATUS   a seal reached STATUS
//	sig SM3            a signature (its value's SM3, hex) returned
func crashChild(t *testing.T, dir, keys, code string) {
	e := openEnvFromHex(t, dir, keys)
	ctx := context.Background()
	var mu sync.Mutex
	ack := func(format string, args ...any) {
		mu.Lock()
		fmt.Fprintf(os.Stdout, format+"\n", args...)
		mu.Unlock()
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	for g := range 2 {
		go func() {
			for i := 0; ; i++ {
				ds := [][]byte{digest(fmt.Sprint(os.Getpid(), g, i, "a")), digest(fmt.Sprint(os.Getpid(), g, i, "b"))}
				u, err := e.reg.Authorize(ctx, holderAct, UseRequest{SealCode: code, Digests: ds, PIN: pin})
				if err != nil {
					fail(err)
				}
				sigs, err := u.SignBatch(ctx, []SignItem{{Digest: ds[0]}, {Digest: ds[1]}})
				if err != nil {
					fail(err)
				}
				for _, sig := range sigs {
					p, err := ses.ParseSignature(sig)
					if err != nil {
						fail(err)
					}
					v := sm3.Sum(p.Value)
					ack("sig %x", v[:])
				}
			}
		}()
	}
	for {
		id, err := e.reg.Apply(ctx, applicant, application(Personal, ""))
		if err != nil {
			fail(err)
		}
		ack("app %s", id)
		if err := e.reg.Approve(ctx, reviewer, id); err != nil {
			fail(err)
		}
		s, err := e.reg.Make(ctx, maker, id, MakeRequest{PIN: pin})
		if err != nil {
			fail(err)
		}
		ack("seal %s %s", s.Code, StatusMade)
		steps := []struct {
			status string
			do     func() error
		}{
			{StatusActive, func() error { return e.reg.Issue(ctx, maker, s.Code) }},
			{StatusSuspended, func() error { return e.reg.Suspend(ctx, admin, s.Code, StatusRequest{Reason: "check"}) }},
			{StatusActive, func() error { return e.reg.Resume(ctx, admin, s.Code, StatusRequest{Reason: "checked"}) }},
			{StatusRevoked, func() error { return e.reg.Revoke(ctx, admin, s.Code, StatusRequest{Reason: "dissolved"}) }},
		}
		for _, st := range steps {
			if err := st.do(); err != nil {
				fail(err)
			}
			ack("seal %s %s", s.Code, st.status)
		}
	}
}

func openEnvFromHex(t *testing.T, dir, keys string) *env {
	f := strings.Fields(keys)
	if len(f) != 2 {
		t.Fatal("bad key environment")
	}
	kek, err := hex.DecodeString(f[0])
	if err != nil {
		t.Fatal(err)
	}
	hb, err := hex.DecodeString(f[1])
	if err != nil {
		t.Fatal(err)
	}
	head, err := sm2.NewPrivateKey(hb)
	if err != nil {
		t.Fatal(err)
	}
	return openEnvAt(t, dir, kek, head, false)
}

// TestCrashLifecycle runs a child process doing a stream of lifecycle steps and signatures,
// kills it with SIGKILL at a random moment, and after each of 20 rounds reopens the store and
// checks that every acknowledged operation is there (applications, every status a seal was
// acknowledged in, in order, every signature's use record provable), that every seal's .esl
// verifies, and that the audit chain is intact.
func TestCrashLifecycle(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(t, dir, os.Getenv(crashKeysEnv), os.Getenv(crashSealEnv))
		return
	}
	dir := filepath.Join(t.TempDir(), "data")
	kek := make([]byte, 16)
	crand.Read(kek)
	head, err := sm2.GenerateKey(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys := hex.EncodeToString(kek) + " " + hex.EncodeToString(head.D.FillBytes(make([]byte, 32)))
	e := openEnvAt(t, dir, kek, head, false)
	code := e.made(t, Personal, "").Code
	e.close()

	apps := map[string]bool{}
	seals := map[string][]string{}
	sigs := map[string]bool{}
	started := time.Now()
	for round := range 20 {
		crashtest.Round{
			N:     round,
			Test:  "TestCrashLifecycle",
			Env:   []string{crashDirEnv + "=" + dir, crashKeysEnv + "=" + keys, crashSealEnv + "=" + code},
			Delay: func() time.Duration { return time.Duration(50+rand.IntN(400)) * time.Millisecond },
			Quiet: 20 * time.Second,
			Ack: func(l string) bool {
				f := strings.Fields(l)
				switch {
				case len(f) == 2 && f[0] == "app":
					apps[f[1]] = true
				case len(f) == 3 && f[0] == "seal":
					seals[f[1]] = append(seals[f[1]], f[2])
				case len(f) == 2 && f[0] == "sig":
					sigs[f[1]] = true
				default:
					return false
				}
				return true
			},
		}.Run(t)
		checkAfterCrash(t, dir, kek, head, apps, seals, sigs)
	}
	t.Logf("20 rounds in %v: %d applications, %d seals, %d signatures acknowledged", time.Since(started).Round(time.Millisecond), len(apps), len(seals), len(sigs))
}

func checkAfterCrash(t *testing.T, dir string, kek []byte, head *sm2.PrivateKey, apps map[string]bool, seals map[string][]string, sigs map[string]bool) {
	t.Helper()
	ctx := context.Background()
	e := openEnvAt(t, dir, kek, head, false)
	defer e.close()
	for id := range apps {
		if _, err := e.reg.Application(ctx, id); err != nil {
			t.Fatalf("acknowledged application %s: %v", id, err)
		}
	}
	for code, acked := range seals {
		s, err := e.reg.Seal(ctx, code)
		if err != nil {
			t.Fatalf("acknowledged seal %s: %v", code, err)
		}
		i := 0
		for _, h := range s.History {
			if i < len(acked) && h.Status == acked[i] {
				i++
			}
		}
		if i < len(acked) {
			t.Fatalf("seal %s: acknowledged statuses %v, history lacks %s", code, acked, acked[i])
		}
		e.checkESL(t, s.ESL)
	}
	for v := range sigs {
		b, _ := hex.DecodeString(v)
		if _, _, ok, err := e.log.ProveExistence([32]byte(b)); !ok || err != nil {
			t.Fatalf("acknowledged signature %s has no provable use record (%v)", v, err)
		}
	}
	rep, err := e.log.Verify(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("audit chain after the crash: %v %+v", err, rep)
	}
}

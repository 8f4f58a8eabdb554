package appliance

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/store"
	"github.com/valyala/fasthttp"
)

// headerIdempotencyKey names the key of a retried POST.
const headerIdempotencyKey = "Idempotency-Key"

// headerReplayed marks an answer given again from the record of the first.
const headerReplayed = "Idempotent-Replayed"

// The bounds of idempotency.
const (
	// idemTTL is how long the first answer is kept.
	idemTTL = 24 * time.Hour
	// idemMaxKey bounds an Idempotency-Key.
	idemMaxKey = 255
	// idemWait is how long a retry waits for the first try to finish before it gets 409.
	idemWait = 5 * time.Second
	// idemAbandoned is how long a try may run before another may take over its key (the
	// process that ran it having stopped).
	idemAbandoned = 10 * time.Minute
)

// idempotency keeps the first answer of each (caller, Idempotency-Key) in the store, space
// "idem", under the SM3 hash of the pair. A record is pending while the first try runs,
// then holds its answer. Only answers below 500 are kept: after a server error or a busy
// answer the record is dropped, so that a retry acts.
type idempotency struct {
	kv   store.KV
	now  func() time.Time
	poll time.Duration
	// key keys the request hash of a caller without an API key's secret (a client
	// certificate): random, of this process.
	key []byte
}

// idemRecord is a stored record.
type idemRecord struct {
	// Request is the HMAC-SM3 of the method, path and body under the caller's API key secret
	// (the server's own key for a caller without one): a retry must match it. A plain hash
	// would let whoever reads the store confirm a guess of a body, and some bodies carry a
	// seal's PIN.
	Request     []byte    `json:"request"`
	Pending     bool      `json:"pending,omitempty"`
	Started     time.Time `json:"started"`
	Expires     time.Time `json:"expires"`
	Status      int       `json:"status,omitempty"`
	ContentType string    `json:"content_type,omitempty"`
	Body        []byte    `json:"body,omitempty"`
}

func newIdempotency(kv store.KV) *idempotency {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails (crypto/rand)
	return &idempotency{
		kv:   store.MustSpace(kv, "idem"),
		now:  func() time.Time { return time.Now().UTC() },
		poll: 25 * time.Millisecond,
		key:  key,
	}
}

// do runs h once for (caller, key): the first call runs it and keeps its answer, a retry
// with the same request gets that answer, a retry with another request is refused 422, a
// retry while the first runs waits for it, then is refused 409.
func (p *idempotency) do(c *Call, key string, h Handler) error {
	if len(key) > idemMaxKey || !printable(key) {
		return &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf("the Idempotency-Key header has 1 to %d printable ASCII characters", idemMaxKey)}
	}
	caller := c.actor.Name
	if c.anon {
		caller = "\x00anonymous"
	}
	id := sm3.Sum([]byte(caller + "\x00" + key))
	sk := []byte(hex.EncodeToString(id[:]))
	// Keyed by what only the caller holds, so that a retry after a restart still matches;
	// a caller without a secret is matched within this process's life.
	mac := p.key
	if c.secret != "" {
		mac = []byte(c.secret)
	}
	rh := hmac.New(sm3.New, mac)
	rh.Write(c.ctx.Method())
	rh.Write([]byte{0})
	rh.Write(c.ctx.Path())
	rh.Write([]byte{0})
	rh.Write(c.ctx.PostBody())
	reqHash := rh.Sum(nil)
	ctx := context.WithoutCancel(c.Context())

	deadline := time.Now().Add(idemWait)
	for {
		old, err := p.kv.Get(ctx, sk)
		if err != nil && !errors.Is(err, errs.NotFound) {
			return fmt.Errorf("appliance: idempotency: %w", err)
		}
		var rec idemRecord
		now := p.now()
		if old != nil {
			if err := json.Unmarshal(old, &rec); err != nil {
				return fmt.Errorf("appliance: idempotency record: %w", errs.Corrupt)
			}
		}
		takeOver := old == nil || now.After(rec.Expires) || (rec.Pending && now.Sub(rec.Started) > idemAbandoned)
		if !takeOver {
			if !bytes.Equal(rec.Request, reqHash) {
				return &Error{Kind: errs.IdempotencyKeyReused, Message: "this Idempotency-Key was used with another request"}
			}
			if !rec.Pending {
				c.ctx.Response.Header.Set(headerReplayed, "true")
				return c.Bytes(rec.Status, rec.ContentType, rec.Body)
			}
			if time.Now().After(deadline) {
				return &Error{Kind: errs.InProgress, Message: "a request with this Idempotency-Key is still being served; retry later"}
			}
			time.Sleep(p.poll)
			continue
		}
		mine := idemRecord{Request: reqHash, Pending: true, Started: now, Expires: now.Add(idemTTL)}
		val, _ := json.Marshal(mine)
		if err := p.kv.CompareAndSwap(ctx, sk, old, val); err != nil {
			if errors.Is(err, errs.Conflict) {
				continue // another try took it first: look again
			}
			return fmt.Errorf("appliance: idempotency: %w", err)
		}
		return p.finish(ctx, c, sk, val, mine, h)
	}
}

// finish runs h and keeps its answer under sk, whose record is pending.
func (p *idempotency) finish(ctx context.Context, c *Call, sk, pending []byte, rec idemRecord, h Handler) (err error) {
	keep := false
	defer func() {
		if !keep {
			// Dropping the record lets a retry act; a failure here leaves it pending
			// until it is taken over as abandoned.
			_ = p.kv.CompareAndSwap(ctx, sk, pending, nil)
		}
	}()
	if err = h(c); err != nil {
		// The refusal's answer is written by the caller of do; keep it only when the
		// caller is at fault (4xx), as the answer would be.
		k := errs.KindOf(err)
		status := Status(k)
		if status >= 500 {
			return err
		}
		tmp := &fasthttp.RequestCtx{}
		writeError(tmp, slog.New(slog.DiscardHandler), "", err)
		rec.Status, rec.ContentType, rec.Body = status, string(tmp.Response.Header.ContentType()), bytes.Clone(tmp.Response.Body())
	} else {
		st := c.ctx.Response.StatusCode()
		if st >= 500 {
			return nil
		}
		rec.Status, rec.ContentType, rec.Body = st, string(c.ctx.Response.Header.ContentType()), bytes.Clone(c.ctx.Response.Body())
	}
	rec.Pending = false
	val, merr := json.Marshal(rec)
	if merr != nil {
		return errors.Join(err, fmt.Errorf("appliance: idempotency: %w", merr))
	}
	if serr := p.kv.CompareAndSwap(ctx, sk, pending, val); serr != nil {
		return errors.Join(err, fmt.Errorf("appliance: idempotency: keep the answer: %w", serr))
	}
	keep = true
	return err
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return s != ""
}

// sweep deletes expired records every interval until stop is closed.
func (p *idempotency) sweep(stop <-chan struct{}, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := p.sweepOnce(context.Background()); err != nil {
			log.Warn("idempotency records: sweep failed", "error", err.Error())
		} else if n > 0 {
			log.Debug("idempotency records: expired ones deleted", "count", n)
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// sweepOnce deletes the records past their expiry and returns how many.
func (p *idempotency) sweepOnce(ctx context.Context) (int, error) {
	now := p.now()
	type kv struct{ k, v []byte }
	var dead []kv
	err := p.kv.Scan(ctx, nil, func(k, v []byte) error {
		var rec idemRecord
		if json.Unmarshal(v, &rec) != nil || now.After(rec.Expires) {
			dead = append(dead, kv{bytes.Clone(k), bytes.Clone(v)})
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("appliance: idempotency sweep: %w", err)
	}
	n := 0
	for _, d := range dead {
		if err := p.kv.CompareAndSwap(ctx, d.k, d.v, nil); err == nil {
			n++
		}
	}
	return n, nil
}

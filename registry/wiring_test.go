package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/sealimg"
)

// TestFiledImpressionAndOutboxWired runs the lifecycle on the real parts rather than the
// fakes: the police system's impression is imported into the ImpressionStore and becomes the
// official seal's picture (same seal, same impression), and making, suspending and revoking
// leave their records in the Outbox for both the police system and the national platform,
// committed with the step itself.
func TestFiledImpressionAndOutboxWired(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	imps := NewImpressionStore(e.db, ImpressionOptions{Now: e.clock.Now})
	ob, err := NewOutbox(ctx, e.db, OutboxOptions{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.reg.cfg
	cfg.Impressions, cfg.Events = imps, ob
	if e.reg, err = New(cfg); err != nil {
		t.Fatal(err)
	}

	const code = "460100200077"
	png, err := e.pics.PNG(sealimg.Seal{Kind: sealimg.Official, Name: "海南示例科技有限公司", Code: code})
	if err != nil {
		t.Fatal(err)
	}
	line, _ := json.Marshal(map[string]string{"code": code, "picture": base64.StdEncoding.EncodeToString(png), "type": "png"})
	res, err := imps.Import(ctx, bytes.NewReader(append(line, '\n')))
	if err != nil || res.Added != 1 || res.Bad != 0 {
		t.Fatalf("import: %+v, %v", res, err)
	}

	// An official seal for a code that was never filed is refused.
	_, err = e.applyAndMake(t, application(LegalName, "460100200078"))
	wantKind(t, "make without a filed impression", err, errs.NoImpression)

	// With the filed one, the seal's picture is exactly what the police system filed.
	s, err := e.applyAndMake(t, application(LegalName, code))
	if err != nil {
		t.Fatal(err)
	}
	if s.Generated || !bytes.Equal(s.Picture, png) {
		t.Fatalf("the seal's picture is not the filed impression (generated %v, %d bytes)", s.Generated, len(s.Picture))
	}
	e.checkESL(t, s.ESL)
	if err := e.reg.Issue(ctx, maker, s.Code); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Suspend(ctx, admin, s.Code, StatusRequest{Reason: "carrier lost"}); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Revoke(ctx, admin, s.Code, StatusRequest{Reason: "unit dissolved"}); err != nil {
		t.Fatal(err)
	}

	for _, target := range []OutboxTarget{OutboxPolice, OutboxNational} {
		var out bytes.Buffer
		n, err := ob.Export(ctx, &out, target)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var rec struct {
				Kind, Seal string
			}
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Fatalf("%s: %q: %v", target, l, err)
			}
			if rec.Seal == s.Code {
				kinds = append(kinds, rec.Kind)
			}
		}
		if got := fmt.Sprint(kinds); n < 3 || got != "[made suspended revoked]" {
			t.Errorf("%s outbox: %d records, for the seal %s", target, n, got)
		}
	}
}

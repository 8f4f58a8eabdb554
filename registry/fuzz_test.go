package registry

import (
	"context"
	"testing"

	"github.com/eseal/eseal/errs"
)

// FuzzApply feeds arbitrary text into an application's fields: Apply either files it or
// refuses it with a kind, never panics, and never keeps an identity number unmasked.
func FuzzApply(f *testing.F) {
	e := newEnv(f, true)
	ctx := context.Background()
	f.Add("personal", "海南示例科技有限公司", codeCompany, "张三", idHolder, "", "")
	f.Add("department", "x", "91110000802100433C", "", "123", "办公室", "46010010000A")
	f.Add("legal-name", "\x00", "", "李四", "11010519491231002X", "\u202e", "abc")
	f.Fuzz(func(t *testing.T, kind, unit, credit, holder, id, text, physical string) {
		app := application(Kind(kind), physical)
		app.Unit = Unit{Name: unit, CreditCode: credit}
		app.Holder = &Person{Name: holder, ID: id}
		app.Text = text
		appID, err := e.reg.Apply(ctx, applicant, app)
		if err != nil {
			if errs.KindOf(err) == 0 {
				t.Fatalf("refusal without a kind: %v", err)
			}
			return
		}
		rec, err := e.reg.Application(ctx, appID)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Holder != nil && len(id) > 10 && rec.Holder.Masked == id {
			t.Fatalf("identity number kept unmasked: %q", rec.Holder.Masked)
		}
	})
}

package registry_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/sealimg"
	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/signer/softkey"
	"github.com/eseal/eseal/store"
)

// A personal seal from application to revocation, and a signature under it.
func Example() {
	ctx := context.Background()
	tmp, _ := os.MkdirTemp("", "registry-example-")
	defer os.RemoveAll(tmp)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, _ := store.Open(filepath.Join(tmp, "data"), &store.Options{Logger: quiet})
	defer db.Close()
	kek := make([]byte, 16)
	rand.Read(kek)
	keys, _ := softkey.New(store.MustSpace(db, "softkey"), kek, softkey.Options{Logger: quiet})
	defer keys.Close()
	ca, err := pki.Open(ctx, pki.Options{Store: db, Keys: keys, Logger: quiet, CRLURL: "http://eseal.example/v1/pki/crl",
		Organisation: "海南省电子印章平台", OrgCode: "91350100M000100Y43"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ca.Close()
	guard, _ := signer.NewGuard(store.MustSpace(db, "pin"), signer.GuardOptions{Logger: quiet})
	pictures, _ := sealimg.New(sealimg.Options{DPI: 96})
	headKey, _ := sm2.GenerateKey(rand.Reader) // the platform's audit head key
	log, _ := audit.Open(ctx, db, audit.Options{HeadSigner: headKey, Logger: quiet})
	defer log.Close()
	reg, err := registry.New(registry.Config{State: registry.NewState(db, log), Keys: keys, CA: ca, Guard: guard,
		Pictures: pictures, Division: "460100", IDKey: []byte("a secret of 16 bytes or more"), Logger: quiet})
	if err != nil {
		fmt.Println(err)
		return
	}

	const id = "11010519491231002X"
	clerk := registry.Actor{Name: "clerk-1", Roles: []registry.Role{registry.RoleApplicant}}
	staff := registry.Actor{Name: "staff-1", Roles: []registry.Role{registry.RoleReviewer, registry.RoleMaker, registry.RoleAdmin}}
	holder := registry.Actor{Name: "zhang-san", Roles: []registry.Role{registry.RoleSigner}, PersonID: id}
	appID, _ := reg.Apply(ctx, clerk, registry.Application{Kind: registry.Personal,
		Unit:   registry.Unit{Name: "海南示例科技有限公司", CreditCode: "91110000802100433B"},
		Holder: &registry.Person{Name: "张三", ID: id}, Handler: registry.Person{Name: "张三", ID: id},
		ValidTo: time.Now().AddDate(2, 0, 0), Materials: []registry.Material{{Name: "identity card", Data: []byte("scan")}}})
	_ = reg.Approve(ctx, staff, appID)
	seal, err := reg.Make(ctx, staff, appID, registry.MakeRequest{PIN: []byte("246810")})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = reg.Issue(ctx, staff, seal.Code)
	fmt.Println("seal", seal.Code, "holder", seal.Holder.Masked)

	doc := sm3.Sum([]byte("a document"))
	use, err := reg.Authorize(ctx, holder, registry.UseRequest{SealCode: seal.Code, Digests: [][]byte{doc[:]}, PIN: []byte("246810")})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := use.Sign(ctx, registry.SignItem{Digest: doc[:], PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml"}); err == nil {
		fmt.Println("signed; the use record is durable")
	}

	_ = reg.Revoke(ctx, staff, seal.Code, registry.StatusRequest{Reason: "dissolved", CRLReason: pki.CessationOfOperation})
	_, err = reg.Authorize(ctx, holder, registry.UseRequest{SealCode: seal.Code, Digests: [][]byte{doc[:]}, PIN: []byte("246810")})
	fmt.Println("after revocation:", errs.KindOf(err).Code())
	// Output:
	// seal 46010000000001 holder 110105********002X
	// signed; the use record is durable
	// after revocation: SEAL_REVOKED
}

package appliance

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/registry"
)

func TestZZProfile(t *testing.T) {
	op := os.Getenv("ZZ_OP")
	if op == "" {
		t.Skip()
	}
	cfg := testConfig(t)
	e := startE2E(t, cfg)
	applicant := e.key("window-clerk", registry.RoleApplicant)
	reviewer := e.key("reviewer-li", registry.RoleReviewer)
	maker := e.key("maker-chen", registry.RoleMaker)
	signerKey := e.key("licence-system", registry.RoleSigner)
	verifierKey := e.key("other-dept", RoleVerifier)
	var id idAnswer
	e.must(http.StatusCreated, applicant, "POST", "/v1/applications", regApplication(registry.Personal, ""), &id)
	e.must(http.StatusOK, reviewer, "POST", "/v1/applications/"+id.ID+"/approve", nil, nil)
	var s sealView
	e.must(http.StatusCreated, maker, "POST", "/v1/applications/"+id.ID+"/make", pinRequest{PIN: regPIN}, &s)
	e.must(http.StatusOK, maker, "POST", "/v1/seals/"+s.Code+"/issue", nil, &s)
	doc := []byte("电子营业执照 2026-0001")
	d := sm3.Sum(doc)
	var sig signAnswer
	e.must(http.StatusOK, signerKey, "POST", "/v1/sign", signRequest{Seal: s.Code, PIN: regPIN, PersonID: regIDHolder, Digest: d[:]}, &sig)
	var body []byte
	var path, key string
	switch op {
	case "sign":
		body, _ = json.Marshal(signRequest{Seal: s.Code, PIN: regPIN, PersonID: regIDHolder, Digest: d[:]})
		path, key = "/v1/sign", signerKey
	default:
		body, _ = json.Marshal(VerifyRequest{Signature: base64.StdEncoding.EncodeToString(sig.Signature), Data: base64.StdEncoding.EncodeToString(doc)})
		path, key = "/v1/verify", verifierKey
	}
	c, err := NewClient(e.url, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	runtime.SetMutexProfileFraction(5)
	runtime.SetBlockProfileRate(10000)
	f, _ := os.Create("/tmp/zz_cpu.out")
	pprof.StartCPUProfile(f)
	var n atomic.Int64
	stop := time.Now().Add(5 * time.Second)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			var dst []byte
			for time.Now().Before(stop) {
				st, ans, err := c.Do("POST", path, []string{"Authorization", "Bearer " + key}, body, dst[:0])
				if err != nil || st != 200 {
					t.Errorf("%d %v %s", st, err, ans)
					return
				}
				dst = ans
				n.Add(1)
			}
		})
	}
	wg.Wait()
	pprof.StopCPUProfile()
	mf, _ := os.Create("/tmp/zz_mutex.out")
	pprof.Lookup("mutex").WriteTo(mf, 0)
	bf, _ := os.Create("/tmp/zz_block.out")
	pprof.Lookup("block").WriteTo(bf, 0)
	fmt.Printf("%s: %.0f/s %+v\n", op, float64(n.Load())/5, e.svc.Audit.Stats())
}

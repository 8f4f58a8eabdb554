//go:build cgo

package pkcs11

import (
	"errors"
	"os"
	"path/filepath"
	"sync"

	p11 "github.com/miekg/pkcs11"

	"github.com/eseal/eseal/signer"
)

// module is one loaded PKCS#11 library: C_Initialize runs once per path
// per process, C_Finalize when the last user releases it.
type module struct {
	path string
	ctx  p11Ctx
	refs int
}

var modules = struct {
	sync.Mutex
	m map[string]*module
}{m: map[string]*module{}}

func openModule(path string) (*module, error) {
	const op = "pkcs11.Open"
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, signer.Errorf(signer.ErrConfig, op, "", err, "module path %s", path)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	modules.Lock()
	defer modules.Unlock()
	if m, ok := modules.m[abs]; ok {
		m.refs++
		return m, nil
	}
	fi, err := os.Stat(abs)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, signer.Errorf(signer.ErrConfig, op, "", nil, "PKCS#11 module %s does not exist", path)
		}
		return nil, signer.Errorf(signer.ErrConfig, op, "", err, "PKCS#11 module %s", path)
	}
	if !fi.Mode().IsRegular() {
		return nil, signer.Errorf(signer.ErrConfig, op, "", nil, "PKCS#11 module %s is not a regular file", path)
	}
	ctx := loadModule(abs)
	if ctx == nil {
		return nil, signer.Errorf(signer.ErrConfig, op, "", nil, "cannot load PKCS#11 module %s (not a shared library exporting C_GetFunctionList?)", path)
	}
	if err := ctx.Initialize(); err != nil && !isCKR(err, p11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		ctx.Destroy()
		return nil, signer.Errorf(signer.ErrUnavailable, op, "", err, "C_Initialize of module %s", path)
	}
	m := &module{path: abs, ctx: ctx, refs: 1}
	modules.m[abs] = m
	return m, nil
}

func (m *module) release() {
	modules.Lock()
	defer modules.Unlock()
	m.refs--
	if m.refs > 0 {
		return
	}
	delete(modules.m, m.path)
	_ = m.ctx.Finalize()
	m.ctx.Destroy()
}

func isCKR(err error, codes ...uint) bool {
	var e p11.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if uint(e) == c {
			return true
		}
	}
	return false
}

// recoverable are the return values after which the handle cache is
// dropped, the login redone and the operation retried once.
var recoverable = []uint{
	p11.CKR_USER_NOT_LOGGED_IN,
	p11.CKR_OBJECT_HANDLE_INVALID,
	p11.CKR_KEY_HANDLE_INVALID,
	p11.CKR_SESSION_HANDLE_INVALID,
	p11.CKR_SESSION_CLOSED,
	p11.CKR_DEVICE_REMOVED,
	p11.CKR_TOKEN_NOT_PRESENT,
	p11.CKR_TOKEN_NOT_RECOGNIZED,
	p11.CKR_SLOT_ID_INVALID,
	p11.CKR_CRYPTOKI_NOT_INITIALIZED,
}

func isRecoverable(err error) bool { return isCKR(err, recoverable...) }

// isGone: the device itself is away (as opposed to a stale handle).
func isGone(err error) bool {
	return isCKR(err, p11.CKR_DEVICE_REMOVED, p11.CKR_TOKEN_NOT_PRESENT, p11.CKR_TOKEN_NOT_RECOGNIZED,
		p11.CKR_SLOT_ID_INVALID, p11.CKR_DEVICE_ERROR, p11.CKR_CRYPTOKI_NOT_INITIALIZED)
}

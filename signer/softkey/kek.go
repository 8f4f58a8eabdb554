package softkey

import (
	"bytes"
	"crypto/hmac"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/emmansun/gmsm/sm3"

	"github.com/eseal/eseal/signer"
)

// KEKSize is the key-encryption key size: one SM4 key.
const KEKSize = 16

// LoadKEK reads the key-encryption key from configuration: the file path
// when non-empty, otherwise the environment variable named env. Either
// holds 32 hex digits (surrounding white space ignored); a file may also
// hold exactly 16 raw bytes. The file must not be readable by group or
// others (mode 0600 or stricter). The environment variable is unset once
// read. There is no built-in default.
//
// The caller should zero the returned slice when done (New copies it).
func LoadKEK(file, env string) ([]byte, error) {
	const op = "softkey.LoadKEK"
	switch {
	case file != "":
		fi, err := os.Stat(file)
		if err != nil {
			return nil, signer.Errorf(signer.ErrConfig, op, "", err, "KEK file %s", file)
		}
		if !fi.Mode().IsRegular() {
			return nil, signer.Errorf(signer.ErrConfig, op, "", nil, "KEK file %s is not a regular file", file)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, signer.Errorf(signer.ErrConfig, op, "", nil, "KEK file %s has mode %#o; it must be 0600 or stricter", file, fi.Mode().Perm())
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, signer.Errorf(signer.ErrConfig, op, "", err, "KEK file %s", file)
		}
		defer clear(b)
		if len(b) == KEKSize {
			return bytes.Clone(b), nil
		}
		k, err := parseHexKEK(b)
		if err != nil {
			return nil, signer.Errorf(signer.ErrConfig, op, "", nil, "KEK file %s: %s", file, err)
		}
		return k, nil
	case env != "":
		v, ok := os.LookupEnv(env)
		// Read once: the variable leaves the environment (and so the
		// environment of any child process) as soon as it is read.
		_ = os.Unsetenv(env)
		if !ok || v == "" {
			return nil, signer.Errorf(signer.ErrConfig, op, "", nil, "environment variable %s is not set", env)
		}
		k, err := parseHexKEK([]byte(v))
		if err != nil {
			return nil, signer.Errorf(signer.ErrConfig, op, "", nil, "environment variable %s: %s", env, err)
		}
		return k, nil
	}
	return nil, signer.Errorf(signer.ErrConfig, op, "", nil, "no key-encryption key configured (set a KEK file or an environment variable)")
}

// parseHexKEK never echoes the input in its error.
func parseHexKEK(b []byte) ([]byte, error) {
	s := strings.TrimSpace(string(b))
	if len(s) != 2*KEKSize {
		return nil, fmt.Errorf("want %d hex digits, got %d characters", 2*KEKSize, len(s))
	}
	k := make([]byte, KEKSize)
	if _, err := hex.Decode(k, []byte(s)); err != nil {
		clear(k)
		return nil, fmt.Errorf("not hex")
	}
	return k, nil
}

// kekID is a public fingerprint of the KEK (stored with each wrapped key,
// so that a wrong KEK gives a clear error instead of a failed decryption).
func kekID(kek []byte) string {
	m := hmac.New(sm3.New, kek)
	m.Write([]byte("eseal softkey KEK id v1"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

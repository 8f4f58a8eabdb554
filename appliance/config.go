package appliance

// # Configuration
//
// Config is what `eseal serve` runs on: a YAML file (configs/eseal.yaml is the embedded
// default, configs/hsm.yaml the PKCS#11 example) decoded strictly over DefaultConfig, then
// the environment, then the command line. A key the configuration does not know is an error
// that names it and its line; so is an unknown ESEAL_<SECTION>_... variable of a known section.
//
// Environment overrides: every scalar setting has a variable named ESEAL_ followed by its
// path in upper case, the parts joined by '_'. These are all of them:
//
//	ESEAL_SERVER_LISTEN ESEAL_SERVER_MAX_BODY_BYTES ESEAL_SERVER_READ_TIMEOUT
//	ESEAL_SERVER_WRITE_TIMEOUT ESEAL_SERVER_IDLE_TIMEOUT ESEAL_SERVER_MAX_CONCURRENT
//	ESEAL_SERVER_SHUTDOWN_TIMEOUT ESEAL_SERVER_ANONYMOUS_VERIFY ESEAL_SERVER_BATCH_MAX
//	ESEAL_SERVER_VERIFY_BATCH_MAX
//	ESEAL_SERVER_TLS_CERT ESEAL_SERVER_TLS_KEY ESEAL_SERVER_TLS_CLIENT_CA
//	ESEAL_DATA_DIR
//	ESEAL_KEYS_BACKEND ESEAL_KEYS_SOFTKEY_KEK_FILE ESEAL_KEYS_SOFTKEY_KEK_ENV
//	ESEAL_KEYS_SOFTKEY_GENERATE ESEAL_KEYS_PKCS11_MODULE ESEAL_KEYS_PKCS11_TOKEN_LABEL
//	ESEAL_KEYS_PKCS11_PIN_FILE ESEAL_KEYS_PKCS11_PIN_ENV ESEAL_KEYS_PKCS11_PROFILE
//	ESEAL_KEYS_PKCS11_SESSIONS ESEAL_KEYS_PKCS11_WAIT_TIMEOUT
//	ESEAL_CA_ORGANISATION ESEAL_CA_ORG_CODE ESEAL_CA_ROOT_COMMON_NAME ESEAL_CA_CRL_URL
//	ESEAL_CA_ROOT_VALIDITY ESEAL_CA_MAKER_VALIDITY ESEAL_CA_CRL_REFRESH ESEAL_CA_CRL_VALIDITY
//	ESEAL_REGISTRY_DIVISION ESEAL_REGISTRY_VENDOR_ID ESEAL_REGISTRY_ID_KEY_FILE
//	ESEAL_REGISTRY_PIN_ITERATIONS ESEAL_REGISTRY_FONT_PATH ESEAL_REGISTRY_PICTURE_DPI
//	ESEAL_CACHES_CERTS ESEAL_CACHES_SEALS ESEAL_CACHES_CHAINS ESEAL_CACHES_REVOCATION
//	ESEAL_REVOCATION_FETCH ESEAL_REVOCATION_TIMEOUT ESEAL_REVOCATION_MAX_BYTES
//	ESEAL_REVOCATION_ALLOW_HTTPS
//	ESEAL_VERIFICATION_ANONYMOUS ESEAL_VERIFICATION_WORKERS ESEAL_VERIFICATION_QUEUE
//	ESEAL_LOG_LEVEL ESEAL_LOG_FORMAT
//	ESEAL_ADMIN_LISTEN
//
// verification.trust_sets, a map, has no variable. Secrets never sit in the configuration:
// the variables named by keys.softkey.kek_env and keys.pkcs11.pin_env (ESEAL_KEYS_PIN in
// configs/hsm.yaml) hold the KEK and the HSM user PIN themselves, are read once and unset.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/signer/pkcs11"
	"github.com/eseal/eseal/trust"
)

// Config is the whole configuration of the appliance.
type Config struct {
	Server       ServerConfig       `yaml:"server"`
	Data         DataConfig         `yaml:"data"`
	Keys         KeysConfig         `yaml:"keys"`
	CA           CAConfig           `yaml:"ca"`
	Registry     RegistryConfig     `yaml:"registry"`
	Caches       CachesConfig       `yaml:"caches"`
	Revocation   RevocationConfig   `yaml:"revocation"`
	Verification VerificationConfig `yaml:"verification"`
	Log          LogConfig          `yaml:"log"`
	Admin        AdminConfig        `yaml:"admin"`
}

// DataConfig says where the state lives.
type DataConfig struct {
	// Dir is the data directory (relative to the working directory): the store, and on the embedded default the generated KEK
	// (kek), identity-hash key (idkey) and bootstrap admin key (admin.key). It is created
	// 0700; a directory others may read is refused.
	Dir string `yaml:"dir"`
}

// KeysConfig selects the key store.
type KeysConfig struct {
	// Backend is "softkey" (keys wrapped under a KEK in the store) or "pkcs11" (an HSM).
	Backend string        `yaml:"backend"`
	SoftKey SoftKeyConfig `yaml:"softkey"`
	PKCS11  PKCS11Config  `yaml:"pkcs11"`
}

// SoftKeyConfig says where the key-encryption key comes from: a file (32 hex digits or 16
// raw bytes, mode 0600) or an environment variable (32 hex digits), never the configuration.
type SoftKeyConfig struct {
	// KEKFile is the KEK's file; empty (with KEKEnv empty) means DATA/kek.
	KEKFile string `yaml:"kek_file"`
	// KEKEnv names the variable holding the KEK, read once and unset.
	KEKEnv string `yaml:"kek_env"`
	// Generate makes a new random KEK file, mode 0600, when the file is missing and the
	// store holds no key yet (the first start). A missing KEK file beside keys already
	// wrapped is always an error.
	Generate bool `yaml:"generate"`
}

// PKCS11Config selects a token and says how to use it (see package signer/pkcs11).
type PKCS11Config struct {
	// Module is the path of the vendor's PKCS#11 library.
	Module string `yaml:"module"`
	// TokenLabel selects the token.
	TokenLabel string `yaml:"token_label"`
	// PINFile is a file (mode 0600) holding the user PIN; PINEnv names a variable holding
	// it (read once and unset). Exactly one is set.
	PINFile string `yaml:"pin_file"`
	PINEnv  string `yaml:"pin_env"`
	// Profile names the vendor's mechanism profile: sansec, sansec-sm3, sansec-raw, koal,
	// tass, luna, luna-sm3, ibm, ibm-sm3.
	Profile string `yaml:"profile"`
	// Sessions is the worker session pool's size; 0 means the token's limit less one.
	Sessions int `yaml:"sessions"`
	// WaitTimeout bounds the wait for a free session; 0 means pkcs11.DefaultWaitTimeout.
	WaitTimeout time.Duration `yaml:"wait_timeout"`
}

// CAConfig configures the built-in CA. The names and validities are used on the first start,
// when the root and the seal maker's certificate are made; later starts keep what was made.
type CAConfig struct {
	// Organisation is the platform's registered name (the root's O, the maker's subject).
	Organisation string `yaml:"organisation"`
	// OrgCode is the platform's unified social credit code.
	OrgCode string `yaml:"org_code"`
	// RootCommonName is the root's CN; empty means Organisation + " SM2 Root CA".
	RootCommonName string `yaml:"root_common_name"`
	// CRLURL is where the CRL is served, written into every certificate; empty means
	// http(s)://server.listen/v1/pki/crl, which needs a listen address naming a host.
	CRLURL        string        `yaml:"crl_url"`
	RootValidity  time.Duration `yaml:"root_validity"`
	MakerValidity time.Duration `yaml:"maker_validity"`
	CRLRefresh    time.Duration `yaml:"crl_refresh"`
	CRLValidity   time.Duration `yaml:"crl_validity"`
}

// RegistryConfig configures the seal registry.
type RegistryConfig struct {
	// Division is the 6-digit administrative division code that starts the seal codes.
	Division string `yaml:"division"`
	// VendorID is the vid written into seals.
	VendorID string `yaml:"vendor_id"`
	// IDKeyFile holds the key (at least 16 bytes, mode 0600) by which identity numbers are
	// hashed; empty means DATA/idkey, generated on the first start. It must never change.
	IDKeyFile string `yaml:"id_key_file"`
	// PINIterations is the PBKDF2 count of new seal PIN hashes.
	PINIterations int `yaml:"pin_iterations"`
	// FontPath is the CJK font seal pictures are drawn with.
	FontPath string `yaml:"font_path"`
	// PictureDPI is the resolution of PNG pictures, 72 to 2400.
	PictureDPI float64 `yaml:"picture_dpi"`
}

// CachesConfig is the budget in bytes of each of the verifier's caches; 0 turns one off.
type CachesConfig struct {
	Certs      int64 `yaml:"certs"`
	Seals      int64 `yaml:"seals"`
	Chains     int64 `yaml:"chains"`
	Revocation int64 `yaml:"revocation"`
}

// RevocationConfig configures fetching CRLs from the distribution points certificates name.
type RevocationConfig struct {
	// Fetch turns fetching on; off, only the registry and the built-in CA's own CRL answer.
	Fetch bool `yaml:"fetch"`
	// Timeout bounds one fetch from one distribution point.
	Timeout time.Duration `yaml:"timeout"`
	// MaxBytes bounds one CRL.
	MaxBytes int64 `yaml:"max_bytes"`
	// AllowHTTPS fetches https distribution points too (http is always allowed).
	AllowHTTPS bool `yaml:"allow_https"`
}

// VerificationConfig configures verification.
type VerificationConfig struct {
	// Anonymous opens the verification routes to callers without a key (as does
	// server.anonymous_verify).
	Anonymous bool `yaml:"anonymous"`
	// TrustSets are further trust sets loaded from files at start, by name; the set
	// "default" (the built-in CA's root and seal maker) is always there and not configured.
	// A set is stored: one taken out of the configuration stays until removed through the
	// API, and files changed since the last start give it a new generation.
	TrustSets map[string]TrustSetFiles `yaml:"trust_sets"`
	// Workers verify batches at once; 0 means GOMAXPROCS.
	Workers int `yaml:"workers"`
	// Queue bounds the signatures waiting for a worker; 0 means the verifier's default.
	Queue int `yaml:"queue"`
}

// TrustSetFiles name the PEM bundles of one trust set. Roots is required.
type TrustSetFiles struct {
	Roots         string `yaml:"roots"`
	Intermediates string `yaml:"intermediates"`
	Makers        string `yaml:"makers"`
}

// LogConfig configures the server's log.
type LogConfig struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text or json.
	Format string `yaml:"format"`
}

// The backends of KeysConfig.Backend.
const (
	BackendSoftKey = "softkey"
	BackendPKCS11  = "pkcs11"
)

// The variables reserved for secrets: ESEAL_KEYS_PIN holds the HSM user PIN in
// configs/hsm.yaml (keys.pkcs11.pin_env), ESEAL_KEYS_KEK is the conventional name for a KEK
// given through keys.softkey.kek_env. Neither is a setting.
const (
	EnvPIN = "ESEAL_KEYS_PIN"
	EnvKEK = "ESEAL_KEYS_KEK"
)

// MaxConfigBytes bounds a configuration file.
const MaxConfigBytes = 1 << 20

// MaxConfigDepth bounds the nesting of a configuration file: its flow collections ([...],
// {...}) and sequence entries on one line ("- - x") together, and its indentation.
const MaxConfigDepth = 32

// nesting estimates the deepest nesting of a YAML text without parsing it: open flow
// brackets (outside quotes and comments) plus the sequence dashes that start a line, or the
// indentation levels of block lines. It is an upper bound for well-formed files of shallow
// structure, cheap on any input.
func nesting(data []byte) int {
	deepest, flow := 0, 0
	var indents []int // the indentation of the enclosing block lines
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		// Block structure: the indentation levels open at this line.
		ind := 0
		for ind < len(line) && line[ind] == ' ' {
			ind++
		}
		rest := bytes.TrimSpace(line[ind:])
		if flow == 0 && len(rest) > 0 && rest[0] != '#' {
			for len(indents) > 0 && indents[len(indents)-1] >= ind {
				indents = indents[:len(indents)-1]
			}
			indents = append(indents, ind)
		}
		dashes := 0
		for len(rest) >= 2 && rest[0] == '-' && (rest[1] == ' ' || rest[1] == '\t') {
			dashes++
			rest = bytes.TrimLeft(rest[1:], " \t")
		}
		var quote byte
		for i, c := range rest {
			switch {
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'':
				quote = c
			case c == '#' && (i == 0 || rest[i-1] == ' ' || rest[i-1] == '\t'):
				goto done
			case c == '[' || c == '{':
				flow++
				deepest = max(deepest, len(indents)+dashes+flow)
			case c == ']' || c == '}':
				flow = max(flow-1, 0)
			}
		}
	done:
		deepest = max(deepest, len(indents)+dashes)
	}
	return deepest
}

// DefaultConfig is the embedded default (configs/eseal.yaml holds the same values): data in
// ./data, software keys under a KEK generated on the first start, the built-in CA, listening
// on 127.0.0.1:8080.
func DefaultConfig() *Config {
	return &Config{
		Server: ServerConfig{
			Listen:          "127.0.0.1:8080",
			MaxBodyBytes:    DefaultMaxBodyBytes,
			ReadTimeout:     30 * time.Second,
			WriteTimeout:    30 * time.Second,
			IdleTimeout:     2 * time.Minute,
			MaxConcurrent:   4096,
			ShutdownTimeout: 30 * time.Second,
			BatchMax:        1000,
			VerifyBatchMax:  DefaultVerifyBatchMax,
		},
		Data: DataConfig{Dir: "./data"},
		Keys: KeysConfig{
			Backend: BackendSoftKey,
			SoftKey: SoftKeyConfig{Generate: true},
			PKCS11:  PKCS11Config{WaitTimeout: pkcs11.DefaultWaitTimeout},
		},
		CA: CAConfig{
			Organisation:  "电子印章平台",
			OrgCode:       "91350100M000100Y43",
			RootValidity:  pki.DefaultRootValidity,
			MakerValidity: pki.DefaultMakerValidity,
			CRLRefresh:    pki.DefaultCRLRefresh,
			CRLValidity:   pki.DefaultCRLValidity,
		},
		Registry: RegistryConfig{
			Division:      "460100",
			VendorID:      "eseal",
			PINIterations: signer.DefaultPINIterations,
			FontPath:      "/usr/share/fonts/truetype/arphic/uming.ttc",
			PictureDPI:    300,
		},
		Caches: CachesConfig{Certs: 32 << 20, Seals: 32 << 20, Chains: 16 << 20, Revocation: 16 << 20},
		Revocation: RevocationConfig{
			Fetch:    true,
			Timeout:  5 * time.Second,
			MaxBytes: 16 << 20,
		},
		Verification: VerificationConfig{TrustSets: map[string]TrustSetFiles{}},
		Log:          LogConfig{Level: "info", Format: "text"},
	}
}

// ParseConfig decodes a YAML configuration over DefaultConfig, strictly: an unknown key,
// a value of the wrong type or a key given twice is an error naming it, its line and name
// (the file's name, for messages). It does not validate (see Validate).
func ParseConfig(name string, data []byte) (*Config, error) {
	cfg := DefaultConfig()
	if len(data) > MaxConfigBytes {
		return nil, configErr(name, "", "larger than %d bytes", MaxConfigBytes)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return cfg, nil
	}
	// The YAML parser takes time quadratic in the nesting depth: bound it first.
	if depth := nesting(data); depth > MaxConfigDepth {
		return nil, configErr(name, "", "nested deeper than %d levels", MaxConfigDepth)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data), yaml.DisallowUnknownField())
	if f, err := parser.ParseBytes(data, 0); err == nil && (len(f.Docs) == 0 || (len(f.Docs) == 1 && f.Docs[0].Body == nil)) {
		return cfg, nil // comments only
	}
	if err := dec.Decode(cfg); err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) {
			return nil, yamlErr(name, err)
		}
		// Errors without a place (a duration that does not parse): find the setting.
		if key, line := badDuration(data); key != "" {
			return nil, configErr(name, key, "line %d: not a duration (such as 30s or 5m)", line)
		}
		return nil, yamlErr(name, err)
	}
	// A second document would be ignored silently: refuse it.
	var extra any
	if err := dec.Decode(&extra); err == nil {
		return nil, configErr(name, "", "holds more than one YAML document")
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlErr(name, err)
	}
	return cfg, nil
}

func yamlErr(name string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		msg := ye.GetMessage()
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			return configErr(name, "", "line %d column %d: %s", tk.Position.Line, tk.Position.Column, msg)
		}
		return configErr(name, "", "%s", msg)
	}
	return configErr(name, "", "%v", err)
}

// badDuration finds a duration setting whose value does not parse, which the YAML decoder
// reports without a place: its key and line, or "".
func badDuration(data []byte) (key string, line int) {
	var doc map[string]any
	if yaml.Unmarshal(data, &doc) != nil {
		return "", 0
	}
	durType := reflect.TypeOf(time.Duration(0))
	var walk func(t reflect.Type, m map[string]any, path string) string
	walk = func(t reflect.Type, m map[string]any, path string) string {
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			v, ok := m[tag]
			if tag == "" || !ok {
				continue
			}
			k := strings.TrimPrefix(path+"."+tag, ".")
			switch {
			case f.Type == durType:
				if s, ok := v.(string); !ok {
					if _, isInt := v.(uint64); !isInt {
						if _, isInt := v.(int64); !isInt {
							return k
						}
					}
				} else if _, err := time.ParseDuration(s); err != nil {
					return k
				}
			case f.Type.Kind() == reflect.Struct:
				if sub, ok := v.(map[string]any); ok {
					if bad := walk(f.Type, sub, k); bad != "" {
						return bad
					}
				}
			}
		}
		return ""
	}
	key = walk(reflect.TypeOf(Config{}), doc, "")
	if key == "" {
		return "", 0
	}
	if p, err := yaml.PathString("$." + key); err == nil {
		if f, err := parser.ParseBytes(data, 0); err == nil {
			if n, err := p.FilterFile(f); err == nil && n != nil && n.GetToken() != nil && n.GetToken().Position != nil {
				line = n.GetToken().Position.Line
			}
		}
	}
	return key, line
}

// LoadConfig reads and parses the configuration file path.
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, configErr(path, "", "%v", unwrapPath(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigBytes+1))
	if err != nil {
		return nil, configErr(path, "", "%v", unwrapPath(err))
	}
	return ParseConfig(path, data)
}

// unwrapPath drops the path an *os.PathError repeats.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// ConfigError is a configuration that cannot be used: its Key ("server.listen", or an
// environment variable's name) and what is wrong. It is of kind errs.Config.
type ConfigError struct {
	// Source is the file or "environment"; empty after Validate.
	Source string
	Key    string
	Detail string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("config")
	if e.Source != "" {
		b.WriteString(" " + e.Source)
	}
	if e.Key != "" {
		b.WriteString(": " + e.Key)
	}
	b.WriteString(": " + e.Detail)
	return b.String()
}

// Unwrap gives the kind errs.Config.
func (e *ConfigError) Unwrap() error { return errs.Config }

func configErr(source, key, format string, a ...any) error {
	return &ConfigError{Source: source, Key: key, Detail: fmt.Sprintf(format, a...)}
}

// envSetting is one scalar setting reachable by an environment variable.
type envSetting struct {
	name string // ESEAL_SERVER_LISTEN
	key  string // server.listen
	v    reflect.Value
}

// envSettings lists the scalar settings of c with their variables.
func (c *Config) envSettings() []envSetting {
	var out []envSetting
	var walk func(v reflect.Value, key string)
	walk = func(v reflect.Value, key string) {
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if tag == "" || tag == "-" {
				continue
			}
			k := tag
			if key != "" {
				k = key + "." + tag
			}
			fv := v.Field(i)
			switch fv.Kind() {
			case reflect.Struct:
				walk(fv, k)
			case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Float64:
				out = append(out, envSetting{name: "ESEAL_" + strings.ToUpper(strings.ReplaceAll(k, ".", "_")), key: k, v: fv})
			}
		}
	}
	walk(reflect.ValueOf(c).Elem(), "")
	return out
}

// EnvNames lists the environment variables that override settings, in order.
func EnvNames() []string {
	var names []string
	for _, s := range DefaultConfig().envSettings() {
		names = append(names, s.name)
	}
	return names
}

// sectionPrefixes are ESEAL_SERVER_, ESEAL_DATA_, ...: a variable under one of them must
// name a setting.
func sectionPrefixes() []string {
	var out []string
	t := reflect.TypeOf(Config{})
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		out = append(out, "ESEAL_"+strings.ToUpper(tag)+"_")
	}
	return out
}

// ApplyEnv applies the overrides of environ ("NAME=value" strings, as os.Environ gives):
// ESEAL_<SECTION>_<KEY> sets the setting section.key. A variable of a section's prefix that
// names no setting is an error, except the variables the configuration names as holding
// the KEK or the PIN. Errors name the variable, never its value.
func (c *Config) ApplyEnv(environ []string) error {
	settings := map[string]envSetting{}
	for _, s := range c.envSettings() {
		settings[s.name] = s
	}
	env := map[string]string{}
	var names []string
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, "ESEAL_") {
			continue
		}
		if _, seen := env[k]; !seen {
			names = append(names, k)
		}
		env[k] = v
	}
	sort.Strings(names)
	prefixes := sectionPrefixes()
	for _, k := range names {
		s, ok := settings[k]
		if !ok {
			if k == c.Keys.SoftKey.KEKEnv || k == c.Keys.PKCS11.PINEnv || k == EnvPIN || k == EnvKEK {
				continue
			}
			// The secret variables named by the configuration may themselves be set by
			// the environment: look them up as they are after the overrides.
			if v, ok := env["ESEAL_KEYS_SOFTKEY_KEK_ENV"]; ok && k == v {
				continue
			}
			if v, ok := env["ESEAL_KEYS_PKCS11_PIN_ENV"]; ok && k == v {
				continue
			}
			for _, p := range prefixes {
				if strings.HasPrefix(k, p) {
					return configErr("environment", k, "names no setting (see EnvNames; the setting's path in upper case, parts joined by '_')")
				}
			}
			continue
		}
		if err := setScalar(s.v, env[k]); err != nil {
			return configErr("environment", k, "%s (for %s)", err.Error(), s.key)
		}
	}
	return nil
}

func setScalar(v reflect.Value, s string) error {
	s = strings.TrimSpace(s)
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return errors.New("not a boolean (true or false)")
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		if v.Type() == reflect.TypeOf(time.Duration(0)) {
			d, err := time.ParseDuration(s)
			if err != nil {
				return errors.New("not a duration (such as 30s or 5m)")
			}
			v.SetInt(int64(d))
			return nil
		}
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return errors.New("not an integer")
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return errors.New("not a number")
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}

// Validate checks the whole configuration without opening anything, section by section;
// the first problem found is returned, naming its key.
func (c *Config) Validate() error {
	if c == nil {
		return configErr("", "", "no configuration")
	}
	for _, check := range []func() error{
		func() error { return validateServer(&c.Server) },
		c.Data.Validate, c.Keys.Validate, func() error { return c.CA.validate(c.Server) },
		c.Registry.Validate, c.Caches.Validate, c.Revocation.Validate, c.Verification.Validate, c.Log.Validate,
		c.Admin.Validate,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func validateServer(s *ServerConfig) error {
	if s == nil {
		return configErr("", "server", "missing")
	}
	if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		return configErr("", "server.listen", "%q is not host:port", s.Listen)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"server.read_timeout", s.ReadTimeout}, {"server.write_timeout", s.WriteTimeout},
		{"server.idle_timeout", s.IdleTimeout}, {"server.shutdown_timeout", s.ShutdownTimeout}} {
		if d.v < 0 {
			return configErr("", d.key, "negative")
		}
	}
	switch {
	case s.MaxBodyBytes < 0:
		return configErr("", "server.max_body_bytes", "negative")
	case s.MaxConcurrent < 0:
		return configErr("", "server.max_concurrent", "negative")
	case s.BatchMax < 0 || s.BatchMax > registry.MaxBatchDigests:
		return configErr("", "server.batch_max", "%d is not between 0 and %d", s.BatchMax, registry.MaxBatchDigests)
	case s.VerifyBatchMax < 0 || s.VerifyBatchMax > maxVerifyBatch:
		return configErr("", "server.verify_batch_max", "%d is not between 0 and %d", s.VerifyBatchMax, maxVerifyBatch)
	case (s.TLS.Cert == "") != (s.TLS.Key == ""):
		return configErr("", "server.tls", "cert and key go together: set both or neither")
	case s.TLS.ClientCA != "" && s.TLS.Cert == "":
		return configErr("", "server.tls.client_ca", "mutual TLS needs the server's own cert and key")
	}
	return nil
}

// Validate checks the data section.
func (d *DataConfig) Validate() error {
	if d == nil || strings.TrimSpace(d.Dir) == "" {
		return configErr("", "data.dir", "empty")
	}
	return nil
}

// Validate checks the keys section.
func (k *KeysConfig) Validate() error {
	if k == nil {
		return configErr("", "keys", "missing")
	}
	switch k.Backend {
	case BackendSoftKey:
		if k.SoftKey.KEKFile != "" && k.SoftKey.KEKEnv != "" {
			return configErr("", "keys.softkey", "kek_file and kek_env both set: the KEK comes from one of them")
		}
		if k.SoftKey.KEKEnv != "" && k.SoftKey.Generate {
			return configErr("", "keys.softkey.generate", "only a KEK file can be generated; with kek_env set generate to false")
		}
	case BackendPKCS11:
		p := k.PKCS11
		switch {
		case p.Module == "":
			return configErr("", "keys.pkcs11.module", "empty: the path of the vendor's PKCS#11 library is needed")
		case p.TokenLabel == "":
			return configErr("", "keys.pkcs11.token_label", "empty")
		case (p.PINFile == "") == (p.PINEnv == ""):
			return configErr("", "keys.pkcs11", "the user PIN comes from pin_file or pin_env: set exactly one")
		case p.Sessions < 0:
			return configErr("", "keys.pkcs11.sessions", "negative")
		case p.WaitTimeout < 0:
			return configErr("", "keys.pkcs11.wait_timeout", "negative")
		}
		prof, err := pkcs11.LookupProfile(p.Profile)
		if err != nil {
			return configErr("", "keys.pkcs11.profile", "unknown profile %q (known: %s)", p.Profile, strings.Join(pkcs11.ProfileNames(), ", "))
		}
		if prof.Algorithm != signer.SM2 {
			return configErr("", "keys.pkcs11.profile", "%q does not sign SM2, which seals need", p.Profile)
		}
	default:
		return configErr("", "keys.backend", "%q is not softkey or pkcs11", k.Backend)
	}
	return nil
}

// crlURL is the CRL URL configured, or the one served at the listen address.
func (c *CAConfig) crlURL(s ServerConfig) (string, error) {
	if c.CRLURL != "" {
		return c.CRLURL, nil
	}
	host, port, err := net.SplitHostPort(s.Listen)
	if err != nil {
		return "", configErr("", "server.listen", "%q is not host:port", s.Listen)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) || port == "0" {
		return "", configErr("", "ca.crl_url", "empty, and server.listen %q names no fixed host and port to put in certificates: set it", s.Listen)
	}
	scheme := "http"
	if s.TLS.Cert != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/v1/pki/crl", nil
}

func (c *CAConfig) validate(s ServerConfig) error {
	if c == nil {
		return configErr("", "ca", "missing")
	}
	switch n := utf8.RuneCountInString(c.Organisation); {
	case n == 0 || strings.TrimSpace(c.Organisation) != c.Organisation:
		return configErr("", "ca.organisation", "empty or with leading or trailing space")
	case n > pki.MaxNameLen:
		return configErr("", "ca.organisation", "%d characters, at most %d", n, pki.MaxNameLen)
	}
	if err := pki.CheckCreditCode(c.OrgCode); err != nil {
		return configErr("", "ca.org_code", "%v", err)
	}
	u, err := c.crlURL(s)
	if err != nil {
		return err
	}
	if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return configErr("", "ca.crl_url", "not an absolute http or https URL")
	}
	switch {
	case c.RootValidity < 24*time.Hour:
		return configErr("", "ca.root_validity", "shorter than a day")
	case c.MakerValidity < time.Hour:
		return configErr("", "ca.maker_validity", "shorter than an hour")
	case c.CRLRefresh <= 0 || c.CRLRefresh > 24*time.Hour:
		return configErr("", "ca.crl_refresh", "must be more than 0 and at most 24h")
	case c.CRLValidity < c.CRLRefresh:
		return configErr("", "ca.crl_validity", "shorter than ca.crl_refresh")
	}
	return nil
}

// Validate checks the registry section.
func (r *RegistryConfig) Validate() error {
	if r == nil {
		return configErr("", "registry", "missing")
	}
	if len(r.Division) != 6 || strings.Trim(r.Division, "0123456789") != "" {
		return configErr("", "registry.division", "%q is not 6 digits", r.Division)
	}
	if len(r.VendorID) > 64 || strings.ContainsFunc(r.VendorID, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		return configErr("", "registry.vendor_id", "at most 64 printable ASCII characters")
	}
	if r.PINIterations < signer.MinPINIterations {
		return configErr("", "registry.pin_iterations", "%d, at least %d", r.PINIterations, signer.MinPINIterations)
	}
	if r.PictureDPI < 72 || r.PictureDPI > 2400 {
		return configErr("", "registry.picture_dpi", "%g is not between 72 and 2400", r.PictureDPI)
	}
	return nil
}

// Validate checks the caches section.
func (c *CachesConfig) Validate() error {
	if c == nil {
		return nil
	}
	for _, b := range []struct {
		key string
		v   int64
	}{{"caches.certs", c.Certs}, {"caches.seals", c.Seals}, {"caches.chains", c.Chains}, {"caches.revocation", c.Revocation}} {
		if b.v < 0 {
			return configErr("", b.key, "negative")
		}
		if b.v > 0 && b.v < 1<<16 {
			return configErr("", b.key, "%d bytes is too small to hold anything: at least 65536, or 0 for none", b.v)
		}
	}
	return nil
}

// Validate checks the revocation section.
func (r *RevocationConfig) Validate() error {
	if r == nil {
		return nil
	}
	switch {
	case r.Timeout <= 0:
		return configErr("", "revocation.timeout", "must be positive")
	case r.MaxBytes <= 0:
		return configErr("", "revocation.max_bytes", "must be positive")
	}
	return nil
}

// Validate checks the verification section.
func (v *VerificationConfig) Validate() error {
	if v == nil {
		return nil
	}
	switch {
	case v.Workers < 0:
		return configErr("", "verification.workers", "negative")
	case v.Queue < 0:
		return configErr("", "verification.queue", "negative")
	}
	names := make([]string, 0, len(v.TrustSets))
	for name := range v.TrustSets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		key := "verification.trust_sets." + name
		switch {
		case !trust.ValidName(name):
			return configErr("", key, "not a trust set name (1 to %d of a-z, 0-9, '-', '_', '.')", trust.MaxNameLen)
		case name == trust.DefaultName:
			return configErr("", key, "the default set is the built-in CA's own and is not configured")
		case v.TrustSets[name].Roots == "":
			return configErr("", key+".roots", "empty: a trust set needs its roots")
		}
	}
	return nil
}

// Validate checks the log section.
func (l *LogConfig) Validate() error {
	if l == nil {
		return nil
	}
	if _, err := l.level(); err != nil {
		return err
	}
	if l.Format != "text" && l.Format != "json" {
		return configErr("", "log.format", "%q is not text or json", l.Format)
	}
	return nil
}

func (l *LogConfig) level() (slog.Level, error) {
	switch l.Level {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, configErr("", "log.level", "%q is not debug, info, warn or error", l.Level)
}

// Logger is the logger the section describes, writing to w.
func (l *LogConfig) Logger(w io.Writer) (*slog.Logger, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	lv, _ := l.level()
	opts := &slog.HandlerOptions{Level: lv}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// ServerSettings is the server section as NewServer takes it: verification is open to
// anonymous callers when either server.anonymous_verify or verification.anonymous says so.
func (c *Config) ServerSettings() ServerConfig {
	s := c.Server
	s.AnonymousVerify = s.AnonymousVerify || c.Verification.Anonymous
	return s
}

// maxVerifyBatch is the most signatures one verify batch may be configured to hold: ten times
// the default, whose reports still fit in a few hundred megabytes.
const maxVerifyBatch = 10 * DefaultVerifyBatchMax

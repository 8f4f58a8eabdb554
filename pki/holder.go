package pki

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLen is the longest organisation or person name accepted, in
// characters: the bound seal pictures use (sealimg), well inside X.520's 64.
const MaxNameLen = 40

// MaxIDLen is the longest personal identity number accepted (passports and
// other documents than the resident identity card included).
const MaxIDLen = 32

// Holder is the subject of a seal's certificate: an organisation (Person
// empty), or a person, optionally within an organisation (position seals).
//
// The certificate subject is C=CN, O=Organisation with organizationIdentifier
// (2.5.4.97) = CreditCode when there is an organisation, and CN with
// serialNumber (2.5.4.5) naming the holder: the organisation and its credit
// code, or the person and PersonID.
type Holder struct {
	// Organisation is the registered name of the unit (单位名称).
	Organisation string
	// CreditCode is the organisation's unified social credit code
	// (统一社会信用代码, GB 32100): 18 upper-case characters with a valid
	// check character. Required with Organisation.
	CreditCode string
	// Person is the holder's name for personal and position seals.
	Person string
	// PersonID is the holder's identity number. An 18-character resident
	// identity number (GB 11643) must carry a valid check digit; other
	// documents are 1..32 printable ASCII characters. Required with Person.
	PersonID string
}

var (
	oidOrganizationIdentifier = asn1.ObjectIdentifier{2, 5, 4, 97}
)

// validate checks h; prefix is prepended to field names ("holder.").
func (h Holder) validate(op, prefix string) error {
	if h.Organisation == "" && h.Person == "" {
		return errorf(ErrInvalidInput, op, prefix+"organisation", nil, "empty: an organisation or a person (%sperson) is required", prefix)
	}
	if h.Organisation != "" || h.CreditCode != "" {
		if err := checkName(op, prefix+"organisation", h.Organisation); err != nil {
			return err
		}
		if err := CheckCreditCode(h.CreditCode); err != nil {
			return errorf(ErrInvalidInput, op, prefix+"credit_code", nil, "%s", err.Error())
		}
	}
	if h.Person != "" || h.PersonID != "" {
		if err := checkName(op, prefix+"person", h.Person); err != nil {
			return err
		}
		if err := CheckPersonID(h.PersonID); err != nil {
			return errorf(ErrInvalidInput, op, prefix+"person_id", nil, "%s", err.Error())
		}
	}
	return nil
}

// subject returns the distinguished name for a validated holder.
func (h Holder) subject() pkix.Name {
	n := pkix.Name{Country: []string{"CN"}}
	if h.Organisation != "" {
		n.Organization = []string{h.Organisation}
		n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: oidOrganizationIdentifier, Value: h.CreditCode})
	}
	if h.Person != "" {
		n.CommonName = h.Person
		n.SerialNumber = h.PersonID
	} else {
		n.CommonName = h.Organisation
		n.SerialNumber = h.CreditCode
	}
	return n
}

// checkName accepts 1..MaxNameLen characters of valid UTF-8 without control
// characters or surrounding spaces.
func checkName(op, field, s string) error {
	if s == "" {
		return errorf(ErrInvalidInput, op, field, nil, "empty")
	}
	if !utf8.ValidString(s) {
		return errorf(ErrInvalidInput, op, field, nil, "not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > MaxNameLen {
		return errorf(ErrInvalidInput, op, field, nil, "%d characters, at most %d", n, MaxNameLen)
	}
	if strings.TrimSpace(s) != s {
		return errorf(ErrInvalidInput, op, field, nil, "leading or trailing space")
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return errorf(ErrInvalidInput, op, field, nil, "control or replacement character U+%04X", r)
		}
	}
	return nil
}

// creditCodeChars are the 31 characters of GB 32100 (no I, O, S, V, Z), in
// the order of their values.
const creditCodeChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var creditCodeWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// CheckCreditCode reports whether code is a unified social credit code
// (GB 32100-2015): 18 characters from 0-9 and A-Y without I, O, S, V, Z,
// the 3rd to 8th (administrative division) digits only, and the 18th the
// check character: 31 - (Σ value×weight mod 31), mod 31.
func CheckCreditCode(code string) error {
	if code == "" {
		return errors.New("empty")
	}
	if len(code) != 18 {
		return errors.New("must be 18 characters")
	}
	sum := 0
	for i := 0; i < 18; i++ {
		c := code[i]
		v := strings.IndexByte(creditCodeChars, c)
		if v < 0 {
			return fmt.Errorf("character %q at position %d is not in the GB 32100 set (0-9, upper-case A-Y without I, O, S, V, Z)", c, i+1)
		}
		if i >= 2 && i <= 7 && v > 9 {
			return errors.New("positions 3 to 8 (administrative division code) must be digits")
		}
		if i < 17 {
			sum += v * creditCodeWeights[i]
		}
	}
	want := (31 - sum%31) % 31
	if code[17] != creditCodeChars[want] {
		return fmt.Errorf("check character is %q, want %q", code[17], creditCodeChars[want])
	}
	return nil
}

var residentIDWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// CheckPersonID accepts an identity number: 18 characters that look like a
// resident identity number (17 digits and a digit or X) must carry the
// GB 11643 (ISO 7064 MOD 11-2) check digit; anything else must be 1..32
// characters of printable ASCII without spaces.
func CheckPersonID(id string) error {
	if id == "" {
		return errors.New("empty")
	}
	if len(id) > MaxIDLen {
		return fmt.Errorf("%d characters, at most %d", len(id), MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return errors.New("must be printable ASCII without spaces")
		}
	}
	if len(id) != 18 {
		return nil
	}
	sum := 0
	for i := 0; i < 17; i++ {
		if id[i] < '0' || id[i] > '9' {
			return nil // not a resident identity number
		}
		sum += int(id[i]-'0') * residentIDWeights[i]
	}
	last := id[17]
	if !(last >= '0' && last <= '9' || last == 'X' || last == 'x') {
		return nil
	}
	want := "10X98765432"[sum%11]
	if last == 'x' {
		return errors.New("resident identity number: check character must be upper-case X")
	}
	if last != want {
		return fmt.Errorf("resident identity number: check digit is %q, want %q", last, want)
	}
	return nil
}

func itoa(i int) string { return strconv.Itoa(i) }

package verifier

import (
	"fmt"
	"strings"
	"time"

	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/ses"
)

// checkCritical fails what an extension marked critical touches, as X.509 does: no seal or
// TBS_Sign extension is defined by the standard, so none is understood. A critical one in
// TBS_Sign changes what the signature means (format); one in the seal changes what the
// seal allows (seal_validity).
func checkCritical(c *checks, sig *ses.Signature, seal *ses.Seal) {
	if sig != nil && len(sig.TBS.UnknownCritical) > 0 {
		c.fail(CheckFormat, FormatFailure, fmt.Sprintf("TBS_Sign carries the critical extension(s) %s, which this verifier does not understand, so the signature cannot be accepted", oidList(sig.TBS.UnknownCritical)))
	}
	if seal != nil && len(seal.UnknownCritical) > 0 {
		c.fail(CheckSealValidity, SigConstraintsFailure, fmt.Sprintf("the seal carries the critical extension(s) %s, which this verifier does not understand, so the seal cannot be accepted", oidList(seal.UnknownCritical)))
	}
}

func oidList[T fmt.Stringer](ids []T) string {
	s := make([]string, 0, min(len(ids), maxListedOIDs+1))
	for _, id := range ids[:min(len(ids), maxListedOIDs)] {
		n := id.String()
		if n == "" {
			n = "(unreadable)"
		}
		s = append(s, n)
	}
	if len(ids) > maxListedOIDs {
		s = append(s, fmt.Sprintf("and %d more", len(ids)-maxListedOIDs))
	}
	return strings.Join(s, ", ")
}

// maxListedOIDs bounds the identifiers oidList names; the rest are counted.
const maxListedOIDs = 16

// explainDataHash adds to a failed data_hash of an OFD seal signature what else in the seal
// signature disagrees with this Signature.xml: a SES blob copied from another document
// usually names another path and another time.
func explainDataHash(c *checks, s *ofd.Signature, sig *ses.Signature) {
	if c.status(CheckDataHash) != Failed {
		return
	}
	var why []string
	if want := "/" + s.Location; sig.TBS.PropertyInfo != want && strings.TrimPrefix(sig.TBS.PropertyInfo, "/") != s.Location {
		why = append(why, fmt.Sprintf("its propertyInfo %q is not this signature's path %q", clip(sig.TBS.PropertyInfo), want))
	}
	if s.SignatureDateTime != "" && !sig.TBS.Time.IsZero() {
		t, zoned, err := ofd.ParseDateTime(s.SignatureDateTime)
		switch {
		case err != nil:
			why = append(why, "SignatureDateTime of Signature.xml could not be read: "+err.Error())
		case absDuration(t.Sub(sig.TBS.Time)) >= time.Second:
			zone := ""
			if !zoned {
				zone = ", read as China Standard Time (UTC+8)"
			}
			why = append(why, fmt.Sprintf("its signing time (timeInfo) %s differs from SignatureDateTime %q of Signature.xml (%s%s)",
				fmtTime(sig.TBS.Time), clip(s.SignatureDateTime), fmtTime(t), zone))
		}
	}
	if len(why) == 0 {
		return
	}
	for i := range c.list {
		if c.list[i].Name == CheckDataHash {
			c.list[i].Detail = join(c.list[i].Detail, "the seal signature does not belong to this Signature.xml: "+strings.Join(why, "; "))
		}
	}
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// noteCarriage names in the format detail the producers' OFD habits that were read leniently,
// and a Type="Sign" whose value is a seal signature (verified as one).
func noteCarriage(c *checks, s *ofd.Signature) {
	notes := s.Notes
	if strings.EqualFold(s.Type, "Sign") && ses.Sniff(s.SignedValue) == "signature" {
		notes = append(notes[:len(notes):len(notes)], "Signatures.xml says Type=\"Sign\" but the value is a seal signature (SES_Signature); verified as one")
	}
	if len(notes) == 0 {
		return
	}
	for i := range c.list {
		if c.list[i].Name == CheckFormat {
			c.list[i].Detail = join(c.list[i].Detail, notes...)
		}
	}
}

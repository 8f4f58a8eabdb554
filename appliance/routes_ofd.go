package appliance

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/ses"
	"github.com/eseal/eseal/verifier"
)

// The headers that carry the secrets of POST /v1/ofd/sign, never its query (which proxies
// and access logs keep).
const (
	// HeaderPIN is the seal's protection PIN.
	HeaderPIN = "Eseal-Pin"
	// HeaderPersonID is the identity number of the holder of a personal or position seal.
	HeaderPersonID = "Eseal-Person-Id"
)

// ofdSignParams are the query parameters POST /v1/ofd/sign reads; any other is refused.
var ofdSignParams = []string{"seal", "approval", "scope", "version", "page", "x", "y", "keyword", "riding", "protect_signatures", "force"}

// ofdRoutes are the OFD signing routes.
func ofdRoutes() []Route {
	return []Route{
		{Method: http.MethodPost, Path: "/v1/ofd/sign", Roles: []registry.Role{registry.RoleSigner},
			Summary: "Sign an OFD document, sent as the raw body (application/ofd), with a visible seal: " +
				"?seal=CODE, &approval=ID for an official seal, &scope= for a position seal, &version=4|1; " +
				"where: &page=N&x=MM&y=MM (the stamp's centre, millimetres from the page's top-left), or &keyword=TEXT " +
				"(centred on its first occurrence; with &page on that page only), or &riding=FROM-TO (a cross-page seal); " +
				"&protect_signatures=true protects Signatures.xml too (no later signature); &force=true signs although " +
				"an existing signature does not pass. The seal's PIN goes in the Eseal-Pin header, the holder's identity " +
				"number in Eseal-Person-Id, never in the query. The authorised document digest is the SM3 of the body. " +
				"Answers the signed OFD (application/ofd) once its use record is durable and its new signature verifies.",
			RawRequest: "application/ofd", RawResponse: "application/ofd", Params: ofdSignParamDocs(),
			Handle: handleSignOFD},
	}
}

// ofdSignParamDocs describes, for the OpenAPI document, the query parameters and headers
// POST /v1/ofd/sign reads.
func ofdSignParamDocs() []Param {
	docs := map[string]string{
		"seal":               "the seal's code (required)",
		"approval":           "the use approval's id (official seals)",
		"scope":              "the scope of a position seal's use",
		"version":            "4 (GB/T 38540, the default) or 1 (GM/T 0031)",
		"page":               "the page of the stamp (from 1), or of the keyword",
		"x":                  "the stamp's centre, millimetres from the page's left edge",
		"y":                  "the stamp's centre, millimetres from the page's top edge",
		"keyword":            "text whose first occurrence the stamp is centred on",
		"riding":             "FROM-TO: a cross-page seal over those pages",
		"protect_signatures": "true: Signatures.xml is protected too, and no later signature is possible",
		"force":              "true: sign although an existing signature does not pass",
	}
	ps := make([]Param, 0, len(ofdSignParams)+2)
	for _, n := range ofdSignParams {
		ps = append(ps, Param{Name: n, In: "query", Description: docs[n]})
	}
	return append(ps,
		Param{Name: HeaderPIN, In: "header", Description: "the seal's protection PIN (required)"},
		Param{Name: HeaderPersonID, In: "header", Description: "the holder's identity number (personal and position seals)"})
}

// ofdSignRequest is what POST /v1/ofd/sign reads from its query and headers.
type ofdSignRequest struct {
	auth      signAuth
	placement ofd.Placement
	protect   bool
	force     bool
}

// readOFDSignRequest reads the query and the secret headers, refusing a parameter it does
// not know, one it cannot read, and a secret sent in the query.
func readOFDSignRequest(c *Call) (*ofdSignRequest, error) {
	bad := func(format string, args ...any) error {
		return &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf(format, args...)}
	}
	var unknown []string
	for k := range c.ctx.QueryArgs().All() {
		if !slices.Contains(ofdSignParams, string(k)) {
			unknown = append(unknown, string(k))
		}
	}
	for _, k := range unknown {
		switch strings.ToLower(k) {
		case "pin", "person_id", "person-id", "eseal-pin", "eseal-person-id":
			return nil, bad("query parameter %q: secrets go in the %s and %s headers, never in the query", clip(k), HeaderPIN, HeaderPersonID)
		}
	}
	if len(unknown) > 0 {
		return nil, bad("unknown query parameter %q; known: %s", clip(unknown[0]), strings.Join(ofdSignParams, ", "))
	}
	r := &ofdSignRequest{auth: signAuth{Seal: c.Query("seal"), Approval: c.Query("approval"), Scope: c.Query("scope"),
		PIN: c.Header(HeaderPIN), PersonID: c.Header(HeaderPersonID)}}
	if r.auth.Seal == "" {
		return nil, bad("seal: required, the code of the seal to sign with (?seal=CODE)")
	}
	var err error
	num := func(name string, parse func(string) error) {
		if s := c.Query(name); s != "" && err == nil {
			if perr := parse(s); perr != nil {
				err = bad("%s: %q is not %s", name, clip(s), perr.Error())
			}
		}
	}
	num("version", func(s string) (e error) { r.auth.Version, e = atoi(s, "a version number"); return })
	num("page", func(s string) (e error) { r.placement.Page, e = atoi(s, "a page number"); return })
	num("x", func(s string) (e error) { r.placement.X, e = mmValue(s); return })
	num("y", func(s string) (e error) { r.placement.Y, e = mmValue(s); return })
	num("riding", func(s string) error {
		from, to, ok := strings.Cut(s, "-")
		var e1, e2 error
		r.placement.RidingFrom, e1 = atoi(from, "")
		r.placement.RidingTo, e2 = atoi(to, "")
		if !ok || e1 != nil || e2 != nil {
			return fmt.Errorf("a page range FROM-TO (e.g. 1-3)")
		}
		return nil
	})
	num("protect_signatures", func(s string) (e error) { r.protect, e = boolValue(s); return })
	num("force", func(s string) (e error) { r.force, e = boolValue(s); return })
	if err != nil {
		return nil, err
	}
	r.placement.Keyword = c.Query("keyword")
	return r, nil
}

func atoi(s, what string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s", what)
	}
	return n, nil
}

func mmValue(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("a number of millimetres")
	}
	return v, nil
}

func boolValue(s string) (bool, error) {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("true or false")
	}
	return v, nil
}

// clip shortens what a caller sent before it is quoted in a refusal.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// handleSignOFD signs an OFD document: it opens the package (read-side limits), verifies the
// signatures it has (one that does not pass refuses the document, unless forced), checks the
// placement, has the registry authorise the SM3 of the body and sign the new Signature.xml
// at the registry's time, finishes the package, and verifies the new signature in it before
// answering the package.
func handleSignOFD(c *Call) error {
	if ct := c.Header("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !ofdTypes[mt] {
			return &Error{Kind: errs.InvalidInput, Message: "the body must be the OFD document itself, sent as application/ofd or application/octet-stream"}
		}
	}
	req, err := readOFDSignRequest(c)
	if err != nil {
		return err
	}
	body := c.Body()
	if len(body) == 0 {
		return &Error{Kind: errs.InvalidInput, Message: "the request body is empty; the OFD document is expected"}
	}
	v, err := verifierFor(c, "")
	if err != nil {
		return err
	}
	pkg, err := ofd.Open(body, ofd.Limits{})
	if err != nil {
		return fmt.Errorf("the OFD document cannot be signed: %w", err)
	}
	if err := checkExisting(v, pkg, req.force); err != nil {
		return err
	}
	document := sm3.Sum(body)
	opts := ofd.SignOptions{Placement: req.placement, ProtectSignatures: req.protect, Force: req.force}

	// Whatever can be refused about the document is refused before the registry decides:
	// its decision uses the approval's digest and counts a wrong PIN.
	var first *ofd.Draft
	var firstTime time.Time
	var firstSeal []byte
	if a := c.Actor(); len(a.Seals) == 0 || slices.Contains(a.Seals, req.auth.Seal) {
		seal, err := c.Services().Registry.SealForSigning(c.Context(), req.auth.Seal)
		if err != nil {
			return err
		}
		setSize(&opts, seal)
		firstTime = time.Now().UTC().Truncate(time.Second)
		opts.Time, opts.Seal, firstSeal = firstTime, seal.Raw, seal.Raw
		if first, err = pkg.PrepareSignature(opts); err != nil {
			return err
		}
	}
	u, err := authorize(c, req.auth, [][]byte{document[:]})
	if err != nil {
		return err
	}
	setSize(&opts, u.Seal)
	opts.Seal = u.Seal.Raw
	var draft *ofd.Draft
	sig, err := u.SignDocument(c.Context(), document[:], func(now time.Time) (registry.SignItem, error) {
		if first != nil && now.Equal(firstTime) && bytes.Equal(opts.Seal, firstSeal) {
			draft = first
		} else {
			opts.Time = now
			d, err := pkg.PrepareSignature(opts)
			if err != nil {
				return registry.SignItem{}, err
			}
			draft = d
		}
		return registry.SignItem{Digest: draft.Digest(), PropertyInfo: draft.Path()}, nil
	})
	if err != nil {
		return err
	}
	countSignaturesMade(1)
	out, err := draft.Finish(sig)
	if err != nil {
		return fmt.Errorf("seal %s: the signed package could not be written: %w", u.Record.Code, err)
	}
	if err := checkNewSignature(v, out, draft.Path()); err != nil {
		return fmt.Errorf("seal %s: %w", u.Record.Code, err)
	}
	return c.Bytes(http.StatusOK, "application/ofd", out)
}

// setSize sets the stamp's size to the seal picture's, in millimetres.
func setSize(o *ofd.SignOptions, seal *ses.Seal) {
	o.Width, o.Height = float64(seal.Info.Picture.Width), float64(seal.Info.Picture.Height)
}

// checkExisting verifies the signatures the document has; unless force, one that does not
// pass refuses the document (WRONG_STATE), named with its verdict.
func checkExisting(v *verifier.Verifier, pkg *ofd.Package, force bool) error {
	rep, err := v.VerifyOFDPackage(pkg)
	if err != nil {
		return fmt.Errorf("the OFD document cannot be signed: %w", err)
	}
	if force {
		return nil
	}
	for _, s := range rep.Signatures {
		if s.Indication != verifier.TotalPassed {
			verdict := s.Indication
			if s.SubIndication != "" {
				verdict += "/" + s.SubIndication
			}
			return &Error{Kind: errs.WrongState, Message: fmt.Sprintf(
				"the document's signature %s (%s) does not pass: %s; sign with force=true to add a signature all the same",
				s.ID, s.Location, verdict)}
		}
	}
	return nil
}

// checkNewSignature verifies the signature at path (its Signature.xml) in the signed package:
// what the server hands out must pass.
func checkNewSignature(v *verifier.Verifier, out []byte, path string) error {
	pkg, err := ofd.Open(out, ofd.Limits{})
	if err != nil {
		return fmt.Errorf("the signed package does not read back: %w", err)
	}
	loc := strings.TrimPrefix(path, "/")
	s, found, err := v.VerifyOFDSignatureAt(pkg, loc)
	switch {
	case err != nil:
		return fmt.Errorf("the signed package does not read back: %w", err)
	case !found:
		return fmt.Errorf("the signed package has no signature at %s", loc)
	case s.Indication != verifier.TotalPassed:
		return fmt.Errorf("the new signature %s does not verify in the signed package: %s/%s", loc, s.Indication, s.SubIndication)
	}
	return nil
}

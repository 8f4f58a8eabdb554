package ofdrender

import (
	"fmt"
	"image"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/ses"
)

// stamps draws the stamp annotations of the package's signatures that lie on
// the page with the given ID (page number n): the seal picture from the SES
// signature (else from the signature's Seal.esl) fills the StampAnnot's
// Boundary, clipped to its Clip.
func (j *job) stamps(pageID string, n int) error {
	sigs, err := j.p.Signatures()
	if err != nil {
		if errs.KindOf(err) == errs.LimitExceeded {
			return err
		}
		if len(sigs) == 0 {
			j.note("the signatures cannot be read, so no stamp is drawn: %v", err)
			return nil
		}
	}
	for i, s := range sigs {
		var pic *ses.Picture
		what := fmt.Sprintf("signature %d (%s)", i+1, s.Location)
		for _, a := range s.StampAnnots {
			if a.PageRef != pageID || pageID == "" {
				continue
			}
			if err := j.object(); err != nil {
				return err
			}
			if a.Problem != "" {
				j.note("%s: stamp %s not drawn: %s", what, a.ID, a.Problem)
				continue
			}
			if pic == nil {
				if pic = sealPicture(s.SignedValue, s.Seal); pic == nil {
					j.note("%s: no seal picture can be read from SignedValue or the seal file, so its stamp is not drawn", what)
					break
				}
			}
			b := box{a.Boundary[0], a.Boundary[1], a.Boundary[2], a.Boundary[3]}
			if b.w == 0 || b.h == 0 {
				continue
			}
			m := scale(b.w, b.h).then(translate(b.x, b.y)).then(j.dev)
			clipR := j.img.Bounds()
			if a.Clip != "" {
				c, err := parseBox(a.Clip)
				if err != nil {
					j.note("%s: stamp %s: its Clip %v; drawn unclipped", what, a.ID, err)
				} else {
					x0, y0 := j.dev.apply(b.x+c.x, b.y+c.y)
					x1, y1 := j.dev.apply(b.x+c.x+c.w, b.y+c.y+c.h)
					clipR = image.Rect(roundPix(x0), roundPix(y0),
						roundPix(x1), roundPix(y1)).Intersect(clipR)
				}
			}
			if err := j.drawPicture(pic.Type, pic.Data, m, clipR, what); err != nil {
				return err
			}
		}
	}
	return nil
}

// sealPicture finds the seal picture in a SES signature, else in a seal.
func sealPicture(signedValue, seal []byte) *ses.Picture {
	if len(signedValue) > 0 {
		if sig, err := ses.ParseSignature(signedValue); err == nil && sig.TBS.Seal != nil && len(sig.TBS.Seal.Info.Picture.Data) > 0 {
			return &sig.TBS.Seal.Info.Picture
		}
	}
	if len(seal) > 0 {
		if s, err := ses.ParseSeal(seal); err == nil && len(s.Info.Picture.Data) > 0 {
			return &s.Info.Picture
		}
	}
	return nil
}

// Package sealimg draws seal pictures (印章图像) and checks impressions
// filed by applicants.
//
// A [Renderer] made by [New] draws the kinds of art. 3 that have a
// picture of their own, as the public-security impression specifications
// lay them out:
//
//   - round seals ([Official] 公章, [Contract] 合同专用章, [Finance]
//     财务专用章, [Special] for other business seals): a red ring, the
//     organisation's name along the upper arc read left to right, a
//     five-pointed star in the centre, the purpose under the star, and the
//     seal code (印章编码) along the lower arc where given;
//   - the oval invoice seal ([Invoice] 发票专用章): the name along the upper
//     arc, the taxpayer identification number across the middle and
//     发票专用章 below;
//   - the square personal seal ([Personal] 私章): a frame and the holder's
//     name of two to four characters in columns read from right to left
//     and top to bottom, as on a carved seal: two characters side by side,
//     three as the surname in the right column and the given name stacked
//     in the left, four as two by two.
//
// Pictures come as PNG ([Drawing.PNG]: the ink colour with antialiased
// alpha on a transparent background, at Options.DPI, 600 by default, with
// the resolution recorded in the file so it prints at its size) and SVG
// ([Drawing.SVG]: sized in millimetres, every character as a path so the
// picture looks the same without the font).
//
// # Sizes
//
// Sizes are millimetres of the printed seal and come from [Spec], per kind,
// with defaults after common practice ([DefaultSpec]): official seals 42 mm
// with a 1.2 mm ring and a 14 mm star, contract and special seals 40 mm,
// finance seals 38 mm, invoice seals 40 × 30 mm, personal seals 18 mm.
// Options.Specs overrides them; lengths not given scale with the seal.
//
// # Font
//
// Characters come from a CJK TrueType font: by default the Song/Ming face
// "AR PL UMing CN" of Debian's fonts-arphic-uming
// (/usr/share/fonts/truetype/arphic/uming.ttc), read with
// golang.org/x/image/font/opentype and drawn from its outlines with
// golang.org/x/image/vector. The strokes are thickened a little
// (Spec.Weight) so that the thin horizontals of a Ming face hold up as a
// seal. New fails with a *FieldError for the field "font" if the font is
// missing, unreadable, not a font, or lacks the characters every seal
// needs, so a misconfigured appliance stops at start-up instead of drawing
// blank seals. uming.ttc stores its tables off the four-byte boundaries that
// golang.org/x/image/font/sfnt insists on; New copies them to aligned
// offsets in memory first.
//
// # Long names
//
// The name is laid out along its arc character by character, each next
// character as close to the previous one as the spacing allows, and
// centred. When it does not fit in Spec.NameArc degrees the characters are
// made narrower, down to half their width, then smaller, down to 40 % of
// their height; short names are spread over Spec.MinNameArc. Every
// character on an arc keeps at least Spec.Gap between its ink (the glyph's
// outline, thickened as drawn) and the inside of the ring: a character
// whose outline would come closer, by the corners of a cell on a bending
// arc or strokes past the design box, is moved towards the centre, which
// matters most for the first and last characters of a long name where an
// oval bends most. Every layout is checked before drawing: no two character cells meet, none crosses the
// ring or the star. A name longer than Spec.MaxName (40 characters) is an
// error naming the field:
//
//	sealimg: name: 60 characters, at most 40 fit on the arc
//
// # Errors
//
// Every error about the input is a *[FieldError] whose Field names the bad
// field ("name", "purpose", "code", "tax_id", "kind", "font", "dpi", "color",
// "specs.<kind>.<length>", "impression"): an empty name, a name too long,
// characters the font does not have (each named with its code point),
// spaces and control characters, a malformed tax identification number or
// seal code, fields that the kind does not carry. Nothing in the package
// panics on bad input.
//
// # Filed impressions
//
// A picture supplied by the applicant (art. 12: same seal, same impression)
// is used as it is. [CheckImpression] only makes sure it is one: a PNG,
// JPEG or GIF that decodes in full, 100 to 10000 pixels per side, or an SVG
// document (well-formed UTF-8 XML with one <svg> root carrying a width and a
// height, 10 to 200 mm, without scripts, event handlers, document type
// declarations or outside references, since the picture is served to
// browsers); sides within 1:3. [ImpressionLimits] changes the bounds.
//
// # Concurrency
//
// A Renderer is safe for concurrent use; it caches glyph outlines as it
// meets them. A Drawing is immutable.
//
// # Gallery
//
// testdata/gallery holds one PNG and SVG per kind with short and long
// names, for reviewers. Regenerate it with
//
//	go generate ./sealimg
//
//go:generate go test -run ^TestGallery$ -gallery .
package sealimg

// Package ofdrender draws a page of an OFD package (GB/T 33190) to an image,
// with the stamps of its seal signatures: enough to show what a licence, a
// letter or an invoice looks like, not a full OFD viewer.
//
// It draws, for the document OFD.xml's first DocBody names:
//
//   - the page's size from its Area/PhysicalBox, else the document's
//     CommonData/PageArea, else A4;
//   - the layers of the page's Content.xml in order, with page blocks, over
//     the page's template pages (under those with ZOrder Foreground);
//   - PathObject: AbbreviatedData with S, M, L, Q, B, A and C (Z is read as
//     C), filled (non-zero winding) and stroked with its LineWidth and
//     colours, or those of its DrawParam;
//   - TextObject: each TextCode at X, Y with DeltaX and DeltaY (the "g n
//     value" form too), Size in millimetres, HScale, CTM and FillColor, with
//     one CJK font for every Font (uming.ttc by default); Weight 600 and
//     above is emboldened;
//   - ImageObject: the PNG, JPEG, GIF or BMP MultiMedia its ResourceID names in
//     the document's or page's resources, the CTM placing the unit square;
//   - the StampAnnots of every signature on the page (ofd.Package.Signatures):
//     the seal picture inside SignedValue (ses.ParseSignature), else in the
//     signature's seal file, fills the Boundary, clipped to Clip; a picture
//     of type "ofd" is itself a package whose first page is rendered; other
//     types are left out with a note.
//
// Colours may be decimal or "#hex", gray, RGB or CMYK, with Alpha. What is
// not drawn (composite objects, shadings, rotated characters) is
// named in Page.Notes.
// Template pages' resources are the document's and the page's.
//
// # Limits
//
// Packages are untrusted: they are read through ofd's read side and its
// Limits, XML files nest at most Limits.MaxXMLDepth deep and hold at most a
// million elements, a page image has at most Options.MaxPixels, a page
// draws at most Options.MaxObjects objects and glyphs and rasterizes at most
// Options.MaxWork pixels (its stamps' OFD pictures included), a picture has
// at most 25 million pixels. Coordinates beyond 10⁹ mm are refused. Bad input
// gives an *Error (or an *ofd.Error from reading the package), never a panic.
// An object that cannot be drawn is left out and named in Page.Notes; a
// file that cannot be read or a limit stops the page.
//
// # Concurrency
//
// A Renderer is safe for concurrent use.
package ofdrender

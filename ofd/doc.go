// Package ofd reads OFD packages (GB/T 33190) and the electronic-seal and
// digital signatures they carry (GB/T 38540, GM/T 0031, GM/T 0099 carriage),
// and adds seal signatures to them (see Writing).
//
// It does not parse SES structures: for each signature it hands over the raw
// bytes of Signature.xml (the signed data, exactly as stored), SignedValue.dat
// and, when present, Seal.esl, and it checks the file digests listed in
// Signature.xml's References.
//
// Typical use:
//
//	p, err := ofd.Open(data, ofd.Limits{})
//	if err != nil { ... }              // not a readable package
//	sigs, err := p.Signatures()
//	if err != nil { ... }              // OFD.xml missing/broken, or too many signatures
//	for _, s := range sigs {
//		if s.Err != nil { ... }        // this signature cannot be checked at all
//		for _, r := range s.References {
//			if !r.OK { ... r.Problem ... }
//		}
//		// s.XML, s.SignedValue, s.Seal go to the SES verifier; route on s.Type.
//	}
//
// # Paths
//
// Package paths are resolved the way GB/T 33190 describes: a path with a
// leading "/" starts at the package root; a relative BaseLoc, SignedValue or
// Seal path starts at the folder of the file that contains it. The
// <Signatures> path in OFD.xml and a Reference's FileRef are taken from the
// root even without a leading "/". In those paths repeated slashes and "."
// are ignored and a backslash counts as a slash; a ".." that would leave the
// root is an error. ZIP entry names themselves must be plain (see below). When a relative path does not
// exist but the same path taken from the root does (a producer forgot the
// leading slash), the latter is used and a warning is recorded in
// Signature.Warnings. Resolved paths are returned without a leading slash,
// e.g. "Doc_0/Signs/Sign_0/Signature.xml".
//
// XML is read by local names, so any namespace prefix and the old namespace
// http://www.ofdspec.org work. The Provider may be given as attributes or,
// as dms360 writes it, as child elements.
//
// # References
//
// CheckMethod "SM3" (any case) or the OID 1.2.156.10197.1.401 means SM3 over
// the stored (decompressed) bytes of the referenced file; no XML is ever
// normalised. Any other CheckMethod, e.g. 1.2.156.10197.1.401.2, makes every
// reference of that element fail with a Problem naming the unsupported method.
//
// # Limits
//
// A package is untrusted input. Limits bounds what reading it may cost; zero
// fields take the defaults:
//
//   - MaxEntrySize (64 MiB): the largest decompressed size of one file. The
//     size declared in the ZIP directory is checked before decompressing, and
//     decompression stops as soon as the declared size is exceeded, so a zip
//     bomb yields an error wrapping ErrLimit or ErrFormat, never unbounded
//     memory.
//   - MaxTotalSize (256 MiB): decompressed bytes over the life of a Package
//     (every ReadFile, Signatures and digest). Files read by Signatures and
//     digests are cached, so each is decompressed at most twice. Open may
//     inflate up to four times as much again to check where the deflate
//     streams of entries with data descriptors end; it keeps the SM3 digest
//     of those files (when their CRC matches), and the contents of the small
//     ones (up to 64 KiB each, 1 MiB in all), so that a digest or a read does
//     not inflate them again (it is still charged as a read).
//   - MaxEntries (10000): entries in the ZIP central directory; checked before
//     archive/zip allocates them.
//   - MaxSignatures (1000): <Signature> entries over all Signatures.xml files;
//     Signatures fails with ErrLimit when exceeded.
//   - MaxReferences (10000) and MaxStampAnnots (10000): elements of one
//     Signature.xml, counted by a scan of its bytes before it is parsed; a
//     signature over either limit gets an Err wrapping ErrLimit.
//   - MaxAllReferences (100000): References of all signatures together, each
//     Signature.xml counted once; signatures read past it get an Err wrapping
//     ErrLimit.
//   - MaxXMLDepth (256): element nesting in any XML file read, checked before
//     it is parsed.
//
// Entries of Signatures.xml files that name the same Signature.xml share one
// reading of it (the same XML, References and parts): it is parsed, counted
// and digested once.
//
// # One reading only
//
// A package must read the same way in every reader, so that no reader can
// show content that was not hashed. Open fails with an error wrapping
// ErrFormat, naming the entry, when:
//
//   - two entry names differ only in case (or Unicode normalisation);
//   - a name holds a NUL, a backslash or a control character, starts with
//     "/", or has an empty, "." or ".." segment;
//   - an Info-ZIP Unicode Path extra field (which unzip, 7-Zip and libarchive
//     take for the name) gives another name than the entry's own;
//   - a local header's name, storage method, sizes or checksum differ from
//     its central-directory record, or a stored entry defers its sizes to a
//     data descriptor;
//   - the local entries, the central directory and its end record do not
//     follow each other exactly: a local entry the directory does not list,
//     bytes no entry accounts for, overlapping entries;
//   - bytes before the ZIP hold a local entry header, or bytes after it (or
//     its comment) hold any ZIP record.
//
// Other bytes before or after the ZIP archive are tolerated (a producer quirk;
// Package.Surrounding reports them, so that a verifier can warn of a
// polyglot).
//
// # Coverage
//
// Package.Coverage tells whether a signature protects what a reader shows:
// the Document.xml named by the DocRoot of OFD.xml's first DocBody, which
// must be the document whose Signatures file lists the signature, and the
// file of every page that Document.xml lists (a relative page BaseLoc is
// taken from the document's folder and, where that file exists too, from the
// root; a BaseLoc naming a folder means its Content.xml). OFD.xml itself is
// never signed by real producers, so its DocRoot is checked, not trusted: a
// DocBody or DocRoot out of place, or an element inside a DocRoot or
// Signatures (whose text readers then take in two ways), leaves the document
// displayed unknown.
// A relative path to a signature's Signature.xml, seal file or signed value
// that names a file both from its folder and from the root fails coverage too
// (a reader may draw the stamp from the other). Package.UnsignedFiles lists the
// files no signature's matching Reference covers, other than the signature files.
//
// # Writing
//
// Package.PrepareSignature adds a seal signature in two steps, so that the
// key can sign elsewhere (a server, a device): it writes the new
// Doc_N/Signs/Sign_M/Signature.xml, final from then on, whose SM3 digest
// (Draft.Digest) and path (Draft.Path) are the SES dataHash and propertyInfo;
// Draft.Finish takes the DER SES_Signature made over them, checks that it is,
// and returns the new package:
//
//	p, err := ofd.Open(data, ofd.Limits{})
//	d, err := p.PrepareSignature(ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 150, Y: 200},
//		Width: 40, Height: 40, Time: now, Seal: seal.Raw})
//	sig, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: seal, SignerCert: cert,
//		DataHash: d.Digest(), PropertyInfo: d.Path(), Time: now}, key)
//	out, err := d.Finish(sig)
//
// The signature protects every file of the package (SM3 References) except
// the lists of signatures, Signatures.xml, which a later signature must
// extend; SignOptions.ProtectSignatures protects this document's list too,
// and the package then refuses further signatures. Signatures.xml is created
// (OFD.xml gaining its Signatures reference) or extended in place; every
// other byte of OFD.xml and Signatures.xml stays as it was. Unchanged ZIP
// entries are copied as stored (the same compressed bytes and CRC); new and
// changed ones are deflated: XML files of 16 KiB or more at flate.BestSpeed,
// smaller ones and the DER files (SignedValue.dat, Seal.esl) as stored
// deflate blocks, where compressing would save a few KB, or nothing, at the
// cost of building Huffman tables. The input is never modified.
//
// PrepareSignature refuses, without writing anything, a package that an
// earlier signature would no longer verify in: one whose Signatures.xml an
// earlier signature protects (WrongState, even with Force), and one whose
// earlier signatures already fail their References (WrongState, unless
// SignOptions.Force), and one holding a file whose name readers may take for
// the new Signatures.xml (differing only in case, say; ErrFormat) or whose
// DocBody has a Signatures element naming no usable list (ErrFormat). The new
// Sign_N folder is one whose files no name of the package folds onto. The read side's limits apply: a hostile package fails
// as it would when read.
//
// The stamp goes on a page at a position (Placement.Page, X, Y: its centre,
// in mm from the page's top-left), on a keyword of the page's text
// (Placement.Keyword: centred on its glyphs, placed from the text objects'
// Boundary, CTM, Size and TextCode positions), or across pages (Placement.RidingFrom..RidingTo: a cross-page seal,
// one strip of the picture at the right edge of each page, cut by the
// StampAnnot's Clip).
//
// Every error names the file concerned and wraps one of ErrFormat,
// ErrNotExist, ErrPath, ErrLimit or ErrUnsupported; the writer adds
// errs.InvalidInput (a bad placement or signed value), errs.NotFound (an
// absent keyword) and errs.WrongState (a package that refuses more
// signatures).
package ofd

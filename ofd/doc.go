// Package ofd reads OFD packages (GB/T 33190) and the electronic-seal and
// digital signatures they carry (GB/T 38540, GM/T 0031, GM/T 0099 carriage).
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
// root even without a leading "/". Repeated slashes and "." are ignored, a
// backslash counts as a slash (in ZIP entry names too); a ".." that would
// leave the root is an error. When a relative path does not
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
//   - MaxTotalSize (512 MiB): decompressed bytes over the life of a Package
//     (every ReadFile, Signatures and digest). Files read by Signatures and
//     digests are cached, so each is decompressed at most twice.
//   - MaxEntries (10000): entries in the ZIP central directory; checked before
//     archive/zip allocates them.
//   - MaxSignatures (1000): <Signature> entries over all Signatures.xml files;
//     Signatures fails with ErrLimit when exceeded.
//
// Bytes before or after the ZIP archive are tolerated (Package.Surrounding
// reports them). A ZIP holding two entries with the same name is refused as
// ambiguous. Every error names the file concerned and wraps one of ErrFormat,
// ErrNotExist, ErrPath, ErrLimit or ErrUnsupported.
package ofd

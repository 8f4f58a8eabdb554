// Package ses reads, writes and checks electronic seals (SESeal, .esl) and seal signatures
// (SES_Signature, OFD SignedValue.dat) of GB/T 38540-2020 (v4) and GM/T 0031-2014 (v1), and
// reads the v5 layout.
//
// # Parsing
//
// The version is told by shape, not by the header's number. Every signed part keeps its
// original bytes (SES_SealInfo, TBS_Sign; the v1 maker message is assembled from the original
// encodings of its three parts) and signatures are checked over those bytes, never over a
// re-encoding. Strings are accepted under any string tag, times with or without seconds,
// fraction or zone, signature values as DER, raw 64-byte r||s, or DER with non-minimal or
// negative INTEGERs; every such leniency is recorded in Notes or in the check's detail.
//
// The quirks of the producers listed in SES.md §5 item 17 are read the same way, each named:
// BIT STRINGs of whole bytes that claim 1 to 7 unused bits (all bytes are taken, and the
// signature or digest over them decides); a GM/T 0031 layout whose header and TBS_Sign say
// version 4 (the layout is told by shape, the maker's message is the v1 one); text times
// inside a BIT STRING; GeneralizedTime without a zone, or holding 12-digit UTCTime text.
// A time written without a zone is read as China Standard Time (UTC+8); UTCTime years follow
// RFC 5280 (50 to 99 are 19xx).
//
// What is refused: a header ID other than "ES" and a header version outside 1, 2, 4 and 5.
// Extensions marked critical are kept in UnknownCritical for the verifier to fail, as no
// standard defines one.
//
// # Writing
//
// MakeSeal and Sign emit strict DER with the string and time types of the standard
// (IA5String, UTF8String, PrintableString; GeneralizedTime in v4, UTCTime in v1), SM2 with
// SM3 and the default ID 1234567812345678, over any crypto.Signer.
//
// The package does no I/O.
package ses

// Package verifier runs the verification procedure of GB/T 38540 §7.3 on seal signatures,
// seals and OFD documents, and reports the outcome after the EU DSS result model.
//
// # The procedure
//
// For a seal signature: format (read by shape, v1, v4 or v5); signature_value (the signer's
// SM2 signature over the original bytes of TBS_Sign); seal_signature (the maker's signature
// over the seal, by the convention of its version); signer_in_seal (the signer certificate is
// one the seal lists, by bytes or by digest); data_hash (SM3 of the original data, when it is
// given); references (OFD only: every Reference digest); seal_validity and
// signer_certificate_validity (at the signing time, timeInfo); certificate_chain (to the
// configured trust anchors, at the signing time); revocation (the configured CRLs, which
// must have been issued after the signing time); timestamp (a token present is reported, not
// yet verified). A bare seal gets format, seal_signature, seal_validity at the current time,
// certificate_chain and revocation for the maker.
//
// Every check is always listed, as passed, failed, indeterminate or skipped, with a detail
// in words. A signature is TOTAL_FAILED when any check failed, INDETERMINATE when any is
// indeterminate, TOTAL_PASSED otherwise. Without trust anchors no chain can be built, so a
// sound signature is INDETERMINATE with NO_CERTIFICATE_CHAIN_FOUND, never failed for that.
//
// # Concurrency and memory
//
// A Verifier is safe for concurrent use. It remembers the outcome of each distinct seal's
// maker-signature check and each parsed certificate (at most 4096 of each, keyed by their
// bytes and confirmed by comparing them), so a seal met again costs no second SM2
// verification: verifying a signature then costs one SM2 verification and the hashing of
// what was signed.
//
// # Untrusted input
//
// Nothing a file holds can make the procedure panic or hang; OFD packages are opened within
// ofd.Limits. A broken part of one OFD signature fails that signature and never the others.
package verifier

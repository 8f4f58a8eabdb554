// Package verifier runs the verification procedure of GB/T 38540 §7.3 on seal signatures,
// seals and OFD documents, and reports the outcome after the EU DSS result model.
//
// # The procedure
//
// For a seal signature: format (read by shape, v1, v4 or v5); signature_value (the signer's
// SM2 signature over the original bytes of TBS_Sign); seal_signature (the maker's signature
// over the seal, by the convention of its version); signer_in_seal (the signer certificate is
// one the seal lists, by bytes or by digest); seal_maker (see below); data_hash (SM3 of the
// original data; without the data it is indeterminate, SIGNED_DATA_NOT_FOUND, as the
// signature then proves nothing about any document); references (OFD only: every Reference
// digest); seal_validity and signer_certificate_validity (at the signing time, timeInfo; a
// signing time later than now by more than Options.ClockSkew fails both,
// SIGNING_TIME_IN_FUTURE); certificate_chain (to the configured trust anchors, at the signing
// time); revocation (the newest configured CRL of each issuer, which must have been issued
// after the signing time); time_proof (see below); timestamp (a token present is reported,
// not yet verified). A bare seal gets format, seal_signature, seal_maker, seal_validity at
// the current time, certificate_chain and revocation for the maker, against the current CRL.
//
// Every check is always listed, as passed, failed, indeterminate or skipped, with a detail
// in words. A signature is TOTAL_FAILED when any check failed, INDETERMINATE when any is
// indeterminate, TOTAL_PASSED otherwise. Without trust anchors no chain can be built, so a
// sound signature is INDETERMINATE with NO_CERTIFICATE_CHAIN_FOUND, never failed for that.
//
// # Trust
//
// A chain to a trust anchor is not enough. seal_maker passes only when the seal maker
// certificate chains to a trust anchor, is an accepted seal maker (Options.Makers: listed
// itself, or issued through a listed CA), allows digitalSignature or nonRepudiation, and is
// neither the signer's certificate (nor holds its key) nor one of the seal's own signers.
// A maker that breaks one of the last two rules fails (SIG_CONSTRAINTS_FAILURE); one that is
// not shown to be accepted is indeterminate (CHAIN_CONSTRAINTS_FAILURE when it chains but is
// not listed, NO_CERTIFICATE_CHAIN_FOUND when no maker list is configured or it does not
// chain), never passed.
//
// The signing time is the signer's own claim, so time_proof asks whether it must be proven:
// it is skipped when the signer and maker certificates, the CAs between them and the anchor,
// and the seal are valid now and none is on the newest CRL. Otherwise only a proof of
// existence (Options.TimeProof: the audit log, later timestamps) at a time when all were
// valid and unrevoked lets the signature pass; without one it is indeterminate,
// REVOKED_NO_POE or OUT_OF_BOUNDS_NO_POE.
//
// Of several CRLs from one issuer the newest is used (the higher CRL number when both carry
// one, else the later thisUpdate); CRLs that do not verify under the issuer are ignored, and
// so are delta CRLs and CRLs limited by an issuing distribution point (critical or not), and
// CRLs with any other critical extension besides the CRL number and authority key
// identifier: they do not answer for every certificate. A CRL past its nextUpdate is used within
// Options.CRLGrace (7 days by default) and reported as stale; past that it cannot be relied
// on (TRY_LATER). A revocation listed on any CRL used counts, stale or not.
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

// Package pki is eseal's built-in SM2 certificate authority, the embedded
// default that lets a fresh appliance make real seals with nothing but
// itself: a root CA, the seal maker's certificate for the platform, signer
// certificates for seals' keys, and CRLs. It also makes PKCS#10 requests
// for an outside CA and imports the certificates it issues.
//
// Keys are never generated here: they live in a signer.KeyStore (software
// keys or an HSM), and the CA reaches them by label. The CA's own keys are
// RootKeyLabel and MakerKeyLabel. State lives in a store.KV under the
// keyspace SpaceName.
//
// # Lifecycle
//
// Open on a new data directory generates the two CA keys in the key store
// (or adopts keys already under those labels, made in an HSM key ceremony
// say), makes the root and the seal-maker certificate and CRL number 1, and
// writes them in one batch. Every Open, the first included, then checks the
// state: the root's self-signature and CA profile, each CA key against its
// certificate (equal public keys and a test signature that verifies under
// the certificate), the maker certificate and the current CRL against the
// root. Any mismatch is an error (ErrKeyMismatch, ErrKeyNotFound,
// ErrCorrupt) and the CA does not open.
//
// # Certificate profiles
//
// All certificates are X.509 v3, SM2 with SM3 (signed with the GB/T 35276
// user ID 1234567812345678), with random 20-octet serials (159 random bits,
// checked unique against the index) and a subject key identifier made of
// the leftmost 160 bits of SM3 over the public key.
//
//   - Root: C=CN, O=Options.Organisation, CN=Options.RootCommonName;
//     basicConstraints CA:TRUE, pathlen 0, critical; keyUsage keyCertSign
//     and cRLSign. Its notBefore is MaxBackdate before creation.
//   - Seal maker and signer certificates: issued by the root;
//     basicConstraints CA:FALSE; keyUsage digitalSignature and
//     nonRepudiation; the CRL distribution point Options.CRLURL; the
//     authority key identifier of the root. The subject comes from a Holder
//     (see there): O and organizationIdentifier for the organisation, CN and
//     serialNumber for the holder (credit code or identity number).
//
// Signer validity comes from the request: notAfter required, within the
// root's; notBefore at most MaxBackdate in the past. Each certificate gets a
// sequence number (root 1, maker 2, then signers) kept in the store.
//
// Validation comes first and signing second: a request is checked whole
// (holder, validity, key) before the root key signs anything, and every new
// certificate and CRL is parsed back and verified under the root before it
// is stored.
//
// # Revocation and CRLs
//
// Revoke records a revocation and issues the next CRL in the same batch.
// CRL returns the current CRL (DER) and re-issues it when it is older than
// Options.CRLRefresh (at most a day), so a CRL served is never more than a
// day old; nextUpdate is thisUpdate + Options.CRLValidity (48h by default).
// CRL numbers increase by one per CRL, and thisUpdate never goes back: with
// the clock behind the current CRL, the next one is dated as the current one
// (relying parties take the later thisUpdate as the newer CRL). Entries are
// never dropped, not even after the certificate expires: seals are verified
// long after.
//
// # Outside CAs
//
// CreateCSR makes a PKCS#10 request (SM2 with SM3) signed by the key in the
// key store. Import checks the certificate the outside CA returns (art. 13
// of the measures): it must hold exactly that key, be an end-entity
// certificate allowed to sign, and chain at the current time to one of
// Options.TrustAnchors (smx509 path building); only then is it stored.
//
// # Errors
//
// Every error is a *Error whose Kind matches with errors.Is (ErrInvalidInput,
// ErrKeyNotFound, ErrKeyMismatch, ErrUntrusted, ...) and whose Field names
// the request or option field at fault ("holder.credit_code", "key_label",
// "not_after", "Options.CRLURL"). The kinds come from package errs, and an
// error matches its own kind only: errors from the key store or the store
// stay reachable as causes (errors.As with *signer.Error), but their kinds
// do not show through (see errs.Chain). No error or log line carries key
// material or a holder's identity number.
//
// # Concurrency and limits
//
// A CA is safe for concurrent use. Issuance, revocation and CRL issuance
// are serialised by one mutex (each costs one SM2 signature and one store
// batch), which also keeps the sequence counter and serial check exact
// within one process; a cluster would need the store to arbitrate instead.
// Names are at most MaxNameLen characters; the CRL lists every revocation
// ever made, which suits the revocation rate of seals.
//
// # OpenSSL 3.0
//
// OpenSSL 3.0 verifies SM2 signatures with an empty user ID unless told
// otherwise, so certificates verify with
// `openssl verify -vfyopt distid:1234567812345678 -CAfile root.pem cert.pem`
// (and requests with `openssl req -verify -vfyopt distid:...`). For CRLs it
// offers no such option: `openssl crl -CAfile root.pem` reports "verify
// failure" for any SM2 CRL signed with the standard ID. The tests check the
// CRL's signature with `openssl pkeyutl -verify -rawin -pkeyopt distid:...`
// over the CRL's to-be-signed bytes instead.
package pki

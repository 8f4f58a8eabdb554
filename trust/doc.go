// Package trust keeps the named trust sets a verifier judges seals by.
//
// Other departments and provinces verify our seals and we verify theirs. Each of them is
// a trust set, kept under a name ("default", "gd-province", "dept.finance"): its roots
// (the trust anchors, self-signed SM2 CA certificates), the intermediates that help build
// chains to them, and the seal makers it accepts. A seal passes only when its maker
// certificate chains to one of the set's roots and is an accepted maker: listed itself,
// or issued through a CA certificate listed among the makers. A seal made by a
// certificate that chains well but is not an accepted maker is not trusted.
//
// # How the verifier uses it
//
// Sets implements verifier.TrustSource. For each verification the verifier asks
// TrustSet(name) for the set it verifies against and gets the set with its generation, a
// number that changes with every change to the set and never goes back, not even when
// the set is removed and put again under the same name. A verifier that remembers chain
// results keys them by the set's name and generation, so that a result computed before a
// change is never used after it; the callbacks given by Options.OnChange and Watch are
// called after each change so that it can drop them at once.
//
// # Checks
//
// Put checks every certificate before anything is stored: each parses strictly as DER
// X.509 and holds an SM2 public key; roots are CA certificates (basicConstraints cA, and
// keyCertSign when keyUsage is present) that are self-signed (subject equals issuer and
// the signature verifies under their own key); intermediates are CA certificates; makers
// allow digitalSignature or nonRepudiation, or are CA certificates. A set needs at least
// one root. Duplicates within a list are dropped. Each refusal is an *Error of a kind
// from package errs naming the certificate (list, place and subject) and what is wrong.
// Expired certificates are accepted: old signatures are verified at their signing time.
//
// # Limits
//
// Input is bounded before it is parsed: by default a set holds at most DefaultMaxCerts
// certificates and DefaultMaxBytes bytes of DER as given, a certificate at most
// DefaultMaxCertBytes, and a PEM or DER bundle (or a file LoadFiles reads) at most
// DefaultMaxBundleBytes. Options.Limits changes them. PEM is read strictly: nothing but
// white space outside the blocks, only CERTIFICATE blocks, no headers; an error about a
// block says where it is and of what type, never what it holds (a private key given by
// mistake does not reach a log).
//
// # Storage and concurrency
//
// Each set is one record in the store (keyspace SpaceName), and each change is one
// synced compare-and-swap of it, retried when another writer got there first, so that
// two writers, in one process or several over one store, never lose each other's change:
// each takes the next generation. A removed set keeps a record with its generation. A
// change is visible to TrustSet as soon as it is stored; changes made by another process
// are taken in by Reload.
//
// Sets are safe for concurrent use. TrustSet, on the path of every verification, reads an
// immutable map through an atomic pointer: no lock, no allocation. Writers replace the
// map under a mutex.
package trust

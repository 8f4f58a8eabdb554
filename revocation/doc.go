// Package revocation finds the current CRL of a certificate issuer: it fetches CRLs over
// HTTP from the distribution points that certificates name, checks them, and holds the
// newest of each issuer in memory and in the store, so that the verifier can consult
// them thousands of times a second without a request. Its Fetcher implements
// verifier.CRLSource.
//
// # What is taken
//
// A CRL is taken for an issuer only if it is DER or one PEM block "X509 CRL", no longer
// than Config.MaxBytes, names the issuer's subject byte for byte, verifies under the
// issuer's key, carries no critical extension but the CRL number and the authority key
// identifier (a delta CRL or one limited by an issuing distribution point cannot answer
// for every certificate, RFC 5280 §5), and is newer than the one held (the higher CRL
// number when both carry one, else the later thisUpdate): a held CRL is never rolled back.
// Anything else is refused and nothing of it is kept.
//
// # When it fetches
//
// A CRL held is used until its nextUpdate. After that the next question fetches from the
// distribution points, in order, until one gives a fresh CRL; concurrent questions for one
// issuer and the same points share one fetch. A fetch that brings no fresh CRL is
// remembered for Config.FailureBackoff, during which the same question is answered from
// memory (with the older CRL held, or the fetch's error), so that a dead server is asked
// once, not once per verification. When no fresh CRL can be had, the one held is returned
// past its nextUpdate: the verifier decides whether it is still usable (its grace period)
// and says it is stale.
//
// # Storage
//
// CRLs are kept in the keyspace "crl" of the store, one record per issuer under the SM3
// digest of the issuer's certificate, with that certificate, so that a Fetcher opened on
// the same store after a restart has them at once. They are checked again when loaded.
//
// # Limits
//
//   - Only http (and https if allowed) is fetched; ldap: and other schemes are skipped with a
//     note, file: is never read. Redirects are followed at most 5 times and only to allowed
//     schemes. At most 8 distribution points are tried per fetch.
//   - The distribution points are fetched as given: the caller passes those of certificates
//     that chain to its trust anchors, whose CAs choose where CRLs are served. The Fetcher
//     makes no attempt to keep requests off internal addresses.
//   - Delta CRLs and partitioned CRLs are refused, never combined with a base CRL; an
//     issuer that publishes only such CRLs has no usable CRL here.
//   - Indirect CRLs (signed by another than the certificate's issuer) are not supported.
//   - One CRL is held per issuer certificate; a reissued issuer certificate (new key or
//     encoding) has CRLs of its own.
//   - A CRL dated later than the clock is taken as it is. CRLs that carry a CRL number are
//     ranked by it, whatever their dates, so a CA whose clock went back is still followed;
//     a CA that restarts its numbering holds back its later CRLs until their number passes
//     the highest one held.
//   - The body of a CRL is read whole into memory, up to Config.MaxBytes, before parsing.
package revocation

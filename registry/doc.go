// Package registry is the seal lifecycle of the measures (articles 5 to 20): applications
// and their review, the making and issuing of seals, queries, changes, suspension,
// resumption and revocation, and the use authorisation that decides, for each signing,
// whether a caller may sign under a seal now.
//
// # Steps
//
//	Apply (art. 6)          an application: kind, unit (credit code checked), holder and handler
//	                        (identity number checked, kept masked and as a keyed hash), validity,
//	                        proof materials (kept once each under their SM3, size-limited)
//	MakeBusiness (art. 7)   a business entity's seals from its registration data: no materials,
//	                        no review, generated pictures; made and issued at once
//	Approve, Reject (art. 8) by a reviewer who is not the applicant; a rejection carries its reason
//	Make (art. 9-14)        key, signer certificate, picture, SESeal v4 (v1 on request) signed by
//	                        the seal maker and verified before it is stored; code = the physical
//	                        seal's code where it has one, else division code + sequence
//	Issue                   from then on the seal signs
//	Seal, Seals, ESL, Picture, History, ValidAt (art. 5)
//	Change (art. 19)        voids the seal (certificate revoked, superseded) and makes a new
//	                        version linked to it (Previous, Next)
//	Suspend, Resume, Revoke (art. 19-20); revoking revokes the signer certificate in the CA
//	RequestUse, ApproveUse, Authorize (art. 16-18); SetPIN (only the authority)
//	SealStatus, CertStatus  the registry's own word to the verifier (verifier.StatusSource) on
//	                        its seals and its CA's certificates, in effect once a step commits
//
// Every step is one atomic synced batch: the registry's records, the outbox writes of its
// event (Config.Events) and its audit record are committed together (audit.Log.AppendWith),
// or nothing is. Numbers (application ids, seal codes) are taken with compare-and-swap
// before the step and never handed out again, even when the step then fails. The key, the
// certificate and the PIN record of a seal live in the key store, the CA and the PIN guard,
// written before the step commits: a step that fails leaves at most an unused key and
// certificate behind, never a seal without them.
//
// # Use
//
// Authorize checks the role, the seal's status and validity, the approval (official seals:
// expiring, granted for the digests signed, each digest used once, over one or several
// signings), the holder (position and personal
// seals, by the keyed hash of the caller's identity number) and scope (position seals), and
// the protection PIN (signer.Guard: locked after 5 wrong PINs in a row or 20 within a day; only the authority
// sets it, SetPIN). It returns a Use whose Sign and SignBatch give each signature only after
// its "sign" audit record (with the SM3 of the signature value) is durable; a bulk signing's
// records share one synced batch. SignDocument signs, for an authorised document digest, a
// digest derived from the document at the registry's time (an OFD's Signature.xml, which
// names that time); its record names both digests. Those records are what
// audit.Log.ProveExistence finds, so a signature made here still passes the verifier's
// time_proof after its seal is revoked.
// Every refusal is recorded too, with its code.
//
// # Archive (art. 15)
//
// Nothing of a seal's making is deleted: seal records, applications, materials, .esl files
// and pictures stay; a revoked or voided seal keeps its whole status history. Only its
// private key goes: it is destroyed once the revocation or change is durable (or, when the
// key store failed then, at the seal's next refused use), so no restore or caller of the key
// store can sign with it again.
//
// # Store layout
//
// Under Prefix "reg/": app/ID applications, seal/CODE seals, status/CODE their status
// entries (the .esl and the status history, written with every seal record, for SealStatus),
// use/ID use approvals, blob/SM3 materials, seq/NAME counters. "reg/imp/" and "reg/outbox/"
// belong to the filed impressions and the outbox. State is the interface over this, so that
// a distributed store can later hold it.
package registry

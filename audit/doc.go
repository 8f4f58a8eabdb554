// Package audit is the platform's independent audit log (articles 21 and 23 of the
// measures): every lifecycle act and every use of a seal appends a record, records are
// chained by SM3, and the chain head is signed by a platform key at intervals, so that a
// record changed, removed or reordered in the store is found and named.
//
// audit sits on the ground floor beside store/: it imports neither the registry nor the
// verifier. Packages above hand a *Log around (or a small interface over Append).
//
// # Using it
//
//	lg, err := audit.Open(ctx, db, audit.Options{HeadSigner: platformKey})
//	seq, err := lg.Append(ctx, audit.Record{Actor: "reviewer-7", Action: audit.ActionApprove,
//		SealCode: "4601000012345", Outcome: audit.OutcomeOK, Details: map[string]string{"application": "A-12"}})
//	...
//	rep, err := lg.Verify(ctx)         // or audit.Verify(ctx, db, opts) without a Log
//	err = lg.Close()                   // writes what is queued and signs a last head
//
// Append returns only when the record is durable: it is written in a synced batch. All the
// appends waiting at one moment share one batch and one sync (group commit), and the work
// is pipelined in three goroutines. The writer takes each append as it is queued, chains
// its records and writes them into the batch it is building, while the batches before are
// applied and synced. When they have synced (or, for a batch of many records, as soon as
// the one before is applied), it seals the batch: the signature index, the callers' writes,
// a signed head when one is due, the tail marker. The committer applies the sealed batches
// to the store in order without waiting for their syncs; the syncer waits for the syncs in
// order and only then acknowledges each append of a batch and moves the durable tail
// (Tail). When fewer appends have come back than the last batches acknowledged, the writer
// lingers a little for them (half the last sync, at most Options.MaxLinger), so that they
// share the next sync. If a batch fails to apply or to sync, no batch after it is applied
// or acknowledged.
//
// The queue is bounded (Options.QueueSize); Append waits for room until its context ends.
// A record whose context ends before the writer seals its batch is never written; once
// sealed, Append reports the write's outcome. AppendWith commits the caller's own writes in
// the same batch, so that a state change and its record are durable together; AppendAll
// appends a bulk signing's records at once. After a failed write the log takes no more
// records (its chain's end is then unknown) until it is opened again.
//
// One Log extends one store's chain: open it once per store and share it. Close it before
// the key store that holds its head key, since Close signs a last head. Stats gives the
// records written and the synced batches they took.
//
// # What a record holds
//
// Seq, Time (set by the log, never earlier than the record before), Actor (who: an account
// or a masked identity), Action (what: the Action constants, "sign" for each signature
// made), SealCode, Digest (the document's digest, at most 64 bytes), SignatureSM3 (the SM3
// of the signature value made), Outcome, Details (a map of strings), Prev (the hash of the
// record before) and Hash. A record holds no PIN, key or document: Validate refuses a
// digest longer than 64 bytes, long or non-printable text, and a detail key one of whose
// words (split at '.', '_', '-') is pin, puk, password, passwd, passphrase, pwd, secret,
// key, privkey, private or credential(s), and an actor or detail holding a whole resident ID
// number with a valid check character. Beyond that, masking identities is the caller's duty.
//
// # Canonical encoding (version 1)
//
// Hash is SM3 over these bytes, integers big-endian, each string or byte field as a 4-byte
// length then its bytes:
//
//	1 byte    version = 1
//	8 bytes   seq
//	8 bytes   time, Unix nanoseconds (UTC)
//	field     actor
//	field     action
//	field     seal code
//	field     digest
//	field     signature SM3 (0 or 32 bytes)
//	field     outcome
//	4 bytes   number of details, then for each, in byte order of the keys: field key, field value
//	32 bytes  prev: the hash of the record before (32 zero bytes for record 1)
//
// A decoder refuses anything else: another version, a field over its limit, details out of
// order or repeated, trailing bytes.
//
// # Signed heads
//
// Every HeadEvery records, or HeadInterval after the last head when records are waiting,
// and at Close, the writer signs a head: (seq, hash of record seq, time, key id) with the
// platform's SM2 key (Options.HeadSigner, a crypto.Signer such as a signer.KeyStore signer)
// and the default user ID. The signed bytes are
// "eseal audit head v1" 0x00 ‖ seq (8) ‖ hash (32) ‖ time (Unix ns, 8) ‖ key id (32), the key
// id being SM3 of the key's PKIX DER. A head binds every record up to it: changing any of
// them, even recomputing every hash after it, breaks the link to the head.
//
// # Proof of existence
//
// Each sign record with OutcomeOK and a SignatureSM3 is indexed by it. ProveExistence finds
// the record of a signature and returns its time only when the record is in a verified part
// of the chain (see ProveExistence for the bound on its cost); verifier.ProofFunc turns it
// into the verifier's ProofOfExistence, so that a seal revoked later fails only the
// signatures that nothing proves earlier.
//
// Records after the last signed head when the log opens (after a crash, or written by
// whoever had the data directory) were signed by nobody, and the log's next head signs them
// as its own. So Open first appends an ActionUnsignedFound record naming them (details
// "from" and "to"), chained before that head: the proof of existence of a signature among
// them is that record's time, the time the log found them, never the time they claim.
//
// # Verification
//
// Verify walks the whole chain and names, by sequence number, each record that was changed
// (content without its hash, a broken link, a hash not the one a head signed), removed
// (a gap, or records missing at the end per the tail marker or a head) or reordered (a
// record in another's place, a time going back), and each head that does not verify. Open
// checks only the end of the chain it extends (from the last signed head to the tail) and
// fails with ErrBroken when that is not intact.
//
// # Store layout
//
// In the keyspace "audit" of the store: "r/" + seq (8 bytes) holds a record's encoding
// followed by its 32-byte hash; "h/" + seq a signed head; "s/" + signature SM3 the seq of
// its sign record; "k/" + key id a head key's PKIX DER; "tail" the last seq and hash.
//
// # Export
//
// Export writes JSON lines, one object each, with a "type":
//
//	{"type":"log","format":"eseal-audit-export","version":1}
//	{"type":"key","key":"<key id, hex>","public_key":"<PKIX DER, base64>"}
//	{"type":"record","seq":1,"time":"2026-12-01T10:00:00.000000000Z","actor":"...","action":"sign",
//	 "seal":"...","digest":"<hex>","signature_sm3":"<hex>","outcome":"ok","details":{"k":"v"},
//	 "prev":"<hex>","hash":"<hex>","stored_hash":"<hex>","encoding":"<canonical bytes, base64>"}
//	{"type":"head","seq":1024,"hash":"<hex>","time":"...","key":"<key id, hex>","signature":"<DER, base64>"}
//	{"type":"tail","seq":1030,"hash":"<hex>"}
//
// Keys come first, then the records in sequence order, each head right after the record it
// signs, and the tail last. An auditor checks that SM3(encoding) = hash = stored_hash, that
// each prev is the hash before, and each head's SM2 signature (user ID "1234567812345678")
// over its signed bytes with the platform's key. Empty fields are left out; a record or a
// tail marker that cannot be read carries "error" and its stored bytes in "encoding".
package audit

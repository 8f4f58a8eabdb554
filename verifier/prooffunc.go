package verifier

import (
	"time"

	"github.com/emmansun/gmsm/sm3"
)

// ProofFunc adapts a lookup that answers with a time and a source, such as the audit log's
// ProveExistence, to ProofOfExistence:
//
//	opts.TimeProof = verifier.ProofFunc(auditLog.ProveExistence)
type ProofFunc func(valueSM3 [sm3.Size]byte) (t time.Time, source string, ok bool, err error)

var _ ProofOfExistence = ProofFunc(nil)

// ProveExistence implements ProofOfExistence.
func (f ProofFunc) ProveExistence(valueSM3 [sm3.Size]byte) (Proof, bool, error) {
	t, source, ok, err := f(valueSM3)
	if err != nil || !ok {
		return Proof{}, false, err
	}
	return Proof{Time: t, Source: source}, true, nil
}

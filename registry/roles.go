package registry

import "slices"

// Role is what an account may do (the roles of the API keys).
type Role string

// The roles.
const (
	// RoleAdmin is the seal authority's officer: change, suspend, resume, revoke, PINs.
	RoleAdmin Role = "admin"
	// RoleReviewer reviews applications and grants use approvals of official seals.
	RoleReviewer Role = "reviewer"
	// RoleMaker makes and issues seals, and registers business entities' seals.
	RoleMaker Role = "maker"
	// RoleSigner signs under seals.
	RoleSigner Role = "signer"
	// RoleApplicant applies for seals and asks for use approvals.
	RoleApplicant Role = "applicant"
)

// Actor is who calls: an account with its roles and, for a person who holds or applies for
// seals, the identity number (used only through its keyed hash, never stored or logged).
type Actor struct {
	// Name is the account name, as recorded in the audit log (no identity number).
	Name  string
	Roles []Role
	// PersonID is the caller's identity number, when the caller is a person; the holder
	// checks of position and personal seals compare its keyed hash.
	PersonID string
	// Seals, when not empty, are the only seals a signer account may use (the seals its API
	// key names).
	Seals []string
}

// Has reports whether the actor holds role r.
func (a Actor) Has(r Role) bool { return slices.Contains(a.Roles, r) }

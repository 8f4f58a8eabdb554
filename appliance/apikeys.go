package appliance

import (
	"context"
	"errors"

	"github.com/eseal/eseal/registry"
)

// APIKeys are the API keys, kept in the store as hashes.
type APIKeys struct{}

// Create makes a key for name with roles (and, for a signer, the seals it may use) and
// returns its secret, which is shown once and never stored.
func (k *APIKeys) Create(ctx context.Context, name string, roles []registry.Role, seals []string) (string, error) {
	return "", errors.New("appliance: API keys are not built yet")
}

// Authenticate returns the actor of a key's secret.
func (k *APIKeys) Authenticate(ctx context.Context, secret string) (registry.Actor, error) {
	return registry.Actor{}, errors.New("appliance: API keys are not built yet")
}

// Count is how many keys there are (zero before the bootstrap).
func (k *APIKeys) Count(ctx context.Context) (int, error) {
	return 0, errors.New("appliance: API keys are not built yet")
}

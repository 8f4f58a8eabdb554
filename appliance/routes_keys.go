package appliance

import (
	"net/http"

	"github.com/eseal/eseal/registry"
)

// keysRoutes manage the API keys: the admin makes a key for each system or person that calls
// the platform, with its roles (and, for a signer, the seals it may use), lists them and
// revokes them. A key's secret is answered once, when it is made, and never stored.
func keysRoutes() []Route {
	admin := []registry.Role{registry.RoleAdmin}
	return []Route{
		// Not idempotent: a replayed answer would have to keep the secret.
		{Method: http.MethodPost, Path: "/v1/keys", Roles: admin,
			Summary: "Make an API key with roles (and the seals a signer may use); its secret is in this answer only.",
			Request: KeyRequest{}, Response: KeyAnswer{}, Handle: handleCreateKey},
		{Method: http.MethodGet, Path: "/v1/keys", Roles: admin,
			Summary: "List the API keys (names, roles, seals; never a secret).", Response: KeyList{}, Handle: handleListKeys},
		{Method: http.MethodDelete, Path: "/v1/keys/{name}", Roles: admin,
			Summary: "Revoke an API key: it authenticates no more.", Handle: handleRevokeKey},
	}
}

// KeyRequest asks for an API key.
type KeyRequest struct {
	Name  string          `json:"name"`
	Roles []registry.Role `json:"roles"`
	Seals []string        `json:"seals,omitempty"`
}

// KeyAnswer carries a new key's secret: the only time it is shown.
type KeyAnswer struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// KeyList lists the keys.
type KeyList struct {
	Keys []APIKey `json:"keys"`
}

func handleCreateKey(c *Call) error {
	var req KeyRequest
	if err := c.Decode(&req); err != nil {
		return err
	}
	secret, err := c.Services().APIKeys.Create(c.Context(), req.Name, req.Roles, req.Seals)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, KeyAnswer{Name: req.Name, Key: secret})
}

func handleListKeys(c *Call) error {
	keys, err := c.Services().APIKeys.List(c.Context())
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []APIKey{}
	}
	return c.JSON(http.StatusOK, KeyList{Keys: keys})
}

func handleRevokeKey(c *Call) error {
	if err := c.Services().APIKeys.Revoke(c.Context(), c.Param("name")); err != nil {
		return err
	}
	c.ctx.SetStatusCode(http.StatusNoContent)
	return nil
}

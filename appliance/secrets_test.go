package appliance

import (
	"strings"
	"testing"
)

// TestNoSecretInLogsOrAnswers runs requests with good, bad and revoked keys, and checks that
// no secret (nor any part of one longer than its prefix) appears in a log line or an answer.
func TestNoSecretInLogsOrAnswers(t *testing.T) {
	ts, _ := startServer(t, serverOpts{})
	bad := "esk_" + strings.Repeat("Z", 43)
	var bodies []string
	for _, req := range []struct{ method, path, key string }{
		{"POST", "/v1/test/echo", "maker-1"},
		{"POST", "/v1/test/echo", "signer-1"},
		{"POST", "/v1/test/echo", "Bearer " + bad},
		{"POST", "/v1/test/echo", "Bearer " + ts.keys["admin-1"] + "x"},
		{"POST", "/v1/test/act", "admin-1"},
		{"GET", "/v1/test/panic", "admin-1"},
		{"GET", "/no/where", "admin-1"},
		{"POST", "/v1/test/act", "Basic " + ts.keys["admin-1"]},
	} {
		a := ts.do(req.method, req.path, req.key, []byte(`{"name":"n"}`), "Idempotency-Key", "i-1")
		bodies = append(bodies, string(a.body))
		for _, v := range a.header {
			bodies = append(bodies, strings.Join(v, " "))
		}
	}
	if err := ts.svc.APIKeys.Revoke(t.Context(), "maker-1"); err != nil {
		t.Fatal(err)
	}
	a := ts.do("POST", "/v1/test/echo", "maker-1", []byte(`{}`))
	bodies = append(bodies, string(a.body))
	logs := ts.logs.String()
	if !strings.Contains(logs, `"caller":"admin-1"`) {
		t.Fatal("the log lines do not name the caller; the capture is not working")
	}
	secrets := []string{bad}
	for _, s := range ts.keys {
		secrets = append(secrets, s)
	}
	for _, s := range secrets {
		body := strings.TrimPrefix(s, SecretPrefix)
		for _, part := range []string{body, body[:12], body[len(body)-12:]} {
			if strings.Contains(logs, part) {
				t.Errorf("a secret appears in the logs")
			}
			for _, b := range bodies {
				if strings.Contains(b, part) {
					t.Errorf("a secret appears in an answer: %s", b)
				}
			}
		}
	}
	if strings.Contains(logs, "Bearer") || strings.Contains(logs, "Authorization") {
		t.Error("the logs mention the Authorization header")
	}
}

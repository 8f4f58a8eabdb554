package appliance_test

import (
	"fmt"

	"github.com/eseal/eseal/appliance"
)

// A configuration names only what differs from the defaults; a key it does not know is an
// error naming it and its place, and the environment overrides the file.
func ExampleParseConfig() {
	cfg, err := appliance.ParseConfig("eseal.yaml", []byte("server:\n  listen: 10.1.2.3:8443\ndata:\n  dir: /var/lib/eseal\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := cfg.ApplyEnv([]string{"ESEAL_LOG_FORMAT=json"}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Server.Listen, cfg.Data.Dir, cfg.Keys.Backend, cfg.Log.Format, cfg.Validate())

	_, err = appliance.ParseConfig("eseal.yaml", []byte("server:\n  listen: 10.1.2.3:8443\n  tls:\n    certificate: a.pem\n"))
	fmt.Println(err)
	// Output:
	// 10.1.2.3:8443 /var/lib/eseal softkey json <nil>
	// config eseal.yaml: line 4 column 5: unknown field "certificate"
}

package appliance

// routes are every route of the API.
func routes() []Route {
	var all []Route
	for _, group := range [][]Route{opsRoutes(), verifyRoutes(), pkiRoutes(), registryRoutes(), signRoutes(), keysRoutes(), ofdRoutes()} {
		all = append(all, group...)
	}
	return all
}

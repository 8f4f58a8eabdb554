package appliance

// pkiRoutes are the pki routes.
func pkiRoutes() []Route { return nil }

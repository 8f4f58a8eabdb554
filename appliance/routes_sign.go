package appliance

// signRoutes are the sign routes.
func signRoutes() []Route { return nil }

package appliance

// registryRoutes are the registry routes.
func registryRoutes() []Route { return nil }

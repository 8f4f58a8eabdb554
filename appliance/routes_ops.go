package appliance

// opsRoutes are the ops routes.
func opsRoutes() []Route { return nil }

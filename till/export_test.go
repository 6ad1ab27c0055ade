package till

// Routes returns "METHOD /path" for every route the server registers.
func Routes() []string {
	out := make([]string, len(routeTable))
	for i, rt := range routeTable {
		out[i] = rt.method + " " + rt.path
	}
	return out
}

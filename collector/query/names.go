package query

import (
	"strings"
)

// Resource name collections.
const (
	collTenants      = "tenants"
	collInteractions = "interactions"
	collEvents       = "events"
	collDeadLetters  = "deadLetters"
)

func tenantName(tenant string) string { return collTenants + "/" + tenant }

func interactionName(tenant, id string) string {
	return tenantName(tenant) + "/" + collInteractions + "/" + id
}

func eventName(tenant, id string) string { return tenantName(tenant) + "/" + collEvents + "/" + id }

func deadLetterName(tenant, id string) string {
	return tenantName(tenant) + "/" + collDeadLetters + "/" + id
}

// parseParent reads "tenants/{tenant}".
func parseParent(name string) (tenant string, ok bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 2 || parts[0] != collTenants || parts[1] == "" {
		return "", false
	}
	return parts[1], true
}

// parseChild reads "tenants/{tenant}/{collection}/{id}".
func parseChild(name, collection string) (tenant, id string, ok bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 4 || parts[0] != collTenants || parts[1] == "" || parts[2] != collection || parts[3] == "" {
		return "", "", false
	}
	return parts[1], parts[3], true
}

// parseReference reads a reference to a child of tenant: its resource name
// (which must be under tenant) or its bare id.
func parseReference(ref, tenant, collection string) (id string, ok bool) {
	if !strings.Contains(ref, "/") {
		return ref, ref != ""
	}
	t, id, ok := parseChild(ref, collection)
	return id, ok && t == tenant
}

// Package ccbcli is the operator CLI of the bridge (cmd/ccb): it calls the
// collector's QueryService and prints readable tables and timelines, or
// with --json the API's messages as JSON.
//
//	ccb interaction get <interaction-id>
//	ccb interactions list [--phone P] [--campaign N] [--queue N] [--agent A] [--since 1h] [--until T] [--status dead|unsettled]
//	ccb event get <event-id>
//	ccb events list [filters] [--state delivered|dead_lettered|…]
//	ccb events watch [filters] [--since 5m] [--types received,delivered,…]
//	ccb deadletters list [--interaction ID] [--event ID] [--since 24h]
//	ccb replay (--event ID | --interaction ID | --since T) [--dry-run]
//	ccb tenants list
//
// The address, token and tenant come from --addr, --token and --tenant, or
// CCB_ADDR, CCB_TOKEN and CCB_TENANT; with one tenant served, --tenant may
// be left out.
package ccbcli

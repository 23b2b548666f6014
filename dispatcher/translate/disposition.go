package translate

import (
	"strconv"
	"strings"
)

// dispositionNames are the disposition codes documented for Regal's 8x8
// integration.
var dispositionNames = map[int64]string{
	1000: "None",
	1001: "Try Again",
	1002: "Schedule Callback",
	2001: "Do Not Call",
}

// addDisposition sets the disposition properties for a SAPI
// dispositionCode in textual form. A numeric code becomes the number
// disposition_code, plus the readable disposition when withNames is set
// and the code is documented. A non-numeric code such as "SALE" becomes the
// string disposition, leaving disposition_code a number everywhere.
func addDisposition(props map[string]any, code string, withNames bool) {
	code = strings.TrimSpace(code)
	if code == "" {
		return
	}
	n, err := strconv.ParseInt(code, 10, 64)
	if err != nil {
		props["disposition"] = code
		return
	}
	props["disposition_code"] = n
	if name, known := dispositionNames[n]; known && withNames {
		props["disposition"] = name
	}
}

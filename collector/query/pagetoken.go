package query

import (
	"encoding/base64"
	"encoding/json"
	"hash/fnv"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/ccbridge/bridge/collector/timeline"
)

// Page sizes (AIP-158): 0 takes the default, above the maximum is capped.
const (
	defaultPageSize = 50
	maxPageSize     = timeline.MaxPageSize
)

// pageToken is the opaque next_page_token: the position after the last
// item returned, and a fingerprint of the request it belongs to, so a
// token used with other filters is refused instead of misread.
type pageToken struct {
	Score   int64  `json:"s"`
	Member  string `json:"m"`
	Request string `json:"r"`
}

func encodeToken(c timeline.Cursor, fingerprint string) string {
	if c.IsZero() {
		return ""
	}
	b, _ := json.Marshal(pageToken{Score: c.Score, Member: c.Member, Request: fingerprint})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeToken returns the cursor of token ("" is the start), or an
// INVALID_ARGUMENT error.
func decodeToken(token, fingerprint string) (timeline.Cursor, error) {
	if token == "" {
		return timeline.Cursor{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	var t pageToken
	if err != nil || json.Unmarshal(b, &t) != nil {
		return timeline.Cursor{}, invalid("page_token is not a token this service issued")
	}
	if t.Request != fingerprint {
		return timeline.Cursor{}, invalid("page_token belongs to a request with other fields; repeat that request's fields or start without a token")
	}
	return timeline.Cursor{Score: t.Score, Member: t.Member}, nil
}

// fingerprint identifies a list request by every field but page_size and
// page_token, which the caller clears on a copy.
func fingerprint(m proto.Message) string {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	h := fnv.New64a()
	_, _ = h.Write(b)
	return strconv.FormatUint(h.Sum64(), 36)
}

// pageSize applies AIP-158's rules to a requested page size.
func pageSize(n int32) (int, error) {
	switch {
	case n < 0:
		return 0, invalid("page_size must not be negative")
	case n == 0:
		return defaultPageSize, nil
	}
	return min(int(n), maxPageSize), nil
}

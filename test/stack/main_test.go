package stack_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/ccbridge/bridge/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(redistest.WithSharedCluster(m)) }

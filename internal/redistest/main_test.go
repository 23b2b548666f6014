package redistest_test

import (
	"os"
	"testing"

	"github.com/ccbridge/bridge/internal/redistest"
)

func TestMain(m *testing.M) { os.Exit(redistest.WithSharedCluster(m).Run()) }

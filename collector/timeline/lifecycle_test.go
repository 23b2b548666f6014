package timeline_test

import (
	"context"
	"testing"

	"github.com/ccbridge/bridge/collector/timeline"
	"github.com/ccbridge/bridge/internal/lifecycletest"
	"github.com/ccbridge/bridge/internal/redistest"
)

// TestRecorderLifecycle: a Recorder runs from NewRecorder to Close, so its
// adapter's Start does nothing and Shutdown is Close.
func TestRecorderLifecycle(t *testing.T) {
	rdb := redistest.Start(t, redistest.Options{}).Client(t)
	lifecycletest.Run(t, lifecycletest.Options{
		New: func(t *testing.T) lifecycletest.Component {
			r := newRecorder(t, newStore(t, rdb, "lifecycle"), timeline.RecorderOptions{})
			return lifecycletest.Funcs{
				StartFunc:    func(context.Context) error { return nil },
				ShutdownFunc: r.Close,
			}
		},
	})
}

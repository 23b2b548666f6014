package scheduler_test

import (
	"testing"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/scheduler"
	"github.com/ccbridge/bridge/internal/lifecycletest"
	"github.com/ccbridge/bridge/internal/redistest"
)

func TestSchedulerLifecycle(t *testing.T) {
	store, err := eventstore.New(redistest.Start(t, redistest.Options{}).Client(t), eventstore.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	lifecycletest.Run(t, lifecycletest.Options{
		New: func(t *testing.T) lifecycletest.Component {
			s, err := scheduler.New(scheduler.DefaultConfig(), store, nil)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		// Start cannot fail: it only launches the settle loop.
	})
}

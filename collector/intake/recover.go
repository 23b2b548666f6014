package intake

import "context"

// recover schedules, in stream order, the events a previous run admitted
// but did not settle. It runs before the tenant's SAPI stream opens, so
// newer events of an interaction cannot overtake them. The before-recover
// step (the dead-letter holds) runs first.
func (in *Intake) recover(ctx context.Context, tenant string) error {
	if in.beforeRecover != nil {
		if err := in.beforeRecover(ctx, tenant); err != nil {
			return err
		}
	}
	for p := range in.store.Partitions() {
		after := ""
		for {
			entries, err := in.store.Unsettled(ctx, tenant, p, after, 512)
			if err != nil {
				return err
			}
			if len(entries) == 0 {
				break
			}
			if err := in.sched.Enqueue(ctx, entries); err != nil {
				return err
			}
			in.stats.recovered.Add(int64(len(entries)))
			after = entries[len(entries)-1].Ref.ID
		}
	}
	if n := in.stats.recovered.Load(); n > 0 {
		in.logger.Info("unsettled events from an earlier run scheduled again", "tenant", tenant, "events", n)
	}
	return nil
}

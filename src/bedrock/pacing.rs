//! Adaptive pacing per region and operation. Bedrock's quotas are per account, region and
//! operation, and not published; throttling says the account as a whole sends an operation too
//! fast. So the answer to a ThrottlingException is to send that operation more slowly for
//! everyone, not only to back off the one resource that happened to get it: after the first
//! throttle the operation is paced (calls spaced evenly, in the order they asked), its rate cut
//! by a factor on each throttle (at most once per second) and raised by a constant step per
//! second of calls without one (additive increase, multiplicative decrease). An operation that
//! has not been throttled for a while is not paced at all; the operator-wide rate limit still
//! applies on top.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::Operation;

/// The rate is cut to this share on a throttle.
const DECREASE: f64 = 0.8;
/// Calls per second added per second without a throttle.
const INCREASE_PER_SECOND: f64 = 1.0;
/// The lowest rate, calls per second.
const MIN_RATE: f64 = 0.2;
/// Nor below this share of the ceiling: throttling that does not come from the rate (a fault,
/// a noisy neighbour) must not slow the operator to a crawl, and a quota more than ten times
/// below the operator-wide limit means that limit is set wrong.
const MIN_SHARE: f64 = 0.1;
/// Throttles closer together than this count once (the calls in flight were sent at the old
/// rate).
const DECREASE_EVERY: Duration = Duration::from_secs(1);
/// Pacing ends after this long without a throttle once the rate is back at the ceiling.
const CALM: Duration = Duration::from_secs(60);

struct Lane {
    rate: f64,
    next_slot: Instant,
    last_throttle: Instant,
    last_update: Instant,
}

pub struct Pacer {
    /// The rate a lane starts from on its first throttle, and never exceeds.
    ceiling: f64,
    lanes: Mutex<HashMap<(String, Operation), Lane>>,
}

impl Pacer {
    pub fn new(ceiling: f64) -> Self {
        Self {
            ceiling: ceiling.max(MIN_RATE),
            lanes: Mutex::new(HashMap::new()),
        }
    }

    fn floor(&self) -> f64 {
        (self.ceiling * MIN_SHARE).max(MIN_RATE)
    }

    fn lanes(&self) -> parking_lot::MutexGuard<'_, HashMap<(String, Operation), Lane>> {
        self.lanes.lock()
    }

    /// When a call of `operation` in `region` may go; `None` when the operation is not paced.
    pub fn slot(&self, region: &str, operation: Operation) -> Option<Instant> {
        let mut lanes = self.lanes();
        let lane = lanes.get_mut(&(region.to_string(), operation))?;
        let now = Instant::now();
        let slot = lane.next_slot.max(now);
        lane.next_slot = slot + Duration::from_secs_f64(1.0 / lane.rate);
        Some(slot)
    }

    /// Waits for the call's slot.
    pub async fn wait(&self, region: &str, operation: Operation) {
        if let Some(slot) = self.slot(region, operation) {
            tokio::time::sleep_until(slot.into()).await;
        }
    }

    /// Feeds back how a call ended.
    pub fn record(&self, region: &str, operation: Operation, throttled: bool) {
        let now = Instant::now();
        let mut lanes = self.lanes();
        let key = (region.to_string(), operation);
        if throttled {
            match lanes.get_mut(&key) {
                Some(lane) => {
                    if now.duration_since(lane.last_throttle) >= DECREASE_EVERY {
                        lane.rate = (lane.rate * DECREASE).max(self.floor());
                        lane.last_throttle = now;
                    }
                    lane.last_update = now;
                }
                None => {
                    lanes.insert(
                        key,
                        Lane {
                            rate: self.ceiling * DECREASE,
                            next_slot: now,
                            last_throttle: now,
                            last_update: now,
                        },
                    );
                }
            }
            return;
        }
        let Some(lane) = lanes.get_mut(&key) else {
            return;
        };
        let elapsed = now
            .duration_since(lane.last_update)
            .min(Duration::from_secs(1));
        lane.rate = (lane.rate + INCREASE_PER_SECOND * elapsed.as_secs_f64()).min(self.ceiling);
        lane.last_update = now;
        if lane.rate >= self.ceiling && now.duration_since(lane.last_throttle) >= CALM {
            lanes.remove(&key);
        }
    }

    /// The current rate of a paced operation.
    #[cfg(test)]
    pub fn rate(&self, region: &str, operation: Operation) -> Option<f64> {
        self.lanes()
            .get(&(region.to_string(), operation))
            .map(|lane| lane.rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "us-east-1";
    const CREATE: Operation = Operation::CreateCustomModel;
    const GET: Operation = Operation::GetCustomModel;

    #[test]
    fn unthrottled_operations_are_not_paced() {
        let pacer = Pacer::new(50.0);
        pacer.record(R, CREATE, false);
        assert_eq!(pacer.slot(R, CREATE), None);
    }

    #[test]
    fn a_throttle_paces_that_operation_only() {
        let pacer = Pacer::new(50.0);
        pacer.record(R, CREATE, true);
        assert_eq!(pacer.rate(R, CREATE), Some(40.0));
        assert_eq!(pacer.slot(R, GET), None, "other operations keep their pace");
        assert_eq!(pacer.slot("eu-west-1", CREATE), None, "other regions too");
        // Slots are spaced 1/rate apart, in the order asked.
        let first = pacer.slot(R, CREATE).unwrap();
        let second = pacer.slot(R, CREATE).unwrap();
        let third = pacer.slot(R, CREATE).unwrap();
        assert_eq!(second - first, Duration::from_secs_f64(1.0 / 40.0));
        assert_eq!(third - second, second - first);
    }

    #[test]
    fn throttles_in_one_burst_cut_the_rate_once() {
        let pacer = Pacer::new(50.0);
        for _ in 0..20 {
            pacer.record(R, CREATE, true);
        }
        assert_eq!(pacer.rate(R, CREATE), Some(40.0));
    }

    #[test]
    fn the_rate_never_falls_below_the_floor_nor_rises_above_the_ceiling() {
        let pacer = Pacer::new(1.0);
        pacer.record(R, CREATE, true);
        {
            let mut lanes = pacer.lanes();
            let lane = lanes.get_mut(&(R.to_string(), CREATE)).unwrap();
            lane.rate = MIN_RATE;
            lane.last_throttle -= DECREASE_EVERY;
        }
        pacer.record(R, CREATE, true);
        assert_eq!(pacer.rate(R, CREATE), Some(MIN_RATE));

        for _ in 0..3 {
            {
                let mut lanes = pacer.lanes();
                let lane = lanes.get_mut(&(R.to_string(), CREATE)).unwrap();
                lane.last_update -= Duration::from_secs(1);
            }
            pacer.record(R, CREATE, false);
        }
        assert_eq!(pacer.rate(R, CREATE), Some(1.0), "capped at the ceiling");

        // Throttling that does not depend on the rate stops at a tenth of the ceiling.
        let pacer = Pacer::new(100.0);
        for _ in 0..50 {
            {
                let mut lanes = pacer.lanes();
                if let Some(lane) = lanes.get_mut(&(R.to_string(), CREATE)) {
                    lane.last_throttle -= DECREASE_EVERY;
                }
            }
            pacer.record(R, CREATE, true);
        }
        assert_eq!(pacer.rate(R, CREATE), Some(10.0));
    }

    #[test]
    fn successes_raise_the_rate_and_a_calm_lane_stops_pacing() {
        let pacer = Pacer::new(50.0);
        pacer.record(R, CREATE, true);
        {
            let mut lanes = pacer.lanes();
            let lane = lanes.get_mut(&(R.to_string(), CREATE)).unwrap();
            lane.last_update -= Duration::from_millis(500);
        }
        pacer.record(R, CREATE, false);
        let rate = pacer.rate(R, CREATE).unwrap();
        assert!((rate - 40.5).abs() < 0.05, "{rate}");
        {
            let mut lanes = pacer.lanes();
            let lane = lanes.get_mut(&(R.to_string(), CREATE)).unwrap();
            lane.rate = 50.0;
            lane.last_throttle -= CALM;
        }
        pacer.record(R, CREATE, false);
        assert_eq!(pacer.rate(R, CREATE), None);
        assert_eq!(pacer.slot(R, CREATE), None);
    }
}

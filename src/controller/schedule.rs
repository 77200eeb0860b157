//! When a reconcile looks again: a plan's `next` as the controller's action, and the spread
//! and jitter that keep resources created together from being looked at together.

use std::time::Duration;

use kube::runtime::controller::Action;
use rand::Rng;

use super::context::Context;
use super::outcome::Next;

/// The pause before the next step of a multi-step change (replace = delete, then create).
const SOON: Duration = Duration::from_millis(200);

/// The controller action for a plan's `next`.
pub fn action<B>(ctx: &Context<B>, next: &Next) -> Action {
    match next {
        Next::Poll(delay) | Next::After(delay) => Action::requeue(*delay),
        Next::Resync => Action::requeue(jitter(ctx.timing.resync)),
        Next::AwaitChange => Action::await_change(),
        Next::Soon => Action::requeue(SOON),
    }
}

/// A point in the first resync period, uniformly: where a settled resource seen for the first
/// time gets its first look (a restart or a new leader must not read every object at once).
pub fn spread(period: Duration) -> Duration {
    period.mul_f64(rand::rng().random_range(0.0..1.0))
}

/// ±10 % so that resources created together do not resync together.
pub fn jitter(period: Duration) -> Duration {
    let factor = rand::rng().random_range(0.9..1.1);
    period.mul_f64(factor)
}

//! The purchase guards: a commitment's namespace and confirmation, the model units per
//! throughput and the namespace's budget of them.

use crate::api::throughput::BedrockProvisionedThroughput;
use crate::api::{validation, validation::FieldError};
use crate::controller::guards::{self, Guards, Holding};
use crate::controller::outcome::{Next, Timing};

use super::{Plan, invalid};

/// The purchase guards, checked before any call while nothing is bought yet: a commitment
/// needs a namespace the operator's `--commitment-namespaces` lists and the
/// confirm-commitment annotation naming the same term; spec.modelUnits must fit the namespace's
/// limit per throughput. A throughput that exists is not bought again by a reconcile that
/// merely looks at it, so the guards do not stop those (spec.modelUnits cannot change once
/// bought); every purchase meets them again ([`purchase_refused`]).
pub fn guard_refused(resource: &BedrockProvisionedThroughput, guards: &Guards) -> Option<Plan> {
    let bought = resource
        .status
        .as_ref()
        .is_some_and(|s| s.provisioned_model_arn.is_some());
    if bought {
        return None;
    }
    purchase_refused(resource, guards)
}

/// The guards at the moment of a purchase, whatever the status says (a throughput bought again
/// after it disappeared starts a new term too): InvalidSpec naming each refusing field and
/// setting, and the purchase is not made.
pub fn purchase_refused(resource: &BedrockProvisionedThroughput, guards: &Guards) -> Option<Plan> {
    let namespace = resource.metadata.namespace.as_deref().unwrap_or_default();
    let commitment = match resource.spec.commitment_duration {
        // Where no term may be bought, whether the annotation confirms it does not matter.
        Some(term) => guards::commitment_namespace_refused(guards, namespace, term)
            .or_else(|| validation::commitment_refused(resource)),
        None => None,
    };
    let units = guards::units_per_throughput_refused(guards, namespace, resource.spec.model_units);
    let errors: Vec<FieldError> = units.into_iter().chain(commitment).collect();
    (!errors.is_empty()).then(|| invalid(resource, &errors))
}

/// The namespace's budget of model units, with what its other throughputs hold (`others`, read
/// from the API server under the namespace's lock): InvalidSpec naming spec.modelUnits and the
/// setting, no call, and a look again after `--slow-retry` (the others may go meanwhile).
pub fn budget_refused(
    resource: &BedrockProvisionedThroughput,
    guards: &Guards,
    others: &[Holding],
    timing: &Timing,
) -> Option<Plan> {
    let namespace = resource.metadata.namespace.as_deref().unwrap_or_default();
    let error =
        guards::namespace_budget_refused(guards, namespace, resource.spec.model_units, others)?;
    let mut plan = invalid(resource, std::slice::from_ref(&error));
    plan.next = Next::After(timing.slow_retry);
    Some(plan)
}

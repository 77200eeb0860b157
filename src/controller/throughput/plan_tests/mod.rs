//! The provisioned throughput's decisions, one behaviour per named test: plain values in, plan
//! out.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::api::ModelRef;
use crate::api::conditions::{event, reason};
use crate::api::throughput::{BedrockProvisionedThroughputSpec, CONFIRM_COMMITMENT_ANNOTATION};
use crate::controller::fixtures::{
    CLUSTER, GENERATION, MODEL, NAMESPACE, REGION, V3, V4, condition, message_of, meta, observe,
    plan, reason_of, resolved, serving_conditions,
};
use crate::controller::outcome::Next;
use crate::controller::scope::NamespaceScope;

mod buying;
mod commitment_guard;
mod deletion;
mod failures;
mod in_service;
mod spend_guards;

const NAME: &str = "pt";
const UID: &str = "5e1c0a55-4b2e-4c1f-8f5e-2a9b3c4d5e6f";
const THROUGHPUT_ARN: &str =
    "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/cccccccccccc";

fn throughput(spec: BedrockProvisionedThroughputSpec) -> BedrockProvisionedThroughput {
    BedrockProvisionedThroughput {
        metadata: meta(NAME, UID),
        spec,
        status: None,
    }
}

fn by_ref(model: &str) -> BedrockProvisionedThroughput {
    throughput(BedrockProvisionedThroughputSpec {
        model_ref: Some(ModelRef { name: model.into() }),
        model_units: 1,
        ..Default::default()
    })
}

fn committed(term: CommitmentDuration, confirmed: Option<&str>) -> BedrockProvisionedThroughput {
    let mut resource = by_ref(MODEL);
    resource.spec.commitment_duration = Some(term);
    if let Some(value) = confirmed {
        resource.metadata.annotations = Some(BTreeMap::from([(
            CONFIRM_COMMITMENT_ANNOTATION.to_string(),
            value.to_string(),
        )]));
    }
    resource
}

fn valid(resource: &BedrockProvisionedThroughput) -> ValidThroughput {
    validation::validate_throughput(resource).expect("a valid spec")
}

/// The resource once it holds an InService throughput serving `serving`.
fn in_service(
    mut resource: BedrockProvisionedThroughput,
    serving: &str,
) -> BedrockProvisionedThroughput {
    resource.status = Some(BedrockProvisionedThroughputStatus {
        observed_generation: Some(GENERATION),
        provisioned_model_arn: Some(THROUGHPUT_ARN.into()),
        provisioned_model_name: Some(NAME.into()),
        region: Some(REGION.into()),
        throughput_status: Some(ThroughputStatus::InService),
        model_arn: Some(serving.into()),
        desired_model_arn: Some(serving.into()),
        model_units: Some(resource.spec.model_units),
        commitment_duration: resource.spec.commitment_duration.map(|c| c.to_string()),
        created_with: Some(ThroughputCreatedWith {
            model_units: resource.spec.model_units,
            commitment_duration: resource.spec.commitment_duration,
            region: REGION.into(),
            adopted: false,
        }),
        tags_synced_generation: Some(GENERATION),
        conditions: serving_conditions(reason::IN_SERVICE),
        ..Default::default()
    });
    resource
}

fn remote(state: ThroughputState, serving: &str) -> RemoteThroughput {
    RemoteThroughput {
        arn: THROUGHPUT_ARN.into(),
        name: NAME.into(),
        model_arn: serving.into(),
        desired_model_arn: serving.into(),
        model_units: 1,
        state,
        failure_message: None,
        commitment: None,
        commitment_expiration_time: None,
        creation_time: None,
        last_modified_time: None,
    }
}

/// Guards that let this test's namespace buy commitment terms.
fn commitments_here() -> Guards {
    Guards {
        commitment_namespaces: NamespaceScope::Namespaces([NAMESPACE.to_string()].into()),
        ..Guards::default()
    }
}

fn at(time: &str) -> Timestamp {
    time.parse().expect("a timestamp")
}

//! The deployment's decisions, one behaviour per named test: plain values in, plan out.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::ObjectMeta;

use super::*;
use crate::api::conditions::reason;
use crate::api::deployment::{BedrockCustomModelDeploymentSpec, ModelRef};
use crate::api::{BedrockCustomModelSpec, BedrockCustomModelStatus, ModelSource};
use crate::bedrock::DeploymentUpdate;
use crate::controller::fixtures::{
    CLUSTER, Cleanup, GENERATION, MODEL, NAMESPACE, REGION, V3, V4, cleanup, condition, message_of,
    meta, observe, plan, reason_of, resolved, serving_conditions,
};
use crate::controller::outcome::Next;
use crate::controller::ownership::Liveness;
use crate::controller::scope::NamespaceScope;

mod adoption;
mod create;
mod deletion;
mod resolve;
mod rollout;
mod states;
mod tags_and_settled;

const NAME: &str = "chat";
const UID: &str = "7d1c0a55-4b2e-4c1f-8f5e-2a9b3c4d5e6f";
const DEPLOYMENT_ARN: &str =
    "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/cccccccccccc";

fn deployment(spec: BedrockCustomModelDeploymentSpec) -> BedrockCustomModelDeployment {
    BedrockCustomModelDeployment {
        metadata: meta(NAME, UID),
        spec,
        status: None,
    }
}

fn by_ref(model: &str) -> BedrockCustomModelDeployment {
    deployment(BedrockCustomModelDeploymentSpec {
        model_ref: Some(ModelRef { name: model.into() }),
        ..Default::default()
    })
}

fn by_arn(arn: &str) -> BedrockCustomModelDeployment {
    deployment(BedrockCustomModelDeploymentSpec {
        model_arn: Some(arn.into()),
        ..Default::default()
    })
}

fn valid(resource: &BedrockCustomModelDeployment) -> ValidDeployment {
    validation::validate_deployment(resource).expect("a valid spec")
}

/// The resource once it holds an Active deployment serving `serving`.
fn active(
    mut resource: BedrockCustomModelDeployment,
    serving: &str,
) -> BedrockCustomModelDeployment {
    resource.status = Some(BedrockCustomModelDeploymentStatus {
        observed_generation: Some(GENERATION),
        deployment_arn: Some(DEPLOYMENT_ARN.into()),
        model_deployment_name: Some(NAME.into()),
        region: Some(REGION.into()),
        deployment_status: Some(DeploymentStatus::Active),
        model_arn: Some(serving.into()),
        desired_model_arn: Some(serving.into()),
        created_with: Some(DeploymentCreatedWith {
            model_deployment_name: NAME.into(),
            description: None,
            region: REGION.into(),
            adopted: false,
        }),
        tags_synced_generation: Some(GENERATION),
        conditions: serving_conditions(reason::ACTIVE),
        ..Default::default()
    });
    resource
}

fn remote(
    state: DeploymentState,
    serving: &str,
    update: Option<(&str, UpdateState)>,
) -> RemoteDeployment {
    RemoteDeployment {
        arn: DEPLOYMENT_ARN.into(),
        name: NAME.into(),
        model_arn: serving.into(),
        description: None,
        state,
        failure_message: None,
        update: update.map(|(model_arn, state)| DeploymentUpdate {
            model_arn: model_arn.into(),
            state,
        }),
        creation_time: None,
        last_updated_time: None,
    }
}

fn model(status: Option<BedrockCustomModelStatus>) -> BedrockCustomModel {
    BedrockCustomModel {
        metadata: ObjectMeta {
            name: Some(MODEL.into()),
            namespace: Some(NAMESPACE.into()),
            ..Default::default()
        },
        spec: BedrockCustomModelSpec {
            source: ModelSource {
                s3_uri: Some("s3://bucket/model/".into()),
                ..Default::default()
            },
            ..Default::default()
        },
        status,
    }
}

fn model_status(state: &str, ready: bool, why: &str) -> BedrockCustomModelStatus {
    BedrockCustomModelStatus {
        model_arn: Some(V3.into()),
        region: Some(REGION.into()),
        model_status: Some(
            serde_json::from_value(serde_json::Value::from(state)).expect("a status"),
        ),
        conditions: vec![condition(conditions::READY, ready, why)],
        ..Default::default()
    }
}

//! Table-driven tests of an imported model's reconcile decisions: plain values in, plan out.
//! The builders are here; the tests, one module per topic, below.

mod cleanup;
mod create;
mod existing;
mod held;

use std::collections::BTreeMap;

use kube::api::ObjectMeta;

use super::*;
use crate::api::conditions::{self, reason};
use crate::api::{BedrockImportedModelSpec, DeletionPolicy, ImportSource, RETRY_ANNOTATION};
use crate::bedrock::{ImportJob, ImportedModel, JobState};
use crate::controller::fixtures::{
    CLUSTER, Cleanup, GENERATION, NAMESPACE, REGION, cleanup, reason_of,
};
use crate::controller::kind::Managed;
use crate::controller::ownership::Liveness;

const NAME: &str = "llama_ft";
const UID: &str = "5a0c7e2b-1d3f-4a6b-8c9d-0e1f2a3b4c5d";
const JOB_ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:model-import-job/abcdefabcdef";
const MODEL_ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:imported-model/123456123456";
const S3_URI: &str = "s3://my-bucket/llama-3-8b-ft/";
const ROLE: &str = "arn:aws:iam::123456789012:role/BedrockImport";
const CREATED_AT: &str = "2026-12-01T12:00:00Z";

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn spec() -> BedrockImportedModelSpec {
    BedrockImportedModelSpec {
        source: ImportSource {
            s3_uri: S3_URI.into(),
        },
        role_arn: ROLE.into(),
        tags: map(&[("team", "ml")]),
        ..Default::default()
    }
}

fn meta() -> ObjectMeta {
    ObjectMeta {
        name: Some(NAME.into()),
        namespace: Some(NAMESPACE.into()),
        uid: Some(UID.into()),
        generation: Some(GENERATION),
        ..Default::default()
    }
}

fn resource(status: Option<BedrockImportedModelStatus>) -> BedrockImportedModel {
    BedrockImportedModel {
        metadata: meta(),
        spec: spec(),
        status,
    }
}

/// A status holding the job in `state`, started with the spec's parameters.
fn holding(state: JobStatus) -> BedrockImportedModelStatus {
    BedrockImportedModelStatus {
        job_arn: Some(JOB_ARN.into()),
        job_name: Some("llama-ft-0123456789ab".into()),
        job_status: Some(state),
        imported_model_name: Some(NAME.into()),
        region: Some(REGION.into()),
        created_with: Some(desired_parameters(&resource(None), REGION)),
        tags_synced_generation: Some(GENERATION),
        managed_tag_keys: vec!["team".into()],
        ..Default::default()
    }
}

fn job(state: JobState) -> ImportJob {
    ImportJob {
        arn: JOB_ARN.into(),
        name: "llama-ft-0123456789ab".into(),
        imported_model_name: NAME.into(),
        imported_model_arn: (state == JobState::Completed).then(|| MODEL_ARN.into()),
        role_arn: Some(ROLE.into()),
        s3_uri: Some(S3_URI.into()),
        failure_message: (state == JobState::Failed)
            .then(|| "The model artifacts could not be validated.".into()),
        state,
        creation_time: Some(CREATED_AT.into()),
        kms_key_arn: None,
    }
}

fn model() -> ImportedModel {
    ImportedModel {
        arn: MODEL_ARN.into(),
        name: NAME.into(),
        job_arn: Some(JOB_ARN.into()),
        architecture: Some("llama3".into()),
        instruct_supported: Some(true),
        units_per_copy: Some(1),
        units_version: Some("1.0".into()),
        creation_time: Some(CREATED_AT.into()),
        kms_key_arn: None,
    }
}

/// The import as Get describes it: the job in `state`, its model once Completed.
fn import(state: JobState) -> RemoteImport {
    let model = (state == JobState::Completed).then(model);
    RemoteImport::new(job(state), model)
}

fn observe(import: Option<RemoteImport>, tags: Option<BTreeMap<String, String>>) -> Observation {
    Observation {
        inputs: (),
        remote: import,
        tags,
        owner: Liveness::Unknown,
        cluster: CLUSTER.into(),
    }
}

/// The plan of `resource` (its spec valid) that saw `observation`, with nothing in progress.
fn plan(resource: &BedrockImportedModel, observation: &Observation) -> Plan {
    let valid = crate::api::imported::validate_imported(resource).expect("a valid spec");
    plan_apply(
        resource,
        &valid,
        REGION,
        observation,
        &Timing::default(),
        None,
    )
}

/// The owner tags (and the spec's) of the test resource in the test cluster.
fn owned() -> BTreeMap<String, String> {
    resource(None).desired_tags(CLUSTER)
}

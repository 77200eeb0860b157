//! The call path: the SDK's errors in domain terms, and [`SdkBedrock`] driven against the
//! in-process emulator through the real aws-sdk-bedrock client.

use std::sync::Arc;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_bedrock::error::ErrorMetadata;
use aws_sdk_bedrock::operation::get_custom_model::GetCustomModelError;
use aws_sdk_bedrock::types::error::ResourceNotFoundException;
use aws_smithy_types::body::SdkBody;
use bedrock_emulator::{Emulator, EmulatorConfig, EmulatorHandle, FaultConfig};

use super::*;
use crate::bedrock::{CreateRequest, ModelState, Models, Source};
use crate::metrics::Metrics;

const REGION: &str = "us-east-1";
const S3_URI: &str = "s3://amazon-sagemaker-bucket/models/nova/";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/BedrockImport";

fn response(status: u16) -> HttpResponse {
    HttpResponse::new(
        status.try_into().expect("a valid HTTP status"),
        SdkBody::empty(),
    )
}

fn service_error(
    error: GetCustomModelError,
    status: u16,
) -> SdkError<GetCustomModelError, HttpResponse> {
    SdkError::service_error(error, response(status))
}

fn unmodeled(code: &str, status: u16) -> SdkError<GetCustomModelError, HttpResponse> {
    service_error(
        GetCustomModelError::generic(ErrorMetadata::builder().code(code).message("m").build()),
        status,
    )
}

#[test]
fn a_modeled_service_error_keeps_its_code_and_message() {
    let error = service_error(
        GetCustomModelError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("no model named nova")
                .meta(
                    ErrorMetadata::builder()
                        .code("ResourceNotFoundException")
                        .message("no model named nova")
                        .build(),
                )
                .build(),
        ),
        404,
    );
    let mapped = map_error(Operation::GetCustomModel, error);
    assert_eq!(mapped.operation, "GetCustomModel");
    assert_eq!(mapped.class(), ErrorClass::NotFound);
    assert_eq!(mapped.code.as_deref(), Some("ResourceNotFoundException"));
    assert_eq!(mapped.message.as_deref(), Some("no model named nova"));
    assert!(
        mapped.source.is_some(),
        "the SDK error is kept as the source"
    );
}

#[test]
fn an_unmodeled_service_error_is_classified_by_its_code() {
    let mapped = map_error(
        Operation::GetCustomModel,
        unmodeled("ThrottlingException", 429),
    );
    assert_eq!(mapped.class(), ErrorClass::Throttled);
    assert_eq!(mapped.code.as_deref(), Some("ThrottlingException"));
}

#[test]
fn an_unknown_code_with_a_server_error_status_is_retryable() {
    let mapped = map_error(Operation::GetCustomModel, unmodeled("Brownout", 503));
    assert_eq!(mapped.class(), ErrorClass::Retryable);
}

#[test]
fn an_unknown_code_with_a_client_error_status_is_terminal() {
    let mapped = map_error(Operation::GetCustomModel, unmodeled("Novel", 400));
    assert_eq!(mapped.class(), ErrorClass::Terminal);
}

#[test]
fn a_timeout_is_retryable() {
    let error: SdkError<GetCustomModelError, HttpResponse> =
        SdkError::timeout_error("operation timed out");
    let mapped = map_error(Operation::GetCustomModel, error);
    assert_eq!(mapped.class(), ErrorClass::Retryable);
    assert_eq!(mapped.code, None);
}

#[test]
fn an_unparseable_response_is_retryable() {
    let error: SdkError<GetCustomModelError, HttpResponse> =
        SdkError::response_error("truncated body", response(200));
    let mapped = map_error(Operation::GetCustomModel, error);
    assert_eq!(mapped.class(), ErrorClass::Retryable);
}

#[test]
fn a_request_that_cannot_be_built_is_terminal() {
    let error: SdkError<GetCustomModelError, HttpResponse> =
        SdkError::construction_failure("missing field");
    let mapped = map_error(Operation::GetCustomModel, error);
    assert_eq!(mapped.class(), ErrorClass::Terminal);
}

// ---------------------------------------------------------------------------------------------
// Against the emulator
// ---------------------------------------------------------------------------------------------

struct Fixture {
    bedrock: SdkBedrock,
    metrics: Arc<Metrics>,
    _emulator: EmulatorHandle,
}

async fn fixture(faults: FaultConfig) -> Fixture {
    let emulator = Emulator::start(EmulatorConfig {
        faults,
        // Models stay Creating: the tests decide what they see.
        ready_delay: Duration::from_secs(3600),
        seed: Some(7),
        ..EmulatorConfig::default()
    })
    .await
    .expect("the emulator starts");
    let base = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(emulator.url())
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        )))
        .build();
    let metrics = Arc::new(Metrics::new());
    let bedrock = SdkBedrock::new(
        base,
        SdkSettings {
            rate_limit_qps: 1000.0,
            rate_limit_burst: 1000,
            call_timeout: Duration::from_secs(10),
        },
    )
    .with_metrics(metrics.clone());
    Fixture {
        bedrock,
        metrics,
        _emulator: emulator,
    }
}

fn create_request(name: &str) -> CreateRequest {
    CreateRequest {
        model_name: name.into(),
        source: Source::S3Uri(S3_URI.into()),
        role_arn: Some(ROLE_ARN.into()),
        kms_key_arn: None,
        tags: BTreeMap::from([("team".to_string(), "ml".to_string())]),
        client_request_token: format!("token-{name}"),
    }
}

/// The value of one sample of the exposition, if present.
fn sample(metrics: &Metrics, series: &str) -> Option<f64> {
    metrics.encode().lines().find_map(|line| {
        line.strip_prefix(series)
            .and_then(|rest| rest.trim().parse().ok())
    })
}

fn calls(metrics: &Metrics, operation: &str, outcome: &str) -> Option<f64> {
    sample(
        metrics,
        &format!(
            r#"bedrock_operator_bedrock_calls_total{{operation="{operation}",outcome="{outcome}"}}"#
        ),
    )
}

#[tokio::test]
async fn a_created_model_is_read_back_in_domain_terms_and_every_call_is_counted() {
    let f = fixture(FaultConfig::default()).await;
    let arn = f
        .bedrock
        .create_model(REGION, &create_request("nova-counted"))
        .await
        .expect("created");
    let model = f
        .bedrock
        .get_model(REGION, "nova-counted")
        .await
        .expect("read")
        .expect("the model exists");
    assert_eq!(model.arn, arn);
    assert_eq!(model.name, "nova-counted");
    assert!(model.creation_time.is_some());
    let tags = f.bedrock.list_tags(REGION, &arn).await.expect("tags read");
    assert_eq!(tags.get("team").map(String::as_str), Some("ml"));

    assert_eq!(calls(&f.metrics, "CreateCustomModel", "ok"), Some(1.0));
    assert_eq!(calls(&f.metrics, "GetCustomModel", "ok"), Some(1.0));
    assert_eq!(calls(&f.metrics, "ListTagsForResource", "ok"), Some(1.0));
    assert_eq!(
        sample(
            &f.metrics,
            r#"bedrock_operator_bedrock_call_duration_seconds_count{operation="CreateCustomModel"}"#
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn a_missing_model_is_an_answer_not_a_failure() {
    let f = fixture(FaultConfig::default()).await;
    assert_eq!(
        f.bedrock.get_model(REGION, "nowhere").await.expect("read"),
        None
    );
    assert!(
        !f.bedrock
            .delete_model(REGION, "nowhere")
            .await
            .expect("deleted")
    );
    assert_eq!(calls(&f.metrics, "GetCustomModel", "ok"), Some(1.0));
    assert_eq!(calls(&f.metrics, "DeleteCustomModel", "ok"), Some(1.0));
    assert_eq!(calls(&f.metrics, "GetCustomModel", "not_found"), None);
}

#[tokio::test]
async fn a_missing_model_is_a_failure_where_it_is_no_answer() {
    let f = fixture(FaultConfig::default()).await;
    let arn = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abcdefghijkl";
    let error = f
        .bedrock
        .list_tags(REGION, arn)
        .await
        .expect_err("no such resource");
    assert_eq!(error.class(), ErrorClass::NotFound);
    assert_eq!(error.operation, "ListTagsForResource");
    assert_eq!(
        calls(&f.metrics, "ListTagsForResource", "not_found"),
        Some(1.0)
    );
}

#[tokio::test]
async fn throttling_is_classified_counted_and_paces_only_that_operation() {
    let f = fixture(FaultConfig {
        throttle_fraction: 1.0,
        operations: vec![bedrock_emulator::Operation::CreateCustomModel],
        ..FaultConfig::default()
    })
    .await;
    let error = f
        .bedrock
        .create_model(REGION, &create_request("nova-throttled"))
        .await
        .expect_err("throttled");
    assert_eq!(error.class(), ErrorClass::Throttled);
    assert_eq!(error.code.as_deref(), Some("ThrottlingException"));
    assert_eq!(
        calls(&f.metrics, "CreateCustomModel", "throttled"),
        Some(1.0)
    );
    assert!(
        f.bedrock
            .pacer
            .rate(REGION, Operation::CreateCustomModel)
            .is_some(),
        "the throttled operation is paced"
    );

    assert_eq!(
        f.bedrock
            .get_model(REGION, "nova-throttled")
            .await
            .expect("read"),
        None
    );
    assert_eq!(
        f.bedrock.pacer.rate(REGION, Operation::GetCustomModel),
        None,
        "other operations are not"
    );
}

#[tokio::test]
async fn models_are_listed_by_state() {
    let f = fixture(FaultConfig::default()).await;
    f.bedrock
        .create_model(REGION, &create_request("nova-listed"))
        .await
        .expect("created");
    let creating = f
        .bedrock
        .list_models(REGION, ModelState::Creating, None)
        .await
        .expect("listed");
    let failed = f
        .bedrock
        .list_models(REGION, ModelState::Failed, None)
        .await
        .expect("listed");
    assert_eq!(creating.len(), 1, "{creating:?}");
    assert_eq!(creating[0].state, ModelState::Creating);
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(calls(&f.metrics, "ListCustomModels", "ok"), Some(2.0));
}

//! The controller's check of a spec, mirroring the CRD schema and CEL rules, so that servers
//! without CEL (and objects stored before a rule existed) still get a clear `InvalidSpec` status
//! that names the field, and no AWS call is made for them.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::deployment::{ModelTarget, ValidDeployment, arn_region};
use super::model::{ValidModel, ValidSource};
use super::throughput::{
    BedrockProvisionedThroughput, CONFIRM_COMMITMENT_ANNOTATION, ThroughputModel, ValidThroughput,
};
use super::{BedrockCustomModel, BedrockCustomModelDeployment, patterns};

/// One problem with one field of the resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the field, e.g. `spec.source.s3Uri`.
    pub field: String,
    /// A sentence that says what is wrong and what would be right.
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

struct Check {
    pattern: Regex,
    max: usize,
    expected: &'static str,
}

impl Check {
    fn new(pattern: &str, max: u32, expected: &'static str) -> Self {
        Self {
            // The patterns are compile-time constants, and a unit test compiles every one.
            pattern: Regex::new(pattern).expect("pattern constants are valid regular expressions"),
            max: max as usize,
            expected,
        }
    }

    fn check(&self, field: &str, value: &str, errors: &mut Vec<FieldError>) {
        let problem = if value.is_empty() {
            Some("must not be empty".to_string())
        } else if value.chars().count() > self.max {
            Some(format!(
                "is {} characters long; the limit is {}",
                value.chars().count(),
                self.max
            ))
        } else if !self.pattern.is_match(value) {
            Some(format!(
                "{} is not valid: expected {}",
                quoted(value),
                self.expected
            ))
        } else {
            None
        };
        if let Some(message) = problem {
            errors.push(FieldError {
                field: field.to_string(),
                message,
            });
        }
    }
}

static MODEL_NAME: LazyLock<Check> = LazyLock::new(|| {
    Check::new(
        patterns::MODEL_NAME,
        patterns::MODEL_NAME_MAX,
        "1 to 63 letters and digits, with single '-' or '_' between them",
    )
});
static S3_URI: LazyLock<Check> = LazyLock::new(|| {
    Check::new(
        patterns::S3_URI,
        patterns::S3_URI_MAX,
        "s3://bucket/path/ with a lowercase bucket name of 3 to 63 characters",
    )
});
static MODEL_PACKAGE_ARN: LazyLock<Check> = LazyLock::new(|| {
    Check::new(
        patterns::MODEL_PACKAGE_ARN,
        patterns::MODEL_PACKAGE_ARN_MAX,
        "a SageMaker model package ARN such as arn:aws:sagemaker:us-east-1:123456789012:model-package/name/1",
    )
});
static ROLE_ARN: LazyLock<Check> = LazyLock::new(|| {
    Check::new(
        patterns::ROLE_ARN,
        patterns::ARN_MAX,
        "an IAM role ARN such as arn:aws:iam::123456789012:role/BedrockImport",
    )
});
static KMS_KEY_ARN: LazyLock<Check> = LazyLock::new(|| {
    Check::new(
        patterns::KMS_KEY_ARN,
        patterns::ARN_MAX,
        "a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/<36-character key id>",
    )
});
static REGION: LazyLock<Check> = LazyLock::new(|| {
    Check::new(
        patterns::REGION,
        patterns::REGION_MAX,
        "an AWS region such as us-east-1",
    )
});
static TAG_KEY: LazyLock<Check> = LazyLock::new(|| {
    Check::new(
        patterns::TAG_KEY,
        patterns::TAG_KEY_MAX,
        "letters, digits, spaces and _ . : / = + - @",
    )
});
static TAG_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(patterns::TAG_VALUE).expect("pattern constants are valid regular expressions")
});

/// Every problem with the spec, in field order; empty when the spec is valid.
pub fn validate(model: &BedrockCustomModel) -> Vec<FieldError> {
    check_model(model).0
}

/// The checked spec of a model, or every problem with it ([`validate`]).
pub fn validate_model(model: &BedrockCustomModel) -> Result<ValidModel, Vec<FieldError>> {
    match check_model(model) {
        (errors, Some(source)) if errors.is_empty() => Ok(ValidModel { source }),
        (errors, _) => Err(errors),
    }
}

/// Every problem with a model's spec, and its source when the spec names exactly one (else
/// an error says why).
fn check_model(model: &BedrockCustomModel) -> (Vec<FieldError>, Option<ValidSource>) {
    let spec = &model.spec;
    let mut errors = Vec::new();

    match &spec.model_name {
        Some(name) => MODEL_NAME.check("spec.modelName", name, &mut errors),
        None => {
            let name = model.metadata.name.as_deref().unwrap_or_default();
            let mut name_errors = Vec::new();
            MODEL_NAME.check("spec.modelName", name, &mut name_errors);
            if !name_errors.is_empty() {
                errors.push(FieldError {
                    field: "spec.modelName".into(),
                    message: format!(
                        "is unset, so the model would be named after metadata.name {}, which is not a valid Bedrock model name (1 to 63 letters and digits, with single '-' or '_' between them): set spec.modelName",
                        quoted(name)
                    ),
                });
            }
        }
    }

    let source = match (&spec.source.s3_uri, &spec.source.model_package_arn) {
        (Some(uri), None) => {
            S3_URI.check("spec.source.s3Uri", uri, &mut errors);
            Some(ValidSource::S3Uri(uri.clone()))
        }
        (None, Some(arn)) => {
            MODEL_PACKAGE_ARN.check("spec.source.modelPackageArn", arn, &mut errors);
            Some(ValidSource::ModelPackageArn(arn.clone()))
        }
        (Some(_), Some(_)) => {
            errors.push(FieldError {
                field: "spec.source".into(),
                message: "sets both s3Uri and modelPackageArn: set exactly one".into(),
            });
            None
        }
        (None, None) => {
            errors.push(FieldError {
                field: "spec.source".into(),
                message: "sets neither s3Uri nor modelPackageArn: set exactly one".into(),
            });
            None
        }
    };

    match &spec.role_arn {
        Some(role) => ROLE_ARN.check("spec.roleArn", role, &mut errors),
        None if spec.source.s3_uri.is_some() => errors.push(FieldError {
            field: "spec.roleArn".into(),
            message: "is required when source.s3Uri is set: name the IAM role Bedrock assumes to read the model artifacts".into(),
        }),
        None => {}
    }

    if let Some(key) = &spec.kms_key_arn {
        KMS_KEY_ARN.check("spec.kmsKeyArn", key, &mut errors);
    }

    check_tags(&spec.tags, "model", &mut errors);

    if let Some(region) = &spec.region {
        REGION.check("spec.region", region, &mut errors);
    }

    (errors, source)
}

static MODEL_DEPLOYMENT_NAME: LazyLock<Check> = LazyLock::new(|| {
    Check::new(
        patterns::MODEL_DEPLOYMENT_NAME,
        patterns::MODEL_DEPLOYMENT_NAME_MAX,
        "1 to 63 letters and digits, with single '-' or '_' between them",
    )
});
static CUSTOM_MODEL_ARN: LazyLock<Check> = LazyLock::new(|| {
    Check::new(
        patterns::CUSTOM_MODEL_ARN,
        patterns::CUSTOM_MODEL_ARN_MAX,
        "a custom model ARN such as arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abc123def456 (not a foundation model, deployment or provisioned model ARN)",
    )
});
static OBJECT_NAME: LazyLock<Check> = LazyLock::new(|| {
    Check::new(
        patterns::OBJECT_NAME,
        patterns::OBJECT_NAME_MAX,
        "the metadata.name of a BedrockCustomModel in this namespace: lowercase letters, digits, '-' and '.'",
    )
});

/// The controller's check of a BedrockCustomModelDeployment: the checked values, or every
/// problem with the spec in field order.
pub fn validate_deployment(
    deployment: &BedrockCustomModelDeployment,
) -> Result<ValidDeployment, Vec<FieldError>> {
    let spec = &deployment.spec;
    let mut errors = Vec::new();

    let deployment_name = deployment.deployment_name().to_string();
    match &spec.model_deployment_name {
        Some(name) => MODEL_DEPLOYMENT_NAME.check("spec.modelDeploymentName", name, &mut errors),
        None => {
            let mut name_errors = Vec::new();
            MODEL_DEPLOYMENT_NAME.check(
                "spec.modelDeploymentName",
                &deployment_name,
                &mut name_errors,
            );
            if !name_errors.is_empty() {
                errors.push(FieldError {
                    field: "spec.modelDeploymentName".into(),
                    message: format!(
                        "is unset, so the deployment would be named after metadata.name {}, which is not a valid Bedrock deployment name (1 to 63 letters and digits, with single '-' or '_' between them): set spec.modelDeploymentName",
                        quoted(&deployment_name)
                    ),
                });
            }
        }
    }

    if let Some(description) = &spec.description {
        let length = description.chars().count();
        let problem = if description.is_empty() {
            Some("must not be empty: leave description out instead".to_string())
        } else if length > patterns::DEPLOYMENT_DESCRIPTION_MAX as usize {
            Some(format!(
                "is {length} characters long; the limit is {}",
                patterns::DEPLOYMENT_DESCRIPTION_MAX
            ))
        } else {
            None
        };
        if let Some(message) = problem {
            errors.push(FieldError {
                field: "spec.description".into(),
                message,
            });
        }
    }

    let model = match (&spec.model_ref, &spec.model_arn) {
        (Some(reference), None) => {
            OBJECT_NAME.check("spec.modelRef.name", &reference.name, &mut errors);
            Some(ModelTarget::Ref(reference.name.clone()))
        }
        (None, Some(arn)) => {
            // The pattern is longer than CustomModelArn's minimum of 20, so no minimum check.
            CUSTOM_MODEL_ARN.check("spec.modelArn", arn, &mut errors);
            Some(ModelTarget::Arn(arn.clone()))
        }
        (Some(_), Some(_)) => {
            errors.push(FieldError {
                field: "spec".into(),
                message: "sets both modelRef and modelArn: set exactly one (modelRef for a BedrockCustomModel of this namespace, modelArn for any other custom model)".into(),
            });
            None
        }
        (None, None) => {
            errors.push(FieldError {
                field: "spec".into(),
                message: "sets neither modelRef nor modelArn: set exactly one (modelRef for a BedrockCustomModel of this namespace, modelArn for any other custom model)".into(),
            });
            None
        }
    };

    check_tags(&spec.tags, "deployment", &mut errors);

    if let Some(region) = &spec.region {
        let before = errors.len();
        REGION.check("spec.region", region, &mut errors);
        if errors.len() == before
            && let Some(arn) = &spec.model_arn
            && CUSTOM_MODEL_ARN.pattern.is_match(arn)
            && let Some(arn_region) = arn_region(arn)
            && arn_region != region
        {
            errors.push(FieldError {
                field: "spec.region".into(),
                message: format!(
                    "is {}, but spec.modelArn is a model of {}: a deployment serves a model of its own region (leave region unset to use the ARN's)",
                    quoted(region),
                    quoted(arn_region)
                ),
            });
        }
    }

    match model {
        Some(model) if errors.is_empty() => Ok(ValidDeployment {
            deployment_name,
            description: spec.description.clone(),
            model,
            region: spec.region.clone(),
            tags: spec.tags.clone(),
            deletion_policy: spec.deletion_policy,
            adoption_policy: spec.adoption_policy,
        }),
        _ => Err(errors),
    }
}

static PROVISIONED_MODEL_NAME: LazyLock<Check> = LazyLock::new(|| {
    Check::new(
        patterns::PROVISIONED_MODEL_NAME,
        patterns::PROVISIONED_MODEL_NAME_MAX,
        "1 to 63 letters and digits, with single '-' or '_' between them",
    )
});
static PROVISIONED_MODEL_ID: LazyLock<Check> = LazyLock::new(|| {
    Check::new(
        patterns::PROVISIONED_MODEL_ID,
        patterns::PROVISIONED_MODEL_ID_MAX,
        "a custom model ARN (arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abc123def456), or a foundation model ARN or ID (amazon.nova-lite-v1:0); not a deployment or provisioned model ARN, and not a custom model's bare name (use its ARN, or modelRef)",
    )
});

/// The controller's check of a BedrockProvisionedThroughput: the checked values, or every
/// problem with the spec in field order. The commitment guard is [`commitment_refused`].
pub fn validate_throughput(
    throughput: &BedrockProvisionedThroughput,
) -> Result<ValidThroughput, Vec<FieldError>> {
    let spec = &throughput.spec;
    let mut errors = Vec::new();

    let name = throughput.provisioned_model_name().to_string();
    match &spec.provisioned_model_name {
        Some(given) => {
            PROVISIONED_MODEL_NAME.check("spec.provisionedModelName", given, &mut errors)
        }
        None => {
            let mut name_errors = Vec::new();
            PROVISIONED_MODEL_NAME.check("spec.provisionedModelName", &name, &mut name_errors);
            if !name_errors.is_empty() {
                errors.push(FieldError {
                    field: "spec.provisionedModelName".into(),
                    message: format!(
                        "is unset, so the throughput would be named after metadata.name {}, which is not a valid Bedrock provisioned model name (1 to 63 letters and digits, with single '-' or '_' between them): set spec.provisionedModelName",
                        quoted(&name)
                    ),
                });
            }
        }
    }

    let model = match (&spec.model_ref, &spec.model_id) {
        (Some(reference), None) => {
            OBJECT_NAME.check("spec.modelRef.name", &reference.name, &mut errors);
            Some(ThroughputModel::Ref(reference.name.clone()))
        }
        (None, Some(id)) => {
            PROVISIONED_MODEL_ID.check("spec.modelId", id, &mut errors);
            Some(ThroughputModel::Id(id.clone()))
        }
        (Some(_), Some(_)) => {
            errors.push(FieldError {
                field: "spec".into(),
                message: "sets both modelRef and modelId: set exactly one (modelRef for a BedrockCustomModel of this namespace, modelId for any other model)".into(),
            });
            None
        }
        (None, None) => {
            errors.push(FieldError {
                field: "spec".into(),
                message: "sets neither modelRef nor modelId: set exactly one (modelRef for a BedrockCustomModel of this namespace, modelId for any other model)".into(),
            });
            None
        }
    };

    if spec.model_units < 1 {
        errors.push(FieldError {
            field: "spec.modelUnits".into(),
            message: format!("is {}: buy at least 1 model unit", spec.model_units),
        });
    }

    check_tags(&spec.tags, "throughput", &mut errors);

    if let Some(region) = &spec.region {
        let before = errors.len();
        REGION.check("spec.region", region, &mut errors);
        if errors.len() == before
            && let Some(ThroughputModel::Id(id)) = &model
            && PROVISIONED_MODEL_ID.pattern.is_match(id)
            && let Some(arn_region) = model.as_ref().and_then(ThroughputModel::arn_region)
            && arn_region != region
        {
            errors.push(FieldError {
                field: "spec.region".into(),
                message: format!(
                    "is {}, but spec.modelId is a model of {}: a provisioned throughput serves a model of its own region (leave region unset to use the ARN's)",
                    quoted(region),
                    quoted(arn_region)
                ),
            });
        }
    }

    match model {
        Some(model) if errors.is_empty() => Ok(ValidThroughput {
            name,
            model,
            model_units: spec.model_units,
            commitment: spec.commitment_duration,
            region: spec.region.clone(),
            tags: spec.tags.clone(),
            deletion_policy: spec.deletion_policy,
            adoption_policy: spec.adoption_policy,
        }),
        _ => Err(errors),
    }
}

/// The commitment confirmation: a throughput with a commitment term is bought only when the
/// resource confirms the term with the confirm-commitment annotation. The problem, naming the
/// annotation, when it does not. (Which namespaces may buy a term at all is the operator's
/// `--commitment-namespaces`, a tenant guard: `controller::guards`.)
pub fn commitment_refused(throughput: &BedrockProvisionedThroughput) -> Option<FieldError> {
    let term = throughput.spec.commitment_duration?;
    match throughput.confirmed_commitment() {
        Some(confirmed) if confirmed == term.as_str() => None,
        Some(other) => Some(FieldError {
            field: format!("metadata.annotations[{CONFIRM_COMMITMENT_ANNOTATION}]"),
            message: format!(
                "is {}, but spec.commitmentDuration is {term}: a commitment is bought only when the annotation names the same term; set it to {term} to buy (the throughput cannot be deleted before the term ends), or change commitmentDuration",
                quoted(other)
            ),
        }),
        None => Some(FieldError {
            field: format!("metadata.annotations[{CONFIRM_COMMITMENT_ANNOTATION}]"),
            message: format!(
                "is missing: spec.commitmentDuration is {term}, which cannot be cancelled or deleted before the term ends, so it is bought only when the resource also carries the annotation {CONFIRM_COMMITMENT_ANNOTATION}: {term}"
            ),
        }),
    }
}

/// spec.tags: the entry limit, key and value rules and reserved prefixes (the same for every
/// kind; `resource` names what the tags go on, for the message).
fn check_tags(tags: &BTreeMap<String, String>, resource: &str, errors: &mut Vec<FieldError>) {
    if tags.len() > patterns::SPEC_TAGS_MAX {
        errors.push(FieldError {
            field: "spec.tags".into(),
            message: format!(
                "has {} entries; the limit is {} (Bedrock allows {} tags per {resource} and the operator uses {})",
                tags.len(),
                patterns::SPEC_TAGS_MAX,
                patterns::BEDROCK_TAG_LIMIT,
                patterns::OPERATOR_TAGS
            ),
        });
    }
    for (key, value) in tags {
        // The whole key, unshortened: the field path must name a real key.
        let field = format!("spec.tags[\"{key}\"]");
        TAG_KEY.check(&field, key, errors);
        if key.starts_with("aws:") || key.starts_with(super::tags::OPERATOR_PREFIX) {
            errors.push(FieldError {
                field: field.clone(),
                message: format!(
                    "uses a reserved prefix: keys starting with 'aws:' or '{}' are reserved",
                    super::tags::OPERATOR_PREFIX
                ),
            });
        }
        if value.chars().count() > patterns::TAG_VALUE_MAX as usize {
            errors.push(FieldError {
                field: field.clone(),
                message: format!(
                    "value is {} characters long; the limit is 256",
                    value.chars().count()
                ),
            });
        } else if !TAG_VALUE.is_match(value) {
            errors.push(FieldError {
                field,
                message: format!(
                    "value {} is not valid: expected letters, digits, spaces and _ . : / = + - @",
                    quoted(value)
                ),
            });
        }
    }
}

/// Quotes a user value for a message, shortening very long ones.
fn quoted(value: &str) -> String {
    const SHOWN: usize = 80;
    if value.chars().count() > SHOWN {
        let head: String = value.chars().take(SHOWN).collect();
        format!("\"{head}…\"")
    } else {
        format!("\"{value}\"")
    }
}

#[cfg(test)]
#[path = "validation_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "deployment_validation_tests.rs"]
mod deployment_tests;

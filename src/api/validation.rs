//! The controller's check of a spec, mirroring the CRD schema and CEL rules, so that servers
//! without CEL (and objects stored before a rule existed) still get a clear `InvalidSpec` status
//! that names the field, and no AWS call is made for them.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::deployment::{ModelTarget, ValidDeployment, arn_region};
use super::export::Export;
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

pub(super) struct Check {
    pattern: Regex,
    max: usize,
    expected: &'static str,
}

impl Check {
    pub(super) fn new(pattern: &str, max: u32, expected: &'static str) -> Self {
        Self {
            // The patterns are compile-time constants, and a unit test compiles every one.
            pattern: Regex::new(pattern).expect("pattern constants are valid regular expressions"),
            max: max as usize,
            expected,
        }
    }

    pub(super) fn check(&self, field: &str, value: &str, errors: &mut Vec<FieldError>) {
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

    /// The Bedrock name a spec gives in `field`; where it gives none, the name the operator
    /// derives from metadata.name (`derived`) must be valid too, else the error says to set
    /// `field`. `what` names the object ("deployment"), `noun` its Bedrock name ("deployment
    /// name").
    pub(super) fn check_name(
        &self,
        field: &str,
        given: Option<&str>,
        derived: &str,
        (what, noun): (&str, &str),
        errors: &mut Vec<FieldError>,
    ) {
        if let Some(name) = given {
            return self.check(field, name, errors);
        }
        let mut name_errors = Vec::new();
        self.check(field, derived, &mut name_errors);
        if !name_errors.is_empty() {
            errors.push(FieldError {
                field: field.into(),
                message: format!(
                    "is unset, so the {what} would be named after metadata.name {}, which is not a valid Bedrock {noun} ({}): set {field}",
                    quoted(derived),
                    self.expected
                ),
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
pub(super) static S3_URI: LazyLock<Check> = LazyLock::new(|| {
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
pub(super) static ROLE_ARN: LazyLock<Check> = LazyLock::new(|| {
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
pub(super) static REGION: LazyLock<Check> = LazyLock::new(|| {
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

    let derived = model.metadata.name.as_deref().unwrap_or_default();
    let given = spec.model_name.as_deref();
    let words = ("model", "model name");
    MODEL_NAME.check_name("spec.modelName", given, derived, words, &mut errors);

    let uri = ("s3Uri", spec.source.s3_uri.as_ref());
    let package = ("modelPackageArn", spec.source.model_package_arn.as_ref());
    let source = match one_of("spec.source", uri, package, "", &mut errors) {
        Some(OneOf::First(uri)) => {
            S3_URI.check("spec.source.s3Uri", uri, &mut errors);
            Some(ValidSource::S3Uri(uri.clone()))
        }
        Some(OneOf::Second(arn)) => {
            MODEL_PACKAGE_ARN.check("spec.source.modelPackageArn", arn, &mut errors);
            Some(ValidSource::ModelPackageArn(arn.clone()))
        }
        None => None,
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

static CONFIG_MAP_NAME: LazyLock<Check> = LazyLock::new(|| {
    Check::new(
        patterns::OBJECT_NAME,
        patterns::OBJECT_NAME_MAX,
        "a ConfigMap name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
    )
});

/// spec.export of a serving kind: the name of its ConfigMap (configMapName, else the default
/// derived from metadata.name `resource`), checked; `None` when export is unset.
fn check_export(
    export: Option<&Export>,
    resource: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let export = export?;
    let field = "spec.export.configMapName";
    let name = export.config_map_name(resource);
    if export.config_map_name.is_some() {
        CONFIG_MAP_NAME.check(field, &name, errors);
        return Some(name);
    }
    let mut name_errors = Vec::new();
    CONFIG_MAP_NAME.check(field, &name, &mut name_errors);
    if !name_errors.is_empty() {
        errors.push(FieldError {
            field: field.into(),
            message: format!(
                "is unset, so the ConfigMap would be named {}, which is not a valid ConfigMap name ({}): set {field}",
                quoted(&name),
                CONFIG_MAP_NAME.expected
            ),
        });
    }
    Some(name)
}

/// The controller's check of a BedrockCustomModelDeployment: the checked values, or every
/// problem with the spec in field order.
pub fn validate_deployment(
    deployment: &BedrockCustomModelDeployment,
) -> Result<ValidDeployment, Vec<FieldError>> {
    let spec = &deployment.spec;
    let mut errors = Vec::new();

    let deployment_name = deployment.deployment_name().to_string();
    let given = spec.model_deployment_name.as_deref();
    let words = ("deployment", "deployment name");
    let field = "spec.modelDeploymentName";
    MODEL_DEPLOYMENT_NAME.check_name(field, given, &deployment_name, words, &mut errors);

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

    let reference = ("modelRef", spec.model_ref.as_ref().map(|r| &r.name));
    let named = ("modelArn", spec.model_arn.as_ref());
    let hint = " (modelRef for a BedrockCustomModel of this namespace, modelArn for any other custom model)";
    let model = match one_of("spec", reference, named, hint, &mut errors) {
        Some(OneOf::First(name)) => {
            OBJECT_NAME.check("spec.modelRef.name", name, &mut errors);
            Some(ModelTarget::Ref(name.clone()))
        }
        Some(OneOf::Second(arn)) => {
            // The pattern is longer than CustomModelArn's minimum of 20, so no minimum check.
            CUSTOM_MODEL_ARN.check("spec.modelArn", arn, &mut errors);
            Some(ModelTarget::Arn(arn.clone()))
        }
        None => None,
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

    let export = check_export(
        spec.export.as_ref(),
        deployment.metadata.name.as_deref().unwrap_or_default(),
        &mut errors,
    );

    match model {
        Some(model) if errors.is_empty() => Ok(ValidDeployment {
            deployment_name,
            description: spec.description.clone(),
            model,
            region: spec.region.clone(),
            tags: spec.tags.clone(),
            deletion_policy: spec.deletion_policy,
            adoption_policy: spec.adoption_policy,
            export,
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

/// Which of two fields that name one thing a spec sets.
enum OneOf<'a> {
    First(&'a String),
    Second(&'a String),
}

/// Exactly one of two fields (`first`, `second`: their names and values) set, or an error on
/// `field` saying the spec sets both or neither, with `hint` after "set exactly one".
fn one_of<'a>(
    field: &str,
    first: (&str, Option<&'a String>),
    second: (&str, Option<&'a String>),
    hint: &str,
    errors: &mut Vec<FieldError>,
) -> Option<OneOf<'a>> {
    let problem = match (first.1, second.1) {
        (Some(value), None) => return Some(OneOf::First(value)),
        (None, Some(value)) => return Some(OneOf::Second(value)),
        (Some(_), Some(_)) => format!("sets both {} and {}", first.0, second.0),
        (None, None) => format!("sets neither {} nor {}", first.0, second.0),
    };
    errors.push(FieldError {
        field: field.into(),
        message: format!("{problem}: set exactly one{hint}"),
    });
    None
}

/// The controller's check of a BedrockProvisionedThroughput: the checked values, or every
/// problem with the spec in field order. The commitment guard is [`commitment_refused`].
pub fn validate_throughput(
    throughput: &BedrockProvisionedThroughput,
) -> Result<ValidThroughput, Vec<FieldError>> {
    let spec = &throughput.spec;
    let mut errors = Vec::new();

    let name = throughput.provisioned_model_name().to_string();
    let given = spec.provisioned_model_name.as_deref();
    let words = ("throughput", "provisioned model name");
    let field = "spec.provisionedModelName";
    PROVISIONED_MODEL_NAME.check_name(field, given, &name, words, &mut errors);

    let reference = ("modelRef", spec.model_ref.as_ref().map(|r| &r.name));
    let named = ("modelId", spec.model_id.as_ref());
    let hint =
        " (modelRef for a BedrockCustomModel of this namespace, modelId for any other model)";
    let model = match one_of("spec", reference, named, hint, &mut errors) {
        Some(OneOf::First(name)) => {
            OBJECT_NAME.check("spec.modelRef.name", name, &mut errors);
            Some(ThroughputModel::Ref(name.clone()))
        }
        Some(OneOf::Second(id)) => {
            PROVISIONED_MODEL_ID.check("spec.modelId", id, &mut errors);
            Some(ThroughputModel::Id(id.clone()))
        }
        None => None,
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

    let export = check_export(
        spec.export.as_ref(),
        throughput.metadata.name.as_deref().unwrap_or_default(),
        &mut errors,
    );

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
            export,
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
pub(super) fn check_tags(
    tags: &BTreeMap<String, String>,
    resource: &str,
    errors: &mut Vec<FieldError>,
) {
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

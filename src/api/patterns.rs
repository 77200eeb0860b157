//! Input constraints of Bedrock's CreateCustomModel, anchored.
//!
//! These constants are the single source of truth: the CRD schema embeds them (through schemars
//! attributes on the spec types) and the controller's validator compiles the same strings, so a
//! value the API server accepts is exactly a value the controller accepts. They are copied from
//! the Bedrock service model (API version 2023-04-20), where they are printed unanchored.

/// `CustomModelName`: up to 63 letters and digits, single `-` or `_` between them.
pub const MODEL_NAME: &str = r"^([0-9a-zA-Z][_-]?){1,63}$";
pub const MODEL_NAME_MAX: u32 = 63;

/// `S3Uri`.
pub const S3_URI: &str = r"^s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?$";
pub const S3_URI_MAX: u32 = 1024;

/// `ModelPackageArn` (a SageMaker model package). The service model ends in `[\S]{1,2048}`, but
/// Go's regular expressions (which the API server uses) allow at most 1000 repetitions, so the
/// length is bounded by [`MODEL_PACKAGE_ARN_MAX`] instead.
pub const MODEL_PACKAGE_ARN: &str =
    r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]{9,16}:[0-9]{12}:model-package/[\S]+$";
pub const MODEL_PACKAGE_ARN_MAX: u32 = 2200;

/// `KmsKeyArn`.
pub const KMS_KEY_ARN: &str =
    r"^arn:aws(-[^:]+)?:kms:[a-zA-Z0-9-]*:[0-9]{12}:key/[a-zA-Z0-9-]{36}$";
pub const ARN_MAX: u32 = 2048;

/// `RoleArn`.
pub const ROLE_ARN: &str = r"^arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+$";

/// `TagKey` and `TagValue` share one character set. The service model says `\s`; it is spelled
/// out as ASCII whitespace because `\s` means Unicode whitespace to Rust's regex crate and ASCII
/// whitespace to Go's (the API server's), and the two must accept the same keys.
pub const TAG_KEY: &str = r"^[a-zA-Z0-9 \t\n\x0B\f\r._:/=+@-]*$";
pub const TAG_VALUE: &str = r"^[a-zA-Z0-9 \t\n\x0B\f\r._:/=+@-]*$";
pub const TAG_KEY_MAX: u32 = 128;
pub const TAG_VALUE_MAX: u32 = 256;

/// An AWS region name such as `us-east-1` or `us-gov-west-1`.
pub const REGION: &str = r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$";
pub const REGION_MAX: u32 = 20;

/// Bedrock allows 50 tags per resource; the operator keeps [`OPERATOR_TAGS`] of them.
pub const BEDROCK_TAG_LIMIT: usize = 50;
/// How many tags the operator itself puts on every model (see `crate::api::tags`).
pub const OPERATOR_TAGS: usize = 3;
/// The most tags `spec.tags` may hold.
pub const SPEC_TAGS_MAX: usize = BEDROCK_TAG_LIMIT - OPERATOR_TAGS;

/// `ModelDeploymentName` (CreateCustomModelDeployment): the same shape as a model name.
pub const MODEL_DEPLOYMENT_NAME: &str = r"^([0-9a-zA-Z][_-]?){1,63}$";
pub const MODEL_DEPLOYMENT_NAME_MAX: u32 = 63;

/// `CustomModelArn`, CreateCustomModelDeployment's `modelArn`: a custom model only. The wider
/// `ModelArn` of other operations also takes foundation models; deployment, provisioned-model
/// and imported-model ARNs match neither.
pub const CUSTOM_MODEL_ARN: &str = r"^arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:[a-z0-9-]{1,20}:[0-9]{12}:custom-model/(imported|[a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2})/[a-z0-9]{12}$";
pub const CUSTOM_MODEL_ARN_MIN: u32 = 20;
pub const CUSTOM_MODEL_ARN_MAX: u32 = 1011;

/// `CustomModelDeploymentDescription`: 1 to 2048 characters of anything (the service model's
/// pattern is `.*`).
pub const DEPLOYMENT_DESCRIPTION_MAX: u32 = 2048;

/// The name of a Kubernetes object such as a BedrockCustomModel: an RFC 1123 DNS subdomain,
/// what the API server requires of custom resource names.
pub const OBJECT_NAME: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
pub const OBJECT_NAME_MAX: u32 = 253;

/// `ProvisionedModelName` (CreateProvisionedModelThroughput): the same shape as a model name.
pub const PROVISIONED_MODEL_NAME: &str = r"^([0-9a-zA-Z][_-]?){1,63}$";
pub const PROVISIONED_MODEL_NAME_MAX: u32 = 63;

/// CreateProvisionedModelThroughput's `modelId` as the operator takes it: a custom model ARN,
/// or a foundation model ARN or ID (such as amazon.nova-lite-v1:0). Bedrock's
/// `ModelIdentifier` also takes a custom model's bare name; the operator does not, because the
/// ARN Bedrock reports back could not be matched with a name (use the ARN, or modelRef). Other
/// ARNs (deployments, provisioned models, imported models) match none of these.
pub const PROVISIONED_MODEL_ID: &str = r"^(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:(([0-9]{12}:custom-model/((imported)|([a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}))(([:][a-z0-9-]{1,63}){0,2})?/[a-z0-9]{12})|(:foundation-model/([a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([.]?[a-z0-9-]{1,63})([:][a-z0-9-]{1,63}){0,2}))))$|^([a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([.]?[a-z0-9-]{1,63})([:][a-z0-9-]{1,63}){0,2})$";
pub const PROVISIONED_MODEL_ID_MAX: u32 = 2048;

/// `ImportedModelName` (CreateModelImportJob's importedModelName).
pub const IMPORTED_MODEL_NAME: &str = r"^([0-9a-zA-Z][_-]?){1,63}$";
pub const IMPORTED_MODEL_NAME_MAX: u32 = 63;

/// `JobName` of a model import job: the operator derives it from importedModelName.
pub const IMPORT_JOB_NAME_MAX: usize = 63;

/// `KmsKeyId` (importedModelKmsKeyId): a key ARN, a key ID, an alias name or an alias ARN.
pub const KMS_KEY_ID: &str = r"^((arn:aws(-[^:]+)?:kms:[a-zA-Z0-9-]*:[0-9]{12}:((key/[a-zA-Z0-9-]{36})|(alias/[a-zA-Z0-9-_/]+)))|([a-zA-Z0-9-]{36})|(alias/[a-zA-Z0-9-_/]+))$";

/// `SubnetId` and `SecurityGroupId` of a `VpcConfig`.
pub const VPC_ID: &str = r"^[-0-9a-zA-Z]+$";
pub const VPC_ID_MAX: u32 = 32;
/// A `VpcConfig` has 1 to 16 subnets and 1 to 5 security groups.
pub const VPC_SUBNETS_MAX: u32 = 16;
pub const VPC_SECURITY_GROUPS_MAX: u32 = 5;

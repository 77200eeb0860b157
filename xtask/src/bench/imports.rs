//! i: what a BedrockImportedModel lifecycle costs (see [`super::lifecycle`]): an import job
//! (CreateModelImportJob) from a folder in S3, followed to the imported model, then deleted
//! (DeleteImportedModel). An imported model serves no model of the operator's and changes
//! nothing in place, so the section has no models and no swap window.

use anyhow::Result;
use bedrock_emulator::{EmulatorConfig, EmulatorHandle};
use bedrock_operator::api::imported::BedrockImportedModel;
use serde_json::json;

use super::args::LifecycleOptions;
use super::lifecycle::{Kind, Labels};
use super::versions::Watched;

/// The role Bedrock assumes to read the model files (the emulator takes any).
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/BedrockImport";

pub(super) struct Imports;

impl Kind for Imports {
    type Object = BedrockImportedModel;
    const LABELS: Labels = Labels {
        kind: "BedrockImportedModel",
        resource: "bedrockimportedmodels",
        one: "import",
        many: "imports",
        prefix: "imp",
        model_prefix: "",
        swap: "",
        swapped: "",
        swapped_when: "",
        creating: "import jobs InProgress",
        ready_writes: "finalizer, Creating, Active",
    };
    const SERVES_MODEL: bool = false;

    fn object(name: &str, _model: &str) -> Result<Self::Object> {
        Ok(serde_json::from_value(json!({
            "apiVersion": "bedrock-operator.dev/v1alpha1",
            "kind": "BedrockImportedModel",
            "metadata": { "name": name },
            "spec": {
                "source": { "s3Uri": format!("s3://bench-weights/{name}/") },
                "roleArn": ROLE_ARN,
                "tags": { "bench": "imports" },
                "deletionPolicy": "Delete",
            },
        }))?)
    }

    fn configure(emulator: &mut EmulatorConfig, options: &LifecycleOptions) {
        emulator.import_job_delay = options.creating;
        // The default quotas (1 job at a time, 3 imported models, as AWS's) would hold the
        // second import back and refuse the fourth.
        emulator.limits.max_concurrent_import_jobs = options.objects.max(1);
        emulator.limits.max_imported_models = options.objects.max(1);
    }

    fn left_in_bedrock(emulator: &EmulatorHandle) -> usize {
        emulator.state().imported_models().len()
    }
}

impl Watched for BedrockImportedModel {
    /// It never swaps: an imported model cannot change in Bedrock.
    fn swapped(&self) -> bool {
        true
    }
}

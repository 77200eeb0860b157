//! h: what a BedrockProvisionedThroughput lifecycle costs (see [`super::lifecycle`]): one
//! model unit, no commitment. A swap is an UpdateProvisionedModelThroughput to a model of the
//! same base (the emulator gives every custom model the same one), done when the throughput
//! is InService on the new model.

use anyhow::Result;
use bedrock_emulator::{EmulatorConfig, EmulatorHandle};
use bedrock_operator::api::throughput::{BedrockProvisionedThroughput, ThroughputStatus};
use serde_json::json;

use super::args::LifecycleOptions;
use super::lifecycle::{Kind, Labels};
use super::versions::Watched;

/// Each throughput buys this many; the emulator's quota is raised to cover all of them.
const MODEL_UNITS: usize = 1;

pub(super) struct Throughputs;

impl Kind for Throughputs {
    type Object = BedrockProvisionedThroughput;
    const LABELS: Labels = Labels {
        kind: "BedrockProvisionedThroughput",
        resource: "bedrockprovisionedthroughputs",
        one: "throughput",
        many: "throughputs",
        prefix: "pt",
        model_prefix: "tm",
        swap: "swap",
        swapped: "swapped",
        swapped_when: "InService on the new model",
        creating: "throughputs Creating",
        ready_writes: "finalizer, Creating, InService",
    };

    fn object(name: &str, model: &str) -> Result<Self::Object> {
        Ok(serde_json::from_value(json!({
            "apiVersion": "bedrock-operator.dev/v1alpha1",
            "kind": "BedrockProvisionedThroughput",
            "metadata": { "name": name },
            "spec": {
                "modelRef": { "name": model },
                "modelUnits": MODEL_UNITS,
                "tags": { "bench": "throughputs" },
                "deletionPolicy": "Delete",
            },
        }))?)
    }

    fn configure(emulator: &mut EmulatorConfig, options: &LifecycleOptions) {
        emulator.provisioned_create_delay = options.creating;
        emulator.provisioned_update_delay = options.updating;
        // The default quota (2, as AWS's) would refuse the third throughput.
        emulator.limits.max_provisioned_model_units = options.objects.max(1) * MODEL_UNITS;
    }

    fn left_in_bedrock(emulator: &EmulatorHandle) -> usize {
        emulator.state().provisioned_throughputs().len()
    }
}

impl Watched for BedrockProvisionedThroughput {
    fn swapped(&self) -> bool {
        self.status.as_ref().is_some_and(|s| {
            s.observed_generation == self.metadata.generation
                && s.throughput_status == Some(ThroughputStatus::InService)
                && s.model_arn.is_some()
                && s.model_arn == s.desired_model_arn
        })
    }
}

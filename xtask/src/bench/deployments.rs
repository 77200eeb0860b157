//! g: what a BedrockCustomModelDeployment lifecycle costs (see [`super::lifecycle`]). A swap
//! is an UpdateCustomModelDeployment, done when the deployment is UpdateCompleted on the new
//! model.

use anyhow::Result;
use bedrock_emulator::{EmulatorConfig, EmulatorHandle};
use bedrock_operator::api::deployment::{BedrockCustomModelDeployment, UpdateStatus};
use serde_json::json;

use super::args::LifecycleOptions;
use super::lifecycle::{Kind, Labels};
use super::versions::Watched;

pub(super) struct Deployments;

impl Kind for Deployments {
    type Object = BedrockCustomModelDeployment;
    const LABELS: Labels = Labels {
        kind: "BedrockCustomModelDeployment",
        resource: "bedrockcustommodeldeployments",
        one: "deployment",
        many: "deployments",
        prefix: "dep",
        model_prefix: "dm",
        swap: "rollout",
        swapped: "rolled out",
        swapped_when: "UpdateCompleted on the new model",
        creating: "deployments Creating",
        ready_writes: "finalizer, Creating, Active",
    };

    fn object(name: &str, model: &str) -> Result<Self::Object> {
        Ok(serde_json::from_value(json!({
            "apiVersion": "bedrock-operator.dev/v1alpha1",
            "kind": "BedrockCustomModelDeployment",
            "metadata": { "name": name },
            "spec": {
                "modelRef": { "name": model },
                "tags": { "bench": "deployments" },
                "deletionPolicy": "Delete",
            },
        }))?)
    }

    fn configure(emulator: &mut EmulatorConfig, options: &LifecycleOptions) {
        emulator.deployment_ready_delay = options.creating;
        emulator.deployment_update_delay = options.updating;
        emulator.limits.max_deployments = options.objects.max(1) * 2;
    }

    fn left_in_bedrock(emulator: &EmulatorHandle) -> usize {
        emulator.state().deployments().len()
    }
}

impl Watched for BedrockCustomModelDeployment {
    fn swapped(&self) -> bool {
        self.status.as_ref().is_some_and(|s| {
            s.observed_generation == self.metadata.generation
                && s.update_status == Some(UpdateStatus::UpdateCompleted)
                && s.model_arn.is_some()
                && s.model_arn == s.desired_model_arn
        })
    }
}

//! bedrock-runtime inference: which model a `modelId` reaches, how it answers (its script), and
//! the log of every invocation.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::deployment::DeploymentStatus;
use crate::error::{ApiError, ErrorKind};
use crate::operation::Operation;
use crate::provisioned::ProvisionedStatus;
use crate::runtime::{
    DEFAULT_ANSWER, DEFAULT_MODEL_ERROR, Invocation, InvocationRecord, ModelScript,
};

use super::EmulatorState;

/// The status a model's own failure reports inside ModelErrorException.
const SCRIPTED_MODEL_ERROR_STATUS: u16 = 500;

/// Scripts by model ARN, and the invocation log.
pub(super) struct Runtime {
    scripts: BTreeMap<String, ModelScript>,
    log: Vec<InvocationRecord>,
}

impl Runtime {
    pub(super) fn new() -> Self {
        Runtime {
            scripts: BTreeMap::new(),
            log: Vec::new(),
        }
    }
}

/// ModelNotReadyException for a deployment or throughput still being created: retryable, as
/// the SDKs treat it.
fn not_ready(model_id: &str, status: &str) -> ApiError {
    ApiError::new(
        ErrorKind::ModelNotReady,
        format!(
            "Model {model_id} is not ready to serve inference requests (its status is {status}). Try again once it is ready."
        ),
    )
}

impl EmulatorState {
    /// The model ARN behind `model_id`, if that deployment, throughput or imported model can
    /// serve now.
    fn serving_model(&self, model_id: &str) -> Result<String, ApiError> {
        if model_id.contains(":custom-model-deployment/") {
            let deployment = self
                .deployment(model_id)
                .filter(|deployment| deployment.custom_model_deployment_arn == model_id)
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "The custom model deployment {model_id} could not be found."
                    ))
                })?;
            return match deployment.status {
                DeploymentStatus::Active => Ok(deployment.model_arn),
                DeploymentStatus::Creating => Err(not_ready(model_id, "Creating")),
                DeploymentStatus::Failed => Err(ApiError::validation(format!(
                    "The custom model deployment {model_id} failed and cannot serve inference requests."
                ))),
            };
        }
        if model_id.contains(":provisioned-model/") {
            let throughput = self
                .provisioned_throughput(model_id)
                .filter(|throughput| throughput.provisioned_model_arn == model_id)
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "The provisioned model {model_id} could not be found."
                    ))
                })?;
            // While an update runs, the throughput keeps serving the model it served before.
            return match throughput.status {
                ProvisionedStatus::InService | ProvisionedStatus::Updating => {
                    Ok(throughput.model_arn)
                }
                ProvisionedStatus::Creating => Err(not_ready(model_id, "Creating")),
                ProvisionedStatus::Failed => Err(ApiError::validation(format!(
                    "The provisioned model {model_id} failed and cannot serve inference requests."
                ))),
            };
        }
        if model_id.contains(":imported-model/") {
            // An imported model serves on demand by its own ARN, as long as it exists.
            return self
                .imported_model(model_id)
                .filter(|model| model.model_arn == model_id)
                .map(|model| model.model_arn)
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "The imported model {model_id} could not be found."
                    ))
                });
        }
        Err(ApiError::validation(format!(
            "The emulator serves inference only for custom model deployment, provisioned model and imported model ARNs, not '{model_id}'."
        )))
    }

    /// Decides one Converse or InvokeModel call and logs it: the model behind `model_id`, then
    /// its script. `validated` is the outcome of checking the request body, reported only once
    /// the target is known to serve, so the log names the model even for a malformed body.
    pub(crate) fn invoke(
        &self,
        operation: Operation,
        model_id: &str,
        validated: Result<(), ApiError>,
    ) -> Result<Invocation, ApiError> {
        let time = self.now_millis();
        let served = self.serving_model(model_id);
        let model_arn = served.as_ref().ok().cloned();
        let mut inner = self.lock();
        let result = served.and_then(|model_arn| {
            validated?;
            match inner.runtime.scripts.get(&model_arn) {
                None => Ok(Invocation {
                    text: DEFAULT_ANSWER.to_owned(),
                    delay: Duration::ZERO,
                }),
                Some(ModelScript::Answer { text }) => Ok(Invocation {
                    text: text.clone(),
                    delay: Duration::ZERO,
                }),
                Some(ModelScript::Slow { delay_ms, text }) => Ok(Invocation {
                    text: text.clone().unwrap_or_else(|| DEFAULT_ANSWER.to_owned()),
                    delay: Duration::from_millis(*delay_ms),
                }),
                Some(ModelScript::Error { message }) => Err(ApiError::model_error(
                    message.as_deref().unwrap_or(DEFAULT_MODEL_ERROR),
                    model_id,
                    SCRIPTED_MODEL_ERROR_STATUS,
                )),
            }
        });
        inner.runtime.log.push(InvocationRecord {
            time,
            operation,
            model_id: model_id.to_owned(),
            model_arn,
            outcome: match &result {
                Ok(_) => "Ok".to_owned(),
                Err(error) => error.code().to_owned(),
            },
            answer: result
                .as_ref()
                .ok()
                .map(|invocation| invocation.text.clone()),
        });
        result
    }

    // ----- Inspection and scripting -----

    /// Every Converse and InvokeModel call that got past authentication and injected faults,
    /// in order.
    pub fn invocation_log(&self) -> Vec<InvocationRecord> {
        self.lock().runtime.log.clone()
    }

    /// Sets how the model `model_arn` answers, replacing any script it had.
    pub fn set_model_script(&self, model_arn: &str, script: ModelScript) -> Result<(), ApiError> {
        if model_arn.is_empty() {
            return Err(ApiError::validation("The model ARN must not be empty."));
        }
        self.lock()
            .runtime
            .scripts
            .insert(model_arn.to_owned(), script);
        Ok(())
    }

    /// Back to the default answer for `model_arn`; true if it had a script.
    pub fn clear_model_script(&self, model_arn: &str) -> bool {
        self.lock().runtime.scripts.remove(model_arn).is_some()
    }

    /// Every script, by model ARN.
    pub fn model_scripts(&self) -> BTreeMap<String, ModelScript> {
        self.lock().runtime.scripts.clone()
    }
}

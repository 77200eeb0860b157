//! The Bedrock operations the emulator implements.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One Bedrock API operation, named as in the service model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Operation {
    CreateCustomModel,
    GetCustomModel,
    ListCustomModels,
    DeleteCustomModel,
    TagResource,
    UntagResource,
    ListTagsForResource,
    CreateCustomModelDeployment,
    GetCustomModelDeployment,
    ListCustomModelDeployments,
    UpdateCustomModelDeployment,
    DeleteCustomModelDeployment,
    CreateProvisionedModelThroughput,
    GetProvisionedModelThroughput,
    ListProvisionedModelThroughputs,
    UpdateProvisionedModelThroughput,
    DeleteProvisionedModelThroughput,
    CreateModelImportJob,
    GetModelImportJob,
    ListModelImportJobs,
    GetImportedModel,
    ListImportedModels,
    DeleteImportedModel,
    /// bedrock-runtime
    Converse,
    /// bedrock-runtime
    InvokeModel,
}

impl Operation {
    /// Every operation, in a stable order.
    pub const ALL: [Operation; 25] = [
        Operation::CreateCustomModel,
        Operation::GetCustomModel,
        Operation::ListCustomModels,
        Operation::DeleteCustomModel,
        Operation::TagResource,
        Operation::UntagResource,
        Operation::ListTagsForResource,
        Operation::CreateCustomModelDeployment,
        Operation::GetCustomModelDeployment,
        Operation::ListCustomModelDeployments,
        Operation::UpdateCustomModelDeployment,
        Operation::DeleteCustomModelDeployment,
        Operation::CreateProvisionedModelThroughput,
        Operation::GetProvisionedModelThroughput,
        Operation::ListProvisionedModelThroughputs,
        Operation::UpdateProvisionedModelThroughput,
        Operation::DeleteProvisionedModelThroughput,
        Operation::CreateModelImportJob,
        Operation::GetModelImportJob,
        Operation::ListModelImportJobs,
        Operation::GetImportedModel,
        Operation::ListImportedModels,
        Operation::DeleteImportedModel,
        Operation::Converse,
        Operation::InvokeModel,
    ];

    /// The operation's name in the service model, e.g. `GetCustomModel`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::CreateCustomModel => "CreateCustomModel",
            Operation::GetCustomModel => "GetCustomModel",
            Operation::ListCustomModels => "ListCustomModels",
            Operation::DeleteCustomModel => "DeleteCustomModel",
            Operation::TagResource => "TagResource",
            Operation::UntagResource => "UntagResource",
            Operation::ListTagsForResource => "ListTagsForResource",
            Operation::CreateCustomModelDeployment => "CreateCustomModelDeployment",
            Operation::GetCustomModelDeployment => "GetCustomModelDeployment",
            Operation::ListCustomModelDeployments => "ListCustomModelDeployments",
            Operation::UpdateCustomModelDeployment => "UpdateCustomModelDeployment",
            Operation::DeleteCustomModelDeployment => "DeleteCustomModelDeployment",
            Operation::CreateProvisionedModelThroughput => "CreateProvisionedModelThroughput",
            Operation::GetProvisionedModelThroughput => "GetProvisionedModelThroughput",
            Operation::ListProvisionedModelThroughputs => "ListProvisionedModelThroughputs",
            Operation::UpdateProvisionedModelThroughput => "UpdateProvisionedModelThroughput",
            Operation::DeleteProvisionedModelThroughput => "DeleteProvisionedModelThroughput",
            Operation::CreateModelImportJob => "CreateModelImportJob",
            Operation::GetModelImportJob => "GetModelImportJob",
            Operation::ListModelImportJobs => "ListModelImportJobs",
            Operation::GetImportedModel => "GetImportedModel",
            Operation::ListImportedModels => "ListImportedModels",
            Operation::DeleteImportedModel => "DeleteImportedModel",
            Operation::Converse => "Converse",
            Operation::InvokeModel => "InvokeModel",
        }
    }
}

impl Operation {
    /// The IAM action that allows the operation: its own name, but for Converse, which IAM
    /// allows through `bedrock:InvokeModel` (Converse has no action of its own).
    pub fn iam_action(self) -> String {
        let action = match self {
            Operation::Converse => Operation::InvokeModel,
            other => other,
        };
        format!("bedrock:{action}")
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when a string names no known operation.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown operation '{0}' (expected one of {names})", names = Operation::ALL.map(Operation::as_str).join(", "))]
pub struct UnknownOperation(pub String);

impl FromStr for Operation {
    type Err = UnknownOperation;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Operation::ALL
            .into_iter()
            .find(|operation| operation.as_str() == name)
            .ok_or_else(|| UnknownOperation(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for operation in Operation::ALL {
            assert_eq!(
                operation.as_str().parse::<Operation>().ok(),
                Some(operation)
            );
        }
        assert!("Nope".parse::<Operation>().is_err());
    }
}

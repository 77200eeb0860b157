//! The Bedrock operations the operator calls, in one table. From it come the metrics'
//! `operation` label, the pacing lanes, and the list of IAM actions docs/iam-policy.json must
//! allow (tests/iam_policy.rs checks it). Adding an operation is a line here and a method in
//! `sdk.rs`; the call path gives it pacing, the rate limit, error mapping and metrics.

use std::fmt;

macro_rules! operations {
    ($($(#[doc = $doc:literal])* $operation:ident,)*) => {
        /// One Bedrock API operation, named as in the service model.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Operation {
            $($(#[doc = $doc])* $operation,)*
        }

        impl Operation {
            /// Every operation the operator calls, in table order.
            pub const ALL: [Operation; [$(stringify!($operation),)*].len()] =
                [$(Operation::$operation,)*];

            /// The API name, such as `GetCustomModel`: the metrics' `operation` label, and the
            /// IAM action after `bedrock:`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Operation::$operation => stringify!($operation),)*
                }
            }
        }
    };
}

operations! {
    /// Imports a model; the model kind's create.
    CreateCustomModel,
    /// Reads one model; NotFound is an answer (`None`).
    GetCustomModel,
    /// The sweep of Creating models, every page.
    ListCustomModels,
    /// NotFound is an answer (the model was already gone).
    DeleteCustomModel,
    ListTagsForResource,
    TagResource,
    UntagResource,
    /// Deploys a model for on-demand inference.
    CreateCustomModelDeployment,
    /// Reads one deployment; NotFound is an answer (`None`).
    GetCustomModelDeployment,
    /// Every page.
    ListCustomModelDeployments,
    /// Swaps the deployed model in place.
    UpdateCustomModelDeployment,
    /// NotFound is an answer (the deployment was already gone).
    DeleteCustomModelDeployment,
    /// Buys dedicated capacity for a model (billed by the hour).
    CreateProvisionedModelThroughput,
    /// Reads one throughput; NotFound is an answer (`None`).
    GetProvisionedModelThroughput,
    /// Renames a throughput or swaps its model in place.
    UpdateProvisionedModelThroughput,
    /// NotFound is an answer (the throughput was already gone).
    DeleteProvisionedModelThroughput,
    /// Imports an open-weight model; the imported model kind's create.
    CreateModelImportJob,
    /// Reads one import job; NotFound is an answer (`None`).
    GetModelImportJob,
    /// Reads one imported model; NotFound is an answer (`None`).
    GetImportedModel,
    /// NotFound is an answer (the imported model was already gone).
    DeleteImportedModel,
}

impl Operation {
    /// The IAM action that allows the operation, such as `bedrock:GetCustomModel`.
    pub fn iam_action(self) -> String {
        format!("bedrock:{}", self.as_str())
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn names_are_the_api_names() {
        assert_eq!(Operation::CreateCustomModel.as_str(), "CreateCustomModel");
        assert_eq!(
            Operation::ListCustomModelDeployments.to_string(),
            "ListCustomModelDeployments"
        );
        assert_eq!(
            Operation::DeleteCustomModelDeployment.iam_action(),
            "bedrock:DeleteCustomModelDeployment"
        );
    }

    #[test]
    fn every_operation_is_listed_once() {
        let names: BTreeSet<&str> = Operation::ALL.iter().map(|op| op.as_str()).collect();
        assert_eq!(names.len(), Operation::ALL.len());
        assert_eq!(Operation::ALL.len(), 20);
    }
}

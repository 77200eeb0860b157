//! The kind registry: every resource kind the operator manages, in one list. The CRD files,
//! the metrics' `kind` label and the Bedrock operations (and so the IAM policy) come from it,
//! and tests/kinds.rs fails when the chart's RBAC, the committed CRDs, the Argo CD health
//! checks or the IAM policy disagree with it. docs/adding-a-kind.md lists what else a new kind
//! needs.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use crate::api::{
    BedrockCustomModel, BedrockCustomModelDeployment, BedrockImportedModel,
    BedrockProvisionedThroughput,
};
use crate::bedrock::Operation;
use crate::metrics::KindLabel;

/// One resource kind.
#[derive(Clone, Copy, Debug)]
pub struct Kind {
    /// The Kubernetes kind, and the metrics' `kind` label.
    pub label: KindLabel,
    /// The plural resource name: RBAC rules, the CRD's name.
    pub plural: &'static str,
    /// The Rust file its type lives in (named in the generated CRD's header).
    pub source: &'static str,
    /// Its CRD as generated from the type.
    pub crd: fn() -> CustomResourceDefinition,
    /// The Bedrock operations its lifecycle calls, besides the tag calls every kind makes
    /// ([`TAG_OPERATIONS`]).
    pub operations: &'static [Operation],
    /// Whether it serves a model: references a BedrockCustomModel, whose deletion waits for it.
    pub serves_model: bool,
}

/// The API group of every kind.
pub const GROUP: &str = "bedrock-operator.dev";

/// The tag calls every kind makes on its Bedrock object (ownership, adoption, tag sync).
pub const TAG_OPERATIONS: &[Operation] = &[
    Operation::ListTagsForResource,
    Operation::TagResource,
    Operation::UntagResource,
];

/// The one list of kinds, in the order their CRDs are installed: `for_each_kind!(m)` is
/// `m!(BedrockCustomModel, BedrockCustomModelDeployment, BedrockProvisionedThroughput,
/// BedrockImportedModel)`.
/// [`KINDS`] (the CRDs, the metrics' labels, RBAC, IAM and Argo CD checks) and the
/// controllers' wiring (`controller::run`: caches, controllers, the watches between kinds,
/// the model's users) both come from it.
#[macro_export]
macro_rules! for_each_kind {
    ($m:ident) => {
        $m!(
            $crate::api::BedrockCustomModel,
            $crate::api::BedrockCustomModelDeployment,
            $crate::api::BedrockProvisionedThroughput,
            $crate::api::BedrockImportedModel
        )
    };
}

/// What the registry says of a kind's type.
pub trait Registered {
    const KIND: Kind;
}

macro_rules! kinds {
    ($($kind:ty),+) => {
        [$(<$kind as Registered>::KIND),+]
    };
}

/// Every kind, in the order its CRD is installed.
pub const KINDS: &[Kind] = &for_each_kind!(kinds);

impl Registered for BedrockCustomModel {
    const KIND: Kind = Kind {
        label: KindLabel("BedrockCustomModel"),
        plural: "bedrockcustommodels",
        source: "src/api/model.rs",
        crd: BedrockCustomModel::crd,
        operations: &[
            Operation::CreateCustomModel,
            Operation::GetCustomModel,
            Operation::ListCustomModels,
            Operation::DeleteCustomModel,
        ],
        serves_model: false,
    };
}

impl Registered for BedrockCustomModelDeployment {
    const KIND: Kind = Kind {
        label: KindLabel("BedrockCustomModelDeployment"),
        plural: "bedrockcustommodeldeployments",
        source: "src/api/deployment.rs",
        crd: BedrockCustomModelDeployment::crd,
        operations: &[
            Operation::CreateCustomModelDeployment,
            Operation::GetCustomModelDeployment,
            Operation::ListCustomModelDeployments,
            Operation::UpdateCustomModelDeployment,
            Operation::DeleteCustomModelDeployment,
        ],
        serves_model: true,
    };
}

impl Registered for BedrockProvisionedThroughput {
    const KIND: Kind = Kind {
        label: KindLabel("BedrockProvisionedThroughput"),
        plural: "bedrockprovisionedthroughputs",
        source: "src/api/throughput.rs",
        crd: BedrockProvisionedThroughput::crd,
        operations: &[
            Operation::CreateProvisionedModelThroughput,
            Operation::GetProvisionedModelThroughput,
            Operation::UpdateProvisionedModelThroughput,
            Operation::DeleteProvisionedModelThroughput,
        ],
        serves_model: true,
    };
}

impl Registered for BedrockImportedModel {
    const KIND: Kind = Kind {
        label: KindLabel("BedrockImportedModel"),
        plural: "bedrockimportedmodels",
        source: "src/api/imported.rs",
        crd: BedrockImportedModel::crd,
        operations: &[
            Operation::CreateModelImportJob,
            Operation::GetModelImportJob,
            Operation::GetImportedModel,
            Operation::DeleteImportedModel,
        ],
        serves_model: false,
    };
}

impl Kind {
    /// The Kubernetes kind: "BedrockCustomModel".
    pub fn name(&self) -> String {
        self.label.name().to_string()
    }

    /// The CRD's name: `<plural>.<group>`.
    pub fn crd_name(&self) -> String {
        format!("{}.{GROUP}", self.plural)
    }
}

/// The Bedrock operations of every kind together: what the operator calls.
pub fn operations() -> Vec<Operation> {
    let mut all: Vec<Operation> = KINDS
        .iter()
        .flat_map(|kind| kind.operations.iter().copied())
        .chain(TAG_OPERATIONS.iter().copied())
        .collect();
    all.sort();
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_names_every_operation_the_operator_calls_and_no_other() {
        let mut called = Operation::ALL.to_vec();
        called.sort();
        assert_eq!(operations(), called);
    }

    #[test]
    fn each_kinds_crd_is_its_kind_and_plural_in_the_group() {
        for kind in KINDS {
            let crd = (kind.crd)();
            assert_eq!(crd.spec.group, GROUP);
            assert_eq!(crd.spec.names.kind, kind.name());
            assert_eq!(crd.spec.names.plural, kind.plural);
            assert_eq!(crd.metadata.name.as_deref(), Some(kind.crd_name().as_str()));
        }
    }

    #[test]
    fn no_two_kinds_share_a_label_or_a_plural() {
        for (i, a) in KINDS.iter().enumerate() {
            for b in &KINDS[i + 1..] {
                assert_ne!(a.label, b.label);
                assert_ne!(a.plural, b.plural);
            }
        }
    }
}

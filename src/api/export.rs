//! `spec.export` of the kinds that serve a model (deployments, provisioned throughputs): a
//! ConfigMap of the resource's namespace that tells an app what to invoke, so that the app needs
//! neither RBAC on the operator's resources nor a hard-coded ARN (`envFrom` it).
//!
//! The doc comments on these types become the field descriptions of the CRDs.

use std::collections::BTreeMap;

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use super::patterns;

/// The key of the ID to invoke: the deployment's or provisioned throughput's ARN, the modelId
/// of InvokeModel and Converse.
pub const MODEL_ID_KEY: &str = "BEDROCK_MODEL_ID";
/// The key of the ARN of the model it serves.
pub const MODEL_ARN_KEY: &str = "BEDROCK_MODEL_ARN";
/// The key of the region to call Bedrock in: the AWS SDKs read it.
pub const REGION_KEY: &str = "AWS_REGION";

/// What the default ConfigMap name adds to metadata.name.
pub const DEFAULT_SUFFIX: &str = "-bedrock";

/// Publish what an app needs to invoke the model as a ConfigMap in this resource's namespace,
/// for the app to read with envFrom: BEDROCK_MODEL_ID (the ARN to pass as modelId),
/// BEDROCK_MODEL_ARN (the model served) and AWS_REGION. The operator writes it once the
/// Bedrock object has an ARN and again whenever one of them changes (a model rollout
/// completes); the ConfigMap is owned by this resource and deleted with it, or when export is
/// removed. A ConfigMap of that name that this resource does not own is never changed.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Export {
    /// The ConfigMap's name: a DNS subdomain (lowercase letters, digits, '-' and '.', at most
    /// 253 characters). Defaults to metadata.name followed by "-bedrock". Changing it moves
    /// the data to the new ConfigMap and deletes the old one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = patterns::OBJECT_NAME)
    )]
    pub config_map_name: Option<String>,
}

impl Export {
    /// The ConfigMap's name: configMapName, else `<resource>-bedrock` (`resource`: the
    /// resource's metadata.name).
    pub fn config_map_name(&self, resource: &str) -> String {
        self.config_map_name
            .clone()
            .unwrap_or_else(|| format!("{resource}{DEFAULT_SUFFIX}"))
    }
}

/// The ConfigMap the operator last wrote for spec.export, and what it holds.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ExportStatus {
    /// The name of the ConfigMap, in this resource's namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub config_map_name: String,
    /// The data written to it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
}

/// What an app needs to invoke the served model: the ID to invoke, the model it serves and the
/// region. `None` until all three are known.
pub fn data(
    model_id: Option<&str>,
    model_arn: Option<&str>,
    region: Option<&str>,
) -> Option<BTreeMap<String, String>> {
    let (model_id, model_arn, region) = (model_id?, model_arn?, region?);
    Some(BTreeMap::from([
        (MODEL_ID_KEY.to_string(), model_id.to_string()),
        (MODEL_ARN_KEY.to_string(), model_arn.to_string()),
        (REGION_KEY.to_string(), region.to_string()),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_name_is_the_resources_with_a_suffix() {
        assert_eq!(Export::default().config_map_name("chat"), "chat-bedrock");
        let named = Export {
            config_map_name: Some("chat-endpoint".into()),
        };
        assert_eq!(named.config_map_name("chat"), "chat-endpoint");
    }

    #[test]
    fn data_holds_the_three_keys_once_all_are_known() {
        let data = data(Some("arn:d"), Some("arn:m"), Some("us-east-1")).expect("all known");
        assert_eq!(
            data,
            BTreeMap::from([
                ("AWS_REGION".to_string(), "us-east-1".to_string()),
                ("BEDROCK_MODEL_ARN".to_string(), "arn:m".to_string()),
                ("BEDROCK_MODEL_ID".to_string(), "arn:d".to_string()),
            ])
        );
        assert_eq!(super::data(None, Some("arn:m"), Some("us-east-1")), None);
        assert_eq!(super::data(Some("arn:d"), None, Some("us-east-1")), None);
        assert_eq!(super::data(Some("arn:d"), Some("arn:m"), None), None);
    }
}

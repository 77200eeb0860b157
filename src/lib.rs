//! bedrock-operator: manages Amazon Bedrock imported custom models as Kubernetes resources.

pub mod api;
pub mod bedrock;
pub mod cli;
pub mod cluster;
pub mod controller;
pub mod crd;
pub mod fault;
pub mod kinds;
pub mod leader;
pub mod metrics;
pub mod operator;
pub mod server;
pub mod startup;
pub mod telemetry;

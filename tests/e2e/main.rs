//! End-to-end: the real operator binary against a real kube-apiserver + etcd and the Bedrock
//! emulator (spoken to by the real aws-sdk-bedrock client). Each test owns a namespace, an
//! emulator and an operator process, and asserts what a user would see on the resource as well
//! as what happened in Bedrock.

mod clusters;
mod cost;
mod deployments;
mod failures;
mod guards;
mod harness;
mod imports;
mod lifecycle;
mod ownership;
mod robustness;
mod spend;
mod throughputs;

mod argocd;
mod chaos;
mod gitops;
mod operations;
mod rbac;

//! Tests of `settled`: this generation fully reconciled with nothing pending.

use super::*;

#[test]
fn settled_means_this_generation_is_fully_reconciled_with_nothing_pending() {
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    // A status as the operator writes it after reconciling `state` at GENERATION.
    let written = |state: &str, reason_: &str| {
        let mut status = status_with(state, |st| {
            st.observed_generation = Some(GENERATION);
            st.tags_synced_generation = Some(GENERATION);
        });
        status.conditions = conditions::merge(
            &[],
            &[Desired::new(
                conditions::READY,
                state == "Active",
                reason_,
                "m",
            )],
            Some(GENERATION),
            &now,
        );
        status
    };
    let active = written("Active", reason::ACTIVE);
    let failed = written("Failed", reason::FAILED);
    let cases: Vec<(&str, BedrockCustomModel, bool)> = vec![
        (
            "Active, this generation, tags synced",
            resource(spec(), Some(active.clone())),
            true,
        ),
        (
            "Failed, no retry asked",
            resource(spec(), Some(failed.clone())),
            true,
        ),
        (
            "Failed, the retry already handled",
            resource_with(
                spec(),
                Some(BedrockCustomModelStatus {
                    retry_handled: Some("1".into()),
                    ..failed.clone()
                }),
                &[(RETRY_ANNOTATION, "1")],
            ),
            true,
        ),
        (
            "Failed, a new retry asked",
            resource_with(spec(), Some(failed.clone()), &[(RETRY_ANNOTATION, "1")]),
            false,
        ),
        ("no status", resource(spec(), None), false),
        (
            "Creating",
            resource(spec(), Some(written("Creating", reason::CREATING))),
            false,
        ),
        (
            "spec changed since (older observedGeneration)",
            resource(
                spec(),
                Some(BedrockCustomModelStatus {
                    observed_generation: Some(GENERATION - 1),
                    ..active.clone()
                }),
            ),
            false,
        ),
        (
            "tags of an older generation",
            resource(
                spec(),
                Some(BedrockCustomModelStatus {
                    tags_synced_generation: Some(GENERATION - 1),
                    ..active.clone()
                }),
            ),
            false,
        ),
        (
            "Active in Bedrock but Ready shows an error",
            resource(spec(), Some(written("Active", reason::THROTTLED))),
            false,
        ),
        (
            "no model",
            resource(
                spec(),
                Some(BedrockCustomModelStatus {
                    model_arn: None,
                    ..active.clone()
                }),
            ),
            false,
        ),
    ];
    for (case, resource, want) in cases {
        assert_eq!(settled(&resource), want, "{case}");
    }
}

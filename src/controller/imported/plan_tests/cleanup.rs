//! What deleting the resource takes.

use super::*;
use crate::controller::scope::NamespaceScope;

#[test]
fn deletion_takes_the_held_import_a_look_up_or_nothing() {
    let mut retained = resource(Some(holding(JobStatus::Completed)));
    retained.spec.deletion_policy = DeletionPolicy::Retain;
    let mut invalid = resource(None);
    invalid.spec.role_arn = "not-a-role".into();
    for (name, resource, expected) in [
        ("Retain keeps the model", retained, Cleanup::Retain),
        (
            "the held job's model is deleted",
            resource(Some(holding(JobStatus::Completed))),
            Cleanup::Delete {
                arn: JOB_ARN.into(),
            },
        ),
        (
            "nothing held: looked up by name",
            resource(None),
            Cleanup::LookUp { name: NAME.into() },
        ),
        (
            "an invalid spec never reached Bedrock",
            invalid,
            Cleanup::Nothing,
        ),
    ] {
        assert_eq!(cleanup(&resource, &NamespaceScope::All), expected, "{name}");
    }
}

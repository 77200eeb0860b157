//! Request ids: every answer, success or error, carries a fresh one in `x-amzn-RequestId`, as
//! AWS's do.

pub(crate) const REQUEST_ID_HEADER: &str = "x-amzn-requestid";

/// A fresh request id in UUID form, as AWS sends in `x-amzn-RequestId`.
pub(crate) fn new_request_id() -> String {
    let bits: u128 = rand::random();
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_look_like_uuids() {
        let id = new_request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
    }
}

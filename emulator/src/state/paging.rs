//! Sorting and paging of the list operations, shared by every table: creation-time order with
//! creation order as the tie-break, and opaque page tokens that remember a position.

use crate::error::ApiError;
use crate::validate::SortOrder;

/// The key every list sorts and pages on: creation time in milliseconds, then creation order.
pub(super) type SortKey = (i64, u64);

/// Sorts `matching` by `key` in `order` and cuts the page that follows `next_token`; returns the
/// page and the token of the page after it, if any.
pub(super) fn page<T>(
    mut matching: Vec<T>,
    key: impl Fn(&T) -> SortKey,
    order: SortOrder,
    next_token: Option<&str>,
    max_results: usize,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let after = next_token
        .map(|token| decode_page_token(token, order))
        .transpose()?;
    matching.sort_by_key(|item| key(item));
    if order == SortOrder::Descending {
        matching.reverse();
    }
    let start = match after {
        None => 0,
        Some(after) => matching
            .iter()
            .position(|item| match order {
                SortOrder::Ascending => key(item) > after,
                SortOrder::Descending => key(item) < after,
            })
            .unwrap_or(matching.len()),
    };
    let end = matching.len().min(start.saturating_add(max_results));
    let next_token = (start < end && end < matching.len())
        .then(|| encode_page_token(key(&matching[end - 1]), order));
    let page = matching.drain(start..end).collect();
    Ok((page, next_token))
}

/// Page tokens are opaque to clients: the sort key of the last summary returned, tied to the
/// sort order, hex-encoded.
pub(super) fn encode_page_token(key: SortKey, order: SortOrder) -> String {
    let order = match order {
        SortOrder::Ascending => 'A',
        SortOrder::Descending => 'D',
    };
    hex::encode(format!("v1:{order}:{}:{}", key.0, key.1))
}

pub(super) fn decode_page_token(token: &str, order: SortOrder) -> Result<SortKey, ApiError> {
    let invalid = || ApiError::validation(format!("The nextToken '{token}' is not valid."));
    let bytes = hex::decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.split(':');
    let (Some("v1"), Some(token_order), Some(millis), Some(seq), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(invalid());
    };
    let expected = match order {
        SortOrder::Ascending => "A",
        SortOrder::Descending => "D",
    };
    if token_order != expected {
        return Err(ApiError::validation(format!(
            "The nextToken '{token}' was issued for a different sortOrder."
        )));
    }
    let millis = millis.parse().map_err(|_| invalid())?;
    let seq = seq.parse().map_err(|_| invalid())?;
    Ok((millis, seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_reject_garbage() {
        let token = encode_page_token((1_700_000_000_000, 7), SortOrder::Ascending);
        assert_eq!(
            decode_page_token(&token, SortOrder::Ascending).ok(),
            Some((1_700_000_000_000, 7))
        );
        assert!(decode_page_token(&token, SortOrder::Descending).is_err());
        assert!(decode_page_token("zz", SortOrder::Ascending).is_err());
        assert!(decode_page_token(&hex::encode("v1:A:x:1"), SortOrder::Ascending).is_err());
    }

    #[test]
    fn pages_follow_the_token_in_either_order() {
        let items: Vec<SortKey> = vec![(3, 2), (1, 0), (2, 1)];
        let (first, token) =
            page(items.clone(), |key| *key, SortOrder::Ascending, None, 2).unwrap_or_default();
        assert_eq!(first, [(1, 0), (2, 1)]);
        let (second, last) = page(
            items.clone(),
            |key| *key,
            SortOrder::Ascending,
            token.as_deref(),
            2,
        )
        .unwrap_or_default();
        assert_eq!((second, last), (vec![(3, 2)], None));
        let (descending, _) =
            page(items, |key| *key, SortOrder::Descending, None, 5).unwrap_or_default();
        assert_eq!(descending, [(3, 2), (2, 1), (1, 0)]);
    }
}

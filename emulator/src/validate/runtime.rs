//! bedrock-runtime requests: the `modelId` label, the Converse body and the InvokeModel body.

use serde_json::Value;

use super::{StringRule, Violations, list, parse_object, path_label, structure};
use crate::error::ApiError;
use crate::runtime::token_count;

/// `modelId` (ConversationalModelId, InvokeModelIdentifier): 1 to 2048 characters. The
/// service model's pattern admits almost anything (`[a-zA-Z0-9-:.]+` is one alternative); the
/// emulator checks what it serves when it resolves the id.
const RUNTIME_MODEL_ID_RULE: StringRule = StringRule {
    min: 1,
    max: Some(2048),
    matches: |_| true,
    pattern_text: ".*",
};

const ROLES: [&str; 2] = ["user", "assistant"];

/// The percent-decoded `{modelId}` path label.
pub(crate) fn parse_runtime_model_id(raw: &str) -> Result<String, ApiError> {
    path_label(raw, "modelId", &RUNTIME_MODEL_ID_RULE)
}

/// A validated Converse request: what the emulator needs of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ConverseInput {
    /// Words in the text blocks of `messages` and `system`.
    pub input_tokens: i32,
}

/// Checks a Converse body: `messages` is a non-empty list that starts with a user message,
/// each message with a role of the enum and a list of content blocks; `inferenceConfig`, when
/// given, a structure with a positive `maxTokens`.
pub(crate) fn parse_converse(body: &[u8]) -> Result<ConverseInput, ApiError> {
    let root = parse_object(body)?;
    let mut violations = Violations::default();
    let mut text = String::new();
    match list(&root, "messages", "messages", &mut violations) {
        None if !root.contains_key("messages") || root["messages"].is_null() => {
            violations.null("messages");
        }
        None => {}
        Some(messages) => {
            if messages.is_empty() {
                violations.push(
                    "messages",
                    Some("[]"),
                    "Member must have length greater than or equal to 1",
                );
            }
            for (index, message) in messages.iter().enumerate() {
                let path = format!("messages.{}.member", index + 1);
                let Value::Object(message) = message else {
                    violations.push(
                        &path,
                        Some(&message.to_string()),
                        "Member must be a structure",
                    );
                    continue;
                };
                match message.get("role").and_then(Value::as_str) {
                    None => violations.null(&format!("{path}.role")),
                    Some(role) => {
                        if violations.check_enum(&format!("{path}.role"), role, &ROLES)
                            && index == 0
                            && role != "user"
                        {
                            return Err(ApiError::validation(
                                "A conversation must start with a user message. Try again with a conversation that starts with a user message.",
                            ));
                        }
                    }
                }
                match list(
                    message,
                    "content",
                    &format!("{path}.content"),
                    &mut violations,
                ) {
                    None => violations.null(&format!("{path}.content")),
                    Some(blocks) => {
                        for block in blocks {
                            if let Some(block_text) = block.get("text").and_then(Value::as_str) {
                                text.push(' ');
                                text.push_str(block_text);
                            }
                        }
                    }
                }
            }
        }
    }
    if let Some(system) = list(&root, "system", "system", &mut violations) {
        for block in system {
            if let Some(block_text) = block.get("text").and_then(Value::as_str) {
                text.push(' ');
                text.push_str(block_text);
            }
        }
    }
    if let Some(config) = structure(&root, "inferenceConfig", "inferenceConfig", &mut violations)
        && let Some(max_tokens) = config.get("maxTokens")
        && max_tokens.as_i64().is_none_or(|max_tokens| max_tokens < 1)
    {
        violations.push(
            "inferenceConfig.maxTokens",
            Some(&max_tokens.to_string()),
            "Member must have value greater than or equal to 1",
        );
    }
    violations.into_result()?;
    Ok(ConverseInput {
        input_tokens: token_count(&text),
    })
}

/// Checks an InvokeModel body: the models the emulator serves (Amazon Nova) take a JSON object.
/// Returns the words of its prompt texts (`text`, `inputText` and `prompt` members at any
/// depth), the emulator's input token count.
pub(crate) fn parse_invoke_model(body: &[u8]) -> Result<i32, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::validation(
            "Malformed input request: the body is empty, please reformat your input and try again.",
        ));
    }
    let root = parse_object(body).map_err(|_| {
        ApiError::validation(
            "Malformed input request: the body is not a JSON object, please reformat your input and try again.",
        )
    })?;
    let mut text = String::new();
    collect_prompt_text(&Value::Object(root), &mut text);
    Ok(token_count(&text))
}

const PROMPT_MEMBERS: [&str; 3] = ["text", "inputText", "prompt"];

fn collect_prompt_text(value: &Value, text: &mut String) {
    match value {
        Value::Array(items) => items
            .iter()
            .for_each(|item| collect_prompt_text(item, text)),
        Value::Object(object) => {
            for (key, item) in object {
                match item {
                    Value::String(string) if PROMPT_MEMBERS.contains(&key.as_str()) => {
                        text.push(' ');
                        text.push_str(string);
                    }
                    _ => collect_prompt_text(item, text),
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converse_counts_words_of_text_blocks() {
        let body = br#"{"messages":[{"role":"user","content":[{"text":"two words"}]}],"system":[{"text":"three more words"}]}"#;
        assert_eq!(parse_converse(body).map(|input| input.input_tokens), Ok(5));
    }

    #[test]
    fn converse_without_messages_is_a_validation_error() {
        let error = parse_converse(b"{}")
            .err()
            .map(|error| error.message().to_owned());
        assert_eq!(
            error.as_deref(),
            Some(
                "1 validation error detected: Value null at 'messages' failed to satisfy constraint: Member must not be null"
            )
        );
    }

    #[test]
    fn converse_must_start_with_a_user_message() {
        let body = br#"{"messages":[{"role":"assistant","content":[{"text":"hi"}]}]}"#;
        assert!(
            parse_converse(body)
                .is_err_and(|error| error.message().contains("start with a user message"))
        );
    }

    #[test]
    fn converse_role_outside_the_enum_is_named() {
        let body = br#"{"messages":[{"role":"robot","content":[]}]}"#;
        assert!(
            parse_converse(body)
                .is_err_and(|error| error.message().contains("messages.1.member.role"))
        );
    }

    #[test]
    fn invoke_model_needs_a_json_object() {
        assert!(parse_invoke_model(b"not json").is_err());
        assert!(parse_invoke_model(b"").is_err());
        assert_eq!(
            parse_invoke_model(br#"{"messages":[{"role":"user","content":[{"text":"a b c"}]}]}"#),
            Ok(3)
        );
    }
}

//! Reading request bodies: size-limited, strict JSON, errors that name the field.

use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The largest JSON body any route takes; carts and forms are far smaller.
pub const MAX_JSON_BYTES: usize = 16 * 1024;
/// The largest batch of behaviour events: 100 events of a few hundred bytes each.
pub const MAX_BATCH_BYTES: usize = 64 * 1024;

/// Parses a JSON body into `T` (whose types say `deny_unknown_fields` where it matters). Every
/// route takes a JSON object: anything else is refused, also an array serde would read into a
/// struct's fields by position. An error names the field at fault by its path (`address.phone`)
/// when there is one, else `body`.
pub fn parse_json<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    if text.len() > MAX_BATCH_BYTES {
        return Err(ApiError::PayloadTooLarge { max_bytes: MAX_BATCH_BYTES });
    }
    if !text.trim_start().starts_with('{') {
        return Err(ApiError::bad_request("body", "the body must be a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        ApiError::bad_request(field_at_fault(&path, &message), message)
    })?;
    deserializer.end().map_err(|e| ApiError::bad_request("body", e.to_string()))?;
    Ok(parsed)
}

/// The field an error is about: serde names an unknown or missing one in its message, below
/// the path where it was met; any other error is about the value at the path.
fn field_at_fault(path: &str, message: &str) -> String {
    let path = path.trim_start_matches('.');
    let named = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|marker| message.split(marker).nth(1).and_then(|rest| rest.split('`').next()));
    match named {
        Some(name) if path.is_empty() || path == name || path.ends_with(&format!(".{name}")) => {
            if path.is_empty() {
                name.to_owned()
            } else {
                path.to_owned()
            }
        }
        Some(name) => format!("{path}.{name}"),
        None if path.is_empty() || path == "?" => "body".to_owned(),
        None => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Form {
        phone: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Order {
        address: Address,
        lines: Vec<Line>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Address {
        phone: String,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Line {
        quantity: u8,
    }

    #[test]
    fn nested_fields_are_named_by_their_path() {
        let field = |text: &str| match parse_json::<Order>(text) {
            Err(ApiError::BadRequest { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(r#"{"address":{"phone":1},"lines":[]}"#), "address.phone");
        assert_eq!(field(r#"{"address":{},"lines":[]}"#), "address.phone");
        assert_eq!(field(r#"{"address":{"phone":"1","x":1},"lines":[]}"#), "address.x");
        assert_eq!(field(r#"{"address":{"phone":"1"},"lines":[{"quantity":-1}]}"#), "lines[0].quantity");
        assert_eq!(field(r#"{"lines":[]}"#), "address");
    }

    fn field(text: &str) -> String {
        match parse_json::<Form>(text) {
            Err(ApiError::BadRequest { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_the_field_or_the_body() {
        assert_eq!(field(r#"{"phone":"1","admin":true}"#), "admin");
        assert_eq!(field("{}"), "phone");
        assert_eq!(field("{not json"), "body");
        assert_eq!(field(r#"{"phone":3}"#), "phone", "the field whose value is wrong");
        assert_eq!(field(r#"["13800138000"]"#), "body", "an array is not the object the route takes");
        assert_eq!(field(r#"{"phone":"1"} {"phone":"2"}"#), "body");
        assert!(matches!(parse_json::<Form>(&"x".repeat(MAX_BATCH_BYTES + 1)), Err(ApiError::PayloadTooLarge { .. })));
    }
}

//! Reading request bodies: size-limited, strict JSON, errors that name the field.

use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The largest JSON body any route takes; carts and forms are far smaller.
pub const MAX_JSON_BYTES: usize = 16 * 1024;
/// The largest batch of behaviour events: 100 events of a few hundred bytes each.
pub const MAX_BATCH_BYTES: usize = 64 * 1024;

/// Parses a JSON body into `T` (whose types say `deny_unknown_fields` where it matters). The
/// field of a serde error is named when serde names it (`unknown field `x``, `missing field `y``).
pub fn parse_json<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    if text.len() > MAX_BATCH_BYTES {
        return Err(ApiError::PayloadTooLarge { max_bytes: MAX_BATCH_BYTES });
    }
    serde_json::from_str(text).map_err(|error| {
        let message = error.to_string();
        let field = message.split('`').nth(1).filter(|_| message.contains("field `")).unwrap_or("body").to_owned();
        ApiError::bad_request(field, message)
    })
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
        assert_eq!(field(r#"{"phone":3}"#), "body");
        assert!(matches!(parse_json::<Form>(&"x".repeat(MAX_BATCH_BYTES + 1)), Err(ApiError::PayloadTooLarge { .. })));
    }
}

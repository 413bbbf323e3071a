//! Reading request bodies: size-limited, strict JSON, errors that name the field.

use std::borrow::Cow;

use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The largest JSON body any route takes; carts and forms are far smaller.
pub const MAX_JSON_BYTES: usize = 16 * 1024;
/// The largest batch of behaviour events: 100 events of a few hundred bytes each.
pub const MAX_BATCH_BYTES: usize = 64 * 1024;

/// Parses a JSON body into `T` (whose types say `deny_unknown_fields` where it matters). Every
/// route takes a JSON object: anything else is refused, also an array serde would read into a
/// struct's fields by position. An error names the field at fault by its path (`address.phone`)
/// when there is one, else `body`. A number is an integer when its value is one, as JSON
/// Schema says (`1.0` and `1e2` are the integers 1 and 100).
pub fn parse_json<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    if text.len() > MAX_BATCH_BYTES {
        return Err(ApiError::PayloadTooLarge { max_bytes: MAX_BATCH_BYTES });
    }
    if !text.trim_start().starts_with('{') {
        return Err(ApiError::bad_request("body", "the body must be a JSON object"));
    }
    let text = integral_numbers(text);
    let mut deserializer = serde_json::Deserializer::from_str(&text);
    let parsed = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        ApiError::bad_request(field_at_fault(&path, &message), message)
    })?;
    deserializer.end().map_err(|e| ApiError::bad_request("body", e.to_string()))?;
    Ok(parsed)
}

/// The largest integer a JSON number written with a fraction or an exponent is read as exactly.
const EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// `text` with every number outside strings that is written with a fraction or an exponent but
/// whose value is an integer (`1.0`, `2.50e2`) written as that integer; everything else as it
/// was. Malformed JSON is left for the parser to refuse.
fn integral_numbers(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if b == b'-' || b.is_ascii_digit() {
            let start = i;
            i += 1;
            while i < bytes.len() && matches!(bytes[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
                i += 1;
            }
            let token = &text[start..i];
            if token.contains(['.', 'e', 'E'])
                && let Ok(value) = token.parse::<f64>()
                && value.fract() == 0.0
                && value.abs() <= EXACT_INTEGER
            {
                let written = out.get_or_insert_with(|| String::with_capacity(text.len()));
                written.push_str(&text[copied..start]);
                #[allow(clippy::cast_possible_truncation)]
                written.push_str(&(value as i64).to_string());
                copied = i;
            }
            continue;
        }
        i += 1;
    }
    match out {
        Some(mut written) => {
            written.push_str(&text[copied..]);
            Cow::Owned(written)
        }
        None => Cow::Borrowed(text),
    }
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

    #[derive(Debug, Deserialize, PartialEq)]
    struct Amounts {
        amount: i64,
        note: String,
        lines: Vec<u8>,
    }

    #[test]
    fn a_number_is_an_integer_when_its_value_is_one() {
        let read =
            parse_json::<Amounts>(r#"{"amount": 1.0e3, "note": "1.0 \" 2.0", "lines": [1.0, 2, 3.00]}"#).unwrap();
        assert_eq!(read, Amounts { amount: 1000, note: "1.0 \" 2.0".into(), lines: vec![1, 2, 3] });
        let bad = |text: &str| match parse_json::<Amounts>(text) {
            Err(ApiError::BadRequest { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(bad(r#"{"amount": 1.5, "note": "", "lines": []}"#), "amount", "a fraction is not an integer");
        assert_eq!(bad(r#"{"amount": 1e300, "note": "", "lines": []}"#), "amount", "nor a number past exactness");
        assert_eq!(
            bad(r#"{"amount": 1, "note": "", "lines": [-1.0]}"#),
            "lines[0]",
            "and the type's range still holds"
        );
        assert_eq!(integral_numbers(r#"{"a": 1, "b": "x"}"#), Cow::Borrowed(r#"{"a": 1, "b": "x"}"#));
    }
}

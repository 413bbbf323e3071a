//! The API document as a contract: every successful JSON answer the tests receive is checked
//! against the schema `worker/openapi.json` gives for its route and status (the schemas come
//! from the wire types, `cargo xtask openapi`). A small validator of the JSON Schema the
//! document uses: `$ref`, `type`, `enum`, `const`, `properties`, `required`,
//! `additionalProperties`, `items`, `prefixItems`, `oneOf`, `anyOf`, `allOf`, bounds.

use std::sync::OnceLock;

use serde_json::Value;

fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| serde_json::from_str(include_str!("../../worker/openapi.json")).expect("the API document"))
}

/// The documented path a concrete one is (`/api/orders/o-1` is `/api/orders/{id}`); a literal
/// segment wins over a parameter.
fn template_of(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.split('/').collect();
    let paths = document()["paths"].as_object()?;
    paths
        .keys()
        .filter(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            parts.len() == segments.len()
                && parts.iter().zip(&segments).all(|(p, s)| *p == *s || (p.starts_with('{') && p.ends_with('}')))
        })
        .min_by_key(|template| template.matches('{').count())
        .map(String::as_str)
}

/// Checks an answer against its documented schema; panics naming where it differs. Answers of
/// routes or statuses the document gives no JSON schema for are not checked here.
pub fn check(method: &str, path_and_query: &str, status: u16, content_type: &str, text: &str) {
    if !(200..300).contains(&status) || !content_type.starts_with("application/json") {
        return;
    }
    let path = path_and_query.split('?').next().unwrap_or_default();
    let Some(template) = template_of(path) else { return };
    let operation = &document()["paths"][template][method.to_lowercase()];
    let schema = &operation["responses"][status.to_string()]["content"]["application/json"]["schema"];
    if schema.is_null() {
        return;
    }
    let value: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e})"));
    if let Err(at) = conforms(&value, schema, "$") {
        panic!("{method} {path} answered {status} outside its documented schema: {at}\n{text}");
    }
}

fn resolve(schema: &Value) -> &Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(document().pointer(pointer).unwrap_or_else(|| panic!("{reference} is not in the document")))
        }
        None => schema,
    }
}

fn type_matches(value: &Value, name: &str) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => false,
    }
}

/// Whether `value` is one `schema` allows; where it is not, the path into the value and why.
pub fn conforms(value: &Value, schema: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(schema);
    if schema == &Value::Bool(true) {
        return Ok(());
    }
    if schema == &Value::Bool(false) {
        return Err(format!("{at}: nothing is allowed here"));
    }
    if let Some(kind) = schema.get("type") {
        let names: Vec<&str> = match kind {
            Value::String(name) => vec![name.as_str()],
            Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !names.iter().any(|name| type_matches(value, name)) {
            return Err(format!("{at}: {value} is not {names:?}"));
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        return Err(format!("{at}: {value} is not {constant}"));
    }
    if let Some(number) = value.as_f64() {
        if schema.get("minimum").and_then(Value::as_f64).is_some_and(|min| number < min) {
            return Err(format!("{at}: {value} is below the minimum"));
        }
        if schema.get("maximum").and_then(Value::as_f64).is_some_and(|max| number > max) {
            return Err(format!("{at}: {value} is above the maximum"));
        }
    }
    if let Some(object) = value.as_object() {
        for name in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            if !object.contains_key(name) {
                return Err(format!("{at}: `{name}` is missing"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, field) in object {
            let here = format!("{at}.{name}");
            match properties.and_then(|p| p.get(name)) {
                Some(property) => conforms(field, property, &here)?,
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => return Err(format!("{here}: not a documented field")),
                    Some(extra @ Value::Object(_)) => conforms(field, extra, &here)?,
                    _ => {}
                },
            }
        }
    }
    if let Some(items) = value.as_array() {
        let prefix = schema.get("prefixItems").and_then(Value::as_array);
        for (index, item) in items.iter().enumerate() {
            let here = format!("{at}[{index}]");
            match prefix.and_then(|p| p.get(index)) {
                Some(positional) => conforms(item, positional, &here)?,
                None => {
                    if let Some(each) = schema.get("items") {
                        conforms(item, each, &here)?;
                    }
                }
            }
        }
    }
    for all in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        conforms(value, all, at)?;
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array)
        && !any.iter().any(|option| conforms(value, option, at).is_ok())
    {
        return Err(format!("{at}: {value} matches none of anyOf"));
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = one.iter().filter(|option| conforms(value, option, at).is_ok()).count();
        if matching != 1 {
            let reasons: Vec<String> = one.iter().filter_map(|o| conforms(value, o, at).err()).collect();
            return Err(format!("{at}: {value} matches {matching} of oneOf ({})", reasons.join("; ")));
        }
    }
    Ok(())
}

#[test]
fn the_checker_refuses_what_a_schema_does_not_allow() {
    let schema = serde_json::json!({
        "type": "object",
        "required": ["n"],
        "additionalProperties": false,
        "properties": {"n": {"type": "integer", "minimum": 0}, "tags": {"type": "array", "items": {"enum": ["a", "b"]}}}
    });
    assert!(conforms(&serde_json::json!({"n": 1, "tags": ["a"]}), &schema, "$").is_ok());
    assert!(conforms(&serde_json::json!({"n": -1}), &schema, "$").is_err());
    assert!(conforms(&serde_json::json!({"n": 1, "x": 1}), &schema, "$").is_err());
    assert!(conforms(&serde_json::json!({"tags": []}), &schema, "$").is_err());
    assert!(conforms(&serde_json::json!({"n": 1, "tags": ["c"]}), &schema, "$").is_err());
    assert_eq!(template_of("/api/orders/o-1"), Some("/api/orders/{id}"));
    assert_eq!(template_of("/api/cart/lines"), Some("/api/cart/lines"));
}

//! The events a distribution replay reads, one JSON object per line (`tandem chain21 replay`):
//! `at` is RFC 3339, `type` names the event, and any field the event does not have is an
//! error, not ignored.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum GrantIdentity {
    Agent,
    Partner,
}

/// One order line as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub sku: String,
    pub amount_fen: i64,
    pub designated: bool,
    pub commissionable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventKind {
    Bind { member: String, inviter: Option<String> },
    Grant { member: String, identity: GrantIdentity },
    Paid { order: String, buyer: String, lines: Vec<Line> },
    Completed { order: String },
    Refunded { order: String, refund: String, amount_fen: i64 },
    Withdraw { member: String, withdrawal: String, amount_fen: i64 },
    Visit { sharer: String, visitor: String },
    Tick,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub at: Timestamp,
    pub kind: EventKind,
}

/// Why a line of the events file was refused, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct EventError {
    pub line: usize,
    pub reason: String,
}

const MAX_ID_LEN: usize = 64;

fn check_id(field: &str, id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_ID_LEN || id.chars().any(char::is_control) {
        return Err(format!("{field} must be 1 to {MAX_ID_LEN} characters"));
    }
    Ok(())
}

impl EventKind {
    /// Checks what serde cannot: ids present and short, amounts positive.
    fn check(&self) -> Result<(), String> {
        match self {
            EventKind::Bind { member, inviter } => {
                check_id("member", member)?;
                inviter.as_deref().map_or(Ok(()), |i| check_id("inviter", i))
            }
            EventKind::Grant { member, .. } => check_id("member", member),
            EventKind::Paid { order, buyer, lines } => {
                check_id("order", order)?;
                check_id("buyer", buyer)?;
                if lines.is_empty() {
                    return Err("an order has at least one line".to_owned());
                }
                for line in lines {
                    check_id("sku", &line.sku)?;
                    if line.amount_fen < 0 {
                        return Err(format!("line {} has a negative amount", line.sku));
                    }
                }
                Ok(())
            }
            EventKind::Completed { order } => check_id("order", order),
            EventKind::Refunded { order, refund, amount_fen } => {
                check_id("order", order)?;
                check_id("refund", refund)?;
                if *amount_fen <= 0 { Err("a refund's amount_fen is positive".to_owned()) } else { Ok(()) }
            }
            EventKind::Withdraw { member, withdrawal, amount_fen } => {
                check_id("member", member)?;
                check_id("withdrawal", withdrawal)?;
                if *amount_fen <= 0 { Err("a withdrawal's amount_fen is positive".to_owned()) } else { Ok(()) }
            }
            EventKind::Visit { sharer, visitor } => {
                check_id("sharer", sharer)?;
                check_id("visitor", visitor)
            }
            EventKind::Tick => Ok(()),
        }
    }
}

/// Parses one line of the events file (`number` is 1-based, for the error).
pub fn parse_line(number: usize, text: &str) -> Result<Event, EventError> {
    let fail = |reason: String| EventError { line: number, reason };
    let mut value: Value = serde_json::from_str(text).map_err(|e| fail(format!("not JSON: {e}")))?;
    let Value::Object(map) = &mut value else { return Err(fail("an event is a JSON object".to_owned())) };
    let at = match map.remove("at") {
        Some(Value::String(at)) => {
            Timestamp::parse_rfc3339(&at).ok_or_else(|| fail(format!("at: not an RFC 3339 time: {at}")))?
        }
        Some(_) => return Err(fail("at: an RFC 3339 time in quotes".to_owned())),
        None => return Err(fail("missing field `at`".to_owned())),
    };
    let given: Vec<String> = map.keys().cloned().collect();
    let kind: EventKind = serde_json::from_value(value).map_err(|e| fail(e.to_string()))?;
    // serde lets a tag-only event (`tick`) through with extra fields: compare with what the
    // event has.
    let known = serde_json::to_value(&kind).map_err(|e| fail(e.to_string()))?;
    if let Some(extra) = given.iter().find(|key| known.get(key.as_str()).is_none()) {
        return Err(fail(format!("unknown field `{extra}`")));
    }
    kind.check().map_err(fail)?;
    Ok(Event { at, kind })
}

/// Parses a whole events file, skipping blank lines; the first bad line stops it.
pub fn parse_all(text: &str) -> Result<Vec<Event>, EventError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| parse_line(index + 1, line))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_of_the_spec_parses() {
        let text = r#"
{"at": "2026-01-01T00:00:00Z", "type": "bind", "member": "A", "inviter": "P"}
{"at": "2026-01-01T00:00:00Z", "type": "bind", "member": "P", "inviter": null}
{"at": "2026-01-01T00:00:00Z", "type": "grant", "member": "P", "identity": "partner"}
{"at": "2026-01-01T00:01:00Z", "type": "paid", "order": "o1", "buyer": "A", "lines": [{"sku": "GIFT", "amount_fen": 39900, "designated": true, "commissionable": true}]}
{"at": "2026-01-02T00:00:00Z", "type": "completed", "order": "o1"}
{"at": "2026-01-03T00:00:00Z", "type": "refunded", "order": "o1", "refund": "r1", "amount_fen": 39900}
{"at": "2026-01-04T00:00:00Z", "type": "withdraw", "member": "A", "withdrawal": "w1", "amount_fen": 1000}
{"at": "2026-01-04T00:00:00Z", "type": "visit", "sharer": "A", "visitor": "V"}
{"at": "2026-01-05T00:00:00Z", "type": "tick"}
"#;
        let events = parse_all(text).unwrap();
        assert_eq!(events.len(), 9);
        assert_eq!(events[1].kind, EventKind::Bind { member: "P".into(), inviter: None });
        assert!(matches!(&events[3].kind, EventKind::Paid { lines, .. } if lines[0].designated));
        assert_eq!(events[8].at.millis() - events[0].at.millis(), 4 * 86_400_000);
    }

    #[test]
    fn bad_lines_stop_with_their_number_and_reason() {
        let error = |text: &str| parse_all(text).unwrap_err();
        let extra = error("{\"at\": \"2026-01-01T00:00:00Z\", \"type\": \"tick\", \"note\": 1}");
        assert_eq!(extra.line, 1);
        assert!(extra.reason.contains("note"), "{extra}");
        let second = error(
            "{\"at\": \"2026-01-01T00:00:00Z\", \"type\": \"tick\"}\n\n{\"at\": \"yesterday\", \"type\": \"tick\"}",
        );
        assert_eq!(second.line, 3);
        assert!(second.reason.starts_with("at:"), "{second}");
        assert!(error(r#"{"type": "tick"}"#).reason.contains("`at`"));
        assert!(error(r#"{"at": "2026-01-01T00:00:00Z", "type": "dance"}"#).reason.contains("dance"));
        let line_field = r#"{"at": "2026-01-01T00:00:00Z", "type": "paid", "order": "o", "buyer": "A", "lines": [{"sku": "X", "amount_fen": 1, "designated": true, "commissionable": true, "qty": 2}]}"#;
        assert!(error(line_field).reason.contains("qty"));
        let no_lines = r#"{"at": "2026-01-01T00:00:00Z", "type": "paid", "order": "o", "buyer": "A", "lines": []}"#;
        assert!(error(no_lines).reason.contains("at least one line"));
        assert!(
            error(
                r#"{"at": "2026-01-01T00:00:00Z", "type": "refunded", "order": "o", "refund": "r", "amount_fen": 0}"#
            )
            .reason
            .contains("positive")
        );
        assert!(error("not json").reason.starts_with("not JSON"));
    }
}

//! The 链动2+1 distribution engine (`chain21.md`).
//!
//! # Layout
//!
//! - [`binding`]: whether a member binds to a sharer (unbound, never paid, no cycle, first wins).
//! - [`rules`]: the rules as data (TOML/JSON), presets, overrides, validation, compliance.
//! - [`events`]: the replay's events, strict JSON lines.
//! - [`rewards`]: one order's reward candidates, amounts and the cap's cut.
//! - [`engine`]: placement, rewards and their lifecycle as one deterministic state machine.
//! - [`paying`]: what a payment does to the stored network: changed members, rewards, transfers.
//! - [`poster`]: a sharer's poster: names and the invite link's QR code as SVG.
//! - [`settle`]: the lifecycle of stored rewards: freeze, thaw, refund cuts, withdrawals.
//! - [`simulate`]: a synthetic network, to see what a rule set does at scale.

pub mod binding;
pub mod engine;
pub mod events;
pub mod paying;
pub mod poster;
pub mod rewards;
pub mod rules;
pub mod settle;
pub mod simulate;

use engine::{Engine, EngineError};
use events::EventError;
use rules::Rules;

/// Why a replay stopped: the line and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ReplayError {
    pub line: usize,
    pub reason: String,
}

impl From<EventError> for ReplayError {
    fn from(error: EventError) -> Self {
        ReplayError { line: error.line, reason: error.reason }
    }
}

/// Replays a whole events file (one JSON event per line; blank lines skipped) under `rules`.
pub fn replay(rules: Rules, text: &str) -> Result<Engine, ReplayError> {
    let mut engine = Engine::new(rules);
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event = events::parse_line(index + 1, line)?;
        engine.apply(&event).map_err(|e: EngineError| ReplayError { line: index + 1, reason: e.to_string() })?;
    }
    Ok(engine)
}

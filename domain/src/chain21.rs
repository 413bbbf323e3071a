//! The 链动2+1 distribution engine (`chain21.md`). So far: the replay's events (strict JSON
//! lines) and the rules as data, with presets, overrides, validation and compliance findings.
//! Placement, rewards and their lifecycle come next (issue 4).

pub mod events;
pub mod rules;

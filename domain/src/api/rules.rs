//! The wire types of the operator's distribution rules: versions with their findings, the
//! presets, checking a rule set being edited, saving a draft and publishing it.

use serde::{Deserialize, Serialize};

use crate::chain21::rules::Finding;

/// A compliance finding as the API tells it (`chain21.md`, "Compliance checks").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RuleFinding {
    pub code: String,
    pub risk: String,
    pub reference: String,
}

impl From<&Finding> for RuleFinding {
    fn from(finding: &Finding) -> Self {
        RuleFinding {
            code: finding.code.to_owned(),
            risk: finding.risk.to_owned(),
            reference: finding.reference.to_owned(),
        }
    }
}

/// The findings of a rule set, as the API tells them.
pub fn findings(findings: &[Finding]) -> Vec<RuleFinding> {
    findings.iter().map(RuleFinding::from).collect()
}

/// A stored version of the rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RulesVersion {
    pub version: i64,
    /// `draft`, `published` or `retired`.
    pub state: String,
    pub created_at: i64,
    pub published_at: Option<i64>,
    /// The codes acknowledged at publishing.
    pub acknowledged: Option<Vec<String>>,
    /// The rules as TOML.
    pub text: String,
    pub cap_bp: u32,
    pub findings: Vec<RuleFinding>,
}

/// A rule set to start a draft from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Preset {
    pub name: String,
    pub text: String,
}

/// `GET /api/operator/chain/rules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RulesList {
    /// Newest first.
    pub versions: Vec<RulesVersion>,
    pub presets: Vec<Preset>,
}

/// `POST /api/operator/chain/rules/check` and `POST /api/operator/chain/rules`, asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RulesText {
    /// The rule set as TOML (the CLI's format) or JSON.
    pub text: String,
}

/// `POST /api/operator/chain/rules/check`, answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RulesChecked {
    pub cap_bp: u32,
    pub findings: Vec<RuleFinding>,
}

/// `POST /api/operator/chain/rules`, answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DraftSaved {
    pub version: u32,
    pub state: String,
    pub findings: Vec<RuleFinding>,
}

/// `POST /api/operator/chain/rules/{version}/publish`, asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// The codes of the findings the operator acknowledged.
    pub acknowledged: Vec<String>,
}

/// `POST /api/operator/chain/rules/{version}/publish`, answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Published {
    pub version: i64,
    pub state: String,
    pub acknowledged: Vec<String>,
}

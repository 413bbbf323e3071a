//! The distribution rules as data (`chain21.md`): every parameter the spec names, under its
//! dotted name as a TOML table (`[direct] agent_bp = 1000`), the two presets, a file that starts
//! from a preset and overrides some keys, validation that names the key, and the compliance
//! findings an operator must see before publishing.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntryMode {
    DesignatedProduct,
    FreeApply,
    CumulativeSpend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum QualifyOn {
    Paid,
    Completed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SlideVariant {
    FirstN,
    Nth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PeerSource {
    TeamReward,
    Order,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub mode: EntryMode,
    pub min_spend_fen: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Upgrade {
    pub enabled: bool,
    pub required_directs: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Slide {
    pub count: u32,
    pub variant: SlideVariant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Direct {
    pub agent_bp: u32,
    pub partner_bp: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub bp: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Peer {
    pub bp: u32,
    pub source: PeerSource,
    pub team_gmv_threshold_fen: i64,
    pub period_days: u32,
    pub generations: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub min_conversion_bp: u32,
    pub extra_bp: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Dynamic {
    pub window_days: u32,
    pub tiers: Vec<Tier>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Cap {
    pub total_bp: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Settle {
    pub after_sale_days: u32,
}

/// A complete rule set. Files may name a `preset` and override some keys; what comes out of
/// [`Rules::from_toml`] or [`Rules::from_json`] always has every key and has been validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub version: u32,
    pub entry: Entry,
    pub qualify_on: QualifyOn,
    pub upgrade: Upgrade,
    pub slide: Slide,
    pub direct: Direct,
    pub indirect: Rate,
    pub team: Rate,
    pub peer: Peer,
    pub dynamic: Dynamic,
    pub cap: Cap,
    pub stack_direct_and_team: bool,
    pub self_purchase: bool,
    pub settle: Settle,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    #[error("not valid {format}: {message}")]
    Syntax { format: &'static str, message: String },
    #[error("unknown preset {0:?}: use \"chain21\" or \"two_tier_retail\"")]
    UnknownPreset(String),
    #[error("{0}")]
    Shape(String),
    #[error("{key}: {message}")]
    Invalid { key: &'static str, message: String },
}

impl Rules {
    /// The paper's model: every compliance check is reported.
    pub fn chain21() -> Self {
        Self {
            version: 1,
            entry: Entry { mode: EntryMode::DesignatedProduct, min_spend_fen: 0 },
            qualify_on: QualifyOn::Paid,
            upgrade: Upgrade { enabled: true, required_directs: 2 },
            slide: Slide { count: 2, variant: SlideVariant::FirstN },
            direct: Direct { agent_bp: 1_000, partner_bp: 1_500 },
            indirect: Rate { bp: 500 },
            team: Rate { bp: 1_000 },
            peer: Peer {
                bp: 1_000,
                source: PeerSource::TeamReward,
                team_gmv_threshold_fen: 0,
                period_days: 30,
                generations: 1,
            },
            dynamic: Dynamic { window_days: 30, tiers: Vec::new() },
            cap: Cap { total_bp: 3_500 },
            stack_direct_and_team: true,
            self_purchase: false,
            settle: Settle { after_sale_days: 7 },
        }
    }

    /// Two levels of plain referral rewards: no check is triggered.
    pub fn two_tier_retail() -> Self {
        let chain21 = Self::chain21();
        Self {
            entry: Entry { mode: EntryMode::FreeApply, min_spend_fen: 0 },
            qualify_on: QualifyOn::Completed,
            upgrade: Upgrade { enabled: false, required_directs: 2 },
            direct: Direct { agent_bp: 1_000, partner_bp: 1_000 },
            team: Rate { bp: 0 },
            peer: Peer { bp: 0, ..chain21.peer },
            cap: Cap { total_bp: 1_500 },
            ..chain21
        }
    }

    pub fn preset(name: &str) -> Result<Self, RulesError> {
        match name {
            "chain21" => Ok(Self::chain21()),
            "two_tier_retail" => Ok(Self::two_tier_retail()),
            other => Err(RulesError::UnknownPreset(other.to_owned())),
        }
    }

    pub fn from_toml(text: &str) -> Result<Self, RulesError> {
        let value: toml::Table =
            toml::from_str(text).map_err(|e| RulesError::Syntax { format: "TOML", message: e.message().to_owned() })?;
        let json =
            serde_json::to_value(value).map_err(|e| RulesError::Syntax { format: "TOML", message: e.to_string() })?;
        Self::from_value(json)
    }

    pub fn from_json(text: &str) -> Result<Self, RulesError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| RulesError::Syntax { format: "JSON", message: e.to_string() })?;
        Self::from_value(value)
    }

    /// A file's keys laid over its preset's (a file without a preset must give every key).
    fn from_value(mut value: Value) -> Result<Self, RulesError> {
        let Value::Object(map) = &mut value else {
            return Err(RulesError::Shape("a rule set is a table of keys".to_owned()));
        };
        let merged = match map.remove("preset") {
            Some(Value::String(name)) => {
                let mut base =
                    serde_json::to_value(Self::preset(&name)?).map_err(|e| RulesError::Shape(e.to_string()))?;
                overlay(&mut base, value);
                base
            }
            Some(_) => return Err(RulesError::Shape("preset: a name in quotes".to_owned())),
            None => value,
        };
        let rules: Rules = serde_json::from_value(merged).map_err(|e| RulesError::Shape(e.to_string()))?;
        rules.validate()?;
        Ok(rules)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// Checks every parameter's range; the error names the key.
    pub fn validate(&self) -> Result<(), RulesError> {
        let invalid = |key: &'static str, message: &str| Err(RulesError::Invalid { key, message: message.to_owned() });
        let rates = [
            ("direct.agent_bp", self.direct.agent_bp),
            ("direct.partner_bp", self.direct.partner_bp),
            ("indirect.bp", self.indirect.bp),
            ("team.bp", self.team.bp),
            ("peer.bp", self.peer.bp),
            ("cap.total_bp", self.cap.total_bp),
        ];
        for (key, bp) in rates {
            if bp > 10_000 {
                return invalid(key, "a rate is at most 10000 basis points");
            }
        }
        if self.version == 0 {
            return invalid("version", "versions start at 1");
        }
        if self.entry.mode == EntryMode::CumulativeSpend && self.entry.min_spend_fen <= 0 {
            return invalid("entry.min_spend_fen", "cumulative_spend needs a positive threshold");
        }
        if self.entry.min_spend_fen < 0 {
            return invalid("entry.min_spend_fen", "must not be negative");
        }
        if self.upgrade.enabled && self.upgrade.required_directs == 0 {
            return invalid("upgrade.required_directs", "at least 1 when upgrades are enabled");
        }
        if self.upgrade.enabled && self.slide.count == 0 {
            return invalid("slide.count", "at least 1");
        }
        if !(1..=2).contains(&self.peer.generations) {
            return invalid("peer.generations", "1 or 2");
        }
        if self.peer.period_days == 0 || self.peer.period_days > 366 {
            return invalid("peer.period_days", "from 1 to 366");
        }
        if self.peer.team_gmv_threshold_fen < 0 {
            return invalid("peer.team_gmv_threshold_fen", "must not be negative");
        }
        if self.dynamic.window_days == 0 || self.dynamic.window_days > 366 {
            return invalid("dynamic.window_days", "from 1 to 366");
        }
        for pair in self.dynamic.tiers.windows(2) {
            if pair[1].min_conversion_bp <= pair[0].min_conversion_bp {
                return invalid("dynamic.tiers", "tiers go up by min_conversion_bp, each higher than the one before");
            }
        }
        if self.dynamic.tiers.iter().any(|t| t.min_conversion_bp > 10_000 || t.extra_bp > 10_000) {
            return invalid("dynamic.tiers", "rates are at most 10000 basis points");
        }
        if self.settle.after_sale_days > 365 {
            return invalid("settle.after_sale_days", "at most 365");
        }
        Ok(())
    }

    /// The compliance findings of this rule set (`chain21.md`, "Compliance checks").
    pub fn compliance(&self) -> Vec<Finding> {
        let mut findings = Vec::new();
        let mut find = |code: &'static str, risk: &'static str, reference: &'static str| {
            findings.push(Finding { code, risk, reference });
        };
        if self.entry.mode != EntryMode::FreeApply {
            find("entry_fee", "入门费 (entry fee / 认购商品)", "《禁止传销条例》第七条第二项");
        }
        if self.upgrade.enabled {
            find("head_count", "拉人头 (promotion by head count)", "《禁止传销条例》第七条第一项");
        }
        let team_pay = self.upgrade.enabled && (self.team.bp > 0 || self.peer.bp > 0);
        if team_pay {
            find("team_pay", "团队计酬 (pay on downline sales)", "《禁止传销条例》第七条第三项");
        }
        // Direct and indirect reach two ancestors; a team leader or peer above them is a third.
        if self.direct.agent_bp.max(self.direct.partner_bp) > 0 && self.indirect.bp > 0 && team_pay {
            find(
                "multi_level",
                "三级及以上分销 (three or more levels paid)",
                "platform rules on multi-level distribution",
            );
        }
        if self.upgrade.enabled && self.peer.bp > 0 {
            find("detachment_peer", "形式脱离后继续获酬 (paid after detaching)", "2013 两高一部 opinion on 传销 cases");
        }
        findings
    }
}

/// Lays `over` onto `base` key by key, tables recursively; lists and values replace.
fn overlay(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                match base.get_mut(&key) {
                    Some(existing) if existing.is_object() && value.is_object() => overlay(existing, value),
                    _ => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, over) => *base = over,
    }
}

/// One compliance finding: a code, the risk in words, and where the rule comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Finding {
    pub code: &'static str,
    pub risk: &'static str,
    pub reference: &'static str,
}

/// Publishing needs each finding of the rule set acknowledged by its code: the codes not
/// acknowledged, if any (an acknowledgement of a code the rules do not raise is ignored).
pub fn unacknowledged<'a>(findings: &'a [Finding], acknowledged: &[String]) -> Vec<&'a str> {
    findings.iter().map(|f| f.code).filter(|code| !acknowledged.iter().any(|a| a == code)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishing_needs_every_finding_acknowledged() {
        let findings = Rules::chain21().compliance();
        assert!(!findings.is_empty());
        let all: Vec<String> = findings.iter().map(|f| f.code.to_owned()).collect();
        assert!(unacknowledged(&findings, &all).is_empty());
        assert_eq!(unacknowledged(&findings, &all[1..]), vec![findings[0].code]);
    }

    #[test]
    fn presets_match_the_spec_table() {
        let chain21 = Rules::chain21();
        assert_eq!((chain21.direct.agent_bp, chain21.direct.partner_bp, chain21.cap.total_bp), (1_000, 1_500, 3_500));
        let retail = Rules::two_tier_retail();
        assert_eq!(
            (retail.entry.mode, retail.qualify_on, retail.upgrade.enabled),
            (EntryMode::FreeApply, QualifyOn::Completed, false)
        );
        assert_eq!(
            (retail.team.bp, retail.peer.bp, retail.cap.total_bp, retail.direct.partner_bp),
            (0, 0, 1_500, 1_000)
        );
        chain21.validate().unwrap();
        retail.validate().unwrap();
    }

    #[test]
    fn a_file_overrides_some_keys_of_its_preset() {
        let rules =
            Rules::from_toml("preset = \"chain21\"\n[cap]\ntotal_bp = 2500\n[direct]\nagent_bp = 800\n").unwrap();
        assert_eq!((rules.cap.total_bp, rules.direct.agent_bp, rules.direct.partner_bp), (2_500, 800, 1_500));
        let json = Rules::from_json(r#"{"preset": "two_tier_retail", "self_purchase": true}"#).unwrap();
        assert!(json.self_purchase);
        assert_eq!(Rules::from_toml(&Rules::chain21().to_toml()), Ok(Rules::chain21()), "round trip");
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        assert!(matches!(Rules::from_toml("preset = \"pyramid\""), Err(RulesError::UnknownPreset(_))));
        assert!(matches!(Rules::from_toml("[cap\n"), Err(RulesError::Syntax { format: "TOML", .. })));
        let unknown = Rules::from_toml("preset = \"chain21\"\n[cap]\ntotal = 1\n").unwrap_err();
        assert!(unknown.to_string().contains("total"), "{unknown}");
        let incomplete = Rules::from_toml("[cap]\ntotal_bp = 1\n").unwrap_err();
        assert!(incomplete.to_string().contains("missing field"), "{incomplete}");
        let over = Rules::from_toml("preset = \"chain21\"\n[team]\nbp = 12000\n").unwrap_err();
        assert_eq!(
            over,
            RulesError::Invalid { key: "team.bp", message: "a rate is at most 10000 basis points".into() }
        );
        let tiers = "preset = \"chain21\"\n[dynamic]\nwindow_days = 30\ntiers = [{ min_conversion_bp = 500, extra_bp = 100 }, { min_conversion_bp = 400, extra_bp = 200 }]\n";
        assert!(matches!(Rules::from_toml(tiers), Err(RulesError::Invalid { key: "dynamic.tiers", .. })));
        let spend = Rules::from_json(r#"{"preset": "chain21", "entry": {"mode": "cumulative_spend"}}"#).unwrap_err();
        assert!(matches!(spend, RulesError::Invalid { key: "entry.min_spend_fen", .. }));
    }

    #[test]
    fn chain21_reports_every_check_and_two_tier_retail_none() {
        let codes: Vec<&str> = Rules::chain21().compliance().iter().map(|f| f.code).collect();
        assert_eq!(codes, ["entry_fee", "head_count", "team_pay", "multi_level", "detachment_peer"]);
        assert!(Rules::two_tier_retail().compliance().is_empty());
    }
}

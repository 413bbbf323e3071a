//! `tandem chain21` through the real binary: the spec's worked example, both cap variants, bad
//! lines and rule checks.

#![allow(clippy::unwrap_used, reason = "a test binary: a failed step is a failed test")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../domain/src/chain21/examples")
}

fn tandem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tandem")).args(args).output().unwrap()
}

fn replay(rules: &Path, events: &Path) -> Output {
    tandem(&["chain21", "replay", "--rules", rules.to_str().unwrap(), events.to_str().unwrap()])
}

fn temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tandem-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn ledger_of(doc: &Value, order: &str) -> Vec<(String, String, i64, i64)> {
    doc["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["order"] == order)
        .map(|row| {
            let text = |key: &str| row[key].as_str().unwrap().to_owned();
            (
                text("beneficiary"),
                text("kind"),
                row["amount_fen"].as_i64().unwrap(),
                row["voided_fen"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn row(who: &str, kind: &str, amount: i64, voided: i64) -> (String, String, i64, i64) {
    (who.to_owned(), kind.to_owned(), amount, voided)
}

#[test]
fn the_worked_example_replays_through_the_cli() {
    let output = replay(&examples().join("chain21.toml"), &examples().join("worked-example.jsonl"));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let doc: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(ledger_of(&doc, "o1"), [row("P", "direct", 5_985, 0), row("P", "team", 3_990, 0)]);
    assert_eq!(
        ledger_of(&doc, "o3"),
        [row("A", "direct", 3_990, 0), row("P", "indirect", 1_995, 0), row("P", "team", 3_990, 0)]
    );
    assert_eq!(
        ledger_of(&doc, "o4"),
        [
            row("A", "direct", 0, 5_985),
            row("P", "indirect", 0, 1_995),
            row("A", "team", 0, 3_990),
            row("P", "peer", 0, 399)
        ]
    );
    assert_eq!(
        ledger_of(&doc, "o5"),
        [row("B", "direct", 1_000, 0), row("A", "indirect", 500, 0), row("P", "team", 1_000, 0)]
    );
    assert_eq!(doc["members"]["A"]["identity"], "partner");
    assert_eq!(doc["members"]["A"]["origin_leader"], "P");
    assert_eq!(doc["members"]["D"]["identity"], "member");
    assert_eq!(doc["members"]["C"]["team_leader"], "P");
    let again = replay(&examples().join("chain21.toml"), &examples().join("worked-example.jsonl"));
    assert_eq!(output.stdout, again.stdout, "byte-identical");
}

#[test]
fn the_lower_cap_cuts_peer_then_team() {
    let worked = std::fs::read_to_string(examples().join("worked-example.jsonl")).unwrap();
    let before_refund: String = worked.lines().take(9).flat_map(|l| [l, "\n"]).collect();
    let events = temp("steps-1-4.jsonl", &before_refund);
    let output = replay(&examples().join("cap-2500.toml"), &events);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let doc: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        ledger_of(&doc, "o4"),
        [
            row("A", "direct", 5_985, 0),
            row("P", "indirect", 1_995, 0),
            row("A", "team", 1_995, 0),
            row("P", "peer", 0, 0)
        ]
    );
}

#[test]
fn a_bad_line_stops_with_its_number_and_exit_code_2() {
    let events = temp(
        "bad.jsonl",
        "{\"at\": \"2026-11-01T00:00:00Z\", \"type\": \"tick\"}\n{\"at\": \"2026-11-01T00:00:00Z\", \"type\": \"tick\", \"extra\": 1}\n",
    );
    let output = replay(&examples().join("chain21.toml"), &events);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 2") && stderr.contains("extra"), "{stderr}");
    assert!(output.stdout.is_empty());

    let too_much = temp(
        "refund.jsonl",
        concat!(
            "{\"at\": \"2026-11-01T00:00:00Z\", \"type\": \"paid\", \"order\": \"o1\", \"buyer\": \"A\", \"lines\": [{\"sku\": \"T\", \"amount_fen\": 100, \"designated\": false, \"commissionable\": true}]}\n",
            "{\"at\": \"2026-11-01T00:00:00Z\", \"type\": \"refunded\", \"order\": \"o1\", \"refund\": \"r1\", \"amount_fen\": 101}\n"
        ),
    );
    let output = replay(&examples().join("chain21.toml"), &too_much);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 2") && stderr.contains("more than the 100 fen left"), "{stderr}");
}

#[test]
fn check_prints_the_findings_and_exits_0() {
    let output = tandem(&["chain21", "check", "--rules", examples().join("chain21.toml").to_str().unwrap()]);
    assert!(output.status.success());
    let doc: Value = serde_json::from_slice(&output.stdout).unwrap();
    let codes: Vec<&str> = doc["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["entry_fee", "head_count", "team_pay", "multi_level", "detachment_peer"]);
    let retail = temp("retail.json", r#"{"preset": "two_tier_retail"}"#);
    let output = tandem(&["chain21", "check", "--rules", retail.to_str().unwrap()]);
    assert!(output.status.success());
    let doc: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(doc["findings"], serde_json::json!([]));
    let bad = temp("bad.toml", "preset = \"chain21\"\n[team]\nbp = 20000\n");
    let output = tandem(&["chain21", "check", "--rules", bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("team.bp"));
}

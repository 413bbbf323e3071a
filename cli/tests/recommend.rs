//! `tandem recommend` through the real binary: a generated log with planted structure is
//! evaluated, and a bad file is refused with the line that is wrong.

#![allow(clippy::unwrap_used, reason = "a test binary: a failed step is a failed test")]

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn tandem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tandem")).args(args).output().unwrap()
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tandem-cli-recommend-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn a_generated_log_is_evaluated_against_popularity() {
    let log = temp("planted.csv");
    let output = tandem(&["recommend", "generate", "--users", "800", "--out", log.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let output = tandem(&["recommend", "eval", "--transactions", log.to_str().unwrap(), "--k", "5"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["k"], 5);
    assert!(report["users"].as_u64().unwrap() > 700);
    let number = |path: &str| report.pointer(path).and_then(Value::as_f64).unwrap();
    assert!(number("/tandem/ndcg") > number("/popularity/ndcg") * 1.5, "{report}");
    assert!(number("/tandem/hit_rate") > number("/popularity/hit_rate"), "{report}");
    assert!((0.0..=1.0).contains(&number("/tandem/coverage")));
}

#[test]
fn a_bad_file_is_refused_with_its_line() {
    let log = temp("bad.csv");
    std::fs::write(&log, "user,date,item\n1,21-07-2015,milk\n2,2015-13-01,bread\n").unwrap();
    let output = tandem(&["recommend", "eval", "--transactions", log.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("line 3") && message.contains("2015-13-01"), "{message}");
    let output = tandem(&["recommend", "eval", "--transactions", log.to_str().unwrap(), "--k", "0"]);
    assert_eq!(output.status.code(), Some(2));
}

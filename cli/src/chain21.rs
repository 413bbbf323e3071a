//! `tandem chain21 replay` (events in, the network and its ledger out, as JSON) and
//! `tandem chain21 check` (a rule set's compliance findings).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use tandem_domain::chain21::{self, rules::Rules};

#[derive(Subcommand)]
pub enum Command {
    /// Replay a file of events (one JSON object per line) and print the members, the ledger,
    /// the balances and the warnings as one JSON document.
    Replay {
        /// The rule set, TOML (or JSON when the name ends in .json); may start from a preset.
        #[arg(long)]
        rules: PathBuf,
        /// The events, one JSON object per line.
        events: PathBuf,
        /// Indent the output.
        #[arg(long)]
        pretty: bool,
    },
    /// Run a synthetic network of `members` and `orders` through the engine under a rule set;
    /// print what the rules paid, the time it took and the memory it used.
    Simulate {
        #[arg(long)]
        rules: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        members: u32,
        #[arg(long, default_value_t = 100_000)]
        orders: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Print a rule set's compliance findings (the exit code is 0 even when there are some).
    Check {
        #[arg(long)]
        rules: PathBuf,
    },
}

/// Exit code 2 for anything wrong with the input: a file, the rules or an event line.
pub fn run(command: Command) -> ExitCode {
    let result = match command {
        Command::Replay { rules, events, pretty } => replay(&rules, &events, pretty),
        Command::Check { rules } => check(&rules),
        Command::Simulate { rules, members, orders, seed } => simulate(&rules, members, orders, seed),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tandem: {message}");
            ExitCode::from(2)
        }
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn load_rules(path: &Path) -> Result<Rules, String> {
    let text = read(path)?;
    let rules = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
        Rules::from_json(&text)
    } else {
        Rules::from_toml(&text)
    };
    rules.map_err(|e| format!("{}: {e}", path.display()))
}

fn print_json(value: &impl serde::Serialize, pretty: bool) -> Result<(), String> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written =
        if pretty { serde_json::to_writer_pretty(&mut out, value) } else { serde_json::to_writer(&mut out, value) };
    written.map_err(|e| e.to_string())?;
    writeln!(out).and_then(|()| out.flush()).map_err(|e| e.to_string())
}

fn replay(rules: &Path, events: &Path, pretty: bool) -> Result<(), String> {
    let rules = load_rules(rules)?;
    let text = read(events)?;
    let engine = chain21::replay(rules, &text).map_err(|e| format!("{}: {e}", events.display()))?;
    print_json(&engine.report(), pretty)
}

#[derive(serde::Serialize)]
struct Check {
    version: u32,
    findings: Vec<chain21::rules::Finding>,
}

fn check(rules: &Path) -> Result<(), String> {
    let rules = load_rules(rules)?;
    print_json(&Check { version: rules.version, findings: rules.compliance() }, true)
}

/// A figure from `/proc/self/status` in bytes (Linux; `None` elsewhere).
fn proc_status_bytes(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[derive(serde::Serialize)]
struct Simulation {
    outcome: chain21::simulate::Outcome,
    seconds: f64,
    orders_per_second: f64,
    peak_memory_bytes: Option<u64>,
    bytes_per_member: Option<u64>,
}

fn simulate(rules: &Path, members: u32, orders: u32, seed: u64) -> Result<(), String> {
    let rules = load_rules(rules)?;
    let plan = chain21::simulate::Plan {
        members,
        orders,
        seed,
        // 2026-01-01T00:00:00Z
        start: tandem_domain::time::Timestamp(1_767_225_600_000),
    };
    let before = proc_status_bytes("VmRSS:");
    let started = std::time::Instant::now();
    let (engine, outcome) = chain21::simulate::run(rules, plan).map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    let peak = proc_status_bytes("VmHWM:");
    let bytes_per_member = match (peak, before) {
        (Some(peak), Some(before)) => Some(peak.saturating_sub(before) / u64::from(members.max(1))),
        _ => None,
    };
    drop(engine);
    #[allow(clippy::cast_precision_loss, reason = "a rate for people to read")]
    let orders_per_second = outcome.orders as f64 / seconds.max(1e-9);
    print_json(&Simulation { outcome, seconds, orders_per_second, peak_memory_bytes: peak, bytes_per_member }, true)
}

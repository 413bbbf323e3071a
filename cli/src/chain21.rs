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

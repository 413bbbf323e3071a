//! `tandem recommend eval` (the blend against popularity on a purchase log, held out by each
//! person's last date) and `tandem recommend generate` (a log with planted structure).

use std::path::PathBuf;
use std::time::Instant;

use clap::Subcommand;
use tandem_domain::recommend::eval::{Log, evaluate};
use tandem_domain::recommend::{Params, synthetic};

#[derive(Subcommand)]
pub enum Command {
    /// Hold out each person's last date, train on everything before it and print hit rate, NDCG
    /// and coverage at k for popularity and for Tandem's blend, as JSON.
    Eval {
        /// A CSV with a header and the columns user,date,item (date YYYY-MM-DD or DD-MM-YYYY).
        #[arg(long)]
        transactions: PathBuf,
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Indent the output.
        #[arg(long)]
        pretty: bool,
    },
    /// Write a generated purchase log as user,date,item CSV: favourite categories, staples and
    /// pairs bought together (or, with --no-personal, baskets drawn from popularity alone).
    Generate {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 2_000)]
        users: u32,
        #[arg(long)]
        no_personal: bool,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

pub fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Eval { transactions, k, pretty } => {
            if k == 0 {
                return Err("--k must be at least 1".to_owned());
            }
            let text =
                std::fs::read_to_string(&transactions).map_err(|e| format!("{}: {e}", transactions.display()))?;
            let log = Log::parse_csv(&text).map_err(|e| format!("{}: {e}", transactions.display()))?;
            let started = Instant::now();
            let report = evaluate(&log, k, &Params::default());
            eprintln!(
                "tandem: {} baskets, {} people, {} items evaluated in {:.2} s",
                log.baskets.len(),
                log.users.len(),
                log.items.len(),
                started.elapsed().as_secs_f64()
            );
            let json = if pretty { serde_json::to_string_pretty(&report) } else { serde_json::to_string(&report) };
            println!("{}", json.map_err(|e| e.to_string())?);
            Ok(())
        }
        Command::Generate { out, users, no_personal, seed } => {
            let plan = synthetic::Plan { users, personal: !no_personal, seed, ..synthetic::Plan::default() };
            let log = synthetic::log(&plan);
            std::fs::write(&out, synthetic::to_csv(&log)).map_err(|e| format!("{}: {e}", out.display()))
        }
    }
}

//! `tandem`, the operator's tool: the demo data, and the distribution engine's replay and rule
//! checks. and the recommender's evaluation.
//!
//! # Layout
//!
//! - `chain21`: `tandem chain21 replay` and `tandem chain21 check`.
//! - `demo`: the demo catalogue (suppliers, stores, products).
//! - `seed`: the demo data as SQL for D1.
//! - `media`: the demo products' pictures (SVG) and 3D models (GLB).
//! - `recommend`: `tandem recommend eval` and `tandem recommend generate`.

mod chain21;
mod demo;
mod media;
mod recommend;
mod seed;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "tandem", version, about = "Tandem's operator tool: demo data, distribution replays and rule checks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make the demo data.
    #[command(subcommand)]
    Seed(Seed),
    /// The 链动2+1 distribution engine.
    #[command(subcommand)]
    Chain21(chain21::Command),
    /// The recommender: evaluation on a purchase log, generated logs.
    #[command(subcommand)]
    Recommend(recommend::Command),
}

#[derive(Subcommand)]
enum Seed {
    /// Write the demo catalogue as SQL (suppliers, stores, products, SKUs, shelves, stock).
    Sql {
        /// Where to write it; standard output when absent.
        #[arg(long)]
        out: Option<PathBuf>,
        /// A `.dev.vars`-style file with `LOOKUP_KEY` and `PHONE_ENC_KEY`: adds the demo staff
        /// accounts, their phones hashed and sealed as the Worker does.
        #[arg(long)]
        keys: Option<PathBuf>,
    },
    /// Draw the demo products' pictures and 3D models into a folder (e.g. public/media).
    Media {
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Chain21(command) = cli.command {
        return chain21::run(command);
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tandem: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Seed(Seed::Sql { out, keys }) => {
            let mut sql = seed::demo_sql().map_err(|e| e.to_string())?;
            if let Some(path) = keys {
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                sql.push_str(&seed::staff_sql(&seed::PhoneKeys::from_vars(&text)?)?);
            }
            if let Some(path) = out {
                std::fs::write(&path, sql).map_err(|e| format!("{}: {e}", path.display()))
            } else {
                print!("{sql}");
                Ok(())
            }
        }
        Command::Seed(Seed::Media { out }) => write_media(&out).map_err(|e| format!("{}: {e}", out.display())),
        Command::Recommend(command) => recommend::run(command),
        Command::Chain21(_) => Err("handled in main".to_owned()),
    }
}

/// Every media file of the demo catalogue, by file name.
fn media_files() -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for product in demo::PRODUCTS {
        files.push((format!("{}.svg", product.id), media::picture_svg(product, false).into_bytes()));
        files.push((format!("{}-detail.svg", product.id), media::picture_svg(product, true).into_bytes()));
        if let Some(shape) = product.model {
            files.push((format!("{}.glb", product.id), media::model_glb(shape)));
        }
    }
    files
}

fn write_media(out: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    for (name, bytes) in media_files() {
        std::fs::write(out.join(name), bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// `public/media` is what `tandem seed media` draws today: every product has its pictures,
    /// and a change to the drawing code that was not regenerated fails here.
    #[test]
    fn committed_media_match_the_catalogue() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../public/media");
        for (name, bytes) in media_files() {
            let committed = std::fs::read(folder.join(&name)).unwrap_or_default();
            assert!(
                committed == bytes,
                "public/media/{name} is missing or stale: run `cargo run -p tandem-cli -- seed media --out public/media`"
            );
        }
    }

    #[test]
    fn help_describes_the_tool() {
        use clap::CommandFactory;
        let help = Cli::command().render_help().to_string();
        assert!(help.contains("seed"));
    }
}

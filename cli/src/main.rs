//! `tandem`, the operator's tool. Today it makes the demo data; later issues add the
//! distribution replay, the simulator and the recommender's evaluation.
//!
//! # Layout
//!
//! - `demo`: the demo catalogue (suppliers, stores, products).
//! - `seed`: the demo data as SQL for D1.
//! - `media`: the demo products' pictures (SVG) and 3D models (GLB).

mod demo;
mod media;
mod seed;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "tandem",
    version,
    about = "Tandem's operator tool: demo data and, later, distribution replays, simulations and evaluations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make the demo data.
    #[command(subcommand)]
    Seed(Seed),
}

#[derive(Subcommand)]
enum Seed {
    /// Write the demo catalogue as SQL (suppliers, stores, products, SKUs, shelves, stock).
    Sql {
        /// Where to write it; standard output when absent.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Draw the demo products' pictures and 3D models into a folder (e.g. public/media).
    Media {
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tandem: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Seed(Seed::Sql { out }) => {
            let sql = seed::demo_sql().map_err(|e| e.to_string())?;
            if let Some(path) = out {
                std::fs::write(&path, sql).map_err(|e| format!("{}: {e}", path.display()))
            } else {
                print!("{sql}");
                Ok(())
            }
        }
        Command::Seed(Seed::Media { out }) => write_media(&out).map_err(|e| format!("{}: {e}", out.display())),
    }
}

fn write_media(out: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    for product in demo::PRODUCTS {
        std::fs::write(out.join(format!("{}.svg", product.id)), media::picture_svg(product, false))?;
        std::fs::write(out.join(format!("{}-detail.svg", product.id)), media::picture_svg(product, true))?;
        if let Some(shape) = product.model {
            std::fs::write(out.join(format!("{}.glb", product.id)), media::model_glb(shape))?;
        }
    }
    Ok(())
}

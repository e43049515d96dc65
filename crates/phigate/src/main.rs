//! The `phigate` binary: command-line parsing and wiring, nothing else.
//! Every capability lives in a library crate under `crates/`.

mod access_wiring;
mod audit_http;
mod audit_log;
mod cli;
mod commands;
mod deid_vault;
mod env;
mod gateway_wiring;
mod local_models;
mod logging;
mod wiring;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole cause chain on one line; no error in
            // this program carries PHI or key material by construction.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

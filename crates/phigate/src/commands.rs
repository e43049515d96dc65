//! One module per command; `run` dispatches.

mod audit;
mod backup;
mod config;
mod deid;
mod keys;
mod output;
mod reidentify;
mod serve;
mod subjects;
mod synth;
mod users;

use crate::cli::{Cli, Command};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(&cli.global, args, serve::Mode::Serve),
        Command::Demo(args) => serve::run(&cli.global, args, serve::Mode::Demo),
        Command::Keys(cmd) => keys::run(&cli.global, cmd),
        Command::Backup { out } => backup::backup(&cli.global, &out),
        Command::Restore { from, force } => backup::restore(&cli.global, &from, force),
        Command::Deid(cmd) => deid::run(&cli.global, cmd),
        Command::Audit(cmd) => audit::run(&cli.global, cmd),
        Command::Users(cmd) => users::users(&cli.global, cmd),
        Command::ServiceAccounts(cmd) => users::service_accounts(&cli.global, cmd),
        Command::Subjects(cmd) => subjects::run(&cli.global, cmd),
        Command::Config(cmd) => config::run(&cli.global, cmd),
        Command::Synth(args) => synth::run(args),
    }
}

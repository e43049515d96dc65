//! `phigate config …`.

use crate::cli::{ConfigCommand, GlobalArgs};
use crate::wiring;

pub fn run(global: &GlobalArgs, cmd: ConfigCommand) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Check => {
            let config = wiring::load_config(global)?;
            println!("configuration is valid");
            println!("{config:#?}");
        }
        ConfigCommand::Env => {
            for (var, key) in phigate_config::env::variables() {
                println!("{var:<40} {key}");
            }
        }
    }
    Ok(())
}

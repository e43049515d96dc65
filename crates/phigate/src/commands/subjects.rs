//! `phigate subjects …`.

use anyhow::bail;
use phigate_store::SubjectId;

use crate::cli::{GlobalArgs, SubjectsCommand};
use crate::wiring;

pub fn run(global: &GlobalArgs, cmd: SubjectsCommand) -> anyhow::Result<()> {
    match cmd {
        SubjectsCommand::Shred { subject, yes } => {
            let subject = SubjectId::parse(&subject)?;
            if !yes {
                bail!(
                    "shredding is irreversible: every record of {subject} becomes unrecoverable; pass --yes to confirm"
                );
            }
            let config = wiring::load_config(global)?;
            let store = wiring::open_store(&config, false)?.store();
            let records = store.records_of(&subject)?.len();
            store.shred_subject(&subject)?;
            println!("shredded {subject}: its data key is destroyed; {records} records are now unrecoverable");
        }
    }
    Ok(())
}

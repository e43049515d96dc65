//! `phigate subjects …`.

use anyhow::bail;
use phigate_store::SubjectId;

use crate::cli::{GlobalArgs, SubjectsCommand};
use crate::{audit_log, wiring};

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
            let backend = wiring::open_store(&config, false)?;
            let store = backend.store();
            let resource = Some(("subject", subject.to_string()));
            let records = audit_log::audited(&config, &backend, "subject.shred", resource, || {
                let records = store.records_of(&subject)?.len();
                store.shred_subject(&subject)?;
                // The same id is the subject's pseudonym in the audit ledger:
                // its audit payloads go with it; proofs still verify.
                store.shred_named_key("audit-subject", subject.as_str())?;
                Ok(records)
            })?;
            println!(
                "shredded {subject}: its data keys are destroyed; {records} records and its audit payloads are now unrecoverable"
            );
        }
    }
    Ok(())
}

//! `phigate deid reidentify`: reverses keyed pseudonyms through the token
//! vault, for an operator who states why.
//!
//! Fail closed, in this order: the audit ledger is opened first (no ledger,
//! no re-identification); the event, with the reason and the tokens sealed
//! in its payload, is durable before a single original is written out.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, bail};
use phigate_audit::{Event, Outcome, Payload, Pseudonym, Resource};
use phigate_deid::operators::pseudonym_tokens;
use phigate_phi::Phi;

use crate::cli::GlobalArgs;
use crate::deid_vault::{Answer, TokenVault};
use crate::{audit_log, wiring};

/// Shortest reason accepted: enough for a ticket or protocol number.
const MIN_REASON: usize = 8;

pub fn run(global: &GlobalArgs, input: &Path, output: &Path, reason: &str) -> anyhow::Result<()> {
    if reason.trim().chars().count() < MIN_REASON {
        bail!("--reason must say why (at least {MIN_REASON} characters, e.g. a ticket or IRB protocol number)");
    }
    let mut text = String::new();
    super::deid::reader(input)?.read_to_string(&mut text).context("reading the input (UTF-8 text expected)")?;

    let config = wiring::load_config(global)?;
    let backend = wiring::open_store(&config, false)
        .context("re-identification needs phigate's store: point --data-dir at the installation that redacted")?;
    let ledger = audit_log::open(&config, &backend)?;
    let store = backend.store();

    let mut answers: BTreeMap<String, Answer> = BTreeMap::new();
    let mut subject = None;
    let found = pseudonym_tokens(&text);
    for r in &found {
        let token = &text[r.clone()];
        if answers.contains_key(token) {
            continue;
        }
        let (answer, from) = TokenVault::reveal(store.as_ref(), token)?;
        subject = subject.or(from);
        answers.insert(token.to_owned(), answer);
    }
    let revealed = answers.values().filter(|a| matches!(a, Answer::Found(_))).count();
    let shredded = answers.values().filter(|a| matches!(a, Answer::Shredded)).count();
    let unknown = answers.len() - revealed - shredded;

    // The record comes first; the originals go out only once it is durable.
    let mut event = Event::new(audit_log::operator(), "deid.reidentify", Outcome::Success);
    event.resource = Some(Resource { kind: "deid-token".into(), id: format!("{revealed}-of-{}", answers.len()) });
    event.purpose = Some("HOPERAT".into());
    let pseudonym = subject.as_ref().map_or_else(|| "deid-vault-none".to_owned(), |s| s.as_str().to_owned());
    event.subject = Some(Pseudonym::new(pseudonym).context("vault subject id as audit pseudonym")?);
    let tokens: Vec<&str> = answers.keys().map(String::as_str).collect();
    let detail = serde_json::json!({ "reason": reason, "tokens": tokens }).to_string();
    event.payload = Some(Payload { detail: Some(Phi::new(detail)), ..Payload::default() });
    ledger.append(&event).context("recording the re-identification in the audit ledger")?;
    ledger.close().context("closing the audit ledger")?;

    let mut restored = String::with_capacity(text.len());
    let mut at = 0;
    for r in found {
        restored.push_str(&text[at..r.start]);
        match answers.get(&text[r.clone()]) {
            Some(Answer::Found(found)) => restored.push_str(found.original.expose()),
            _ => restored.push_str(&text[r.clone()]),
        }
        at = r.end;
    }
    restored.push_str(&text[at..]);
    let mut w = super::output::Output::create(output)?;
    w.write_all(restored.as_bytes())?;
    w.commit()?;
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for a in answers.values() {
        if let Answer::Found(r) = a {
            *by_kind.entry(r.kind.as_str()).or_default() += 1;
        }
    }
    let by_kind: Vec<String> = by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
    eprintln!(
        "re-identified {revealed} of {} distinct tokens ({}; {shredded} crypto-shredded, {unknown} not in this vault); \
         recorded in the audit ledger as deid.reidentify",
        answers.len(),
        if by_kind.is_empty() { "none".to_owned() } else { by_kind.join(", ") }
    );
    Ok(())
}

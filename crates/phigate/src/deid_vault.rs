//! The pseudonym token vault: what makes keyed pseudonyms reversible, and
//! only through an audited re-identification.
//!
//! A pseudonym (`[MRN-3f2a0c9b1d]`) is an HMAC and cannot be inverted. When
//! `phigate deid redact` issues one, the original is stored here as an
//! encrypted record of the embedded store: kind `deid-token`, sealed under
//! the data key of a vault subject created for that run, found again by a
//! keyed-hash lookup on the token. Nothing in clear: the token is the only
//! lookup term and it is itself hashed.
//!
//! One subject per run makes crypto-shredding a run's copy of its originals
//! one command (`phigate subjects shred <vault subject>`); proofs in the
//! audit ledger still verify afterwards. Pseudonyms are keyed, not random,
//! so two runs over the same identifier issue the same token and each keeps
//! its own copy: a token becomes irreversible when every run that issued it
//! has been shredded (`reveal` answers from any run's copy still readable).

use std::collections::HashSet;
use std::sync::Arc;

use anyhow::Context;
use phigate_deid::IssuedPseudonym;
use phigate_phi::Phi;
use phigate_store::{Lookup, NewRecord, Store, SubjectId};
use serde::{Deserialize, Serialize};

/// Record kind of a vault entry.
const KIND: &str = "deid-token";
/// Lookup field holding the token.
const FIELD: &str = "token";

/// A run's vault: where the pseudonyms it issues are remembered.
pub struct TokenVault {
    store: Arc<dyn Store>,
    /// Created with the first entry, so a run that issues no pseudonym
    /// leaves nothing behind.
    subject: Option<SubjectId>,
    stored: HashSet<String>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    kind: String,
    original: String,
}

/// A token read back from the vault.
pub struct Revealed {
    /// The identifier type the token stands for.
    pub kind: String,
    /// The original text.
    pub original: Phi<String>,
}

/// What looking a token up found.
pub enum Answer {
    /// The original.
    Found(Revealed),
    /// The run that issued it was crypto-shredded.
    Shredded,
    /// No vault entry: issued without a vault, or by another installation.
    Unknown,
}

impl TokenVault {
    /// A vault for one run; its subject and data key are made on first use.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store, subject: None, stored: HashSet::new() }
    }

    /// The subject whose data key seals this run's entries, once there are any.
    pub fn subject(&self) -> Option<&SubjectId> {
        self.subject.as_ref()
    }

    /// How many distinct tokens this run stored.
    pub fn len(&self) -> usize {
        self.stored.len()
    }

    /// Stores the originals of tokens not stored yet by this run, in one
    /// transaction.
    pub fn remember(&mut self, issued: Vec<IssuedPseudonym>) -> anyhow::Result<()> {
        let fresh: Vec<IssuedPseudonym> = issued.into_iter().filter(|i| !self.stored.contains(&i.token)).collect();
        if fresh.is_empty() {
            return Ok(());
        }
        let bodies: Vec<Phi<Vec<u8>>> = fresh
            .iter()
            .map(|i| {
                let entry = Entry { kind: i.kind.as_str().to_owned(), original: i.original.expose().clone() };
                serde_json::to_vec(&entry).map(Phi::new)
            })
            .collect::<Result<_, _>>()
            .context("encoding a vault entry")?;
        let subject = match &self.subject {
            Some(s) => s.clone(),
            None => {
                let s = self.store.create_subject().context("creating the token vault's subject")?;
                self.subject = Some(s.clone());
                s
            }
        };
        let tokens: Vec<Phi<String>> = fresh.iter().map(|i| Phi::new(i.token.clone())).collect();
        let lookups: Vec<[Lookup<'_>; 1]> = tokens.iter().map(|t| [Lookup { field: FIELD, value: t }]).collect();
        let records: Vec<NewRecord<'_>> = bodies
            .iter()
            .zip(&lookups)
            .map(|(body, lookups)| NewRecord { subject: &subject, kind: KIND, body, lookups })
            .collect();
        self.store.put_batch(&records).context("storing pseudonyms in the token vault")?;
        self.stored.extend(fresh.into_iter().map(|i| i.token));
        Ok(())
    }

    /// Looks a token up (the newest entry wins if several runs issued it:
    /// they all hold the same original, as the token is a keyed hash of it).
    pub fn reveal(store: &dyn Store, token: &str) -> anyhow::Result<(Answer, Option<SubjectId>)> {
        let ids = store.find(KIND, FIELD, &Phi::new(token.to_owned())).context("searching the token vault")?;
        let mut shredded = None;
        for id in ids.into_iter().rev() {
            match store.get(id) {
                Ok(record) => {
                    let entry: Entry =
                        serde_json::from_slice(record.body.expose()).context("decoding a vault entry")?;
                    let found = Revealed { kind: entry.kind, original: Phi::new(entry.original) };
                    return Ok((Answer::Found(found), Some(record.subject)));
                }
                Err(phigate_store::Error::Shredded(_)) => shredded = Some(()),
                Err(e) => return Err(e).context("reading the token vault"),
            }
        }
        Ok((if shredded.is_some() { Answer::Shredded } else { Answer::Unknown }, None))
    }
}

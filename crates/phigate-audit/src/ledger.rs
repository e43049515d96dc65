//! The ledger: durable, concurrent appends and everything read from them.
//!
//! Appends are cheap for the caller: it seals the payload and encodes the
//! entry on its own thread, then queues it. One writer thread drains the
//! queue, writes the whole batch with one `write`, makes it durable with one
//! `fdatasync`, and only then acknowledges every waiter (group commit). The
//! in-memory tree and index are updated after the fsync, so every proof and
//! every query only ever sees durable entries.
//!
//! There is no update or delete path: segments are append-only, and the only
//! retention action is shredding payload keys ([`Ledger::purge_expired`]).

mod recover;
mod writer;

use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;
use time::OffsetDateTime;

use crate::alert::{AlertEngine, AlertSink};
use crate::checkpoint::store::Appender;
use crate::checkpoint::{CheckpointSigner, SignedCheckpoint};
use crate::event::{Actor, ActorKind, Event, Outcome, Payload, Pseudonym, Record, Resource, payload_aad};
use crate::index::{ACTION_PURGE, Index, Keys, Query};
use crate::merkle::{Hash, Tree};
use crate::proof::{ConsistencyProof, InclusionProof};
use crate::segment::{ENTRY_HEAD, MAX_ENTRY_BYTES};
use crate::witness::Witness;
use crate::{Error, PayloadCipher};

/// Six years (HIPAA §164.316(b)(2)), counted generously to cover leap days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(2_192 * 24 * 3600);

/// How the ledger stores and batches.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data directory (created if absent).
    pub dir: PathBuf,
    /// A segment is closed and a new one started past this size.
    pub max_segment_bytes: u64,
    /// Most entries per group commit. `1` means one fsync per entry (only
    /// useful as a benchmark baseline).
    pub max_batch: usize,
    /// How long payloads are kept after a subject's last activity.
    pub retention: Duration,
    /// The writer signs a local checkpoint at least this often while
    /// entries arrive. `None`: only on [`Ledger::checkpoint`] and close.
    pub checkpoint_interval: Option<Duration>,
}

impl Config {
    /// Defaults: 256 MiB segments, batches of up to 8192, six-year
    /// retention, a checkpoint every minute.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            max_segment_bytes: 256 << 20,
            max_batch: 8192,
            retention: DEFAULT_RETENTION,
            checkpoint_interval: Some(Duration::from_secs(60)),
        }
    }
}

/// Proof of acceptance: where the entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Sequence number (Merkle leaf index).
    pub seq: u64,
    /// Entry id (hex).
    pub id: String,
    /// Ledger time of the entry.
    pub time: OffsetDateTime,
}

/// An entry queued but maybe not yet durable; pass to [`Ledger::wait`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "an entry is only acknowledged once waited for"]
pub struct Pending(Receipt);

impl Pending {
    /// Where the entry will be.
    pub fn receipt(&self) -> &Receipt {
        &self.0
    }
}

/// A queued entry: body JSON without seq/time, which the writer splices in.
pub(crate) struct Item {
    pub seq: u64,
    pub time_ns: i64,
    pub body: Vec<u8>,
    pub keys: Keys,
}

pub(crate) struct Queue {
    pub items: VecDeque<Item>,
    pub next_seq: u64,
    pub last_ns: i64,
    pub closed: bool,
    /// The writer is asleep on `work`: only then is a wake-up (a system
    /// call) needed.
    pub writer_idle: bool,
}

pub(crate) struct Durable {
    pub size: u64,
    pub failed: Option<String>,
    /// Async waiters: (seq, waker), woken once `size > seq` or on failure.
    pub wakers: Vec<(u64, std::task::Waker)>,
}

impl Durable {
    /// Records a new durable size; returns the wakers now due.
    pub(crate) fn advance(&mut self, size: u64) -> Vec<std::task::Waker> {
        self.size = size;
        let (due, waiting): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.wakers).into_iter().partition(|(s, _)| *s < size);
        self.wakers = waiting;
        due.into_iter().map(|(_, w)| w).collect()
    }
}

/// Location of an entry record: segment number and byte offset.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Loc {
    pub seg: u32,
    pub off: u32,
}

pub(crate) struct Seg {
    pub path: PathBuf,
    pub file: Arc<File>,
}

/// What readers see; only durable entries.
#[derive(Default)]
pub(crate) struct State {
    pub tree: Tree,
    pub index: Index,
    pub locs: Vec<Loc>,
    pub segments: Vec<Seg>,
}

pub(crate) struct Shared {
    pub dir: PathBuf,
    /// `None` when opened read-only.
    pub signer: Option<CheckpointSigner>,
    pub queue: Mutex<Queue>,
    pub work: Condvar,
    pub durable: Mutex<Durable>,
    pub done: Condvar,
    pub state: RwLock<State>,
    pub checkpoints: Mutex<Checkpoints>,
}

pub(crate) struct Checkpoints {
    /// `None` when opened read-only.
    pub appender: Option<Appender>,
    /// The latest stored checkpoint.
    pub last: Option<SignedCheckpoint>,
}

/// Lock helpers: a panic while holding a lock leaves data that is still
/// consistent (every update is a push after the fsync), so poisoning is
/// not a reason to stop auditing.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// A checkpoint of everything durable: the latest stored one if it
    /// already covers it, else a new one, signed and stored.
    pub(crate) fn checkpoint(&self) -> Result<SignedCheckpoint, Error> {
        let mut cps = lock(&self.checkpoints);
        let (size, root) = {
            let st = self.read();
            (st.tree.size(), st.tree.root())
        };
        if let Some(last) = &cps.last
            && last.checkpoint.size == size
        {
            return Ok(last.clone());
        }
        let (Some(signer), Some(appender)) = (&self.signer, cps.appender.as_mut()) else {
            return Err(Error::ReadOnly);
        };
        let signed = signer.sign(size, root);
        appender.append(&signed.note)?;
        cps.last = Some(signed.clone());
        Ok(signed)
    }
}

/// Takes the directory's exclusive writer lock, creating the directory if needed.
fn lock_dir(dir: &Path) -> Result<std::fs::File, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join("LOCK");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::InUse { dir: dir.to_path_buf() }),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
    }
}

/// Future of [`Ledger::durable`].
pub struct DurableWait {
    shared: Arc<Shared>,
    receipt: Receipt,
}

impl std::future::Future for DurableWait {
    type Output = Result<Receipt, Error>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let mut d = lock(&self.shared.durable);
        if d.size > self.receipt.seq {
            return std::task::Poll::Ready(Ok(self.receipt.clone()));
        }
        if let Some(f) = &d.failed {
            return std::task::Poll::Ready(Err(Error::WriterFailed(f.clone())));
        }
        // Registered under the lock the writer takes to advance, so no wake-up is missed.
        d.wakers.push((self.receipt.seq, cx.waker().clone()));
        std::task::Poll::Pending
    }
}

/// The open audit ledger. Share it behind an `Arc`; every method takes `&self`.
pub struct Ledger {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
    cipher: Arc<dyn PayloadCipher>,
    retention: Duration,
    witnesses: Vec<Box<dyn Witness>>,
    monitor: Option<Mutex<Monitor>>,
    /// Entry ids: random per open, then counted.
    id_prefix: u64,
    ids: AtomicU64,
    /// Exclusive lock on `LOCK` in the directory while open for appending;
    /// released when the file is closed (on drop, or if the process dies).
    _lock: Option<std::fs::File>,
}

/// Alert rules and where their alerts go.
struct Monitor {
    engine: AlertEngine,
    sinks: Vec<Box<dyn AlertSink>>,
}

#[derive(Serialize)]
struct Body<'a> {
    id: &'a str,
    #[serde(flatten)]
    event: &'a Event,
    #[serde(skip_serializing_if = "Option::is_none")]
    sealed: Option<String>,
}

impl Ledger {
    /// Opens (or creates) the ledger in `config.dir`.
    ///
    /// Recovers from a crash by cutting the unacknowledged tail of the last
    /// segment (everything after its last commit record) and records that
    /// it did so as an `audit.recovery` entry. Refuses to open if anything
    /// acknowledged is damaged, or the signing key is not the log's key.
    pub fn open(config: Config, signer: CheckpointSigner, cipher: Arc<dyn PayloadCipher>) -> Result<Self, Error> {
        Self::start(config, Some(signer), cipher)
    }

    /// Opens for reading only (`prove`, `trace`, `export`, queries): needs no
    /// signing key and changes no file, not even a torn tail, which is
    /// simply not loaded. Payloads cannot be opened without a cipher.
    pub fn open_read_only(dir: &Path) -> Result<Self, Error> {
        Self::open_read_only_with(dir, Arc::new(crate::cipher::Refuse("ledger opened without a payload cipher")))
    }

    /// Read-only, with a cipher so that [`Ledger::open_payload`] works.
    pub fn open_read_only_with(dir: &Path, cipher: Arc<dyn PayloadCipher>) -> Result<Self, Error> {
        Self::start(Config::new(dir), None, cipher)
    }

    fn start(config: Config, signer: Option<CheckpointSigner>, cipher: Arc<dyn PayloadCipher>) -> Result<Self, Error> {
        // Taken before recovery: recovery may cut a torn tail, which only the
        // single writer may do.
        let lock = if signer.is_some() { Some(lock_dir(&config.dir)?) } else { None };
        let recovered = recover::open(&config, signer.as_ref())?;
        let size = recovered.state.tree.size();
        let last_ns = recovered.last_ns;
        let read_only = signer.is_none();
        let shared = Arc::new(Shared {
            dir: config.dir.clone(),
            signer,
            queue: Mutex::new(Queue {
                items: VecDeque::new(),
                next_seq: size,
                last_ns,
                closed: read_only,
                writer_idle: false,
            }),
            work: Condvar::new(),
            durable: Mutex::new(Durable { size, failed: None, wakers: Vec::new() }),
            done: Condvar::new(),
            state: RwLock::new(recovered.state),
            checkpoints: Mutex::new(Checkpoints { appender: recovered.checkpoints, last: recovered.last_checkpoint }),
        });
        let writer = match recovered.tail {
            Some(tail) => Some(writer::spawn(Arc::clone(&shared), &config, tail)?),
            None => None,
        };
        let mut prefix = [0u8; 8];
        getrandom::getrandom(&mut prefix).map_err(|_| Error::Invalid("OS random number generator failed".into()))?;
        let ledger = Self {
            shared,
            writer,
            cipher,
            retention: config.retention,
            witnesses: Vec::new(),
            monitor: None,
            id_prefix: u64::from_le_bytes(prefix),
            ids: AtomicU64::new(0),
            _lock: lock,
        };
        if let Some(dropped) = recovered.dropped_bytes {
            let mut e = Event::new(system_actor("recovery"), "audit.recovery", Outcome::Success);
            e.resource = Some(Resource { kind: "segment-tail".into(), id: format!("dropped-{dropped}-bytes") });
            ledger.append(&e)?;
        }
        Ok(ledger)
    }

    /// Publishes every checkpoint made by [`Ledger::checkpoint`] to `witness`.
    pub fn add_witness(&mut self, witness: Box<dyn Witness>) {
        self.witnesses.push(witness);
    }

    /// Evaluates `engine` on every appended event, sends alerts to `sinks`
    /// and records each alert as an `audit.alert` entry.
    pub fn set_alerts(&mut self, engine: AlertEngine, sinks: Vec<Box<dyn AlertSink>>) {
        self.monitor = Some(Mutex::new(Monitor { engine, sinks }));
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Appends and returns once the entry is durable on disk.
    pub fn append(&self, event: &Event) -> Result<Receipt, Error> {
        let pending = self.submit(event)?;
        self.wait(&pending)
    }

    /// Queues an entry without waiting; many submits then one [`Ledger::wait`]
    /// on the last keeps the writer's batches full from few threads.
    pub fn submit(&self, event: &Event) -> Result<Pending, Error> {
        let pending = self.enqueue(event)?;
        if let Some(monitor) = &self.monitor {
            let mut guard = lock(monitor);
            let Monitor { engine, sinks } = &mut *guard;
            for alert in engine.observe(pending.0.time, event) {
                let mut e = Event::new(system_actor("monitor"), "audit.alert", Outcome::Success);
                e.resource = Some(Resource { kind: "alert".into(), id: alert.rule.as_str().into() });
                e.source = event.source.clone();
                e.request_id = event.request_id.clone();
                // Durable with the next batch; the caller waits only for its own entry.
                let _alert_entry = self.enqueue(&e)?;
                for sink in sinks.iter() {
                    // A failing sink must not stop auditing; the alert is in the ledger.
                    let _ = sink.deliver(&alert);
                }
            }
        }
        Ok(pending)
    }

    fn enqueue(&self, event: &Event) -> Result<Pending, Error> {
        if self.writer.is_none() {
            return Err(Error::ReadOnly);
        }
        // Unique, not secret: a random per-open prefix and a counter, so an
        // id costs no system call.
        let n = self.ids.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:016x}{n:016x}", self.id_prefix);
        let sealed = match &event.payload {
            None => None,
            Some(payload) => Some(self.seal(event, payload, &id)?),
        };
        let body = serde_json::to_vec(&Body { id: &id, event, sealed })
            .map_err(|_| Error::Encoding("event does not encode".into()))?;
        if body.len() + 128 > MAX_ENTRY_BYTES {
            return Err(Error::Invalid(format!("entry exceeds {MAX_ENTRY_BYTES} bytes")));
        }
        let keys = Keys {
            actor: event.actor.id.clone(),
            subject: event.subject.clone(),
            action: event.action.clone(),
            request_id: event.request_id.clone(),
        };
        let mut q = lock(&self.shared.queue);
        if q.closed {
            drop(q);
            let failed = lock(&self.shared.durable).failed.clone();
            return Err(Error::WriterFailed(failed.unwrap_or_else(|| "ledger is closed".into())));
        }
        let seq = q.next_seq;
        let time_ns = crate::index::nanos(OffsetDateTime::now_utc()).max(q.last_ns);
        q.next_seq += 1;
        q.last_ns = time_ns;
        q.items.push_back(Item { seq, time_ns, body, keys });
        let wake = q.writer_idle;
        q.writer_idle = false;
        drop(q);
        if wake {
            self.shared.work.notify_one();
        }
        let time = OffsetDateTime::from_unix_timestamp_nanos(time_ns.into()).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Ok(Pending(Receipt { seq, id, time }))
    }

    fn seal(&self, event: &Event, payload: &Payload, id: &str) -> Result<String, Error> {
        let subject = event
            .subject
            .as_ref()
            .ok_or_else(|| Error::Invalid("an event with a payload needs a subject pseudonym".into()))?;
        let plain = payload.encode()?;
        let sealed = self.cipher.seal(subject, &payload_aad(id), &plain)?;
        Ok(B64.encode(sealed))
    }

    /// Like [`Ledger::wait`], for async callers: resolves once the entry is
    /// durable (or the writer failed) without holding a thread meanwhile.
    pub fn durable(&self, pending: &Pending) -> DurableWait {
        DurableWait { shared: Arc::clone(&self.shared), receipt: pending.0.clone() }
    }

    /// Blocks until the entry is durable (or the writer has failed).
    pub fn wait(&self, pending: &Pending) -> Result<Receipt, Error> {
        let seq = pending.0.seq;
        let mut d = lock(&self.shared.durable);
        loop {
            if d.size > seq {
                return Ok(pending.0.clone());
            }
            if let Some(f) = &d.failed {
                return Err(Error::WriterFailed(f.clone()));
            }
            d = self.shared.done.wait(d).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Number of durable entries.
    pub fn size(&self) -> u64 {
        self.shared.read().tree.size()
    }

    /// Root of the current tree.
    pub fn root(&self) -> Hash {
        self.shared.read().tree.root()
    }

    /// Leaf hash of entry `seq`.
    pub fn leaf_hash(&self, seq: u64) -> Result<Hash, Error> {
        let st = self.shared.read();
        st.tree.leaf(seq).ok_or(Error::NoSuchEntry { seq, size: st.tree.size() })
    }

    /// Reads one entry (clear fields and sealed payload).
    pub fn read(&self, seq: u64) -> Result<Record, Error> {
        let (file, path, off) = {
            let st = self.shared.read();
            let loc = *st.locs.get(seq as usize).ok_or(Error::NoSuchEntry { seq, size: st.tree.size() })?;
            let seg = &st.segments[loc.seg as usize];
            (Arc::clone(&seg.file), seg.path.clone(), u64::from(loc.off))
        };
        let mut head = [0u8; ENTRY_HEAD];
        file.read_exact_at(&mut head, off).map_err(|e| Error::io(&path, e))?;
        let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut bytes = vec![0u8; len];
        file.read_exact_at(&mut bytes, off + ENTRY_HEAD as u64).map_err(|e| Error::io(&path, e))?;
        Record::decode(&bytes)
    }

    /// Decrypts a record's payload. `Ok(None)` if it has none;
    /// [`Error::Shredded`] after a retention purge of its subject.
    pub fn open_payload(&self, record: &Record) -> Result<Option<Payload>, Error> {
        let Some(sealed) = &record.sealed else { return Ok(None) };
        let subject =
            record.event.subject.as_ref().ok_or_else(|| Error::Encoding("sealed payload without subject".into()))?;
        let ct = B64.decode(sealed).map_err(|_| Error::Encoding("sealed payload is not base64".into()))?;
        let plain = match self.cipher.open(subject, &payload_aad(&record.id), &ct) {
            Ok(p) => p,
            Err(crate::CipherError::Shredded) => return Err(Error::Shredded { seq: record.seq }),
            Err(e) => return Err(e.into()),
        };
        Payload::decode(&plain).map(Some)
    }

    /// Seqs matching an index query, ascending.
    pub fn query(&self, query: &Query) -> Vec<u64> {
        self.shared.read().index.query(query)
    }

    /// Records matching an index query, in seq order.
    pub fn query_records(&self, query: &Query) -> Result<Vec<Record>, Error> {
        self.query(query).into_iter().map(|s| self.read(s)).collect()
    }

    /// Every entry of one request, in order: the full chain of one AI answer.
    pub fn trace(&self, request_id: &str) -> Result<Vec<Record>, Error> {
        self.query_records(&Query { request_id: Some(request_id.into()), ..Query::default() })
    }

    /// Inclusion proof of entry `seq` in the tree of `size` entries
    /// (`None`: the current size).
    pub fn prove(&self, seq: u64, size: Option<u64>) -> Result<InclusionProof, Error> {
        let st = self.shared.read();
        let size = size.unwrap_or(st.tree.size());
        let path = st.tree.inclusion_path(seq, size).ok_or(Error::NoSuchEntry { seq, size })?;
        Ok(InclusionProof { index: seq, size, path })
    }

    /// Consistency proof from the tree of `old` entries to that of `new`.
    pub fn prove_consistency(&self, old: u64, new: u64) -> Result<ConsistencyProof, Error> {
        let st = self.shared.read();
        let path = st
            .tree
            .consistency_path(old, new)
            .ok_or_else(|| Error::Invalid(format!("no consistency proof from {old} to {new}")))?;
        Ok(ConsistencyProof { old, new, path })
    }

    /// Root of the tree at an earlier size.
    pub fn root_at(&self, size: u64) -> Result<Hash, Error> {
        let st = self.shared.read();
        st.tree.root_at(size).ok_or(Error::NoSuchEntry { seq: size, size: st.tree.size() })
    }

    /// The latest stored checkpoint, if any: what a proof for an outside
    /// party should be made against (`prove(seq, Some(cp.checkpoint.size))`).
    pub fn latest_checkpoint(&self) -> Option<SignedCheckpoint> {
        lock(&self.shared.checkpoints).last.clone()
    }

    /// Signs a checkpoint of everything durable, stores it, and publishes it
    /// to every witness. Call on a timer (the server does) and on shutdown.
    pub fn checkpoint(&self) -> Result<SignedCheckpoint, Error> {
        let signed = self.shared.checkpoint()?;
        for w in &self.witnesses {
            w.publish(&signed)?;
        }
        Ok(signed)
    }

    /// Shreds the payload keys of every subject with no activity within the
    /// retention period before `now`, and records each purge. Entries,
    /// hashes and proofs stay; only the payloads become unreadable.
    pub fn purge_expired(&self, now: OffsetDateTime) -> Result<Vec<Pseudonym>, Error> {
        let cutoff = now - self.retention;
        let expired = self.shared.read().index.expired(cutoff);
        for subject in &expired {
            self.cipher.shred(subject)?;
            let mut e = Event::new(system_actor("retention"), ACTION_PURGE, Outcome::Success);
            e.subject = Some(subject.clone());
            e.purpose = Some("HRECORD".into());
            self.append(&e)?;
        }
        Ok(expired)
    }

    /// Whether a subject's payloads were purged.
    pub fn is_purged(&self, subject: &Pseudonym) -> bool {
        self.shared.read().index.is_purged(subject)
    }

    /// Stops the writer after the queue drains and signs a final checkpoint.
    pub fn close(mut self) -> Result<SignedCheckpoint, Error> {
        if self.writer.is_none() {
            return Err(Error::ReadOnly);
        }
        self.stop_writer();
        if let Some(f) = lock(&self.shared.durable).failed.clone() {
            return Err(Error::WriterFailed(f));
        }
        self.checkpoint()
    }

    fn stop_writer(&mut self) {
        lock(&self.shared.queue).closed = true;
        self.shared.work.notify_all();
        if let Some(handle) = self.writer.take() {
            // A panicking writer already recorded its failure for waiters.
            let _ = handle.join();
        }
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        if self.writer.is_some() {
            self.stop_writer();
            // Best effort: a final local checkpoint covering the tail.
            let _ = self.shared.checkpoint();
        }
    }
}

fn system_actor(role: &str) -> Actor {
    Actor { id: "phigate-audit".into(), kind: ActorKind::Service, role: role.into(), session: None }
}

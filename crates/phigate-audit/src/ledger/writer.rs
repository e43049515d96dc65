//! The group-commit writer thread.
//!
//! One thread owns the open segment. Each turn it takes everything queued
//! (up to `max_batch`), frames the entries into one buffer (splicing in seq
//! and time, hashing each entry in place so nothing is allocated per entry),
//! appends the commit record, issues one `write` and one `fdatasync`, then
//! publishes the entries to readers and wakes every waiter. While it is
//! syncing, new appends pile up in the queue and form the next batch, so
//! the batch size adapts to load without a timer.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::{Config, Item, Loc, Seg, Shared, lock};
use crate::Error;
use crate::merkle::{CompactRange, leaf_hash};
use crate::segment::{self, HEADER_LEN};

/// The open end of the log, handed over by recovery.
pub(crate) struct Tail {
    pub file: File,
    pub path: PathBuf,
    pub seg_index: u32,
    pub len: u64,
    pub frontier: CompactRange,
}

struct Writer {
    shared: Arc<Shared>,
    tail: Tail,
    max_segment_bytes: u64,
    max_batch: usize,
    checkpoint_interval: Option<Duration>,
    last_checkpoint: Instant,
    buf: Vec<u8>,
    leaves: Vec<(crate::merkle::Hash, u32)>,
}

pub(crate) fn spawn(shared: Arc<Shared>, config: &Config, tail: Tail) -> Result<JoinHandle<()>, Error> {
    let mut w = Writer {
        shared,
        tail,
        max_segment_bytes: config.max_segment_bytes.clamp(4096, u64::from(u32::MAX)),
        max_batch: config.max_batch.max(1),
        checkpoint_interval: config.checkpoint_interval,
        last_checkpoint: Instant::now(),
        buf: Vec::with_capacity(1 << 20),
        leaves: Vec::new(),
    };
    std::thread::Builder::new()
        .name("phigate-audit-writer".into())
        .spawn(move || w.run())
        .map_err(|e| Error::io("writer thread", e))
}

impl Writer {
    fn run(&mut self) {
        let mut batch: Vec<Item> = Vec::new();
        loop {
            {
                let mut q = lock(&self.shared.queue);
                while q.items.is_empty() && !q.closed {
                    q.writer_idle = true;
                    q = self.shared.work.wait(q).unwrap_or_else(std::sync::PoisonError::into_inner);
                    q.writer_idle = false;
                }
                if q.items.is_empty() {
                    return;
                }
                let n = q.items.len().min(self.max_batch);
                batch.extend(q.items.drain(..n));
            }
            if let Err(e) = self.commit(&mut batch) {
                self.fail(&e);
                return;
            }
            batch.clear();
            if let Some(every) = self.checkpoint_interval
                && self.last_checkpoint.elapsed() >= every
            {
                self.last_checkpoint = Instant::now();
                if let Err(e) = self.shared.checkpoint() {
                    self.fail(&e);
                    return;
                }
            }
        }
    }

    /// Records the failure so no waiter is acknowledged and no new entry accepted.
    fn fail(&self, e: &Error) {
        lock(&self.shared.queue).closed = true;
        let wakers = {
            let mut d = lock(&self.shared.durable);
            d.failed = Some(e.to_string());
            std::mem::take(&mut d.wakers)
        };
        self.shared.done.notify_all();
        for (_, w) in wakers {
            w.wake();
        }
    }

    fn commit(&mut self, batch: &mut Vec<Item>) -> Result<(), Error> {
        let estimate: u64 = batch.iter().map(|i| i.body.len() as u64 + 128).sum();
        if self.tail.len > HEADER_LEN as u64 && self.tail.len + estimate > self.max_segment_bytes {
            let base = batch.first().map_or(self.tail.frontier.size(), |i| i.seq);
            self.roll(base)?;
        }
        self.buf.clear();
        self.leaves.clear();
        for item in batch.iter() {
            debug_assert_eq!(item.seq, self.tail.frontier.size());
            let t =
                OffsetDateTime::from_unix_timestamp_nanos(item.time_ns.into()).unwrap_or(OffsetDateTime::UNIX_EPOCH);
            let record_at = self.tail.len + self.buf.len() as u64;
            let off = u32::try_from(record_at).map_err(|_| Error::Invalid("segment exceeds 4 GiB".into()))?;
            let head = self.buf.len();
            let slot = segment::push_entry_head(&mut self.buf, item.seq, 0);
            let start = self.buf.len();
            // `{"seq":N,"time":"RFC 3339",` then the body without its `{`;
            // written in place, so nothing is allocated per entry.
            let prefix = write!(
                self.buf,
                "{{\"seq\":{},\"time\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z\",",
                item.seq,
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.nanosecond()
            );
            prefix.map_err(|e| Error::io(&self.tail.path, e))?;
            self.buf.extend_from_slice(item.body.get(1..).unwrap_or_default());
            let len = u32::try_from(self.buf.len() - start).map_err(|_| Error::Invalid("entry too large".into()))?;
            self.buf[head + 1..head + 5].copy_from_slice(&len.to_le_bytes());
            let leaf = leaf_hash(&self.buf[start..]);
            self.buf[slot..slot + 32].copy_from_slice(&leaf.0);
            self.tail.frontier.push(leaf);
            self.leaves.push((leaf, off));
        }
        let size = self.tail.frontier.size();
        segment::push_commit(&mut self.buf, size, &self.tail.frontier.root());
        let path = &self.tail.path;
        self.tail.file.write_all(&self.buf).map_err(|e| Error::io(path, e))?;
        self.tail.file.sync_data().map_err(|e| Error::io(path, e))?;
        self.tail.len += self.buf.len() as u64;

        {
            let mut st = self.shared.state.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            for (item, &(leaf, off)) in batch.drain(..).zip(&self.leaves) {
                st.tree.push(leaf);
                st.locs.push(Loc { seg: self.tail.seg_index, off });
                st.index.push(item.seq, item.time_ns, item.keys);
            }
        }
        let due = lock(&self.shared.durable).advance(size);
        self.shared.done.notify_all();
        for w in due {
            w.wake();
        }
        Ok(())
    }

    /// Starts a new segment whose first entry is `base`.
    fn roll(&mut self, base: u64) -> Result<(), Error> {
        let (file, path) = create_segment(&self.shared.dir, base)?;
        let reader = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let seg_index = {
            let mut st = self.shared.state.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            st.segments.push(Seg { path: path.clone(), file: Arc::new(reader) });
            u32::try_from(st.segments.len() - 1).map_err(|_| Error::Invalid("too many segments".into()))?
        };
        self.tail.file = file;
        self.tail.path = path;
        self.tail.seg_index = seg_index;
        self.tail.len = HEADER_LEN as u64;
        Ok(())
    }
}

/// Creates a segment file with its header, durably (file and directory).
pub(crate) fn create_segment(dir: &std::path::Path, base: u64) -> Result<(File, PathBuf), Error> {
    let path = segment::segment_path(dir, base);
    let mut file = OpenOptions::new().create_new(true).append(true).open(&path).map_err(|e| Error::io(&path, e))?;
    file.write_all(&segment::header(base)).map_err(|e| Error::io(&path, e))?;
    file.sync_all().map_err(|e| Error::io(&path, e))?;
    let seg_dir = segment::segments_dir(dir);
    File::open(&seg_dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(&seg_dir, e))?;
    Ok((file, path))
}

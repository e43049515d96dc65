//! What crossed the boundary: every request body, one line each.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::{Mutex, MutexGuard};

use crate::{Error, StubConfig};

pub(crate) struct Capture {
    memory: Option<Mutex<Vec<String>>>,
    file: Option<Mutex<File>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Appends are whole values: a poisoned lock still guards a consistent log.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Capture {
    pub(crate) fn new(config: &StubConfig) -> Result<Self, Error> {
        let file = match &config.capture_path {
            Some(path) => Some(Mutex::new(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| Error::Capture { path: path.clone(), source })?,
            )),
            None => None,
        };
        Ok(Self { memory: config.capture_in_memory.then(|| Mutex::new(Vec::new())), file })
    }

    /// Records one body as one line. JSON allows raw CR/LF only as whitespace
    /// between tokens (inside strings they are escaped), so turning them into
    /// spaces keeps a JSON body equivalent and on one line; the text is
    /// otherwise exactly what arrived (invalid UTF-8 replaced).
    pub(crate) fn record(&self, body: &[u8]) {
        if self.memory.is_none() && self.file.is_none() {
            return;
        }
        let mut line = String::from_utf8_lossy(body).into_owned();
        if line.contains(['\r', '\n']) {
            line = line.replace(['\r', '\n'], " ");
        }
        if let Some(file) = &self.file {
            line.push('\n');
            // A capture server that cannot write is a broken test fixture;
            // the request is still answered, and the loss shows as a missing line.
            let _ = lock(file).write_all(line.as_bytes());
            line.pop();
        }
        if let Some(memory) = &self.memory {
            lock(memory).push(line);
        }
    }

    pub(crate) fn captured(&self) -> Vec<String> {
        self.memory.as_ref().map(|m| lock(m).clone()).unwrap_or_default()
    }
}

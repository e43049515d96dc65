//! Where a command's output goes.
//!
//! Standard output (`-`) streams as the command goes. A file is written
//! under a hidden partial name beside its destination and appears under its
//! own name only when the command commits it: after everything else the
//! output depends on is durable (for `deid redact`, the originals of its
//! pseudonyms in the token vault). A command that fails, or is refused
//! half-way, leaves no output file behind, rather than a truncated one that
//! looks finished or pseudonyms nobody can reverse.
//!
//! Files are created owner-only (0600): re-identified output is PHI, and
//! de-identified output is for the operator to share deliberately.
//!
//! A destination that exists and is not a regular file (a named pipe, a
//! terminal, `/dev/null`) is written in place as standard output is: a
//! rename would replace the device or pipe with a plain file.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// An output being written; see the module docs.
pub struct Output {
    sink: Sink,
}

enum Sink {
    Stdout(BufWriter<std::io::StdoutLock<'static>>),
    /// A pipe or device named on the command line, written in place.
    Device(BufWriter<File>),
    File {
        writer: BufWriter<File>,
        dest: PathBuf,
        partial: PathBuf,
    },
    /// Committed (or failed while committing): nothing left to clean up.
    Done,
}

impl Output {
    /// Opens `path` for writing (`-` for standard output).
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        if path.as_os_str() == "-" {
            return Ok(Self { sink: Sink::Stdout(BufWriter::new(std::io::stdout().lock())) });
        }
        if let Ok(meta) = std::fs::metadata(path)
            && !meta.is_file()
            && !meta.is_dir()
        {
            let file =
                OpenOptions::new().write(true).open(path).with_context(|| format!("opening {}", path.display()))?;
            return Ok(Self { sink: Sink::Device(BufWriter::new(file)) });
        }
        let name = path.file_name().with_context(|| format!("{} is not a file name", path.display()))?;
        let mut partial_name = std::ffi::OsString::from(".");
        partial_name.push(name);
        partial_name.push(format!(".partial-{}", std::process::id()));
        let partial = path.with_file_name(partial_name);
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&partial).with_context(|| format!("creating {}", path.display()))?;
        let writer = BufWriter::with_capacity(1 << 20, file);
        Ok(Self { sink: Sink::File { writer, dest: path.to_path_buf(), partial } })
    }

    /// Flushes, makes a file durable and moves it to its name.
    pub fn commit(mut self) -> anyhow::Result<()> {
        match std::mem::replace(&mut self.sink, Sink::Done) {
            Sink::Stdout(mut w) => w.flush().context("writing the output"),
            Sink::Device(mut w) => w.flush().context("writing the output"),
            Sink::File { writer, dest, partial } => {
                let done = writer
                    .into_inner()
                    .map_err(std::io::IntoInnerError::into_error)
                    .and_then(|file| file.sync_all())
                    .and_then(|()| std::fs::rename(&partial, &dest))
                    .with_context(|| format!("writing {}", dest.display()));
                if done.is_err() {
                    let _ = std::fs::remove_file(&partial);
                }
                done
            }
            Sink::Done => Ok(()),
        }
    }

    fn writer(&mut self) -> std::io::Result<&mut dyn Write> {
        match &mut self.sink {
            Sink::Stdout(w) => Ok(w),
            Sink::Device(w) => Ok(w),
            Sink::File { writer, .. } => Ok(writer),
            // Only seen inside `commit`, which consumes the output.
            Sink::Done => Err(std::io::Error::other("output already committed")),
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer()?.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.writer()?.write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer()?.flush()
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Sink::File { partial, .. } = &self.sink {
            let _ = std::fs::remove_file(partial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_appears_only_when_committed_and_never_half_written() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.jsonl");
        let mut out = Output::create(&dest).unwrap();
        out.write_all(b"line 1\n").unwrap();
        assert!(!dest.exists(), "visible before commit");
        out.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"line 1\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777, 0o600);
        }

        // A failed run leaves the earlier output alone and no partial file.
        let mut failed = Output::create(&dest).unwrap();
        failed.write_all(b"half").unwrap();
        drop(failed);
        assert_eq!(std::fs::read(&dest).unwrap(), b"line 1\n");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.jsonl")]);
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_written_in_place_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let null = Path::new("/dev/null");
        let mut out = Output::create(null).unwrap();
        out.write_all(b"discarded\n").unwrap();
        out.commit().unwrap();
        assert!(std::fs::metadata(null).unwrap().file_type().is_char_device(), "/dev/null was replaced");
        let partials = std::fs::read_dir("/dev")
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().starts_with(".null.partial"));
        assert!(!partials, "a partial file was left in /dev");
    }

    #[test]
    fn a_directory_is_not_an_output_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Output::create(&dir.path().join("..")).is_err());
    }
}

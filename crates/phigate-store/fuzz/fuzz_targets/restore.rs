//! Fuzzes the backup archive reader: any bytes handed to `phigate restore`
//! must give a typed error (or, for a genuine archive, a restore), never a
//! panic, a hang or an unbounded allocation.
//!
//! Run: `cargo fuzz run restore` from `crates/phigate-store` (needs nightly
//! for the sanitizer flags); `scripts/test` builds it on stable.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use phigate_keys::provider::local_file::LocalFileProvider;
use phigate_store::backup::restore_backup;

struct Fixture {
    dir: tempfile::TempDir,
    provider: LocalFileProvider,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let provider = LocalFileProvider::open_or_create(&dir.path().join("kek.json")).expect("key file");
        Fixture { dir, provider }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let archive = f.dir.path().join("input.phigate");
    std::fs::write(&archive, data).expect("write input");
    let target = f.dir.path().join("restored.db");
    let _ = std::fs::remove_file(&target);
    let _ = restore_backup(&archive, &f.provider, &target, true);
});

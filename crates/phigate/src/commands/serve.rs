//! `phigate serve` and `phigate demo`.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use phigate_config::{Config, TlsVersion};
use phigate_phi::Phi;
use phigate_server::telemetry::Metrics;
use phigate_server::tls::{self, MinVersion};
use phigate_server::{AppState, listener, router};
use phigate_store::{Lookup, NewRecord, Store};

use crate::cli::{GlobalArgs, ServeArgs};
use crate::{logging, wiring};

/// Which command is running.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Serve,
    Demo,
}

pub fn run(global: &GlobalArgs, args: ServeArgs, mode: Mode) -> anyhow::Result<()> {
    let mut config = wiring::load_config(global)?;
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    logging::init(&config.log)?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(serve(config, mode))
}

async fn serve(config: Config, mode: Mode) -> anyhow::Result<()> {
    let fresh = !config.data_dir.exists();
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    restrict_dir(&config.data_dir)?;
    let store = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || wiring::open_store(&config, true)).await??.store()
    };

    let (cert, key) = match (&config.server.tls_cert, &config.server.tls_key) {
        (Some(c), Some(k)) => (c.clone(), k.clone()),
        _ => {
            let paths = tls::ensure_self_signed(&config.data_dir.join("tls"))?;
            tracing::warn!(fingerprint = %paths.fingerprint, created = paths.created, "using a self-signed TLS certificate; set server.tls_cert and server.tls_key for production");
            (paths.cert, paths.key)
        }
    };
    let min = match config.server.tls_min_version {
        TlsVersion::Tls13 => MinVersion::Tls13,
        _ => MinVersion::Tls12,
    };
    let tls_config = tls::server_config(&cert, &key, min)?;

    let seeded = if mode == Mode::Demo {
        let store = store.clone();
        tokio::task::spawn_blocking(move || seed_demo(store.as_ref())).await??
    } else {
        0
    };

    let metrics = Arc::new(Metrics::new());
    let state = AppState { store, metrics: metrics.clone() };
    let app = router(state, config.server.max_body_bytes);
    let listener = listener::bind(config.server.listen).await?;
    let addr = listener.local_addr().context("reading the bound address")?;
    tracing::info!(%addr, "listening");
    print_banner(&config, mode, fresh, seeded, &cert, addr)?;

    listener::serve(listener, tls_config, app, metrics, shutdown_signal(), config.server.shutdown_grace).await?;
    tracing::info!("stopped");
    Ok(())
}

fn restrict_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {} to its owner", dir.display()))?;
    }
    Ok(())
}

/// Synthetic patients, so a first run shows encryption and blind-index lookup working.
const DEMO_PATIENTS: &[(&str, &str)] = &[
    ("MRN-DEMO-0001", r#"{"name":"Avery Synthetic-Example","birthDate":"1950-01-01","note":"synthetic demo patient"}"#),
    ("MRN-DEMO-0002", r#"{"name":"Jordan Placeholder","birthDate":"1972-06-15","note":"synthetic demo patient"}"#),
    ("MRN-DEMO-0003", r#"{"name":"Riley Testcase","birthDate":"1988-11-30","note":"synthetic demo patient"}"#),
];

fn seed_demo(store: &dyn Store) -> anyhow::Result<usize> {
    let first = Phi::new(DEMO_PATIENTS[0].0.to_string());
    if !store.find("patient", "mrn", &first)?.is_empty() {
        return Ok(0);
    }
    for (mrn, body) in DEMO_PATIENTS {
        let subject = store.create_subject()?;
        let mrn = Phi::new((*mrn).to_string());
        let body = Phi::new(body.as_bytes().to_vec());
        let lookups = [Lookup { field: "mrn", value: &mrn }];
        store.put(&NewRecord { subject: &subject, kind: "patient", body: &body, lookups: &lookups })?;
    }
    // Prove the round trip through the blind index before telling the user it works.
    let found = store.find("patient", "mrn", &first)?;
    let record = store.get(*found.first().context("demo lookup by MRN found nothing")?)?;
    anyhow::ensure!(record.body.expose().starts_with(b"{\"name\""), "demo record did not decrypt");
    Ok(DEMO_PATIENTS.len())
}

fn print_banner(
    config: &Config,
    mode: Mode,
    fresh: bool,
    seeded: usize,
    cert: &std::path::Path,
    addr: std::net::SocketAddr,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if mode == Mode::Demo {
        writeln!(out, "phigate demo")?;
        writeln!(out, "  data directory  {}{}", config.data_dir.display(), if fresh { " (created)" } else { "" })?;
        writeln!(out, "  database        {} (PHI fields encrypted, AES-256-GCM)", config.database_path().display())?;
        if seeded > 0 {
            writeln!(
                out,
                "  demo data       {seeded} synthetic patients stored encrypted; MRN lookup via blind index verified"
            )?;
        }
        writeln!(out, "  certificate     {}", cert.display())?;
        writeln!(out, "  try             curl --cacert {} https://127.0.0.1:{}/healthz", cert.display(), addr.port())?;
        writeln!(out, "  stop            Ctrl-C")?;
    }
    // Scripts and tests read this exact line to find the port.
    writeln!(out, "phigate listening on https://{addr}")?;
    out.flush()?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received");
}

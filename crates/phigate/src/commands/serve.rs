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
use crate::{access_wiring, audit_log, gateway_wiring, logging, wiring};

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
    let (store, ledger, built, accounts, demo_key, (gateway, model_status)) = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let backend = wiring::open_store(&config, true)?;
            // No ledger, no service: every later access must be recordable.
            let ledger = Arc::new(audit_log::open(&config, &backend)?);
            let store = backend.store();
            let built = access_wiring::build(&config, store.as_ref(), backend.identity_repo())?;
            let accounts =
                if mode == Mode::Demo { access_wiring::create_demo_accounts(&built.access)? } else { Vec::new() };
            let demo_key = if mode == Mode::Demo { access_wiring::create_demo_service(&built.access)? } else { None };
            let gateway = gateway_wiring::build(&config, &crate::env::ProcessEnv)?;
            Ok((store, ledger, built, accounts, demo_key, gateway))
        })
        .await??
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
    // Held until the end so the last references drop off the async runtime
    // (the PostgreSQL client blocks when dropped).
    let store_guard = store.clone();
    let policy_hash = built.policy_hash;
    let state = AppState {
        store,
        metrics: metrics.clone(),
        access: Some(built.access),
        audit: Some(ledger.clone()),
        gateway: Some(gateway),
    };
    let app = router(state, config.server.max_body_bytes);
    let listener = listener::bind(config.server.listen).await?;
    let addr = listener.local_addr().context("reading the bound address")?;
    tracing::info!(%addr, "listening");
    let shutdown = shutdown_signal()?;
    print_banner(&config, mode, fresh, seeded, &accounts, demo_key.as_deref(), &model_status, &cert, addr)?;

    record(&ledger, "service.start").await?;
    // Which policy is in force, by content hash: a policy change is on the record.
    {
        let ledger = ledger.clone();
        tokio::task::spawn_blocking(move || {
            audit_log::record(
                &ledger,
                audit_log::service(),
                "policy.load",
                Some(("policy", format!("sha256:{policy_hash}"))),
                phigate_audit::Outcome::Success,
            )
        })
        .await??;
    }
    listener::serve(listener, tls_config, app, metrics, shutdown, config.server.shutdown_grace).await?;
    record(&ledger, "service.stop").await?;
    tokio::task::spawn_blocking(move || drop((ledger, store_guard))).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn record(ledger: &Arc<phigate_audit::Ledger>, action: &'static str) -> anyhow::Result<()> {
    let ledger = ledger.clone();
    tokio::task::spawn_blocking(move || {
        audit_log::record(&ledger, audit_log::service(), action, None, phigate_audit::Outcome::Success)
    })
    .await?
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

/// Stores the demo data set on first run: `phigate synth`'s patients under
/// [`phigate_synth::DEMO_SEED`], each a FHIR R4 Bundle (notes included) in
/// one encrypted record under its own subject, findable by MRN through the
/// blind index. Returns how many were stored (0 when they already are).
fn seed_demo(store: &dyn Store) -> anyhow::Result<usize> {
    let generator = phigate_synth::Generator::new(phigate_synth::SynthOptions {
        seed: phigate_synth::DEMO_SEED,
        patients: phigate_synth::DEMO_PATIENTS,
        ..Default::default()
    })?;
    let mrn_of = |p: &phigate_synth::SynthPatient| -> anyhow::Result<Phi<String>> {
        Ok(Phi::new(phigate_synth::mrn_of(p).context("synthetic patient without an MRN")?.to_string()))
    };
    let first = generator.patient(0);
    let first_mrn = mrn_of(&first)?;
    if !store.find("patient", "mrn", &first_mrn)?.is_empty() {
        return Ok(0);
    }
    let mut stored = 0;
    let rest = (1..phigate_synth::DEMO_PATIENTS).map(|i| generator.patient(i));
    for patient in std::iter::once(first.clone()).chain(rest) {
        let mrn = mrn_of(&patient)?;
        let body = Phi::new(serde_json::to_vec(&patient.bundle)?);
        let subject = store.create_subject()?;
        let lookups = [Lookup { field: "mrn", value: &mrn }];
        store.put(&NewRecord { subject: &subject, kind: "patient", body: &body, lookups: &lookups })?;
        stored += 1;
    }
    // Prove the round trip through the blind index before telling the user it works.
    let found = store.find("patient", "mrn", &first_mrn)?;
    let record = store.get(*found.first().context("demo lookup by MRN found nothing")?)?;
    let bundle: serde_json::Value =
        serde_json::from_slice(record.body.expose()).context("demo record did not decrypt")?;
    anyhow::ensure!(bundle == first.bundle, "demo record did not decrypt to what was stored");
    Ok(stored)
}

#[allow(clippy::too_many_arguments)] // one line of the banner per argument
fn print_banner(
    config: &Config,
    mode: Mode,
    fresh: bool,
    seeded: usize,
    accounts: &[(String, String, String)],
    demo_key: Option<&str>,
    model_status: &[String],
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
                "  demo data       {seeded} synthetic patients (phigate synth, seed {}: FHIR bundles with notes) stored encrypted; MRN lookup via blind index verified",
                phigate_synth::DEMO_SEED
            )?;
        }
        writeln!(out, "  certificate     {}", cert.display())?;
        if accounts.is_empty() {
            writeln!(out, "  demo accounts   demo-clinician, demo-triage, demo-researcher, demo-privacy, demo-admin")?;
            writeln!(out, "                  (passwords were shown when they were created)")?;
        } else {
            writeln!(out, "  demo accounts   (passwords shown once; TOTP is enrolled at first sign-in)")?;
            for (user, role, password) in accounts {
                writeln!(out, "                  {user:<16} {role:<16} {password}")?;
            }
            writeln!(
                out,
                "  sign in         curl --cacert {} -H 'content-type: application/json' -d '{{\"username\":\"demo-clinician\",\"password\":\"…\"}}' https://127.0.0.1:{}/auth/login",
                cert.display(),
                addr.port()
            )?;
            writeln!(
                out,
                "                  then POST /auth/totp with the challenge and a code from the enrolled secret"
            )?;
        }
        writeln!(out, "  try             curl --cacert {} https://127.0.0.1:{}/healthz", cert.display(), addr.port())?;
        writeln!(
            out,
            "  AI gateway      OpenAI-compatible at https://127.0.0.1:{}/v1 (models: {}, {})",
            addr.port(),
            gateway_wiring::DEFAULT_CHAT_MODEL,
            gateway_wiring::DEFAULT_EMBED_MODEL
        )?;
        for line in model_status {
            writeln!(out, "  in-process      {line}")?;
        }
        match demo_key {
            Some(key) => {
                writeln!(out, "  demo app key    (shown once; service account {})", access_wiring::DEMO_SERVICE)?;
                writeln!(out, "                  OPENAI_API_KEY={key}")?;
            }
            None => writeln!(
                out,
                "  demo app key    issued at first run; new one: phigate service-accounts rotate --account service:{}",
                access_wiring::DEMO_SERVICE
            )?,
        }
        writeln!(
            out,
            "                  OPENAI_BASE_URL=https://127.0.0.1:{}/v1 SSL_CERT_FILE={}",
            addr.port(),
            cert.display()
        )?;
        writeln!(out, "                  send header x-purpose-of-use: treatment (or operations)")?;
        writeln!(out, "  stop            Ctrl-C")?;
    }
    // Scripts and tests read this exact line to find the port.
    writeln!(out, "phigate listening on https://{addr}")?;
    out.flush()?;
    Ok(())
}

/// Registers SIGTERM and SIGINT handlers now (before anyone is told the
/// server is up) and returns the future that resolves on either.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        tracing::info!("shutdown signal received");
    })
}

//! HTTP delivery for the audit ledger: the alert webhook and the checkpoint
//! witness. Both POST and must get a 2xx within the timeout; neither follows
//! redirects. A failing webhook never stops auditing (the alert is in the
//! ledger either way); a failing witness is reported by the ledger.

use std::time::Duration;

use phigate_audit::{Alert, AlertSink, Error, SignedCheckpoint, Witness};

const TIMEOUT: Duration = Duration::from_secs(5);

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("phigate/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

fn post(agent: &ureq::Agent, url: &str, content_type: &str, body: &[u8]) -> Result<(), Error> {
    let failed = |reason: String| Error::Io { path: url.into(), source: std::io::Error::other(reason) };
    let response =
        agent.post(url).header("content-type", content_type).send(body).map_err(|e| failed(e.to_string()))?;
    if response.status().is_success() { Ok(()) } else { Err(failed(format!("HTTP {}", response.status().as_u16()))) }
}

/// Alerts waiting for the webhook; beyond this many, new ones are dropped
/// from delivery (they are in the ledger regardless) rather than piling up.
const WEBHOOK_QUEUE: usize = 1024;

/// Sends each alert as JSON to a webhook (a SIEM, a pager, the privacy office).
///
/// Delivery runs on its own thread: the ledger calls sinks while appending,
/// and a slow or unreachable webhook must never slow auditing down.
pub struct WebhookSink {
    queue: std::sync::mpsc::SyncSender<Vec<u8>>,
}

impl WebhookSink {
    /// A sink posting to `url` (validated as https or loopback by the config).
    pub fn new(url: String) -> Self {
        let (queue, alerts) = std::sync::mpsc::sync_channel::<Vec<u8>>(WEBHOOK_QUEUE);
        let agent = agent();
        std::thread::Builder::new()
            .name("alert-webhook".into())
            .spawn(move || {
                for body in alerts {
                    if let Err(e) = post(&agent, &url, "application/json", &body) {
                        tracing::warn!(error = %e, "alert webhook delivery failed (the alert is recorded in the ledger)");
                    }
                }
            })
            .map_or_else(|e| tracing::error!(error = %e, "cannot start the alert webhook thread"), |_| ());
        Self { queue }
    }
}

impl AlertSink for WebhookSink {
    fn deliver(&self, alert: &Alert) -> Result<(), Error> {
        let body = serde_json::to_vec(alert).map_err(|_| Error::Invalid("alert does not encode".into()))?;
        self.queue.try_send(body).map_err(|_| Error::Io {
            path: "alert webhook".into(),
            source: std::io::Error::other("webhook queue full or delivery thread gone"),
        })
    }
}

/// Publishes each signed checkpoint note to a witness endpoint.
pub struct HttpWitness {
    url: String,
    agent: ureq::Agent,
}

impl HttpWitness {
    /// A witness at `url` (validated as https or loopback by the config).
    pub fn new(url: String) -> Self {
        Self { url, agent: agent() }
    }
}

impl Witness for HttpWitness {
    fn name(&self) -> String {
        // Without the query string: it may hold a token.
        self.url.split('?').next().unwrap_or_default().to_string()
    }

    fn publish(&self, checkpoint: &SignedCheckpoint) -> Result<(), Error> {
        post(&self.agent, &self.url, "text/plain; charset=utf-8", checkpoint.note.as_bytes())
    }
}

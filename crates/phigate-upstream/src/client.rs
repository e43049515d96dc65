//! [`UpstreamClient`]: one POST to one endpoint, bytes in, a complete body or
//! an event stream out. No retries here: that is [`crate::resilience`].

mod connector;
mod response;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use http::{HeaderMap, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

pub use response::{CompleteResponse, EventStream, UpstreamResponse};

use self::connector::{ConnectError, ConnectKind, Connector};
use crate::endpoint::{Endpoint, EndpointId, Scheme};
use crate::error::{ConnectFailure, Error, ErrorBody, TimeoutPhase};
use crate::sse::DEFAULT_MAX_EVENT_BYTES;

type HyperClient = Client<Connector, Full<Bytes>>;

/// Client-wide settings. Build with `ClientConfig::default()` and assign fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Trust the Mozilla root set shipped in `webpki-roots` (hosted vendors).
    pub webpki_roots: bool,
    /// PEM files of further trusted CAs (a hospital's internal CA in front of
    /// a self-hosted vLLM).
    pub ca_files: Vec<PathBuf>,
    /// Allow `http://` to non-loopback addresses. Off by default and named
    /// `insecure_*` because prompts and completions carry PHI: in clear on a
    /// network they are readable and alterable by anyone on the path. Plain
    /// http to loopback (a model server on the same host) is always allowed.
    pub insecure_allow_plain_http: bool,
    /// Largest complete (non-streaming) response body accepted.
    pub max_body_bytes: usize,
    /// Largest single server-sent event accepted.
    pub max_event_bytes: usize,
    /// How long an idle pooled connection is kept.
    pub pool_idle_timeout: Duration,
    /// Idle pooled connections kept per host.
    pub pool_max_idle_per_host: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            webpki_roots: true,
            ca_files: Vec::new(),
            insecure_allow_plain_http: false,
            max_body_bytes: 16 << 20,
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            pool_idle_timeout: Duration::from_secs(90),
            pool_max_idle_per_host: 64,
        }
    }
}

/// A pooled HTTP/1.1 + h2 client to model backends. Cheap to clone (shared pools).
#[derive(Clone)]
pub struct UpstreamClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    tls: tokio_rustls::TlsConnector,
    /// One pool per distinct connect timeout: hyper's connector sees only the
    /// URI, so the timeout is a property of the pool. Deployments have a few
    /// distinct values at most.
    pools: Mutex<HashMap<Duration, HyperClient>>,
}

impl std::fmt::Debug for UpstreamClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamClient").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl UpstreamClient {
    /// Builds the client: loads the trust roots now so a bad CA file is a
    /// start-up error, not a per-request one.
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let mut roots = rustls::RootCertStore::empty();
        if config.webpki_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for path in &config.ca_files {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| Error::TlsConfig(format!("cannot read CA file {}: {e}", path.display())))?
                .collect::<Result<_, _>>()
                .map_err(|e| Error::TlsConfig(format!("CA file {} is not valid PEM: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(Error::TlsConfig(format!("CA file {} holds no certificate", path.display())));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| Error::TlsConfig(format!("CA file {}: unusable certificate: {e}", path.display())))?;
            }
        }
        if roots.is_empty() {
            return Err(Error::TlsConfig("no trusted roots: enable webpki_roots or give a CA file".into()));
        }
        let tls = connector::tls_connector(roots)?;
        Ok(Self { inner: Arc::new(Inner { config, tls, pools: Mutex::new(HashMap::new()) }) })
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// POSTs `body` (already-serialized JSON) to `endpoint` + `path`.
    ///
    /// With `stream` set and a `text/event-stream` answer, returns an
    /// [`EventStream`]; otherwise reads the whole body (bounded by
    /// [`ClientConfig::max_body_bytes`]). A non-2xx answer is
    /// [`Error::Status`] with the first 4 KiB of the body. Sends once: no retry.
    pub async fn send(
        &self,
        endpoint: &Endpoint,
        path: &str,
        body: Bytes,
        stream: bool,
    ) -> Result<UpstreamResponse, Error> {
        let id = endpoint.id();
        let config = &self.inner.config;
        if endpoint.base().scheme == Scheme::Http
            && !config.insecure_allow_plain_http
            && !endpoint.base().host_is_loopback()
        {
            return Err(Error::PlainHttpRefused { endpoint: id.clone() });
        }
        let uri = endpoint.uri_for(path)?;
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static(if stream { "text/event-stream" } else { "application/json" }));
        headers.insert(USER_AGENT, HeaderValue::from_static(concat!("phigate/", env!("CARGO_PKG_VERSION"))));
        if let Some(key) = endpoint.api_key() {
            headers.insert(AUTHORIZATION, key.header_value().clone());
        }

        let client = self.pool(endpoint.connect_timeout());
        let started = Instant::now();
        let response = match tokio::time::timeout(endpoint.request_timeout(), client.request(request)).await {
            Err(_) => return Err(Error::Timeout { endpoint: id.clone(), phase: TimeoutPhase::Headers }),
            Ok(Err(e)) => return Err(request_error(id, &e)),
            Ok(Ok(response)) => response,
        };
        let time_to_headers = started.elapsed();
        let (parts, body) = response.into_parts();
        let idle = endpoint.idle_read_timeout();

        if !parts.status.is_success() {
            let retry_after = retry_after(&parts.headers);
            let (bytes, truncated) = read_prefix(body, ErrorBody::LIMIT, idle).await;
            return Err(Error::Status {
                endpoint: id.clone(),
                status: parts.status,
                retry_after,
                body: ErrorBody::new(bytes, truncated),
            });
        }
        let event_stream = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/event-stream"));
        if stream && event_stream {
            return Ok(UpstreamResponse::Stream(Box::new(EventStream::new(
                id.clone(),
                parts.status,
                parts.version,
                time_to_headers,
                body,
                idle,
                config.max_event_bytes,
            ))));
        }
        let bytes = read_all(id, body, config.max_body_bytes, idle).await?;
        Ok(UpstreamResponse::Complete(CompleteResponse {
            status: parts.status,
            version: parts.version,
            content_type: parts.headers.get(CONTENT_TYPE).cloned(),
            body: bytes,
            time_to_headers,
        }))
    }

    fn pool(&self, connect_timeout: Duration) -> HyperClient {
        // A poisoned lock only means another request panicked while cloning a
        // client; the map itself is still consistent.
        let mut pools = self.inner.pools.lock().unwrap_or_else(|p| p.into_inner());
        pools
            .entry(connect_timeout)
            .or_insert_with(|| {
                let connector = Connector {
                    tls: self.inner.tls.clone(),
                    connect_timeout,
                    allow_plain_http: self.inner.config.insecure_allow_plain_http,
                };
                Client::builder(TokioExecutor::new())
                    .pool_idle_timeout(self.inner.config.pool_idle_timeout)
                    .pool_max_idle_per_host(self.inner.config.pool_max_idle_per_host)
                    .pool_timer(TokioTimer::new())
                    .timer(TokioTimer::new())
                    .build(connector)
            })
            .clone()
    }
}

/// Maps a failure of `client.request` (before any response) to our error.
fn request_error(endpoint: &EndpointId, error: &hyper_util::client::legacy::Error) -> Error {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(connect) = current.downcast_ref::<ConnectError>() {
            return match connect.kind {
                ConnectKind::Timeout => Error::Timeout { endpoint: endpoint.clone(), phase: TimeoutPhase::Connect },
                ConnectKind::PlainHttpRefused => Error::PlainHttpRefused { endpoint: endpoint.clone() },
                ConnectKind::Failed(kind) => {
                    Error::Connect { endpoint: endpoint.clone(), kind, detail: connect.detail.clone() }
                }
            };
        }
        source = current.source();
    }
    if error.is_connect() {
        return Error::Connect { endpoint: endpoint.clone(), kind: ConnectFailure::Tcp, detail: chain(error) };
    }
    Error::Protocol { endpoint: endpoint.clone(), detail: chain(error) }
}

/// An error and its sources, `: `-joined. hyper's and rustls's messages name
/// conditions, never payload bytes.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// `Retry-After` as delay-seconds or an HTTP-date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// Reads at most `limit` bytes of a body within `patience` in total (errors
/// and timeouts end the read: this is best-effort context for an error that
/// is already decided, so a dribbling server cannot hold it).
async fn read_prefix(mut body: Incoming, limit: usize, patience: Duration) -> (Bytes, bool) {
    let deadline = tokio::time::Instant::now() + patience;
    let mut buf = BytesMut::new();
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    let room = limit - buf.len();
                    if data.len() > room {
                        buf.extend_from_slice(&data[..room]);
                        return (buf.freeze(), true);
                    }
                    buf.extend_from_slice(&data);
                }
            }
            _ => return (buf.freeze(), false),
        }
    }
}

/// Reads a whole body, at most `limit` bytes, each frame within `idle`.
async fn read_all(endpoint: &EndpointId, mut body: Incoming, limit: usize, idle: Duration) -> Result<Bytes, Error> {
    let mut buf = BytesMut::new();
    loop {
        match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => return Err(Error::Timeout { endpoint: endpoint.clone(), phase: TimeoutPhase::Read }),
            Ok(None) => return Ok(buf.freeze()),
            Ok(Some(Err(e))) => {
                return Err(Error::StreamInterrupted { endpoint: endpoint.clone(), detail: chain(&e) });
            }
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    if buf.len() + data.len() > limit {
                        return Err(Error::BodyTooLarge { endpoint: endpoint.clone(), limit });
                    }
                    buf.extend_from_slice(&data);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_date() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&h), Some(Duration::ZERO), "a date in the past means now");
        let soon = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(30));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&soon).unwrap());
        let d = retry_after(&h).unwrap();
        assert!(d > Duration::from_secs(25) && d <= Duration::from_secs(30), "{d:?}");
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn no_roots_is_a_config_error() {
        let config = ClientConfig { webpki_roots: false, ..ClientConfig::default() };
        assert!(matches!(UpstreamClient::new(config), Err(Error::TlsConfig(_))));
        let config = ClientConfig { ca_files: vec!["/nonexistent/ca.pem".into()], ..ClientConfig::default() };
        let err = UpstreamClient::new(config).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }

    #[tokio::test]
    async fn plain_http_to_a_remote_name_is_refused_before_any_traffic() {
        let client = UpstreamClient::new(ClientConfig::default()).unwrap();
        let endpoint = Endpoint::new("remote", "http://models.example.invalid/v1").unwrap();
        let err = client.send(&endpoint, "/chat/completions", Bytes::new(), false).await.unwrap_err();
        assert!(matches!(err, Error::PlainHttpRefused { .. }), "{err}");
    }
}

//! Request ids, per-request log lines and Prometheus metrics.
//!
//! What is recorded per request: method, matched route *template*
//! (`/api/v1/patients/{id}`), status, latency, request id. Never the URI,
//! headers or bodies: any of them can carry an identifier.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of the request counter. Route is a template, never a concrete path.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

/// Labels of the latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    route: String,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    tls_handshake_failures: Counter,
    gateway_overhead: Histogram,
    audit_wait: Histogram,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn latency_histogram() -> Histogram {
    // 100 µs to ~3.3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

impl Metrics {
    /// A registry with phigate's HTTP metrics.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("phigate");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let tls_handshake_failures = Counter::default();
        registry.register("http_requests", "HTTP requests by method, route template and status", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency by route template", latency.clone());
        registry.register(
            "tls_handshake_failures",
            "TLS handshakes that failed or timed out (includes refused old protocol versions)",
            tls_handshake_failures.clone(),
        );
        // 50 µs to ~1.6 s: the gateway's own share is expected well under 2 ms.
        let gateway_overhead = Histogram::new(exponential_buckets(0.00005, 2.0, 16));
        registry.register(
            "gateway_overhead_seconds",
            "Time the gateway added to model calls (everything but the backend's own time)",
            gateway_overhead.clone(),
        );
        // 50 µs to ~0.5 s in steps of 25%: fine enough to read a p99 off,
        // since this wait is most of what auditing adds to a request's tail.
        let audit_wait = Histogram::new(exponential_buckets(0.00005, 1.25, 42));
        registry.register(
            "audit_durable_wait_seconds",
            "Time a request waited for its audit entry to be durable (queue, group commit, fdatasync, wake-up)",
            audit_wait.clone(),
        );
        Self { registry, requests, latency, tls_handshake_failures, gateway_overhead, audit_wait }
    }

    /// Counts a failed TLS handshake.
    pub fn tls_handshake_failed(&self) {
        self.tls_handshake_failures.inc();
    }

    /// Observes the gateway's own added time for one model call.
    pub fn observe_gateway(&self, overhead: std::time::Duration) {
        self.gateway_overhead.observe(overhead.as_secs_f64());
    }

    /// Observes how long one request waited for its audit entry to be durable.
    pub fn observe_audit_wait(&self, wait: std::time::Duration) {
        self.audit_wait.observe(wait.as_secs_f64());
    }

    /// The metrics in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The matched route template, carried from the inner layer to the outer one.
#[derive(Clone)]
struct RouteTemplate(String);

/// Inner layer (runs after routing): remembers which route matched.
pub async fn tag_route(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let mut resp = next.run(req).await;
    if let Some(route) = route {
        resp.extensions_mut().insert(RouteTemplate(route));
    }
    resp
}

/// When the request reached phigate (outermost layer), for the gateway's
/// own-overhead accounting.
#[derive(Clone, Copy, Debug)]
pub struct RequestStart(pub Instant);

/// The id of one request: in the response header, the log line and the ledger.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Outer layer: request id, metrics, one log line per request.
pub async fn observe(State(metrics): State<Arc<Metrics>>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_string();
    let request_id = hex::encode(rand::random::<[u8; 8]>());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    req.extensions_mut().insert(RequestStart(start));
    let mut resp = next.run(req).await;
    let route =
        resp.extensions().get::<RouteTemplate>().map(|r| r.0.clone()).unwrap_or_else(|| "(unmatched)".to_string());
    let status = resp.status().as_u16();
    let elapsed = start.elapsed();
    metrics.requests.get_or_create(&RequestLabels { method: method.clone(), route: route.clone(), status }).inc();
    metrics.latency.get_or_create(&RouteLabels { route: route.clone() }).observe(elapsed.as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    tracing::info!(
        target: "phigate::http",
        request_id = %request_id,
        method = %method,
        route = %route,
        status,
        latency_us = elapsed.as_micros() as u64,
        "request"
    );
    resp
}

//! One model backend: where it is, how to authenticate, how long to wait.
//!
//! The base URL is parsed once, here: a URL with credentials, a query or a
//! fragment is refused (credentials belong in the [`ApiKey`], which never
//! prints; a query would be silently dropped or doubled when joining paths).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::uri::{Authority, Uri};
use http::{HeaderValue, uri};
use zeroize::Zeroizing;

use crate::Error;

/// The operator-chosen name of an endpoint (`vllm-a`, `azure-east`). Not
/// secret and not PHI: it appears in errors, logs and the audit record.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointId(Arc<str>);

impl EndpointId {
    /// Names an endpoint.
    pub fn new(id: &str) -> Self {
        Self(Arc::from(id))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EndpointId({:?})", &*self.0)
    }
}

/// A bearer API key. `Debug` and `Display` print `[REDACTED]`; the key is
/// kept only as the ready-made `Authorization` header value, marked sensitive
/// so hyper never logs it and HPACK never indexes it.
#[derive(Clone)]
pub struct ApiKey {
    header: HeaderValue,
}

impl ApiKey {
    /// Wraps a key. Refused (without echoing it) unless it is non-empty
    /// visible ASCII.
    pub fn new(key: impl Into<String>) -> Result<Self, Error> {
        let key = Zeroizing::new(key.into());
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::InvalidApiKey);
        }
        let mut value = Zeroizing::new(String::with_capacity(7 + key.len()));
        value.push_str("Bearer ");
        value.push_str(&key);
        let mut header = HeaderValue::from_str(&value).map_err(|_| Error::InvalidApiKey)?;
        header.set_sensitive(true);
        Ok(Self { header })
    }

    pub(crate) fn header_value(&self) -> &HeaderValue {
        &self.header
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Http,
    Https,
}

/// A parsed base URL: scheme, authority and a path prefix without a trailing
/// slash (`/v1`, `/openai/deployments/x`, or empty).
#[derive(Clone, Debug)]
pub(crate) struct BaseUrl {
    pub(crate) scheme: Scheme,
    authority: Authority,
    prefix: String,
}

impl BaseUrl {
    fn parse(endpoint: &EndpointId, text: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::InvalidBaseUrl { endpoint: endpoint.clone(), reason };
        if text.contains('#') {
            return Err(invalid("fragments are not allowed"));
        }
        let uri: Uri = text.parse().map_err(|_| invalid("not a URL"))?;
        let scheme = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => Scheme::Https,
            Some(s) if s.eq_ignore_ascii_case("http") => Scheme::Http,
            Some(_) => return Err(invalid("scheme must be http or https")),
            None => return Err(invalid("must be absolute (https://host/...)")),
        };
        let authority = uri.authority().cloned().ok_or_else(|| invalid("no host"))?;
        if authority.as_str().contains('@') {
            return Err(invalid("credentials in the URL are refused: use the API key"));
        }
        if authority.host().is_empty() {
            return Err(invalid("no host"));
        }
        if uri.query().is_some() {
            return Err(invalid("a query is not allowed in the base URL: put it in the request path"));
        }
        let prefix = uri.path().trim_end_matches('/').to_owned();
        Ok(Self { scheme, authority, prefix })
    }

    /// The host without IPv6 brackets.
    pub(crate) fn host(&self) -> &str {
        let host = self.authority.host();
        host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
    }

    /// Whether the host is a loopback IP literal or `localhost` (the
    /// connector checks the resolved addresses of the latter again).
    pub(crate) fn host_is_loopback(&self) -> bool {
        let host = self.host();
        host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        write!(f, "{scheme}://{}{}", self.authority, self.prefix)
    }
}

/// A model backend.
#[derive(Clone, Debug)]
pub struct Endpoint {
    id: EndpointId,
    base: BaseUrl,
    api_key: Option<ApiKey>,
    connect_timeout: Duration,
    request_timeout: Duration,
    idle_read_timeout: Duration,
}

impl Endpoint {
    /// Default TCP connect + TLS handshake timeout.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default time to response headers. Generous: a non-streaming completion
    /// sends its headers only when generation is done.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
    /// Default longest silence between two pieces of a response body.
    pub const DEFAULT_IDLE_READ_TIMEOUT: Duration = Duration::from_secs(60);

    /// An endpoint at `base_url` (`https://host[:port][/prefix]`, e.g.
    /// `https://api.example.com/v1`), without a key, with default timeouts.
    pub fn new(id: &str, base_url: &str) -> Result<Self, Error> {
        let id = EndpointId::new(id);
        let base = BaseUrl::parse(&id, base_url)?;
        Ok(Self {
            id,
            base,
            api_key: None,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            idle_read_timeout: Self::DEFAULT_IDLE_READ_TIMEOUT,
        })
    }

    /// Sends `Authorization: Bearer <key>` with every request.
    pub fn with_api_key(mut self, key: ApiKey) -> Self {
        self.api_key = Some(key);
        self
    }

    /// Sets the TCP connect + TLS handshake timeout.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the time allowed from sending the request to the response headers
    /// (connecting included).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the longest silence allowed between two pieces of a response body.
    pub fn with_idle_read_timeout(mut self, timeout: Duration) -> Self {
        self.idle_read_timeout = timeout;
        self
    }

    /// The endpoint's name.
    pub fn id(&self) -> &EndpointId {
        &self.id
    }

    /// The base URL as configured (scheme, authority, prefix). Holds no secret.
    pub fn base_url(&self) -> String {
        self.base.to_string()
    }

    /// The connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The time-to-headers timeout.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// The idle-read timeout.
    pub fn idle_read_timeout(&self) -> Duration {
        self.idle_read_timeout
    }

    pub(crate) fn base(&self) -> &BaseUrl {
        &self.base
    }

    pub(crate) fn api_key(&self) -> Option<&ApiKey> {
        self.api_key.as_ref()
    }

    /// The full URI for `path` (which starts with `/` and may carry a query,
    /// e.g. `/chat/completions?api-version=2024-06-01`).
    pub(crate) fn uri_for(&self, path: &str) -> Result<Uri, Error> {
        let invalid = || Error::InvalidPath { endpoint: self.id.clone() };
        if !path.starts_with('/') || path.contains('#') {
            return Err(invalid());
        }
        let mut path_and_query = String::with_capacity(self.base.prefix.len() + path.len());
        path_and_query.push_str(&self.base.prefix);
        path_and_query.push_str(path);
        let path_and_query: uri::PathAndQuery = path_and_query.parse().map_err(|_| invalid())?;
        let scheme = match self.base.scheme {
            Scheme::Http => uri::Scheme::HTTP,
            Scheme::Https => uri::Scheme::HTTPS,
        };
        Uri::builder()
            .scheme(scheme)
            .authority(self.base.authority.clone())
            .path_and_query(path_and_query)
            .build()
            .map_err(|_| invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_prefix_and_path() {
        let e = Endpoint::new("a", "https://api.example.com/v1/").unwrap();
        assert_eq!(e.uri_for("/chat/completions").unwrap().to_string(), "https://api.example.com/v1/chat/completions");
        let e = Endpoint::new("a", "http://127.0.0.1:8000").unwrap();
        assert_eq!(e.uri_for("/v1/models?x=1").unwrap().to_string(), "http://127.0.0.1:8000/v1/models?x=1");
        assert!(matches!(e.uri_for("v1/models"), Err(Error::InvalidPath { .. })));
        assert!(matches!(e.uri_for("/a b"), Err(Error::InvalidPath { .. })));
    }

    #[test]
    fn refuses_bad_base_urls() {
        for bad in [
            "ftp://host/",
            "/v1",
            "https://user:pw@host/v1",
            "https://host/v1?api-version=1",
            "https://host/v1#x",
            "not a url",
        ] {
            let err = Endpoint::new("e", bad).unwrap_err();
            assert!(matches!(err, Error::InvalidBaseUrl { .. }), "{bad}: {err}");
            assert!(!err.to_string().contains("pw"));
        }
    }

    #[test]
    fn loopback_detection() {
        for (url, loopback) in [
            ("http://127.0.0.1:1", true),
            ("http://127.9.9.9", true),
            ("http://[::1]:8080", true),
            ("http://localhost:11434", true),
            ("http://LOCALHOST", true),
            ("http://10.0.0.5", false),
            ("http://[::ffff:10.0.0.1]", false),
            ("http://models.internal", false),
            ("http://localhost.example.com", false),
        ] {
            assert_eq!(Endpoint::new("e", url).unwrap().base().host_is_loopback(), loopback, "{url}");
        }
    }

    #[test]
    fn api_key_never_prints() {
        let key = ApiKey::new("sk-very-secret").unwrap();
        assert_eq!(format!("{key:?} {key}"), "[REDACTED] [REDACTED]");
        let e = Endpoint::new("e", "https://h/v1").unwrap().with_api_key(key);
        assert!(!format!("{e:?}").contains("secret"));
        assert!(ApiKey::new("has space").is_err());
        assert!(ApiKey::new("").is_err());
        assert!(ApiKey::new("line\nbreak").is_err());
    }
}

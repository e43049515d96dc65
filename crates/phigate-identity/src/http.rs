//! The small blocking HTTP client used for discovery, JWKS, token and userinfo calls.
//!
//! `ureq` (rustls on ring) is what the workspace already uses; the server
//! calls these from `spawn_blocking`. Responses are size-limited, redirects
//! are not followed (an IdP endpoint that redirects is misconfigured or
//! hijacked), and error messages never include response bodies, which may
//! hold tokens.

use std::time::Duration;

use zeroize::Zeroizing;

use crate::Error;

const MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

/// Refuses anything but `https://`, except plain HTTP to a loopback host (test peers).
pub(crate) fn check_url(url: &str) -> Result<(), Error> {
    if url.starts_with("https://") {
        return Ok(());
    }
    for loopback in ["http://127.0.0.1:", "http://127.0.0.1/", "http://localhost:", "http://[::1]:"] {
        if url.starts_with(loopback) {
            return Ok(());
        }
    }
    Err(Error::Config(format!("identity provider URL must use https: {}", url.chars().take(100).collect::<String>())))
}

#[derive(Clone)]
pub(crate) struct Http {
    agent: ureq::Agent,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Http")
    }
}

fn http_err(url: &str, reason: impl Into<String>) -> Error {
    // Drop any query string: it could carry a code or state.
    let url = url.split('?').next().unwrap_or_default().to_owned();
    Error::Http { url, reason: reason.into() }
}

impl Http {
    pub(crate) fn new(timeout: Duration) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("phigate-identity/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self { agent }
    }

    fn finish(
        url: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let mut response = response.map_err(|e| http_err(url, e.to_string()))?;
        let status = response.status();
        let body = Zeroizing::new(
            response
                .body_mut()
                .with_config()
                .limit(MAX_RESPONSE_BYTES)
                .read_to_vec()
                .map_err(|e| http_err(url, format!("reading response: {e}")))?,
        );
        if status.is_success() {
            return Ok(body);
        }
        // OAuth error responses carry a short `error` code; surface only that.
        let code = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(|s| s.chars().take(64).collect::<String>()));
        match code {
            Some(code) => Err(Error::Provider(format!("{code} (HTTP {})", status.as_u16()))),
            None => Err(http_err(url, format!("HTTP {}", status.as_u16()))),
        }
    }

    /// GET, optionally with a bearer token.
    pub(crate) fn get(&self, url: &str, bearer: Option<&str>) -> Result<Zeroizing<Vec<u8>>, Error> {
        let mut request = self.agent.get(url).header("accept", "application/json");
        if let Some(token) = bearer {
            request = request.header("authorization", &format!("Bearer {token}"));
        }
        Self::finish(url, request.call())
    }

    /// POST an `application/x-www-form-urlencoded` body, optionally with HTTP Basic client auth.
    pub(crate) fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let mut request = self.agent.post(url).header("accept", "application/json");
        let auth;
        if let Some((user, pass)) = basic {
            use base64::Engine as _;
            // RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding.
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let raw = Zeroizing::new(format!("{}:{}", enc(user), enc(pass)));
            auth =
                Zeroizing::new(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw.as_bytes())));
            request = request.header("authorization", auth.as_str());
        }
        Self::finish(url, request.send_form(form.iter().copied()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http() {
        assert!(check_url("https://idp.example").is_ok());
        assert!(check_url("http://127.0.0.1:8080/x").is_ok());
        assert!(check_url("http://idp.example").is_err());
        assert!(check_url("http://127.0.0.1.evil.example").is_err());
    }
}

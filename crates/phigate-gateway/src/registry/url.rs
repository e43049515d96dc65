//! Backend base URLs: parsed once, so routing and the HTTP client never see
//! a URL that would send PHI in clear text or carry credentials.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use serde::Serialize;

/// An `http://` or `https://` URL with a host, an optional port and path,
/// no user info, query or fragment. Trailing `/` is removed, so
/// `{base_url}/chat/completions` is always well formed.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct BaseUrl {
    url: String,
    https: bool,
    loopback: bool,
}

impl BaseUrl {
    /// Parses `s`; the error says what is wrong (a URL is configuration, not PHI).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (https, rest) = if let Some(r) = s.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = s.strip_prefix("http://") {
            (false, r)
        } else {
            return Err("must start with https:// or http://".to_owned());
        };
        if s.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
            return Err("must not contain whitespace or control characters".to_owned());
        }
        if rest.contains(['?', '#']) {
            return Err("must not have a query or fragment".to_owned());
        }
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.contains('@') {
            return Err("must not contain credentials (user@host); use api_key_env".to_owned());
        }
        let host = host_of(authority)?;
        let loopback = is_loopback(host);
        let url = s.trim_end_matches('/').to_owned();
        Ok(Self { url, https, loopback })
    }

    /// The URL without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// True for `https://`.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// True when the host is `localhost`, `127.0.0.0/8` or `::1`.
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.url)
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

impl From<BaseUrl> for String {
    fn from(u: BaseUrl) -> String {
        u.url
    }
}

/// The host of `host[:port]` or `[v6][:port]`, checked.
fn host_of(authority: &str) -> Result<&str, String> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or("unclosed [ in IPv6 host")?;
        h.parse::<Ipv6Addr>().map_err(|_| "invalid IPv6 address".to_owned())?;
        (h, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("has no host".to_owned());
    }
    if !host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':')) {
        return Err("host has characters a host name cannot have".to_owned());
    }
    if let Some(p) = port {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => {}
            _ => return Err("port must be a number from 1 to 65535".to_owned()),
        }
    }
    Ok(host)
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_usual_urls() {
        let u = BaseUrl::parse("https://api.example.com/v1/").unwrap();
        assert_eq!(u.as_str(), "https://api.example.com/v1");
        assert!(u.is_https() && !u.is_loopback());
        for (s, lo) in [
            ("http://127.0.0.1:8081/v1", true),
            ("http://localhost:11434", true),
            ("http://[::1]:8000/v1", true),
            ("http://10.0.0.5:8000", false),
            ("https://[2001:db8::1]", false),
        ] {
            let u = BaseUrl::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(u.is_loopback(), lo, "{s}");
        }
    }

    #[test]
    fn rejects_bad_urls() {
        for s in [
            "ftp://x",
            "api.example.com",
            "https://",
            "https://user:pw@api.example.com",
            "https://api.example.com/v1?key=1",
            "https://api.example.com:0",
            "https://api.example.com:99999",
            "https://a b.com",
            "https://[::1",
            "https://exa_mple.com",
        ] {
            assert!(BaseUrl::parse(s).is_err(), "{s}");
        }
    }
}

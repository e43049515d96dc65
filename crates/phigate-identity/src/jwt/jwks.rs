//! JSON Web Key Sets: parsing, fetching, and a cache with rate-limited refresh.
//!
//! Why refresh on an unknown `kid`: identity providers rotate signing keys by
//! publishing the new key and then signing with it; a validator that only
//! refreshes on a TTL would reject every token until the TTL ran out. Why
//! rate-limit that refresh: otherwise anyone can make the server fetch the
//! JWKS once per request by sending tokens with random `kid`s.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use time::OffsetDateTime;

use super::signature::Algorithm;
use crate::Error;
use crate::clock::{self, Clock};

/// Public key material of one JWK, already decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyMaterial {
    /// RSA modulus and exponent, big-endian, no leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// Uncompressed P-256 point `04 || x || y`.
    P256 { point: Vec<u8> },
    /// Ed25519 public key.
    Ed25519 { x: Vec<u8> },
}

/// One public signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    /// Key id.
    pub kid: Option<String>,
    /// The algorithm the key is restricted to, if the JWK says so.
    pub alg: Option<String>,
    pub(crate) material: KeyMaterial,
}

impl Jwk {
    fn fits(&self, alg: Algorithm) -> bool {
        let type_fits = matches!(
            (alg, &self.material),
            (Algorithm::Rs256, KeyMaterial::Rsa { .. })
                | (Algorithm::Es256, KeyMaterial::P256 { .. })
                | (Algorithm::EdDsa, KeyMaterial::Ed25519 { .. })
        );
        let alg_fits = match self.alg.as_deref() {
            None => true,
            Some("Ed25519") => alg == Algorithm::EdDsa,
            Some(a) => a == alg.name(),
        };
        type_fits && alg_fits
    }
}

/// The usable signing keys of a JWKS document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JwkSet {
    /// Keys with a supported type; others (encryption keys, symmetric keys) are dropped.
    pub keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawKey {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

fn b64(field: &Option<String>, name: &str) -> Result<Vec<u8>, String> {
    let v = field.as_deref().ok_or_else(|| format!("missing {name}"))?;
    URL_SAFE_NO_PAD.decode(v.trim_end_matches('=')).map_err(|_| format!("{name} is not base64url"))
}

fn strip_zeros(mut v: Vec<u8>) -> Vec<u8> {
    let first = v.iter().position(|b| *b != 0).unwrap_or(v.len());
    v.drain(..first);
    v
}

impl JwkSet {
    /// Parses a JWKS document, keeping only signature keys of supported types.
    ///
    /// Symmetric (`oct`) keys are dropped on purpose: a JWKS from an IdP must
    /// never make an HMAC check possible.
    pub fn parse(json: &[u8]) -> Result<Self, Error> {
        let raw: RawSet = serde_json::from_slice(json).map_err(|e| Error::Jwks(format!("not a JWKS document: {e}")))?;
        let mut keys = Vec::new();
        for value in raw.keys {
            let Ok(k) = serde_json::from_value::<RawKey>(value) else { continue };
            if k.use_.as_deref().is_some_and(|u| u != "sig") {
                continue;
            }
            let material = match (k.kty.as_str(), k.crv.as_deref()) {
                ("RSA", _) => match (b64(&k.n, "n"), b64(&k.e, "e")) {
                    (Ok(n), Ok(e)) => KeyMaterial::Rsa { n: strip_zeros(n), e: strip_zeros(e) },
                    _ => continue,
                },
                ("EC", Some("P-256")) => match (b64(&k.x, "x"), b64(&k.y, "y")) {
                    (Ok(x), Ok(y)) if x.len() == 32 && y.len() == 32 => {
                        let mut point = Vec::with_capacity(65);
                        point.push(4);
                        point.extend_from_slice(&x);
                        point.extend_from_slice(&y);
                        KeyMaterial::P256 { point }
                    }
                    _ => continue,
                },
                ("OKP", Some("Ed25519")) => match b64(&k.x, "x") {
                    Ok(x) if x.len() == 32 => KeyMaterial::Ed25519 { x },
                    _ => continue,
                },
                _ => continue,
            };
            keys.push(Jwk { kid: k.kid, alg: k.alg, material });
        }
        Ok(Self { keys })
    }
}

/// Where a [`JwksCache`] gets its keys. Blocking.
pub trait JwksFetcher: Send + Sync {
    /// Fetches and parses the current key set.
    fn fetch(&self) -> Result<JwkSet, Error>;
}

/// Fetches a JWKS over HTTPS (or HTTP on loopback for tests) with `ureq`.
#[derive(Debug)]
pub struct HttpJwksFetcher {
    url: String,
    http: crate::http::Http,
}

impl HttpJwksFetcher {
    /// A fetcher for `url` with a request timeout.
    pub fn new(url: impl Into<String>, timeout: Duration) -> Result<Self, Error> {
        let url = url.into();
        crate::http::check_url(&url)?;
        Ok(Self { url, http: crate::http::Http::new(timeout) })
    }
}

impl JwksFetcher for HttpJwksFetcher {
    fn fetch(&self) -> Result<JwkSet, Error> {
        let body = self.http.get(&self.url, None)?;
        JwkSet::parse(&body)
    }
}

/// A fixed key set, swappable at runtime (tests, and keys pinned in configuration).
#[derive(Debug, Default)]
pub struct StaticJwks {
    set: Mutex<JwkSet>,
    fetches: std::sync::atomic::AtomicUsize,
}

impl StaticJwks {
    /// A source that always returns `set`.
    pub fn new(set: JwkSet) -> Self {
        Self { set: Mutex::new(set), fetches: Default::default() }
    }

    /// Replaces the key set (simulates the IdP rotating keys).
    pub fn replace(&self, set: JwkSet) {
        *self.set.lock().unwrap_or_else(|p| p.into_inner()) = set;
    }

    /// How many times the key set was fetched.
    pub fn fetch_count(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl JwksFetcher for StaticJwks {
    fn fetch(&self) -> Result<JwkSet, Error> {
        self.fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(self.set.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }
}

/// Cache timings.
#[derive(Debug, Clone, Copy)]
pub struct JwksCacheConfig {
    /// How long a fetched key set is used before it is fetched again (default 10 min).
    pub ttl: Duration,
    /// Minimum time between two fetches triggered by unknown `kid`s (default 30 s).
    pub min_refresh_interval: Duration,
}

impl Default for JwksCacheConfig {
    fn default() -> Self {
        Self { ttl: Duration::from_secs(600), min_refresh_interval: Duration::from_secs(30) }
    }
}

#[derive(Default)]
struct CacheState {
    set: Option<JwkSet>,
    fetched_at: Option<OffsetDateTime>,
    last_attempt: Option<OffsetDateTime>,
}

/// A JWKS cache: TTL expiry plus rate-limited refresh on unknown `kid`.
///
/// Fetches happen under the cache lock, so concurrent misses cause one
/// fetch, not a stampede. If a TTL refresh fails, the previous keys stay in
/// use (the IdP being briefly unreachable must not lock everyone out).
pub struct JwksCache {
    fetcher: Arc<dyn JwksFetcher>,
    config: JwksCacheConfig,
    clock: Arc<dyn Clock>,
    state: Mutex<CacheState>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache").field("config", &self.config).finish_non_exhaustive()
    }
}

impl JwksCache {
    /// A cache over `fetcher`.
    pub fn new(fetcher: Arc<dyn JwksFetcher>, config: JwksCacheConfig, clock: Arc<dyn Clock>) -> Self {
        Self { fetcher, config, clock, state: Mutex::new(CacheState::default()) }
    }

    fn refresh(&self, state: &mut CacheState, now: OffsetDateTime) -> Result<(), Error> {
        state.last_attempt = Some(now);
        let set = self.fetcher.fetch()?;
        state.set = Some(set);
        state.fetched_at = Some(now);
        Ok(())
    }

    fn lookup(set: &JwkSet, kid: Option<&str>, alg: Algorithm) -> Result<Option<Jwk>, Error> {
        match kid {
            Some(kid) => match set.keys.iter().find(|k| k.kid.as_deref() == Some(kid)) {
                Some(k) if k.fits(alg) => Ok(Some(k.clone())),
                Some(_) => Err(Error::KeyAlgorithmMismatch(kid.chars().take(64).collect())),
                None => Ok(None),
            },
            None => {
                let mut candidates = set.keys.iter().filter(|k| k.fits(alg));
                match (candidates.next(), candidates.next()) {
                    (Some(k), None) => Ok(Some(k.clone())),
                    (None, _) => Ok(None),
                    (Some(_), Some(_)) => Err(Error::MissingKeyId),
                }
            }
        }
    }

    /// The key for `kid` usable with `alg`, fetching or refreshing as the rules allow.
    pub fn key_for(&self, kid: Option<&str>, alg: Algorithm) -> Result<Jwk, Error> {
        let now = self.clock.now();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let stale = state.fetched_at.is_none_or(|t| now - t >= clock::to_time(self.config.ttl));
        if stale {
            let may_retry =
                state.last_attempt.is_none_or(|t| now - t >= clock::to_time(self.config.min_refresh_interval));
            if (state.set.is_none() || may_retry)
                && let Err(e) = self.refresh(&mut state, now)
                && state.set.is_none()
            {
                return Err(e);
            }
        }
        let Some(set) = state.set.as_ref() else { return Err(Error::Jwks("no key set available".into())) };
        if let Some(k) = Self::lookup(set, kid, alg)? {
            return Ok(k);
        }
        let may_refresh =
            state.last_attempt.is_none_or(|t| now - t >= clock::to_time(self.config.min_refresh_interval));
        if may_refresh {
            self.refresh(&mut state, now)?;
            if let Some(set) = state.set.as_ref()
                && let Some(k) = Self::lookup(set, kid, alg)?
            {
                return Ok(k);
            }
        }
        Err(if kid.is_some() { Error::UnknownKeyId } else { Error::MissingKeyId })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn ed_key(kid: &str) -> serde_json::Value {
        serde_json::json!({"kty":"OKP","crv":"Ed25519","kid":kid,"x":URL_SAFE_NO_PAD.encode([7u8;32])})
    }

    #[test]
    fn drops_symmetric_and_encryption_keys() {
        let doc = serde_json::json!({"keys":[
            {"kty":"oct","k":"c2VjcmV0","kid":"h"},
            {"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB","kid":"enc"},
            ed_key("ok"),
        ]});
        let set = JwkSet::parse(doc.to_string().as_bytes()).unwrap();
        assert_eq!(set.keys.len(), 1);
        assert_eq!(set.keys[0].kid.as_deref(), Some("ok"));
    }

    #[test]
    fn unknown_kid_refresh_is_rate_limited_and_ttl_refetches() {
        let doc = serde_json::json!({"keys":[ed_key("a")]});
        let source = Arc::new(StaticJwks::new(JwkSet::parse(doc.to_string().as_bytes()).unwrap()));
        let clock = ManualClock::at_unix(1_700_000_000);
        let cache = JwksCache::new(source.clone(), JwksCacheConfig::default(), Arc::new(clock.clone()));
        assert!(cache.key_for(Some("a"), Algorithm::EdDsa).is_ok());
        assert_eq!(source.fetch_count(), 1);
        // Unknown kid right after a fetch: no new fetch (rate limit).
        assert!(matches!(cache.key_for(Some("b"), Algorithm::EdDsa), Err(Error::UnknownKeyId)));
        assert_eq!(source.fetch_count(), 1);
        // The IdP rotates; after the minimum interval an unknown kid triggers one refresh.
        let doc = serde_json::json!({"keys":[ed_key("a"), ed_key("b")]});
        source.replace(JwkSet::parse(doc.to_string().as_bytes()).unwrap());
        clock.advance(time::Duration::seconds(31));
        assert!(cache.key_for(Some("b"), Algorithm::EdDsa).is_ok());
        assert_eq!(source.fetch_count(), 2);
        // Known kid within TTL: cached.
        assert!(cache.key_for(Some("a"), Algorithm::EdDsa).is_ok());
        assert_eq!(source.fetch_count(), 2);
        // After the TTL: refetched.
        clock.advance(time::Duration::minutes(11));
        assert!(cache.key_for(Some("a"), Algorithm::EdDsa).is_ok());
        assert_eq!(source.fetch_count(), 3);
        // Wrong algorithm for the key type.
        assert!(matches!(cache.key_for(Some("a"), Algorithm::Rs256), Err(Error::KeyAlgorithmMismatch(_))));
    }
}

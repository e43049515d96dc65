//! The registered claims this crate checks, plus everything else kept as JSON.

use serde::{Deserialize, Serialize};

use crate::Error;

/// `aud`: a single string or an array of strings (RFC 7519 §4.1.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// No `aud` claim.
    #[default]
    None,
    /// One audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `aud` includes `value`.
    pub fn contains(&self, value: &str) -> bool {
        match self {
            Self::None => false,
            Self::One(a) => a == value,
            Self::Many(list) => list.iter().any(|a| a == value),
        }
    }
}

/// Claims of a JWT. Registered claims are typed; the rest stay in `extra`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: Option<String>,
    /// Subject.
    pub sub: Option<String>,
    /// Audience.
    #[serde(default)]
    pub aud: Audience,
    /// Expiry (seconds since the epoch).
    pub exp: Option<i64>,
    /// Not before (seconds since the epoch).
    pub nbf: Option<i64>,
    /// Issued at (seconds since the epoch).
    pub iat: Option<i64>,
    /// OIDC nonce (ID tokens).
    pub nonce: Option<String>,
    /// Authorized party (ID tokens with several audiences).
    pub azp: Option<String>,
    /// Every other claim (scope, roles, groups, name…).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Claims {
    /// `exp` is required and must be in the future; `nbf`, if present, in the past (with leeway).
    pub(crate) fn check_times(&self, now: i64, leeway: i64) -> Result<(), Error> {
        let exp = self.exp.ok_or(Error::MissingClaim("exp"))?;
        if now.saturating_sub(leeway) >= exp {
            return Err(Error::TokenExpired);
        }
        if let Some(nbf) = self.nbf
            && now.saturating_add(leeway) < nbf
        {
            return Err(Error::TokenNotYetValid);
        }
        Ok(())
    }

    /// A string claim from `extra`.
    pub fn string(&self, name: &str) -> Option<&str> {
        self.extra.get(name).and_then(serde_json::Value::as_str)
    }

    /// A claim that is a list of strings or a space-separated string (`roles`, `groups`, `scope`).
    pub fn string_list(&self, name: &str) -> Vec<String> {
        match self.extra.get(name) {
            Some(serde_json::Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
            Some(serde_json::Value::Array(items)) => {
                items.iter().filter_map(serde_json::Value::as_str).map(str::to_owned).collect()
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leeway_applies_both_ways() {
        let c = Claims { exp: Some(100), nbf: Some(50), ..Claims::default() };
        assert!(c.check_times(120, 30).is_ok());
        assert!(matches!(c.check_times(130, 30), Err(Error::TokenExpired)));
        assert!(c.check_times(20, 30).is_ok());
        assert!(matches!(c.check_times(19, 30), Err(Error::TokenNotYetValid)));
        let no_exp = Claims::default();
        assert!(matches!(no_exp.check_times(0, 0), Err(Error::MissingClaim("exp"))));
    }

    #[test]
    fn audience_forms() {
        let one: Audience = serde_json::from_str(r#""api""#).unwrap();
        let many: Audience = serde_json::from_str(r#"["x","api"]"#).unwrap();
        assert!(one.contains("api") && many.contains("api") && !many.contains("y"));
    }
}

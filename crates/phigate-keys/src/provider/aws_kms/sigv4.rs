//! AWS Signature Version 4, as far as the KMS JSON protocol needs it.
//!
//! Written from the AWS General Reference ("Create a signed AWS API
//! request"): canonical request → string to sign → signing key derived by an
//! HMAC-SHA256 chain over date, region and service → hex signature in an
//! `Authorization` header. KMS requests are always `POST /` with no query, so
//! this takes an already-canonical path and query instead of re-encoding
//! arbitrary URLs. Checked against AWS's published test-suite vectors below.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Everything that goes under the signature.
pub(crate) struct Request<'a> {
    /// `POST`, `GET`, ...
    pub method: &'a str,
    /// URI-encoded absolute path, e.g. `/`.
    pub canonical_uri: &'a str,
    /// Sorted, encoded query string (empty for KMS).
    pub canonical_query: &'a str,
    /// Headers to sign; must include `host` and `x-amz-date`. Any case.
    pub headers: &'a [(&'a str, &'a str)],
    /// The exact body bytes sent.
    pub payload: &'a [u8],
    /// `YYYYMMDD'T'HHMMSS'Z'` in UTC, the same value as the `x-amz-date` header.
    pub amz_date: &'a str,
    /// e.g. `us-east-1`.
    pub region: &'a str,
    /// e.g. `kms`.
    pub service: &'a str,
}

/// The `Authorization` header value for `req` under the given credentials.
pub(crate) fn authorization(req: &Request<'_>, access_key_id: &str, secret_access_key: &str) -> String {
    let (canonical, signed_headers) = canonical_request(req);
    let date = req.amz_date.get(..8).unwrap_or(req.amz_date);
    let scope = format!("{date}/{}/{}/aws4_request", req.region, req.service);
    let to_sign = string_to_sign(req.amz_date, &scope, &canonical);
    let key = signing_key(secret_access_key, date, req.region, req.service);
    let signature = hex::encode(hmac(key.as_ref(), to_sign.as_bytes()));
    format!("{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}")
}

/// Returns the canonical request and the `SignedHeaders` list.
fn canonical_request(req: &Request<'_>) -> (String, String) {
    let mut headers: Vec<(String, String)> = Vec::with_capacity(req.headers.len());
    for (name, value) in req.headers {
        let name = name.trim().to_ascii_lowercase();
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        // Repeated names are one header whose values are joined by commas.
        match headers.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => {
                v.push(',');
                v.push_str(&value);
            }
            None => headers.push((name, value)),
        }
    }
    headers.sort();
    let signed_headers = headers.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(";");
    let mut canonical = String::with_capacity(256);
    for part in [req.method, req.canonical_uri, req.canonical_query] {
        canonical.push_str(part);
        canonical.push('\n');
    }
    for (name, value) in &headers {
        canonical.push_str(name);
        canonical.push(':');
        canonical.push_str(value);
        canonical.push('\n');
    }
    canonical.push('\n');
    canonical.push_str(&signed_headers);
    canonical.push('\n');
    canonical.push_str(&hex::encode(Sha256::digest(req.payload)));
    (canonical, signed_headers)
}

fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical_request.as_bytes())))
}

/// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
fn signing_key(secret_access_key: &str, date: &str, region: &str, service: &str) -> Zeroizing<[u8; 32]> {
    let seed = Zeroizing::new(format!("AWS4{secret_access_key}"));
    let k_date = hmac(seed.as_bytes(), date.as_bytes());
    let k_region = hmac(k_date.as_ref(), region.as_bytes());
    let k_service = hmac(k_region.as_ref(), service.as_bytes());
    hmac(k_service.as_ref(), b"aws4_request")
}

fn hmac(key: &[u8], data: &[u8]) -> Zeroizing<[u8; 32]> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(data);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    /// The credentials of AWS's SigV4 test suite.
    const SUITE_KEY_ID: &str = "AKIDEXAMPLE";
    const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn vanilla(method: &'static str) -> Request<'static> {
        Request {
            method,
            canonical_uri: "/",
            canonical_query: "",
            headers: &[("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            payload: b"",
            amz_date: "20150830T123600Z",
            region: "us-east-1",
            service: "service",
        }
    }

    /// AWS SigV4 test suite, `get-vanilla`: canonical request, string to sign, header.
    #[test]
    fn test_suite_get_vanilla() {
        let req = vanilla("GET");
        let (canonical, signed) = canonical_request(&req);
        assert_eq!(
            canonical,
            format!(
                "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n{EMPTY_SHA256}"
            )
        );
        assert_eq!(signed, "host;x-amz-date");
        assert_eq!(
            string_to_sign(req.amz_date, "20150830/us-east-1/service/aws4_request", &canonical),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
             bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
        );
        assert_eq!(
            authorization(&req, SUITE_KEY_ID, SUITE_SECRET),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    /// AWS SigV4 test suite, `post-vanilla`.
    #[test]
    fn test_suite_post_vanilla() {
        let authz = authorization(&vanilla("POST"), SUITE_KEY_ID, SUITE_SECRET);
        assert!(
            authz.ends_with("Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
            "{authz}"
        );
    }

    /// Amazon S3 API Reference, "Signature Calculations for the Authorization
    /// Header", example GET Object: more headers, a path, another service.
    #[test]
    fn s3_documented_get_object() {
        let req = Request {
            method: "GET",
            canonical_uri: "/test.txt",
            canonical_query: "",
            headers: &[
                ("Host", "examplebucket.s3.amazonaws.com"),
                ("Range", "bytes=0-9"),
                ("x-amz-content-sha256", EMPTY_SHA256),
                ("x-amz-date", "20130524T000000Z"),
            ],
            payload: b"",
            amz_date: "20130524T000000Z",
            region: "us-east-1",
            service: "s3",
        };
        assert_eq!(
            authorization(&req, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn header_values_are_trimmed_and_names_lowercased_and_sorted() {
        let req = Request {
            headers: &[("X-Amz-Date", "20150830T123600Z"), ("My-Header", "  a   b  "), ("Host", "h")],
            ..vanilla("POST")
        };
        let (canonical, signed) = canonical_request(&req);
        assert_eq!(signed, "host;my-header;x-amz-date");
        assert!(canonical.contains("\nhost:h\nmy-header:a b\nx-amz-date:20150830T123600Z\n"), "{canonical}");
    }

    #[test]
    fn payload_is_under_the_signature() {
        let a = authorization(&Request { payload: b"{}", ..vanilla("POST") }, SUITE_KEY_ID, SUITE_SECRET);
        let b = authorization(&Request { payload: b"{ }", ..vanilla("POST") }, SUITE_KEY_ID, SUITE_SECRET);
        assert_ne!(a, b);
    }
}

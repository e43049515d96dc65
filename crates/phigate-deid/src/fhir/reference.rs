//! Resource ids and references, pseudonymized so a Bundle still resolves.
//!
//! One keyed function maps a logical id to its pseudonym whatever the
//! resource type and wherever the id appears (`Patient.id`,
//! `"Patient/123"`, `urn:uuid:…` in `fullUrl` and `reference`, `#contained`),
//! so every reference that resolved before still resolves after. Ids shaped
//! like UUIDs get a UUID-shaped pseudonym (RFC 9562 version 8), so
//! `urn:uuid:` stays well formed; other ids get 20 hex digits. Absolute
//! references lose their server base (which can name the institution) for
//! the fixed `https://deid.invalid/fhir/`, applied to `fullUrl` too.

use crate::operators::PseudonymKey;

/// The base that replaces a server's base URL in absolute references.
pub const DEID_BASE: &str = "https://deid.invalid/fhir/";

/// The pseudonym of a logical id.
pub(crate) fn pseudo_id(key: &PseudonymKey, id: &str) -> String {
    let mac = key.mac(&[b"fhir-id", id.as_bytes()]);
    if is_uuid(id) {
        let mut b = [0u8; 16];
        b.copy_from_slice(&mac[..16]);
        b[6] = (b[6] & 0x0f) | 0x80;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
    } else {
        mac[..10].iter().map(|x| format!("{x:02x}")).collect()
    }
}

/// A pseudonymous OID under the UUID arc `2.25`.
fn pseudo_oid(key: &PseudonymKey, oid: &str) -> String {
    let mac = key.mac(&[b"fhir-oid", oid.as_bytes()]);
    let mut n = [0u8; 16];
    n.copy_from_slice(&mac[..16]);
    format!("2.25.{}", u128::from_be_bytes(n) >> 1)
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() })
}

fn is_type(s: &str) -> bool {
    s.len() >= 2 && s.starts_with(|c: char| c.is_ascii_uppercase()) && s.chars().all(|c| c.is_ascii_alphabetic())
}

fn is_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// `Type/id` or `Type/id/_history/vid` with the id pseudonymized; `None` if
/// `rel` has another shape.
fn relative(key: &PseudonymKey, rel: &str) -> Option<String> {
    let mut parts = rel.split('/');
    let (ty, id) = (parts.next()?, parts.next()?);
    if !is_type(ty) || !is_id(id) {
        return None;
    }
    let history = match (parts.next(), parts.next(), parts.next()) {
        (None, _, _) => String::new(),
        (Some("_history"), Some(v), None) if is_id(v) => format!("/_history/{v}"),
        _ => return None,
    };
    Some(format!("{ty}/{}{history}", pseudo_id(key, id)))
}

/// A `reference`, `fullUrl`, request URL or location with every id
/// pseudonymized; `None` when the value has no recognisable shape (a search
/// URL, free text), which the caller then redacts.
pub(crate) fn rewrite(key: &PseudonymKey, value: &str) -> Option<String> {
    if value == "#" {
        return Some(value.to_owned());
    }
    if let Some(frag) = value.strip_prefix('#') {
        return is_id(frag).then(|| format!("#{}", pseudo_id(key, frag)));
    }
    if let Some(u) = value.strip_prefix("urn:uuid:") {
        return is_uuid(u).then(|| format!("urn:uuid:{}", pseudo_id(key, u)));
    }
    if let Some(o) = value.strip_prefix("urn:oid:") {
        let oid = !o.is_empty() && o.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        return oid.then(|| format!("urn:oid:{}", pseudo_oid(key, o)));
    }
    if value.starts_with("http://") || value.starts_with("https://") {
        if value.contains(['?', '#']) {
            return None;
        }
        // The last two or four path segments are the relative reference.
        let segs: Vec<&str> = value.trim_end_matches('/').split('/').collect();
        for take in [4, 2] {
            if segs.len() > take + 2 {
                let rel = segs[segs.len() - take..].join("/");
                if let Some(r) = relative(key, &rel) {
                    return Some(format!("{DEID_BASE}{r}"));
                }
            }
        }
        return None;
    }
    relative(key, value)
}

/// The logical id of a Patient reference (`Patient/123`, an absolute URL
/// ending in it), for grouping; ids in `urn:uuid:` form are resolved by the
/// caller through the Bundle's `fullUrl`s.
pub(crate) fn patient_id(reference: &str) -> Option<&str> {
    let at = reference.rfind("Patient/")?;
    if at > 0 && !reference[..at].ends_with('/') {
        return None;
    }
    let id = reference[at + "Patient/".len()..].split('/').next()?;
    is_id(id).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PseudonymKey {
        PseudonymKey::new(vec![3; 32])
    }

    #[test]
    fn ids_map_the_same_everywhere() {
        let k = key();
        let p = pseudo_id(&k, "pat-1");
        assert_eq!(p.len(), 20);
        assert_eq!(rewrite(&k, "Patient/pat-1").unwrap(), format!("Patient/{p}"));
        assert_eq!(rewrite(&k, "Patient/pat-1/_history/2").unwrap(), format!("Patient/{p}/_history/2"));
        assert_eq!(rewrite(&k, "http://h.example/fhir/Patient/pat-1").unwrap(), format!("{DEID_BASE}Patient/{p}"));
        assert_eq!(rewrite(&k, "#pat-1").unwrap(), format!("#{p}"));
        let u = "8c2f9a4e-1b7d-4c3e-9f00-0a1b2c3d4e5f";
        let pu = pseudo_id(&k, u);
        assert!(is_uuid(&pu) && pu != u);
        assert_eq!(rewrite(&k, &format!("urn:uuid:{u}")).unwrap(), format!("urn:uuid:{pu}"));
        assert!(rewrite(&k, "urn:oid:1.2.840.1").unwrap().starts_with("urn:oid:2.25."));
    }

    #[test]
    fn other_shapes_are_refused() {
        let k = key();
        for v in ["Patient?name=smith", "Margaret Okonkwo", "http://h.example/fhir/Patient?identifier=1", "urn:uuid:x"]
        {
            assert_eq!(rewrite(&k, v), None, "{v}");
        }
    }

    #[test]
    fn patient_ids() {
        assert_eq!(patient_id("Patient/p1"), Some("p1"));
        assert_eq!(patient_id("https://x/fhir/Patient/p1/_history/1"), Some("p1"));
        assert_eq!(patient_id("RelatedPatient/p1"), None);
        assert_eq!(patient_id("Group/g1"), None);
    }
}

//! Normalization of lookup values, so "  Doe, JANE " finds "doe, jane".

/// Trims, lower-cases and collapses internal whitespace.
pub(crate) fn lookup_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for word in value.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn case_and_spacing_do_not_matter() {
        assert_eq!(super::lookup_value("  Doe,   JANE "), "doe, jane");
        assert_eq!(super::lookup_value("MRN-00123"), "mrn-00123");
    }
}

//! The header of a template file: a `---` block of `key: value` lines.
//!
//! A deliberately small subset of YAML (no dependency, no surprises):
//! scalar values, optionally in single or double quotes, and `variables`
//! as an inline list `[a, b]` or as `- a` lines below the key. Unknown and
//! repeated keys are errors.

use super::Status;

/// The parsed header.
pub(super) struct Header {
    pub id: String,
    pub version: u32,
    pub status: Status,
    pub description: String,
    pub variables: Vec<String>,
}

/// A problem at a 1-based line.
pub(super) type LineError = (usize, String);

/// Splits `text` into the header and the body, and the body's first line number.
pub(super) fn split(text: &str) -> Result<(Header, &str, usize), LineError> {
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or_default();
    if first.trim_end() != "---" {
        return Err((1, "a template starts with a `---` line".to_owned()));
    }
    let mut offset = first.len();
    let mut header_lines = Vec::new();
    let mut closed = false;
    for (i, line) in lines.enumerate() {
        offset += line.len();
        if line.trim_end() == "---" {
            closed = true;
            break;
        }
        header_lines.push((i + 2, line.trim_end_matches(['\n', '\r'])));
    }
    if !closed {
        return Err((1, "the `---` header is never closed".to_owned()));
    }
    let body_line = header_lines.len() + 3;
    Ok((parse(&header_lines)?, &text[offset..], body_line))
}

fn parse(lines: &[(usize, &str)]) -> Result<Header, LineError> {
    let mut id = None;
    let mut version = None;
    let mut status = None;
    let mut description = None;
    let mut variables: Option<Vec<String>> = None;
    let mut in_list = false;
    for &(n, line) in lines {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if let Some(item) = line.trim_start().strip_prefix("- ") {
            match (&mut variables, in_list) {
                (Some(v), true) => {
                    v.push(unquote(item.trim()).to_owned());
                    continue;
                }
                _ => return Err((n, "a `- item` line belongs under `variables:`".to_owned())),
            }
        }
        in_list = false;
        let (key, value) = line.split_once(':').ok_or((n, "expected `key: value`".to_owned()))?;
        let (key, value) = (key.trim(), value.trim());
        let dup = || (n, format!("`{key}` is given twice"));
        match key {
            "id" => set(&mut id, unquote(value).to_owned()).ok_or_else(dup)?,
            "version" => {
                let v = unquote(value).parse::<u32>().ok().filter(|&v| v >= 1);
                let v = v.ok_or((n, "version must be a whole number from 1".to_owned()))?;
                set(&mut version, v).ok_or_else(dup)?;
            }
            "status" => {
                let s = match unquote(value) {
                    "draft" => Status::Draft,
                    "approved" => Status::Approved,
                    "retired" => Status::Retired,
                    _ => return Err((n, "status must be draft, approved or retired".to_owned())),
                };
                set(&mut status, s).ok_or_else(dup)?;
            }
            "description" => set(&mut description, unquote(value).to_owned()).ok_or_else(dup)?,
            "variables" => {
                let list = if value.is_empty() {
                    in_list = true;
                    Vec::new()
                } else {
                    let inner = value
                        .strip_prefix('[')
                        .and_then(|v| v.strip_suffix(']'))
                        .ok_or((n, "variables must be a list: `[a, b]` or `- a` lines".to_owned()))?;
                    inner.split(',').map(|s| unquote(s.trim()).to_owned()).filter(|s| !s.is_empty()).collect()
                };
                set(&mut variables, list).ok_or_else(dup)?;
            }
            _ => return Err((n, format!("unknown key `{}`", safe_key(key)))),
        }
    }
    let missing = |k: &str| (0, format!("the header has no `{k}`"));
    Ok(Header {
        id: id.ok_or_else(|| missing("id"))?,
        version: version.ok_or_else(|| missing("version"))?,
        status: status.ok_or_else(|| missing("status"))?,
        description: description.ok_or_else(|| missing("description"))?,
        variables: variables.ok_or_else(|| missing("variables"))?,
    })
}

/// Sets an unset option; `None` if it was already set.
fn set<T>(slot: &mut Option<T>, v: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(v);
    Some(())
}

fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

fn safe_key(k: &str) -> &str {
    if k.len() <= 32 && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') { k } else { "?" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_list_forms_and_quotes() {
        let (h, body, line) =
            split("---\nid: \"a\"\nversion: 3\nstatus: 'draft'\ndescription: x: y\nvariables: [p, \"q\"]\n---\nBody\n")
                .unwrap();
        assert_eq!((h.id.as_str(), h.version, h.status, h.description.as_str()), ("a", 3, Status::Draft, "x: y"));
        assert_eq!(h.variables, ["p", "q"]);
        assert_eq!((body, line), ("Body\n", 8));
        let (h, _, _) =
            split("---\r\nid: b\r\nversion: 1\r\nstatus: approved\r\ndescription: d\r\nvariables:\r\n  - one\r\n  - two\r\n---\r\nx")
                .unwrap();
        assert_eq!(h.variables, ["one", "two"]);
        let (h, _, _) = split("---\nid: c\nversion: 1\nstatus: retired\ndescription: d\nvariables: []\n---\n").unwrap();
        assert!(h.variables.is_empty());
    }

    #[test]
    fn errors_have_lines() {
        let ok = "id: a\nversion: 1\nstatus: draft\ndescription: d\nvariables: []\n";
        let e = |h: &str| split(&format!("---\n{h}---\n")).err().unwrap();
        assert_eq!(e(&format!("{ok}colour: red\n")).0, 7);
        assert_eq!(e(&ok.replace("version: 1", "version: one")).0, 3);
        assert_eq!(e(&ok.replace("version: 1", "version: 0")).0, 3);
        assert_eq!(e(&ok.replace("draft", "final")).0, 4);
        assert_eq!(e(&format!("{ok}id: b\n")).1, "`id` is given twice");
        assert_eq!(e(&ok.replace("description: d\n", "")).1, "the header has no `description`");
        assert_eq!(e(&format!("- x\n{ok}")).0, 2);
        assert_eq!(e(&ok.replace("variables: []", "variables: a, b")).0, 6);
        assert_eq!(split("no header").err().unwrap().0, 1);
        assert_eq!(split("---\nid: a\n").err().unwrap().1, "the `---` header is never closed");
    }
}

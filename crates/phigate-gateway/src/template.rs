//! Prompt templates as versioned, reviewed artifacts.
//!
//! A template is a Markdown file with a header:
//!
//! ```text
//! ---
//! id: discharge-summary
//! version: 2
//! status: approved          # draft | approved | retired
//! description: Drafts a discharge summary from the structured course.
//! variables: [diagnosis, hospital_course]
//! ---
//! Write a discharge summary. Diagnosis: {{diagnosis}}. Course: {{hospital_course}}
//! ```
//!
//! Why: a prompt that reaches patients' care is reviewed like code. Only
//! `approved` templates render; each has a SHA-256 of its body
//! ([`Template::hash_hex`]) so the audit trail records exactly which text was
//! used (id + version + hash), and a changed body is visible even if someone
//! forgot to bump the version.
//!
//! Rules: the body may use only declared variables (checked at load, with the
//! line); rendering needs a value for every declared variable and refuses
//! values for undeclared ones. Substitution is a single pass: a value that
//! contains `{{x}}` is inserted as text, never expanded, so patient data
//! cannot inject template syntax. There is no escape for a literal `{{`.
//! Rendered text may contain PHI: it goes through redaction like any request.

mod front_matter;

use std::fmt;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::{Error, Result, safe_name};

/// A template's review state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Being written; never renders.
    Draft,
    /// Reviewed; renders.
    Approved,
    /// Withdrawn; never renders.
    Retired,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Draft => "draft",
            Status::Approved => "approved",
            Status::Retired => "retired",
        })
    }
}

/// One version of one template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// Stable id (`[a-z0-9._-]`, at most 64 bytes).
    pub id: String,
    /// Version, from 1.
    pub version: u32,
    /// Review state.
    pub status: Status,
    /// What it is for.
    pub description: String,
    /// Declared variable names, in declaration order.
    pub variables: Vec<String>,
    /// The body as written.
    pub body: String,
    /// The file (or source name) it came from.
    pub source: String,
    hash: [u8; 32],
    segments: Vec<Segment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    /// `body[start..end]`.
    Text(usize, usize),
    /// The variable with this index in `variables`.
    Var(usize),
}

impl Template {
    /// Parses one template file's text; `source` names it in errors.
    pub fn parse(source: &str, text: &str) -> Result<Self> {
        let err = |line: usize, reason: String| Error::TemplateSyntax { file: source.to_owned(), line, reason };
        let (h, body, body_line) = front_matter::split(text).map_err(|(l, r)| err(l, r))?;
        let id_ok = !h.id.is_empty()
            && h.id.len() <= 64
            && h.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
        if !id_ok {
            return Err(err(0, "id must be 1-64 characters of a-z, 0-9, '.', '_', '-'".to_owned()));
        }
        for (i, v) in h.variables.iter().enumerate() {
            if !is_var_name(v) {
                return Err(err(0, format!("variable `{}` must match [a-z_][a-z0-9_]*", safe_name(v))));
            }
            if h.variables[..i].contains(v) {
                return Err(err(0, format!("variable `{v}` is declared twice")));
            }
        }
        let segments = segments(body, &h.variables).map_err(|(l, r)| err(body_line + l, r))?;
        Ok(Self {
            hash: Sha256::digest(body.as_bytes()).into(),
            id: h.id,
            version: h.version,
            status: h.status,
            description: h.description,
            variables: h.variables,
            body: body.to_owned(),
            source: source.to_owned(),
            segments,
        })
    }

    /// SHA-256 of the body.
    pub fn hash(&self) -> [u8; 32] {
        self.hash
    }

    /// SHA-256 of the body, lowercase hex (what the audit records).
    pub fn hash_hex(&self) -> String {
        use std::fmt::Write;
        self.hash.iter().fold(String::with_capacity(64), |mut s, b| {
            // Invariant: writing to a String cannot fail.
            let _ = write!(s, "{b:02x}");
            s
        })
    }

    /// Renders with `values` (name, value); see the module's rules.
    pub fn render<'a>(&self, values: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Rendered> {
        if self.status != Status::Approved {
            return Err(Error::TemplateNotApproved { id: self.id.clone(), version: self.version, status: self.status });
        }
        let mut slots: Vec<Option<&str>> = vec![None; self.variables.len()];
        for (name, value) in values {
            let i = self
                .variables
                .iter()
                .position(|v| v == name)
                .ok_or_else(|| Error::UndeclaredVariable { id: self.id.clone(), name: safe_name(name) })?;
            slots[i] = Some(value);
        }
        if let Some(i) = slots.iter().position(Option::is_none) {
            return Err(Error::MissingVariable { id: self.id.clone(), name: self.variables[i].clone() });
        }
        let extra: usize = slots.iter().flatten().map(|v| v.len()).sum();
        let mut text = String::with_capacity(self.body.len() + extra);
        for s in &self.segments {
            match *s {
                Segment::Text(a, b) => text.push_str(&self.body[a..b]),
                Segment::Var(i) => text.push_str(slots[i].unwrap_or_default()),
            }
        }
        Ok(Rendered { text, id: self.id.clone(), version: self.version, hash: self.hash_hex() })
    }
}

fn is_var_name(v: &str) -> bool {
    let b = v.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && (b[0].is_ascii_lowercase() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

/// Splits a body into text and variable references; errors carry a line
/// offset within the body (0-based).
fn segments(body: &str, vars: &[String]) -> std::result::Result<Vec<Segment>, (usize, String)> {
    let line_of = |at: usize| body[..at].matches('\n').count();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(off) = body[at..].find("{{") {
        let open = at + off;
        let close =
            body[open..].find("}}").map(|c| open + c).ok_or((line_of(open), "`{{` is never closed".to_owned()))?;
        let name = body[open + 2..close].trim();
        if !is_var_name(name) {
            return Err((line_of(open), "`{{…}}` must hold a variable name ([a-z_][a-z0-9_]*)".to_owned()));
        }
        let i = vars
            .iter()
            .position(|v| v == name)
            .ok_or_else(|| (line_of(open), format!("`{{{{{name}}}}}` is not in `variables`")))?;
        if open > at {
            out.push(Segment::Text(at, open));
        }
        out.push(Segment::Var(i));
        at = close + 2;
    }
    if at < body.len() {
        out.push(Segment::Text(at, body.len()));
    }
    Ok(out)
}

/// A rendered prompt and what the audit records about it.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The prompt (may contain PHI from the values).
    pub text: String,
    /// Template id.
    pub id: String,
    /// Template version.
    pub version: u32,
    /// SHA-256 of the template body, hex.
    pub hash: String,
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rendered")
            .field("text", &format_args!("[PHI]; {} bytes", self.text.len()))
            .field("id", &self.id)
            .field("version", &self.version)
            .field("hash", &self.hash)
            .finish()
    }
}

/// Every template version, by id then version.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TemplateRegistry {
    templates: Vec<Template>,
}

impl TemplateRegistry {
    /// Builds a registry from `(source name, text)` pairs.
    pub fn from_sources<'a>(sources: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        let mut templates = Vec::new();
        for (name, text) in sources {
            templates.push(Template::parse(name, text)?);
        }
        templates.sort_by(|a, b| (&a.id, a.version).cmp(&(&b.id, b.version)));
        if let Some(w) = templates.windows(2).find(|w| w[0].id == w[1].id && w[0].version == w[1].version) {
            return Err(Error::DuplicateTemplate { id: w[0].id.clone(), version: w[0].version });
        }
        Ok(Self { templates })
    }

    /// Loads every `*.md` file of `dir` (not recursive).
    pub fn load_dir(dir: &Path) -> Result<Self> {
        fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
            move |source| Error::Io { path: path.to_owned(), source }
        }
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let path = entry.map_err(io(dir))?.path();
            if path.extension().is_some_and(|e| e == "md") && path.is_file() {
                let text = std::fs::read_to_string(&path).map_err(io(&path))?;
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                files.push((name, text));
            }
        }
        files.sort();
        Self::from_sources(files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
    }

    /// Every template version.
    pub fn templates(&self) -> &[Template] {
        &self.templates
    }

    /// A template by id and version, or its highest approved version.
    pub fn get(&self, id: &str, version: Option<u32>) -> Result<&Template> {
        let all = self.templates.iter().filter(|t| t.id == id);
        let found = match version {
            Some(v) => all.clone().find(|t| t.version == v),
            None => all.clone().filter(|t| t.status == Status::Approved).max_by_key(|t| t.version),
        };
        found
            .or_else(|| if version.is_none() { all.max_by_key(|t| t.version) } else { None })
            .ok_or_else(|| Error::UnknownTemplate { id: safe_name(id), version })
    }

    /// Renders `id` (a given `version`, or the highest approved one).
    pub fn render<'a>(
        &self,
        id: &str,
        version: Option<u32>,
        values: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Rendered> {
        self.get(id, version)?.render(values)
    }
}

#[cfg(test)]
mod tests;

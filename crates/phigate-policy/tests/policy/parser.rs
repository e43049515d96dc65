//! The policy file parser: the default file loads, and errors name the offending key.

use phigate_policy::{Error, Policy};
use proptest::prelude::*;

fn err(text: &str) -> (String, String) {
    match Policy::from_toml(text) {
        Err(Error::Parse { path, message } | Error::Invalid { path, message }) => (path, message),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn default_policy_loads_and_covers_the_required_roles() {
    let p = Policy::default_policy().unwrap();
    for role in ["clinician", "researcher", "privacy_officer", "administrator", "service"] {
        assert!(p.role(role).is_some(), "{role}");
    }
}

#[test]
fn semantic_errors_name_the_key() {
    let base = "version = 1\n[roles.researcher]\n[[roles.researcher.allow]]\nresource = \"StudyRecord\"\nactions = [\"read\"]\n";
    let (path, msg) = err(&format!("{base}purposes = [\"research\"]\nread_fields = [\"study_id\"]\n"));
    assert_eq!(path, "roles.researcher.allow[0].deidentified_only", "{msg}");
    let (path, _) = err(&format!(
        "{base}purposes = [\"research\"]\nread_fields = [\"study_id\", \"name\"]\ndeidentified_only = true\n"
    ));
    assert_eq!(path, "roles.researcher.allow[0].read_fields[1]");
    let (path, _) = err(&format!("{base}purposes = [\"treatment\"]\n"));
    assert_eq!(path, "roles.researcher.allow[0].read_fields");
    let (path, _) = err("version = 2\n");
    assert_eq!(path, "version");
    let (path, _) = err("version = 1\n[break_glass]\nroles = [\"ghost\"]\nmax_minutes = 5\n");
    assert_eq!(path, "break_glass.roles[0]");
}

#[test]
fn schema_errors_name_the_key() {
    let (path, msg) = err(
        "version = 1\n[roles.x]\n[[roles.x.allow]]\nresource = \"A\"\nactions = [\"read\"]\npurposes = [\"marketing\"]\nread_fields = [\"a\"]\n",
    );
    assert_eq!(path, "roles.x.allow[0].purposes[0]", "{msg}");
    assert!(msg.contains("marketing"), "{msg}");
    let (path, msg) = err("version = 1\n[roles.x]\ndescriptoin = \"typo\"\n");
    assert!(path.starts_with("roles.x"), "{path}: {msg}");
    assert!(msg.contains("descriptoin"), "{msg}");
}

const KEYS: &[(&str, &str)] = &[
    ("resource", "42"),
    ("actions", "\"read\""),
    ("purposes", "[1, 2]"),
    ("read_fields", "true"),
    ("write_fields", "{ a = 1 }"),
    ("care_relationship", "\"yes\""),
    ("deidentified_only", "7"),
];

fn rule(bad: Option<(&str, &str)>) -> String {
    let mut fields = vec![
        ("resource", "\"Observation\"".to_owned()),
        ("actions", "[\"read\", \"write\"]".to_owned()),
        ("purposes", "[\"treatment\"]".to_owned()),
        ("read_fields", "[\"status\", \"code\"]".to_owned()),
        ("write_fields", "[\"status\"]".to_owned()),
        ("care_relationship", "true".to_owned()),
        ("deidentified_only", "false".to_owned()),
    ];
    if let Some((key, value)) = bad {
        for f in &mut fields {
            if f.0 == key {
                f.1 = value.to_owned();
            }
        }
    }
    fields.iter().map(|(k, v)| format!("{k} = {v}\n")).collect()
}

proptest! {
    /// Whatever role, rule and key carries a wrongly typed value, the error names exactly that key.
    #[test]
    fn parse_errors_name_the_key(roles in 1usize..4, rules in 1usize..4, role_pick in 0usize..4, rule_pick in 0usize..4, key_pick in 0usize..KEYS.len()) {
        let bad_role = role_pick % roles;
        let bad_rule = rule_pick % rules;
        let (key, value) = KEYS[key_pick];
        let mut text = String::from("version = 1\n");
        for r in 0..roles {
            text.push_str(&format!("[roles.role_{r}]\n"));
            for i in 0..rules {
                text.push_str(&format!("[[roles.role_{r}.allow]]\n"));
                let bad = (r == bad_role && i == bad_rule).then_some((key, value));
                text.push_str(&rule(bad));
            }
        }
        let (path, _) = err(&text);
        let expected = format!("roles.role_{bad_role}.allow[{bad_rule}].{key}");
        prop_assert!(path == expected || path.starts_with(&format!("{expected}[")), "{} vs {}", path, expected);
    }

    /// Arbitrary text never panics the parser.
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}") {
        let _ = Policy::from_toml(&text);
    }
}

use std::path::Path;

use super::*;

fn templates_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")
}

fn src(id: &str, version: u32, status: &str, vars: &str, body: &str) -> String {
    format!("---\nid: {id}\nversion: {version}\nstatus: {status}\ndescription: test\nvariables: [{vars}]\n---\n{body}")
}

#[test]
fn shipped_templates_load_and_render() {
    let reg = TemplateRegistry::load_dir(&templates_dir()).unwrap();
    let ids: Vec<(&str, u32)> = reg.templates().iter().map(|t| (t.id.as_str(), t.version)).collect();
    assert_eq!(ids, [("discharge-summary", 1), ("note-summary", 1)]);
    let r = reg
        .render(
            "discharge-summary",
            None,
            [
                ("diagnosis", "community-acquired pneumonia"),
                ("hospital_course", "IV ceftriaxone, then oral."),
                ("medications", "amoxicillin 1 g"),
                ("follow_up", "GP in 7 days"),
            ],
        )
        .unwrap();
    assert!(r.text.contains("Principal diagnosis: community-acquired pneumonia\n"));
    assert!(!r.text.contains("{{"));
    let t = reg.get("discharge-summary", Some(1)).unwrap();
    assert_eq!(r.hash, t.hash_hex());
    assert_eq!((r.id.as_str(), r.version), ("discharge-summary", 1));
    let n = reg.render("note-summary", Some(1), [("note_type", "nursing note"), ("note", "Pt resting.")]).unwrap();
    assert!(n.text.starts_with("Summarise the following nursing note for"));
}

#[test]
fn hash_is_sha256_of_the_body() {
    let t = Template::parse("t.md", &src("a", 1, "approved", "", "hello\n")).unwrap();
    assert_eq!(t.hash_hex(), "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
    let header_only_change = Template::parse("t.md", &src("a", 1, "draft", "", "hello\n")).unwrap();
    assert_eq!(header_only_change.hash(), t.hash(), "the hash covers what is sent, not the review state");
}

#[test]
fn only_approved_templates_render() {
    for status in ["draft", "retired"] {
        let t = Template::parse("t.md", &src("a", 1, status, "", "x")).unwrap();
        assert!(matches!(t.render([]), Err(Error::TemplateNotApproved { .. })), "{status}");
    }
    let reg = TemplateRegistry::from_sources([
        ("1.md", src("a", 1, "approved", "", "one").as_str()),
        ("2.md", src("a", 2, "approved", "", "two").as_str()),
        ("3.md", src("a", 3, "draft", "", "three").as_str()),
    ])
    .unwrap();
    assert_eq!(reg.render("a", None, []).unwrap().text, "two", "highest approved version");
    assert_eq!(reg.render("a", Some(1), []).unwrap().text, "one");
    assert!(matches!(reg.render("a", Some(3), []), Err(Error::TemplateNotApproved { version: 3, .. })));
    assert!(matches!(reg.render("a", Some(9), []), Err(Error::UnknownTemplate { .. })));
    assert!(matches!(reg.render("b", None, []), Err(Error::UnknownTemplate { .. })));
    let drafts = TemplateRegistry::from_sources([("1.md", src("d", 1, "draft", "", "x").as_str())]).unwrap();
    assert!(matches!(drafts.render("d", None, []), Err(Error::TemplateNotApproved { .. })));
}

#[test]
fn variables_are_checked_both_ways() {
    let t = Template::parse("t.md", &src("a", 1, "approved", "x, y", "{{x}} and {{ y }}")).unwrap();
    assert_eq!(t.render([("x", "1"), ("y", "2")]).unwrap().text, "1 and 2");
    assert!(matches!(t.render([("x", "1")]), Err(Error::MissingVariable { name, .. }) if name == "y"));
    assert!(matches!(
        t.render([("x", "1"), ("y", "2"), ("z", "3")]),
        Err(Error::UndeclaredVariable { name, .. }) if name == "z"
    ));
    let err = t.render([("x", "1"), ("Jane Canary", "2")]).unwrap_err().to_string();
    assert!(!err.contains("Canary"), "{err}");
}

#[test]
fn values_are_not_expanded() {
    let t = Template::parse("t.md", &src("a", 1, "approved", "x, y", "{{x}}|{{y}}")).unwrap();
    assert_eq!(t.render([("x", "{{y}}"), ("y", "2")]).unwrap().text, "{{y}}|2");
}

#[test]
fn body_errors_name_the_line() {
    let line_of = |body: &str, vars: &str| match Template::parse("t.md", &src("a", 1, "approved", vars, body)) {
        Err(Error::TemplateSyntax { line, reason, .. }) => (line, reason),
        other => panic!("{other:?}"),
    };
    assert_eq!(line_of("one\ntwo {{z}}\n", "x"), (9, "`{{z}}` is not in `variables`".to_owned()));
    assert_eq!(line_of("{{x", "x").0, 8);
    assert_eq!(line_of("{{ Bad Name }}", "x").0, 8);
    let (_, why) = line_of("x", "x, x");
    assert!(why.contains("declared twice"));
    let (_, why) = line_of("x", "X1");
    assert!(why.contains("must match"));
    let bad_id = Template::parse("t.md", &src("A B", 1, "approved", "", "x")).unwrap_err();
    assert!(matches!(bad_id, Error::TemplateSyntax { line: 0, .. }));
}

#[test]
fn duplicates_and_io_errors() {
    let a = src("a", 1, "approved", "", "x");
    let dup = TemplateRegistry::from_sources([("1.md", a.as_str()), ("2.md", a.as_str())]).unwrap_err();
    assert!(matches!(dup, Error::DuplicateTemplate { version: 1, .. }));
    assert!(matches!(TemplateRegistry::load_dir(Path::new("/nonexistent-dir")), Err(Error::Io { .. })));
}

#[test]
fn rendered_debug_hides_text() {
    let t = Template::parse("t.md", &src("a", 1, "approved", "x", "{{x}}")).unwrap();
    let r = t.render([("x", "Jane Canary")]).unwrap();
    assert!(!format!("{r:?}").contains("Canary"));
}

use time::macros::date;

use super::*;

const EXAMPLE: &str = include_str!("../../backends.example.toml");

fn one(extra: &str) -> String {
    format!(
        "[[backend]]\nid = \"b1\"\nkind = \"vendor\"\nbase_url = \"https://v.example/v1\"\nmodel = \"m\"\n\
         model_version = \"1\"\ndata_classes = [\"deidentified\"]\n{extra}"
    )
}

fn err(text: &str) -> (String, &'static str, String) {
    match Registry::from_toml_str(text) {
        Err(Error::InvalidBackend { backend, field, reason }) => (backend, field, reason),
        other => panic!("expected InvalidBackend, got {other:?}"),
    }
}

#[test]
fn example_file_parses() {
    let r = Registry::from_toml_str(EXAMPLE).unwrap();
    let ids: Vec<&str> = r.backends().iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, ["gpu-vllm", "local-small", "vendor-baa", "vendor-general", "vendor-trial"], "priority, then id");
    let v = r.get("vendor-baa").unwrap();
    assert_eq!(v.baa, Some(Baa { reference: "BAA-2025-0042".into(), expires: date!(2026 - 12 - 31) }));
    assert_eq!(v.on_phi, OnPhi::RedactAndForward);
    assert!(matches!(&v.kind, BackendKind::Vendor { api_key_env: Some(e), .. } if e == "PHIGATE_VENDOR_API_KEY"));
    let g = r.get("gpu-vllm").unwrap();
    assert_eq!(g.timeouts, Timeouts { connect: Duration::from_secs(2), request: Duration::from_secs(120) });
    assert_eq!(g.endpoints, Endpoints { chat: true, embeddings: false });
    let t = r.get("vendor-trial").unwrap();
    assert_eq!((t.approval, t.on_phi, t.priority), (Approval::Pending, OnPhi::Refuse, 100), "secure defaults");
    let models: Vec<String> = r.models().data.into_iter().map(|m| m.id).collect();
    assert_eq!(models, ["clinical-chat", "phigate-small"], "pending backends' models are not listed");
}

#[test]
fn dates_may_be_quoted_and_empty_file_is_empty_registry() {
    let r = Registry::from_toml_str(
        &one("[baa]\nreference = \"X\"\nexpires = \"2030-01-02\"\n").replace("[baa]", "[backend.baa]"),
    )
    .unwrap();
    assert_eq!(r.backends()[0].baa.as_ref().unwrap().expires, date!(2030 - 01 - 02));
    assert!(Registry::from_toml_str("").unwrap().backends().is_empty());
}

#[test]
fn errors_name_backend_and_field() {
    let cases: &[(&str, &str)] = &[
        ("kind = \"cloud\"\n", "kind"),
        ("approval = \"yes\"\n", "approval"),
        ("on_phi = \"forward\"\n", "on_phi"),
        ("endpoints = [\"completions\"]\n", "endpoints"),
        ("endpoints = []\n", "endpoints"),
        ("connect_timeout_ms = 0\n", "connect_timeout_ms"),
        ("connect_timeout_ms = 9000\nrequest_timeout_ms = 8000\n", "connect_timeout_ms"),
        ("request_timeout_ms = 4000000\n", "request_timeout_ms"),
        ("api_key_env = \"lower-case\"\n", "api_key_env"),
        ("insecure_plain_http = true\n", "insecure_plain_http"),
        ("[backend.baa]\nreference = \"X\"\n", "baa.expires"),
        ("[backend.baa]\nexpires = 2030-01-01\n", "baa.reference"),
        ("[backend.baa]\nreference = \"X\"\nexpires = 2030-01-01T10:00:00\n", "baa.expires"),
        ("[backend.baa]\nreference = \"X\"\nexpires = \"tomorrow\"\n", "baa.expires"),
    ];
    for (extra, field) in cases {
        let text = one(extra)
            .replace("kind = \"vendor\"\n", if extra.starts_with("kind") { "" } else { "kind = \"vendor\"\n" });
        let (backend, f, reason) = err(&text);
        assert_eq!((backend.as_str(), f), ("b1", *field), "{extra}: {reason}");
    }
}

#[test]
fn cross_field_rules() {
    let on_phi = one("on_phi = \"redact-and-forward\"\n").replace("[\"deidentified\"]", "[\"public\"]");
    assert_eq!(err(&on_phi).1, "on_phi");
    assert_eq!(err(&one("").replace("[\"deidentified\"]", "[]")).1, "data_classes");
    assert_eq!(err(&one("").replace("https://", "http://")).1, "base_url", "vendors need https");
    let in_process_baa = "[[backend]]\nid = \"p\"\nkind = \"in-process\"\nmodel = \"m\"\nmodel_version = \"1\"\n\
                          data_classes = [\"phi\"]\n[backend.baa]\nreference = \"X\"\nexpires = 2030-01-01\n";
    assert_eq!(err(in_process_baa).1, "baa");
    let in_process_url = "[[backend]]\nid = \"p\"\nkind = \"in-process\"\nbase_url = \"http://127.0.0.1\"\n\
                          model = \"m\"\nmodel_version = \"1\"\ndata_classes = [\"phi\"]\n";
    assert_eq!(err(in_process_url).1, "base_url");
    let self_hosted = |url: &str, extra: &str| {
        format!(
            "[[backend]]\nid = \"s\"\nkind = \"self-hosted\"\nbase_url = \"{url}\"\nmodel = \"m\"\n\
             model_version = \"1\"\ndata_classes = [\"phi\"]\n{extra}"
        )
    };
    assert_eq!(err(&self_hosted("http://10.1.2.3:8000/v1", "")).1, "base_url");
    Registry::from_toml_str(&self_hosted("http://10.1.2.3:8000/v1", "insecure_plain_http = true\n")).unwrap();
    Registry::from_toml_str(&self_hosted("https://10.1.2.3:8000/v1", "")).unwrap();
    Registry::from_toml_str(&self_hosted("http://localhost:8000/v1", "")).unwrap();
    let dup = format!("{}{}", one(""), one(""));
    assert_eq!(err(&dup).1, "id");
    let (backend, field, _) = err(&one("").replace("id = \"b1\"\n", ""));
    assert_eq!((backend.as_str(), field), ("#1", "id"));
    let (backend, field, _) = err(&one("").replace("id = \"b1\"", "id = \"Bad Id\""));
    assert_eq!((backend.as_str(), field), ("?", "id"));
    let (_, field, _) = err(&one("").replace("model = \"m\"\n", ""));
    assert_eq!(field, "model");
}

#[test]
fn unknown_keys_and_bad_toml_are_syntax_errors() {
    assert!(matches!(Registry::from_toml_str(&one("colour = \"red\"\n")), Err(Error::RegistrySyntax { .. })));
    assert!(matches!(Registry::from_toml_str("[[backend]\n"), Err(Error::RegistrySyntax { .. })));
    assert!(matches!(Registry::from_toml_str("[other]\n"), Err(Error::RegistrySyntax { .. })));
}

#[test]
fn mutations_return_a_new_validated_registry() {
    let r = Registry::from_toml_str(EXAMPLE).unwrap();
    let today = date!(2026 - 06 - 01);
    let approved = r.approve("vendor-trial").unwrap();
    assert_eq!(approved.get("vendor-trial").unwrap().approval, Approval::Approved);
    assert_eq!(r.get("vendor-trial").unwrap().approval, Approval::Pending, "the old value is unchanged");
    let suspended = r.suspend("gpu-vllm").unwrap();
    assert_eq!(suspended.get("gpu-vllm").unwrap().approval, Approval::Suspended);
    assert!(Arc::ptr_eq(suspended.get("local-small").unwrap(), r.get("local-small").unwrap()), "others are shared");

    let baa = Baa { reference: "BAA-2026-7".into(), expires: date!(2027 - 06 - 30) };
    let with = r.set_baa("vendor-general", baa.clone(), today).unwrap();
    assert_eq!(with.get("vendor-general").unwrap().baa.as_ref(), Some(&baa));
    let cleared = with.clear_baa("vendor-general").unwrap();
    assert_eq!(cleared.get("vendor-general").unwrap().baa, None);

    let expired = Baa { reference: "OLD".into(), expires: date!(2026 - 05 - 31) };
    assert!(matches!(
        r.set_baa("vendor-general", expired, today),
        Err(Error::InvalidBackend { field: "baa.expires", .. })
    ));
    assert!(matches!(r.set_baa("gpu-vllm", baa.clone(), today), Err(Error::InvalidBackend { field: "baa", .. })));
    let blank = Baa { reference: " ".into(), ..baa };
    assert!(matches!(r.set_baa("vendor-baa", blank, today), Err(Error::InvalidBackend { field: "baa.reference", .. })));
    assert!(matches!(r.approve("nope"), Err(Error::UnknownBackend(_))));
}

#[test]
fn load_reads_a_file_and_names_it_on_error() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("backends.example.toml");
    assert_eq!(Registry::load(&path).unwrap().backends().len(), 5);
    let missing = path.with_file_name("no-such-file.toml");
    assert!(matches!(Registry::load(&missing), Err(Error::Io { .. })));
}

#[test]
fn serializes_for_the_admin_api() {
    let r = Registry::from_toml_str(EXAMPLE).unwrap();
    let v = serde_json::to_value(&**r.get("vendor-baa").unwrap()).unwrap();
    assert_eq!(v["kind"]["type"], "vendor");
    assert_eq!(v["kind"]["base_url"], "https://api.vendor.example/v1");
    assert_eq!(v["timeouts"]["connect"], 5000);
    assert_eq!(v["on_phi"], "redact-and-forward");
    assert_eq!(v["data_classes"], serde_json::json!(["phi", "deidentified"]));
    assert_eq!(v["baa"]["expires"], "2026-12-31");
}

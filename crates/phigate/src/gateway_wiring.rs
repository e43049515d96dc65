//! Builds the AI gateway from the configuration: backend registry (file or
//! the embedded default) with persisted admin overrides, templates, the
//! upstream client, vendor API keys from the environment, token budgets and
//! the in-process models (when built with the `local-models` feature and
//! their weights are present).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use phigate_config::{Config, EnvSource};
use phigate_gateway::Registry;
use phigate_gateway::ratelimit::{Limits, RateLimiter};
use phigate_gateway::registry::BackendKind;
use phigate_gateway::template::TemplateRegistry;
use phigate_server::gateway::{BackendOverrides, Gateway, GatewayParts, LocalModels};
use phigate_upstream::{ApiKey, BreakerConfig, ClientConfig, Failover, RetryPolicy, UpstreamClient};

use crate::local_models;

/// Model names of the embedded default backends (what clients ask for).
pub const DEFAULT_CHAT_MODEL: &str = "smollm2-135m-instruct";
/// Embeddings model of the embedded default.
pub const DEFAULT_EMBED_MODEL: &str = "all-minilm-l6-v2";

/// The registry when no `gateway.backends_file` is set: the two in-process
/// models, cleared for PHI (they never leave the process).
fn default_registry() -> anyhow::Result<Registry> {
    let text = format!(
        r#"
[[backend]]
id = "in-process-chat"
kind = "in-process"
model = "{DEFAULT_CHAT_MODEL}"
model_version = "{chat_version}"
data_classes = ["phi", "deidentified", "public"]
approval = "approved"
endpoints = ["chat"]

[[backend]]
id = "in-process-embeddings"
kind = "in-process"
model = "{DEFAULT_EMBED_MODEL}"
model_version = "{embed_version}"
data_classes = ["phi", "deidentified", "public"]
approval = "approved"
endpoints = ["embeddings"]
"#,
        chat_version = local_models::CHAT_VERSION,
        embed_version = local_models::EMBED_VERSION,
    );
    Registry::from_toml_str(&text).context("building the default backend registry")
}

const BUILTIN_TEMPLATES: [(&str, &str); 2] = [
    ("discharge-summary.md", include_str!("../../phigate-gateway/templates/discharge-summary.md")),
    ("note-summary.md", include_str!("../../phigate-gateway/templates/note-summary.md")),
];

/// The gateway (or an error naming the setting at fault), with status lines
/// about the in-process models for the start-up banner.
pub fn build(config: &Config, env: &dyn EnvSource) -> anyhow::Result<(Arc<Gateway>, Vec<String>)> {
    let registry = match &config.gateway.backends_file {
        Some(path) => {
            Registry::load(path).with_context(|| format!("loading the backend registry {}", path.display()))?
        }
        None => default_registry()?,
    };
    let overrides_path = config.data_dir.join("gateway-overrides.json");
    let registry = BackendOverrides::load(&overrides_path)
        .and_then(|o| o.apply(registry))
        .map_err(|e| anyhow::anyhow!("applying the registry overrides: {e}"))?;

    let mut api_keys = HashMap::new();
    for b in registry.backends() {
        if let BackendKind::Vendor { api_key_env: Some(var), .. } = &b.kind {
            let value = env
                .var(var)
                .with_context(|| format!("backend `{}`: environment variable {var} (its API key) is not set", b.id))?;
            let key =
                ApiKey::new(value).with_context(|| format!("backend `{}`: the API key in {var} is invalid", b.id))?;
            api_keys.insert(b.id.clone(), key);
        }
    }

    let templates = match &config.gateway.templates_dir {
        Some(dir) => TemplateRegistry::load_dir(dir)
            .with_context(|| format!("loading prompt templates from {}", dir.display()))?,
        None => TemplateRegistry::from_sources(BUILTIN_TEMPLATES).context("loading the built-in prompt templates")?,
    };

    let client = UpstreamClient::new(ClientConfig::default()).context("building the upstream HTTP client")?;
    let failover = Failover::new(
        client,
        RetryPolicy::new(2, Duration::from_millis(100), Duration::from_secs(2)),
        BreakerConfig::new(5, Duration::from_secs(30)),
    );
    let tpm = config.gateway.tokens_per_minute;
    let limiter = RateLimiter::new(Limits { tokens_per_minute: tpm, burst: tpm, max_callers: 100_000 });

    let (local, status): (Option<Arc<dyn LocalModels>>, _) = local_models::load(config, &registry);
    let gateway = Arc::new(Gateway::new(GatewayParts {
        registry,
        overrides: Some(overrides_path),
        detector: Arc::new(phigate_deid::Detector::new()),
        failover,
        api_keys,
        local,
        templates,
        limiter,
    }));
    Ok((gateway, status))
}

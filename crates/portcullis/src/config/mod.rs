//! Configuration: YAML on disk → [`raw::RawConfig`] → `compile()` → [`Snapshot`].
//!
//! `compile()` collects every error rather than stopping at the first, each with file, line and
//! key path; `portcullis check` and reloads run exactly the same code.

pub mod error;
pub mod expand;
pub mod locate;
pub mod raw;
pub mod units;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use ipnet::IpNet;

use crate::listener::ListenerRuntime;
use crate::router::Router;
use crate::snapshot::{AccessLogSettings, Snapshot};
use crate::upstream::state::Registry;
use error::{Collector, ConfigError, ConfigErrors};
use locate::LineIndex;
use raw::RawConfig;

/// Largest config file accepted.
const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

/// Reads, parses and compiles `path`.
pub fn load(path: &Path, registry: &Registry) -> Result<Snapshot, ConfigErrors> {
    let whole = |message: String| {
        ConfigErrors(vec![ConfigError {
            file: path.to_path_buf(),
            line: None,
            path: String::new(),
            message,
        }])
    };
    let meta = std::fs::metadata(path).map_err(|e| whole(format!("cannot read: {e}")))?;
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(whole(format!("larger than {MAX_CONFIG_BYTES} bytes")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| whole(format!("cannot read: {e}")))?;
    load_str(&text, path, registry)
}

/// Parses and compiles config `text` that was read from `path`.
pub fn load_str(text: &str, path: &Path, registry: &Registry) -> Result<Snapshot, ConfigErrors> {
    let base = path
        .parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    let index = LineIndex::build(text);
    expand::with_base_dir(&base, || {
        let raw: RawConfig = serde_saphyr::from_str(text).map_err(|e| {
            let line = e.location().map(|l| l.line() as usize);
            let msg = e.to_string();
            // serde-saphyr appends a source snippet after the first line; keep the message.
            let first = strip_location(msg.lines().next().unwrap_or("invalid YAML").trim());
            ConfigErrors(vec![ConfigError {
                file: path.to_path_buf(),
                line,
                path: line.map(|l| index.deepest_path_at(l)).unwrap_or_default(),
                message: first,
            }])
        })?;
        let mut errs = Collector::default();
        let snap = compile(&raw, path, registry, &mut errs);
        if errs.errors.is_empty()
            && let Some(s) = snap
        {
            return Ok(s);
        }
        let mut list: Vec<ConfigError> = errs
            .errors
            .into_iter()
            .map(|(p, m)| ConfigError {
                file: path.to_path_buf(),
                line: index.line_of(&p),
                path: p,
                message: m,
            })
            .collect();
        list.sort_by_key(|e| e.line.unwrap_or(0));
        if list.is_empty() {
            list.push(ConfigError {
                file: path.to_path_buf(),
                line: None,
                path: String::new(),
                message: "config did not compile".into(),
            });
        }
        Err(ConfigErrors(list))
    })
}

/// serde-saphyr starts messages with `error: line L column C: `; the file and line are already
/// in our prefix, so drop it.
fn strip_location(msg: &str) -> String {
    let rest = msg.strip_prefix("error: ").unwrap_or(msg);
    if let Some(after) = rest.strip_prefix("line ")
        && let Some((loc, tail)) = after.split_once(": ")
        && loc
            .split_whitespace()
            .all(|w| w == "column" || w.bytes().all(|b| b.is_ascii_digit()))
    {
        return tail.to_owned();
    }
    rest.to_owned()
}

fn compile(
    raw: &RawConfig,
    path: &Path,
    registry: &Registry,
    errs: &mut Collector,
) -> Option<Snapshot> {
    // Looked up by name on every request; names come from the config, so a fast seeded hash.
    let mut listeners = std::collections::HashMap::default();
    let mut binds = HashSet::new();
    if raw.listeners.is_empty() {
        errs.push("listeners", "at least one listener is required");
    }
    for (i, l) in raw.listeners.iter().enumerate() {
        let at = format!("listeners[{i}]");
        if l.name.is_empty() {
            errs.push(format!("{at}.name"), "must not be empty");
        }
        if let Some(lr) = ListenerRuntime::compile(l, &at, errs) {
            if !binds.insert(lr.bind) {
                errs.push(format!("{at}.bind"), format!("{} is bound twice", lr.bind));
            }
            if listeners.insert(l.name.to_string(), Arc::new(lr)).is_some() {
                errs.push(
                    format!("{at}.name"),
                    format!("duplicate listener {:?}", l.name),
                );
            }
        }
    }
    let admin_bind = match raw.admin.bind.as_ref() {
        None => Some(SocketAddr::from(([127, 0, 0, 1], 9901))),
        Some(b) => match b.as_str().parse::<SocketAddr>() {
            Ok(a) => {
                if binds.contains(&a) {
                    errs.push("admin.bind", "is also bound by a listener");
                }
                Some(a)
            }
            Err(_) => {
                errs.push(
                    "admin.bind",
                    format!("{:?} is not an address:port", b.as_str()),
                );
                None
            }
        },
    };
    let mut trusted = Vec::new();
    for (i, c) in raw.trusted_proxies.iter().enumerate() {
        let s = c.as_str();
        let parsed = s
            .parse::<IpNet>()
            .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from));
        match parsed {
            Ok(n) => trusted.push(n.trunc()),
            Err(_) => errs.push(
                format!("trusted_proxies[{i}]"),
                format!("{s:?} is not a CIDR"),
            ),
        }
    }
    let security_headers = match &raw.security_headers {
        None => vec![
            (
                HeaderName::from_static("x-content-type-options"),
                HeaderValue::from_static("nosniff"),
            ),
            (
                HeaderName::from_static("x-frame-options"),
                HeaderValue::from_static("DENY"),
            ),
            (
                HeaderName::from_static("referrer-policy"),
                HeaderValue::from_static("no-referrer"),
            ),
        ],
        Some(map) => crate::router::compile::header_list(map, "security_headers", errs),
    };
    let crate::upstream::CompiledUpstreams {
        upstreams,
        live_targets,
        live_clients,
    } = crate::upstream::compile_upstreams(&raw.upstreams, registry, errs);
    // Listener name → whether it asks for client certificates (for `mtls` routes).
    let listener_names: std::collections::HashMap<String, bool> = raw
        .listeners
        .iter()
        .map(|l| {
            let mtls = l.tls.as_ref().is_some_and(|t| t.client_auth.is_some());
            (l.name.to_string(), mtls)
        })
        .collect();
    let mut credentials =
        crate::policy::authn::compile_consumers(&raw.identity, &raw.consumers, errs);
    credentials.issuers =
        crate::policy::authn::issuers::compile_issuers(&raw.identity.jwt, &registry.jwks, errs);
    credentials.introspection =
        crate::policy::authn::issuers::compile_introspection(&raw.identity.introspection, errs);
    let jwks_sources = credentials
        .issuers
        .values()
        .filter_map(|i| i.jwks.clone())
        .collect();
    let traffic = crate::router::traffic::compile_traffic(raw, &registry.state, errs);
    let routes = crate::router::compile::compile_routes(
        &raw.routes,
        &upstreams,
        &listener_names,
        &credentials,
        &raw.roles,
        &traffic,
        errs,
    );
    for (i, b) in raw.auto_ban.iter().enumerate() {
        for (j, r) in b.except_routes.iter().enumerate() {
            if !raw.routes.iter().any(|x| x.name == *r) {
                errs.push(
                    format!("auto_ban[{i}].except_routes[{j}]"),
                    format!("no route named {:?}", r.as_str()),
                );
            }
        }
    }
    let al = &raw.access_log;
    let mut headers = Vec::new();
    for (i, h) in al.headers.iter().enumerate() {
        if HeaderName::from_bytes(h.as_bytes()).is_err() {
            errs.push(format!("access_log.headers[{i}]"), "invalid header name");
        }
        headers.push(h.to_ascii_lowercase());
    }
    let access_log = AccessLogSettings {
        disabled: al.disabled,
        path: al
            .path
            .as_ref()
            .filter(|p| p.as_str() != "stdout")
            .map(|p| expand::resolve_path(p.as_str())),
        headers,
        redact: al.redact.iter().map(|s| s.to_ascii_lowercase()).collect(),
        buffer: al.buffer.unwrap_or(8192),
    };
    let interval = raw
        .reload
        .interval
        .map(|d| d.0)
        .unwrap_or(Duration::from_secs(2));
    if interval < Duration::from_millis(100) {
        errs.push("reload.interval", "must be at least 100ms");
    }
    if !errs.errors.is_empty() {
        return None;
    }
    Some(Snapshot {
        bans: traffic.bans,
        state_redis: traffic.redis,
        ban_sync_interval: traffic.sync_interval,
        listeners,
        admin_bind: admin_bind?,
        router: Router::new(routes),
        upstreams,
        trusted_proxies: trusted,
        security_headers,
        access_log,
        watch: raw.reload.watch.unwrap_or(true),
        watch_interval: interval,
        shutdown_timeout: raw
            .shutdown_timeout
            .map(|d| d.0)
            .unwrap_or(Duration::from_secs(30)),
        source: path.to_path_buf(),
        live_targets,
        live_clients,
        jwks_sources,
    })
}

/// The JSON Schema of the config file, generated from the types.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(RawConfig);
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests;

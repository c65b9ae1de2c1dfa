//! Observability: Prometheus metrics, the JSON access log and header redaction.

pub mod access_log;
pub mod events;
pub mod metrics;
pub mod redact;

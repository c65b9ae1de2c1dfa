//! The JSON access log: one line per request, written by a background task from a bounded
//! channel so a slow disk never slows the request path (records are dropped and counted instead).

use std::path::PathBuf;

use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::snapshot::AccessLogSettings;

/// One access-log record.
#[derive(Debug, Default, Serialize)]
pub struct AccessRecord {
    /// RFC 3339 time the request started.
    pub time: String,
    /// Request id.
    pub request_id: String,
    /// Real client IP.
    pub client_ip: String,
    /// Listener.
    pub listener: String,
    /// Method.
    pub method: String,
    /// Host.
    pub host: String,
    /// Path (without the query, which may carry secrets).
    pub path: String,
    /// HTTP version.
    pub protocol: String,
    /// Route name, or null.
    pub route: Option<String>,
    /// Status sent.
    pub status: u16,
    /// Reason when answered locally.
    pub reason: Option<&'static str>,
    /// Upstream target.
    pub upstream: Option<String>,
    /// Request body bytes read.
    pub bytes_in: u64,
    /// Response body bytes sent.
    pub bytes_out: u64,
    /// Whether the response body was sent completely.
    pub complete: bool,
    /// Milliseconds from request start to the end of the response body.
    pub duration_ms: f64,
    /// Stage decisions in order, `stage:outcome`.
    pub decisions: Vec<String>,
    /// Selected request headers (secrets redacted).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// Authenticated consumer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer: Option<String>,
    /// The OpenAPI operation matched (`operationId`, or `METHOD /template`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// mTLS client subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<String>,
}

/// Sends records to the writer task.
#[derive(Debug, Clone)]
pub struct AccessLog {
    tx: Option<mpsc::Sender<String>>,
    /// Where it writes and its queue size; `None` when disabled.
    target: Option<(Option<PathBuf>, usize)>,
}

impl AccessLog {
    /// A logger that writes nothing.
    pub fn disabled() -> Self {
        Self {
            tx: None,
            target: None,
        }
    }

    /// The logger `settings` ask for: `disabled()`, or a writer started on their path.
    pub fn for_settings(settings: &AccessLogSettings) -> std::io::Result<Self> {
        if settings.disabled {
            Ok(Self::disabled())
        } else {
            Self::start(settings.path.clone(), settings.buffer)
        }
    }

    /// Whether this logger is the one `settings` ask for (so a reload keeps it).
    pub fn matches(&self, settings: &AccessLogSettings) -> bool {
        match &self.target {
            None => settings.disabled,
            Some((path, buffer)) => {
                !settings.disabled && *path == settings.path && *buffer == settings.buffer
            }
        }
    }

    /// Starts the writer task for `path` (`None` = stdout) with room for `buffer` records.
    /// The task ends once every clone of the returned logger is gone and the queue is written.
    pub fn start(path: Option<PathBuf>, buffer: usize) -> std::io::Result<Self> {
        let target = Some((path.clone(), buffer));
        let (tx, mut rx) = mpsc::channel::<String>(buffer.max(1));
        let mut out: Box<dyn tokio::io::AsyncWrite + Unpin + Send> = match path {
            None => Box::new(tokio::io::stdout()),
            Some(p) => {
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?;
                Box::new(tokio::fs::File::from_std(f))
            }
        };
        tokio::spawn(async move {
            let mut buf = Vec::with_capacity(64 * 1024);
            while let Some(line) = rx.recv().await {
                buf.extend_from_slice(line.as_bytes());
                buf.push(b'\n');
                // Batch whatever else is already queued, then write once.
                while buf.len() < 64 * 1024 {
                    match rx.try_recv() {
                        Ok(l) => {
                            buf.extend_from_slice(l.as_bytes());
                            buf.push(b'\n');
                        }
                        Err(_) => break,
                    }
                }
                if out.write_all(&buf).await.is_err() || out.flush().await.is_err() {
                    // Nowhere to log to; keep draining so senders never block.
                }
                buf.clear();
            }
        });
        Ok(Self {
            tx: Some(tx),
            target,
        })
    }

    /// Whether records are written at all.
    pub fn enabled(&self) -> bool {
        self.tx.is_some()
    }

    /// Queues a record; returns false when it was dropped.
    pub fn send(&self, rec: &AccessRecord) -> bool {
        let Some(tx) = &self.tx else { return true };
        match serde_json::to_string(rec) {
            Ok(line) => tx.try_send(line).is_ok(),
            Err(_) => false,
        }
    }
}

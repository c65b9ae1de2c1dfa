//! Redaction at the source: header values that carry secrets are never written to a log.

/// Headers whose values are always replaced by `[redacted]` in logs.
pub const ALWAYS_REDACTED: [&str; 6] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-auth-token",
];

/// The placeholder written instead of a secret.
pub const REDACTED: &str = "[redacted]";

/// Whether `name` (lower case) must be redacted, given the configured extra list.
pub fn is_sensitive(name: &str, extra: &[String]) -> bool {
    ALWAYS_REDACTED.contains(&name) || extra.iter().any(|e| e.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_builtin_and_configured_headers() {
        assert!(is_sensitive("authorization", &[]));
        assert!(is_sensitive("cookie", &[]));
        assert!(is_sensitive("x-session", &["X-Session".into()]));
        assert!(!is_sensitive("user-agent", &[]));
    }
}

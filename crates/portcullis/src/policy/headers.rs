//! Header hygiene (always on) and configured header edits.
//!
//! Hygiene runs on every proxied request and response: hop-by-hop headers (and those named in
//! `Connection`) are removed, identity headers that only the gateway may set are stripped from
//! the client's request, `X-Forwarded-*` are set honouring `trusted_proxies`, and the upstream's
//! `Server` banner is hidden.

use std::net::IpAddr;

use http::{HeaderMap, HeaderName, HeaderValue, header};
use ipnet::IpNet;

/// Headers that describe one connection and must never be forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

/// `x-request-id`.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// `x-real-ip`.
pub const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
/// `x-forwarded-for`.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `x-forwarded-proto`.
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `x-forwarded-host`.
pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
/// `x-powered-by`.
pub const X_POWERED_BY: HeaderName = HeaderName::from_static("x-powered-by");

/// Prefix of headers only the gateway may set (identity sent upstream).
pub const IDENTITY_PREFIX: &str = "x-portcullis-";

/// Removes the headers `Connection` names, as a proxy must (RFC 9110 §7.6.1), other than the
/// hop-by-hop set and `Upgrade`, which [`strip_hop_by_hop`] handles. On a request this runs
/// before any stage: every stage then reads what the upstream gets, and a name listed there
/// cannot remove what the gateway adds later (identity headers, header edits, forwarding
/// headers). `Connection` itself stays for [`strip_hop_by_hop`].
pub fn strip_connection_listed(headers: &mut HeaderMap) {
    let mut values = headers.get_all(header::CONNECTION).iter().peekable();
    if values.peek().is_none() {
        return;
    }
    // The usual tokens (`keep-alive`, `close`, `upgrade`) are hop-by-hop or no header names.
    let listed: Vec<HeaderName> = values
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .filter(|n| !HOP_BY_HOP.contains(n) && *n != header::UPGRADE)
        .collect();
    for name in listed {
        headers.remove(name);
    }
}

/// Removes hop-by-hop headers (the fixed set; those `Connection` lists go first, by
/// [`strip_connection_listed`]). `Upgrade` is removed too unless `keep_upgrade` (a WebSocket
/// handshake being forwarded). `te: trailers` is kept when `keep_te_trailers` (gRPC over
/// HTTP/2 needs it).
pub fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool, keep_te_trailers: bool) {
    // Most messages carry none of these: one pass over the (few) present names is far cheaper
    // than a hash probe per absent name.
    let present = headers
        .keys()
        .any(|k| HOP_BY_HOP.contains(k) || (!keep_upgrade && k == header::UPGRADE));
    if !present {
        return;
    }
    let te_trailers = keep_te_trailers
        && headers
            .get(header::TE)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"trailers"));
    // Remove only what is present: one pass to collect, then one removal per name found.
    let doomed: Vec<HeaderName> = headers
        .keys()
        .filter(|k| HOP_BY_HOP.contains(k) || (!keep_upgrade && *k == header::UPGRADE))
        .cloned()
        .collect();
    for name in doomed {
        headers.remove(name);
    }
    if te_trailers {
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
    }
}

/// Whether the comma-separated field value `value` lists `token` (ASCII case-insensitive).
pub fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

/// Headers a proxy in front sets and applications believe: the client's address under other
/// names, the host, port, scheme and path prefix it was reached by, and the path it asked
/// for (`X-Original-URL`, which IIS and some frameworks route by instead of the request line:
/// the gateway would authorize one path while the application served another). From a peer
/// that is not a trusted proxy they are spoofed. `X-Forwarded-For/-Proto/-Host`, `X-Real-IP`
/// and `Forwarded` are handled by [`set_forwarded`] and the proxy.
fn spoofable(name: &str) -> bool {
    // A `match` on strings compares the length first: the names of an ordinary request are
    // ruled out in a few instructions (measured: a list of `HeaderName`s compared one by one
    // cost 1,500 instructions a request).
    matches!(
        name,
        "cf-connecting-ip"
            | "fastly-client-ip"
            | "front-end-https"
            | "true-client-ip"
            | "x-client-ip"
            | "x-cluster-client-ip"
            | "x-forwarded-port"
            | "x-forwarded-prefix"
            | "x-forwarded-scheme"
            | "x-forwarded-server"
            | "x-forwarded-ssl"
            | "x-host"
            | "x-middleware-subrequest"
            | "x-original-host"
            | "x-original-url"
            | "x-originating-ip"
            | "x-remote-addr"
            | "x-remote-ip"
            | "x-rewrite-url"
            | "x-url-scheme"
    )
}

/// Removes the [`spoofable`] headers a client sent, unless `peer` is a trusted proxy. Runs
/// before the policy stages, so a route's `request_headers` may still set them.
pub fn strip_spoofable(headers: &mut HeaderMap, peer: IpAddr, trusted: &[IpNet]) {
    // Most requests carry none: one pass over the present names, and the trust check only
    // when one is found.
    if !headers.keys().any(|k| spoofable(k.as_str())) || is_trusted(canonical(peer), trusted) {
        return;
    }
    let spoofed: Vec<HeaderName> = headers
        .keys()
        .filter(|k| spoofable(k.as_str()))
        .cloned()
        .collect();
    for k in spoofed {
        headers.remove(k);
    }
}

/// Removes every `x-portcullis-*` header the client sent: only the gateway may set them.
pub fn strip_identity_headers(headers: &mut HeaderMap) {
    let spoofed: Vec<HeaderName> = headers
        .keys()
        .filter(|k| k.as_str().starts_with(IDENTITY_PREFIX))
        .cloned()
        .collect();
    for k in spoofed {
        headers.remove(k);
    }
}

/// Whether `ip` is one of the trusted proxies.
pub fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    let ip = canonical(ip);
    trusted.iter().any(|n| n.contains(&ip))
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The real client IP: the TCP peer, unless the peer is a trusted proxy, in which case the
/// right-most `X-Forwarded-For` entry that is not itself trusted.
pub fn real_client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for v in headers.get_all(&X_FORWARDED_FOR) {
        let Ok(s) = v.to_str() else { return peer };
        for part in s.split(',') {
            match part.trim().parse::<IpAddr>() {
                Ok(ip) => hops.push(canonical(ip)),
                Err(_) => return peer,
            }
        }
    }
    hops.into_iter()
        .rev()
        .find(|ip| !is_trusted(*ip, trusted))
        .unwrap_or(peer)
}

/// Sets `X-Forwarded-For/-Proto/-Host` on a request about to go upstream. From an untrusted
/// peer any incoming values are replaced; from a trusted one the peer is appended.
pub fn set_forwarded(
    headers: &mut HeaderMap,
    peer: IpAddr,
    peer_text: &HeaderValue,
    scheme: &'static str,
    host: Option<&HeaderValue>,
    trusted: &[IpNet],
) {
    let peer = canonical(peer);
    let xff = X_FORWARDED_FOR;
    let trusted_peer = is_trusted(peer, trusted);
    if !trusted_peer {
        // RFC 7239 `Forwarded` from an untrusted client is a spoofing vector; drop it.
        headers.remove(header::FORWARDED);
    }
    let prior: Vec<&str> = if trusted_peer {
        headers
            .get_all(&xff)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    } else {
        Vec::new()
    };
    if prior.is_empty() {
        headers.insert(xff, peer_text.clone());
    } else if let Ok(v) = HeaderValue::from_str(&format!("{}, {peer}", prior.join(", "))) {
        headers.insert(xff, v);
    }
    let proto = X_FORWARDED_PROTO;
    if !(trusted_peer && headers.contains_key(&proto)) {
        headers.insert(proto, HeaderValue::from_static(scheme));
    }
    let fhost = X_FORWARDED_HOST;
    if !(trusted_peer && headers.contains_key(&fhost)) {
        match host {
            Some(h) => {
                headers.insert(fhost, h.clone());
            }
            None => {
                headers.remove(fhost);
            }
        }
    }
}

/// Configured header edits: remove, then set, then add.
#[derive(Debug, Default, Clone)]
pub struct HeaderEdits {
    /// Headers removed.
    pub remove: Vec<HeaderName>,
    /// Headers replaced.
    pub set: Vec<(HeaderName, HeaderValue)>,
    /// Headers appended.
    pub add: Vec<(HeaderName, HeaderValue)>,
}

impl HeaderEdits {
    /// Whether the edits do nothing.
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.set.is_empty() && self.add.is_empty()
    }

    /// Applies the edits.
    pub fn apply(&self, headers: &mut HeaderMap) {
        for n in &self.remove {
            headers.remove(n);
        }
        for (n, v) in &self.set {
            headers.insert(n.clone(), v.clone());
        }
        for (n, v) in &self.add {
            headers.append(n.clone(), v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pv(ip: IpAddr) -> HeaderValue {
        HeaderValue::from_str(&ip.to_string()).unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn strips_hop_by_hop_and_connection_listed() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, "keep-alive, x-secret".parse().unwrap());
        h.insert("x-secret", "1".parse().unwrap());
        h.insert("keep-alive", "timeout=5".parse().unwrap());
        h.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        h.insert(header::UPGRADE, "websocket".parse().unwrap());
        h.insert("x-keep", "1".parse().unwrap());
        strip_connection_listed(&mut h);
        assert!(!h.contains_key("x-secret") && h.contains_key(header::UPGRADE));
        // What the gateway adds after the listed names went stays.
        h.insert("x-secret", "ours".parse().unwrap());
        strip_hop_by_hop(&mut h, false, false);
        assert_eq!(h.len(), 2);
        assert!(h.contains_key("x-keep") && h.contains_key("x-secret"));
    }

    #[test]
    fn keeps_te_trailers_for_grpc() {
        let mut h = HeaderMap::new();
        h.insert(header::TE, "trailers".parse().unwrap());
        strip_hop_by_hop(&mut h, false, true);
        assert_eq!(h[header::TE], "trailers");
    }

    #[test]
    fn strips_spoofed_identity_headers() {
        let mut h = HeaderMap::new();
        h.insert("x-portcullis-consumer", "admin".parse().unwrap());
        h.insert("x-portcullis-roles", "admin".parse().unwrap());
        h.insert("x-other", "1".parse().unwrap());
        strip_identity_headers(&mut h);
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn strips_proxy_headers_only_from_untrusted_peers() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        let sent = || {
            let mut h = HeaderMap::new();
            for (k, v) in [
                ("true-client-ip", "127.0.0.1"),
                ("x-original-url", "/admin"),
                ("x-forwarded-prefix", "/app"),
                ("x-middleware-subrequest", "middleware:middleware"),
                ("x-tenant", "acme"),
            ] {
                h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
            }
            h
        };
        let mut h = sent();
        strip_spoofable(&mut h, "203.0.113.9".parse().expect("ip"), &trusted);
        let left: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        assert_eq!(left, ["x-tenant"]);
        let mut h = sent();
        strip_spoofable(&mut h, "10.1.2.3".parse().expect("ip"), &trusted);
        assert_eq!(h.len(), 5);
    }

    #[test]
    fn ignores_forwarded_for_from_untrusted_peer() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.2.3.4".parse().unwrap());
        let peer: IpAddr = "9.9.9.9".parse().unwrap();
        assert_eq!(real_client_ip(peer, &h, &nets(&["10.0.0.0/8"])), peer);
        h.insert(header::FORWARDED, "for=1.2.3.4".parse().unwrap());
        set_forwarded(
            &mut h,
            peer,
            &pv(peer),
            "http",
            None,
            &nets(&["10.0.0.0/8"]),
        );
        assert_eq!(h["x-forwarded-for"], "9.9.9.9");
        assert!(!h.contains_key(header::FORWARDED));
    }

    #[test]
    fn honours_forwarded_for_from_trusted_peer() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.2.3.4, 10.0.0.7".parse().unwrap());
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            real_client_ip(peer, &h, &trusted),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        set_forwarded(&mut h, peer, &pv(peer), "https", None, &trusted);
        assert_eq!(h["x-forwarded-for"], "1.2.3.4, 10.0.0.7, 10.0.0.1");
    }

    #[test]
    fn falls_back_to_peer_on_garbage_forwarded_for() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "not-an-ip".parse().unwrap());
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(real_client_ip(peer, &h, &nets(&["10.0.0.0/8"])), peer);
    }
}

//! IP allow and deny lists, for a listener (checked on the TCP peer when a connection is
//! accepted; refused connections are closed before any byte is read) and for a route (checked
//! on the real client IP after `trusted_proxies`; refused requests get 403). A deny entry always
//! wins; with an allow list, only addresses on it pass. Lists are longest-prefix tries
//! (`prefix-trie`), so a lookup costs the same few dozen steps with ten entries or a million.
//! Entries come from the config and from files (one CIDR or address a line, `#` comments),
//! which are read again at every reload; the config watcher also reloads when a list file
//! changes.

use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::PrefixSet;

use crate::config::error::Collector;
use crate::config::expand::{ExpandedString, read_capped, resolve_path};
use crate::config::raw::IpFilterConfig;

/// Largest list file read.
const MAX_LIST_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// A set of networks.
#[derive(Default)]
pub struct IpList {
    v4: PrefixSet<Ipv4Net>,
    v6: PrefixSet<Ipv6Net>,
    len: usize,
}

impl std::fmt::Debug for IpList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IpList({} entries)", self.len)
    }
}

impl IpList {
    /// Adds a network.
    pub fn insert(&mut self, net: IpNet) {
        let added = match net.trunc() {
            IpNet::V4(n) => self.v4.insert(n),
            IpNet::V6(n) => self.v6.insert(n),
        };
        self.len += usize::from(added);
    }

    /// Whether some network of the list holds `ip` (IPv4-mapped IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip.to_canonical() {
            IpAddr::V4(a) => self.v4.get_lpm(&Ipv4Net::from(a)).is_some(),
            IpAddr::V6(a) => self.v6.get_lpm(&Ipv6Net::from(a)).is_some(),
        }
    }

    /// Entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A compiled `ip_filter`.
#[derive(Debug)]
pub struct IpFilter {
    /// `None`: every address not denied passes.
    allow: Option<IpList>,
    deny: IpList,
    /// List files, for the config watcher.
    pub files: Vec<PathBuf>,
}

impl IpFilter {
    /// The route stage: the real client IP must pass, else 403 (`ip_denied`) and an event.
    pub fn on_request(&self, ctx: &super::RequestCtx) -> super::Decision {
        if self.permits(ctx.client_ip) {
            return super::Decision::Allow("allowed");
        }
        crate::observe::events::SecurityEvent::ip_denied().emit(ctx);
        let mut d = super::Deny::new(crate::reply::Problem::Forbidden);
        d.outcome = "ip_denied";
        super::Decision::Deny(d)
    }

    /// Whether `ip` may pass.
    pub fn permits(&self, ip: IpAddr) -> bool {
        !self.deny.contains(ip) && self.allow.as_ref().is_none_or(|a| a.contains(ip))
    }
}

fn parse_entry(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

/// One list of an `ip_filter`: its inline entries and files (`what` is `allow` or `deny`).
/// File paths go to `files`, for the watcher.
fn load_list(
    inline: &[ExpandedString],
    paths: &[ExpandedString],
    at: &str,
    what: &str,
    files: &mut Vec<PathBuf>,
    errs: &mut Collector,
) -> IpList {
    let mut list = IpList::default();
    for (i, e) in inline.iter().enumerate() {
        match parse_entry(e.trim()) {
            Some(n) => list.insert(n),
            None => errs.push(
                format!("{at}.{what}[{i}]"),
                format!("{:?} is not a CIDR or address", e.as_str()),
            ),
        }
    }
    for (i, p) in paths.iter().enumerate() {
        let path = resolve_path(p);
        let fat = format!("{at}.{what}_files[{i}]");
        let text = match read_capped(&path, MAX_LIST_FILE_BYTES) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                errs.push(fat, e);
                continue;
            }
        };
        for (n, line) in text.lines().enumerate() {
            let entry = line.split('#').next().unwrap_or("").trim();
            if entry.is_empty() {
                continue;
            }
            match parse_entry(entry) {
                Some(net) => list.insert(net),
                None => {
                    errs.push(
                        fat.clone(),
                        format!(
                            "{}:{}: {entry:?} is not a CIDR or address",
                            path.display(),
                            n + 1
                        ),
                    );
                    break;
                }
            }
        }
        files.push(path);
    }
    list
}

/// Compiles an `ip_filter` block; errors go to `errs` (file entries with their file and line).
pub fn compile(c: &IpFilterConfig, at: &str, errs: &mut Collector) -> Option<IpFilter> {
    let before = errs.errors.len();
    let mut files = Vec::new();
    let allow = load_list(&c.allow, &c.allow_files, at, "allow", &mut files, errs);
    let deny = load_list(&c.deny, &c.deny_files, at, "deny", &mut files, errs);
    let has_allow = !c.allow.is_empty() || !c.allow_files.is_empty();
    (errs.errors.len() == before).then(|| IpFilter {
        allow: has_allow.then_some(allow),
        deny,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> IpList {
        let mut l = IpList::default();
        for e in entries {
            l.insert(parse_entry(e).expect("entry"));
        }
        l
    }

    #[test]
    fn longest_prefix_lookup_over_v4_v6_and_mapped_addresses() {
        let l = list(&["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]);
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        assert!(l.contains(ip("10.200.3.4")));
        assert!(l.contains(ip("192.0.2.7")));
        assert!(!l.contains(ip("192.0.2.8")));
        assert!(l.contains(ip("2001:db8:1::5")));
        assert!(!l.contains(ip("2001:db9::1")));
        assert!(
            l.contains(ip("::ffff:10.1.1.1")),
            "IPv4-mapped IPv6 is IPv4"
        );
        assert_eq!(l.len(), 3);
    }

    #[test]
    fn deny_wins_and_an_allow_list_admits_only_its_members() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let f = IpFilter {
            allow: Some(list(&["10.0.0.0/8"])),
            deny: list(&["10.9.0.0/16"]),
            files: Vec::new(),
        };
        assert!(f.permits(ip("10.1.2.3")));
        assert!(!f.permits(ip("10.9.2.3")));
        assert!(!f.permits(ip("192.0.2.1")));
        let open = IpFilter {
            allow: None,
            deny: list(&["192.0.2.0/24"]),
            files: Vec::new(),
        };
        assert!(open.permits(ip("198.51.100.1")));
        assert!(!open.permits(ip("192.0.2.200")));
    }

    #[test]
    fn list_files_are_read_with_comments_and_errors_name_the_line() {
        let dir = crate::test_dir::TestDir::new("iplist");
        let good = dir.write(
            "good.txt",
            "# blocklist\n\n192.0.2.0/24  # doc range\n2001:db8::1\n",
        );
        let bad = dir.write("bad.txt", "192.0.2.0/24\nnot-an-address\n");
        let cfg = |deny_file: &std::path::Path| IpFilterConfig {
            deny_files: vec![deny_file.to_str().expect("utf8").into()],
            ..IpFilterConfig::default()
        };
        let mut errs = Collector::default();
        let f = compile(&cfg(&good), "r.ip_filter", &mut errs).expect("compiles");
        assert!(errs.errors.is_empty());
        assert!(!f.permits("192.0.2.9".parse().expect("ip")));
        assert!(!f.permits("2001:db8::1".parse().expect("ip")));
        assert!(f.permits("198.51.100.1".parse().expect("ip")));
        assert_eq!(f.files, vec![good.clone()]);
        let mut errs = Collector::default();
        assert!(compile(&cfg(&bad), "r.ip_filter", &mut errs).is_none());
        let text = format!("{:?}", errs.errors);
        assert!(text.contains("bad.txt:2: \\\"not-an-address\\\""), "{text}");
    }
}

//! Path traversal and local file inclusion: dot-dot segments after full decoding (overlong and
//! double encodings included), sensitive OS and application files matched at path-segment
//! boundaries, and hidden (dot) directories in the request path.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::{Patterns, Sink};
use crate::normalise::Variants;
use crate::rules::*;
use crate::settings::WafError;

/// Sensitive files and directories, lower case, written from a segment boundary.
const OS_FILES: &[&str] = &[
    ".aws/credentials",
    ".bash_history",
    ".bash_profile",
    ".bashrc",
    ".docker/config.json",
    ".env",
    ".git/",
    ".git-credentials",
    ".gitconfig",
    ".hg/",
    ".htaccess",
    ".htdigest",
    ".htpasswd",
    ".kube/config",
    ".my.cnf",
    ".mysql_history",
    ".netrc",
    ".npmrc",
    ".pgpass",
    ".psql_history",
    ".pypirc",
    ".ssh/",
    ".svn/",
    ".zsh_history",
    "authorized_keys",
    "boot.ini",
    "etc/crontab",
    "etc/group",
    "etc/hostname",
    "etc/hosts",
    "etc/issue",
    "etc/master.passwd",
    "etc/motd",
    "etc/mysql/",
    "etc/nginx/",
    "etc/apache2/",
    "etc/httpd/",
    "etc/passwd",
    "etc/profile",
    "etc/resolv.conf",
    "etc/shadow",
    "etc/ssh/",
    "etc/sudoers",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "id_rsa",
    "known_hosts",
    "meta-inf/",
    "proc/self/",
    "proc/version",
    "proc/cmdline",
    "proc/mounts",
    "sys/class/",
    "sys/kernel/",
    "system.ini",
    // System32 itself is an everyday path; its secrets and tools are not.
    "system32/cmd.exe",
    "system32/config/",
    "system32/drivers/etc/",
    "system32/inetsrv/",
    "system32/logfiles/",
    "system32/windowspowershell/",
    "var/log/",
    "var/run/secrets",
    "web-inf/",
    "web.config",
    // Classic ASP's application file (`global.asax`, ASP.NET's code file, is not it).
    "global.asa",
    "win.ini",
    "windows/system",
    "wp-config.php",
    "localsettings.php",
    "applicationhost.config",
    "php.ini",
    "httpd.conf",
    "nginx.conf",
];

pub(crate) struct Lfi {
    files: AhoCorasick,
    pub(super) patterns: Patterns,
}

impl Lfi {
    pub(crate) fn new() -> Result<Self, WafError> {
        let files = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(OS_FILES)
            .map_err(|e| WafError::Pattern(e.to_string()))?;
        let patterns = Patterns::new(&[
            // A segment made only of two or more dots, between separators (or at the ends).
            (LFI_TRAVERSAL, r"(?:^|[\\/;])\.{2,}(?:[\\/;]|$)"),
            (LFI_TRAVERSAL, r"(?:^|[^.a-z0-9])\.\.[\\/]"),
            (LFI_TRAVERSAL, r"\.\.;/|\.\.%00|\.\.\x00"),
        ])?;
        Ok(Self { files, patterns })
    }

    /// `lower_may_match`: whether the combined gate found any family's pattern in `v.lower()`
    /// (see [`Detectors::scan`](super::Detectors::scan)).
    pub(crate) fn scan(&self, v: &Variants, sink: &mut Sink<'_>, lower_may_match: bool) {
        // Hex literals and known shell expansions written out (the command detector reads
        // the same expansion, [`Variants::shell`]).
        let text: std::borrow::Cow<'_, str> = if v.lower().contains("0x") {
            let hex = hex_literals(v.lower());
            std::borrow::Cow::Owned(crate::normalise::shell_expanded(&hex).unwrap_or(hex))
        } else {
            std::borrow::Cow::Borrowed(v.shell())
        };
        let text = match best_fit_separators(&text) {
            Some(t) => std::borrow::Cow::Owned(t),
            None => text,
        };
        // A rewrite makes a text the gate did not see.
        let rewritten = !std::ptr::eq(text.as_ref(), v.lower());
        if lower_may_match || rewritten {
            let plain = template_parents(&text);
            let plain = markdown_parents(plain.as_deref().unwrap_or(&text)).or(plain);
            self.patterns.scan(plain.as_deref().unwrap_or(&text), sink);
        }
        // Only a text with `..` after decoding can be a traversal, encoded or not: that is
        // looked at first, before the raw text is lowered and searched.
        if v.raw != v.norm() && sink.wants(LFI_TRAVERSAL_ENCODED) && text.contains("..") {
            let raw = v.raw.to_ascii_lowercase();
            let encoded_dot = [
                "%2e",
                "%252e",
                "%c0%ae",
                "%u002e",
                "%uff0e",
                "%e0%80%ae",
                "0x2e",
                "%c0.",
                "\u{fffd}",
            ];
            if encoded_dot.iter().any(|e| raw.contains(e)) {
                sink.hit(LFI_TRAVERSAL_ENCODED, &text, text.find("..").unwrap_or(0));
            }
        }
        if sink.wants(LFI_OS_FILE) || sink.wants(LFI_OS_FILE_MENTION) {
            let norm_slashes = if text.contains('\\') {
                std::borrow::Cow::Owned(text.replace('\\', "/"))
            } else {
                std::borrow::Cow::Borrowed(text.as_ref())
            };
            let t = norm_slashes.as_bytes();
            let mut words = None;
            let mut mentions = 0;
            for m in self.files.find_overlapping_iter(t) {
                let before_ok = m.start() == 0
                    || matches!(t[m.start() - 1], b'/' | b'=' | b':' | b'"' | b'\'' | b'~');
                let pat = OS_FILES.get(m.pattern().as_usize()).copied().unwrap_or("");
                let after_ok = pat.ends_with('/')
                    || m.end() == t.len()
                    || !(t[m.end()].is_ascii_alphanumeric()
                        || t[m.end()] == b'_'
                        || t[m.end()] == b'-');
                if !(before_ok && after_ok) {
                    continue;
                }
                // A mention is noted and the search goes on: the same text may also name
                // a file to read. Past a few mentions, any other is read as an access.
                let words = *words.get_or_insert_with(|| word_count(t));
                mentions += 1;
                if mentions <= MAX_MENTIONS
                    && (mentioned_in_prose(t, m.start(), words)
                        || written_or_watched(pat, t, m.start()))
                {
                    sink.hit(LFI_OS_FILE_MENTION, &norm_slashes, m.start());
                } else {
                    sink.hit(LFI_OS_FILE, &norm_slashes, m.start());
                    break;
                }
            }
        }
    }

    /// Checks that only make sense for the request path: hidden segments and raw `..`.
    /// Dot-files and dot-directories in the path, where servers keep what is not meant to be
    /// served (`.git/config`, `.env`, `.aws/credentials`, an AI assistant's `.cursor/mcp.json`).
    /// The project files that repository, CI and file-sync APIs serve all day
    /// (`.github/workflows/ci.yml`, `.eslintrc.json`, `.gitignore`) count from paranoia 2 only.
    /// `.well-known` and the API routes of [`api_dot_route`] are never one.
    /// A first segment that ends in `..` after a name and leads on
    /// (`/static../app/settings.py`) walks out of the folder an nginx `alias` without its
    /// trailing slash maps a `location /static` to. Deeper segments are left alone, as CRS
    /// leaves them (`/get/foo../1234` is one of its negative tests): prefix locations are
    /// mostly the path's first segment.
    pub(crate) fn scan_path(&self, v: &Variants, sink: &mut Sink<'_>) {
        if !sink.wants(LFI_HIDDEN_PATH)
            && !sink.wants(LFI_HIDDEN_PATH_LOOSE)
            && !sink.wants(LFI_TRAVERSAL)
        {
            return;
        }
        let mut offset = 0;
        let mut segments = v.lower().split(['/', '\\']).peekable();
        let mut index = 0;
        while let Some(seg) = segments.next() {
            index += 1;
            // The first segment follows the leading `/` (index 2).
            if index == 2
                && seg.len() > 2
                && seg.ends_with("..")
                && !seg.ends_with("...")
                && !seg.starts_with('.')
                && segments.peek().is_some_and(|next| !next.is_empty())
            {
                sink.hit(LFI_TRAVERSAL, v.lower(), offset);
            }
            let hidden = seg.len() > 1
                && seg.starts_with('.')
                && !seg.starts_with("..")
                && !api_dot_route(seg);
            if hidden {
                let rule = if public_dot_name(seg) {
                    LFI_HIDDEN_PATH_LOOSE
                } else {
                    LFI_HIDDEN_PATH
                };
                sink.hit(rule, v.lower(), offset);
            }
            offset += seg.len() + 1;
        }
    }
}

/// A dot-segment that names an API rather than a file: `.well-known` (RFC 8615), SCIM's
/// search by POST (`/Users/.search`, RFC 7644), Netlify's functions and gateways
/// (`/.netlify/functions/x`), and the backing indices of Elasticsearch data streams
/// (`/.ds-logs-app-2024.05.14-000001/_search`).
fn api_dot_route(seg: &str) -> bool {
    matches!(seg, ".well-known" | ".search" | ".netlify") || seg.starts_with(".ds-")
}

/// Dot-names (lower case, sorted) of project files that hold no secrets: repository and CI
/// settings, linters' and formatters' settings, tool versions, a bundler's cache of
/// dependencies (`node_modules/.vite/deps/`).
const PUBLIC_DOT_NAMES: &[&str] = &[
    ".babelrc",
    ".browserslistrc",
    ".buildkite",
    ".changeset",
    ".circleci",
    ".cirrus.yml",
    ".clang-format",
    ".codecov.yml",
    ".coveragerc",
    ".devcontainer",
    ".dockerignore",
    ".drone.yml",
    ".editorconfig",
    ".flake8",
    ".forgejo",
    ".gitattributes",
    ".gitea",
    ".github",
    ".gitignore",
    ".gitkeep",
    ".gitlab",
    ".gitlab-ci.yml",
    ".gitmodules",
    ".golangci.yml",
    ".husky",
    ".mailmap",
    ".node-version",
    ".npmignore",
    ".nvmrc",
    ".pre-commit-config.yaml",
    ".pylintrc",
    ".python-version",
    ".rubocop.yml",
    ".ruby-version",
    ".semaphore",
    ".storybook",
    ".tool-versions",
    ".travis.yml",
    ".vite",
    ".woodpecker",
    ".woodpecker.yml",
    ".yamllint",
];

/// [`PUBLIC_DOT_NAMES`], and the settings files of linters and formatters in any format
/// (`.eslintrc.json`, `.prettierrc.yaml`, `.stylelintrc`).
fn public_dot_name(seg: &str) -> bool {
    PUBLIC_DOT_NAMES.binary_search(&seg).is_ok()
        || [
            ".eslintrc",
            ".prettierrc",
            ".stylelintrc",
            ".markdownlint",
            ".commitlintrc",
        ]
        .iter()
        .any(|p| {
            seg.strip_prefix(p)
                .is_some_and(|r| r.is_empty() || r.starts_with('.'))
        })
}

/// Replaces `0x2e`, `0x2f` and `0x5c` (hex literals some decoders accept) with their characters.
fn hex_literals(s: &str) -> String {
    s.replace("0x2e", ".")
        .replace("0x2f", "/")
        .replace("0x5c", "\\")
}

/// A path named in a sentence (`check /var/log/lims/app.log for errors`, `can't read
/// /etc/hosts entries`): the path that holds the file at `at` stands alone between spaces,
/// plain (no `..`, quote, `%`, scheme or markup around it, at most [`MENTION_TOKEN`] bytes),
/// and the text has at least four words besides it (`words`: the words of the whole text).
/// Whoever reads the value gets the sentence, not a file name, so such a mention counts from
/// paranoia level 2 (1205). A value that is the path, a traversal, a wrapper
/// (`file:///etc/passwd`) or a path glued to code is read as an access (1201).
fn mentioned_in_prose(t: &[u8], at: usize, words: usize) -> bool {
    let back = &t[at.saturating_sub(MENTION_TOKEN)..at];
    let Some(space) = back.iter().rposition(u8::is_ascii_whitespace) else {
        return false;
    };
    let start = at - back.len() + space + 1;
    let ahead = &t[at..t.len().min(at + MENTION_TOKEN)];
    let end = match ahead.iter().position(u8::is_ascii_whitespace) {
        Some(i) => at + i,
        None if at + ahead.len() == t.len() => t.len(),
        None => return false,
    };
    let token = &t[start..end];
    let token = token.strip_prefix(b"(").unwrap_or(token);
    let token = match token.iter().rposition(|c| !b".,;:!?)".contains(c)) {
        Some(last) => &token[..=last],
        None => return false,
    };
    // The words on either side are words of the sentence, not a command or markup that
    // takes the path as its argument (`\input /etc/passwd \relax`, `src= /etc/passwd`).
    let prose_word = |w: Option<&[u8]>| {
        w.is_none_or(|w| {
            w.iter().any(u8::is_ascii_alphabetic)
                && w.iter()
                    .all(|c| c.is_ascii_alphanumeric() || b"'.,;:!?()-".contains(c))
        })
    };
    let before = t[..start]
        .trim_ascii_end()
        .rsplit(u8::is_ascii_whitespace)
        .next()
        .filter(|w| !w.is_empty());
    let after = t[end..]
        .trim_ascii_start()
        .split(u8::is_ascii_whitespace)
        .next()
        .filter(|w| !w.is_empty());
    token.first() == Some(&b'/')
        && !token.windows(2).any(|w| w == b"..")
        && token
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"/._-+@".contains(c))
        && before.is_some()
        && prose_word(before)
        && prose_word(after)
        && words.saturating_sub(word_count(token)) >= 4
}

/// A log or sysfs path inside a longer text (`> /var/log/pg_backup.log 2>&1` in a cron
/// line, `file="/var/log/dnsmasq.log"` in a logger's rule, `cat /sys/class/thermal/…` in a
/// sensor's command, a monitoring item's key): programs write and watch these all day, and a
/// text that names one is configuration. Read as an access only when the path is the value
/// itself (`/var/log/apache2/access.log`, `file:///var/log/…`: an include of a poisoned
/// log) or a traversal leads to it; the command and code rules read what runs it.
fn written_or_watched(pat: &str, t: &[u8], at: usize) -> bool {
    // What stands before the path when the value is the path: slashes and dots
    // (`//var/log`, `/./var/log`), after blank space and a `file:` scheme.
    let head = t[..at].trim_ascii_start();
    let head = head.strip_prefix(b"file:").unwrap_or(head);
    matches!(pat, "var/log/" | "sys/class/")
        && !head.iter().all(|c| matches!(c, b'/' | b'.'))
        && memchr::memmem::find(t, b"..").is_none()
}

/// Longest path read as a mention.
const MENTION_TOKEN: usize = 256;

/// Sensitive paths in one value that may be read as mentions.
const MAX_MENTIONS: usize = 8;

/// Extensions of what a Markdown link points a reader at: pages and images, sorted.
const LINKED_DOCUMENTS: &[&str] = &[
    "adoc", "gif", "htm", "html", "jpeg", "jpg", "markdown", "md", "mdx", "pdf", "png", "rst",
    "svg", "webp",
];

/// `text` with the leading `../` of Markdown links to pages and images
/// (`[setup](../setup/README.md)`, `![chart](../../img/q3.png#wide)`) written as `^^/`, or
/// `None` when it has none: a renderer resolves such a link against the page it is on, for a
/// reader to follow; no server opens a file by it. A target with anything but a plain
/// relative path (spaces, quotes, `%`, `\`, `..` past its leading ones, more than three
/// levels up) or another extension before its `#` or `?` stays as it is, and file names
/// stay for the file rules.
fn markdown_parents(text: &str) -> Option<String> {
    let b = text.as_bytes();
    memchr::memmem::find(b, b"](../")?;
    let mut out = b.to_vec();
    let mut changed = false;
    for at in memchr::memmem::find_iter(b, b"](../") {
        let start = at + 2;
        let Some(len) = b[start..].iter().take(512).position(|&c| c == b')') else {
            continue;
        };
        let target = &text[start..start + len];
        let mut up = 0;
        while target[up..].starts_with("../") {
            up += 3;
        }
        // Documentation trees are shallow: deeper climbs stay a traversal.
        if up > 9 {
            continue;
        }
        let path = target.split(['#', '?']).next().unwrap_or(target);
        let plain = !target.contains(|c: char| {
            c.is_whitespace() || matches!(c, '(' | '<' | '>' | '"' | '\'' | '%' | '\\' | ';' | '|')
        }) && !target[up..].contains("..");
        let document = path
            .rsplit('/')
            .next()
            .and_then(|file| file.rsplit_once('.'))
            .is_some_and(|(stem, ext)| !stem.is_empty() && LINKED_DOCUMENTS.contains(&ext));
        if plain && document {
            for k in (start..start + up).step_by(3) {
                out[k] = b'^';
                out[k + 1] = b'^';
            }
            changed = true;
        }
    }
    changed.then(|| String::from_utf8(out).ok()).flatten()
}

/// `text` with its yen and won signs written as `\`, or `None` when none follows a `..`: the
/// Japanese and Korean code pages put them where ASCII has the backslash, and Windows'
/// best-fit conversion of a path to them makes `..¥..¥win.ini` read `..\..\win.ini`. A
/// price (`¥1,200`) is left alone.
fn best_fit_separators(text: &str) -> Option<String> {
    (!text.is_ascii() && (text.contains("..\u{A5}") || text.contains("..\u{20A9}")))
        .then(|| text.replace(['\u{A5}', '\u{20A9}'], "\\"))
}

/// `text` with the parent-context paths of Handlebars and Mustache tags (`{{../currency}}`,
/// `{{formatPrice price currency=../../currency}}`) written as `^^/`, or `None` when it has
/// none: a `../` that a tag follows with a name reads a template's outer scope, not a file.
/// File names stay for the file rules (`{{../../etc/passwd}}` still names one).
fn template_parents(text: &str) -> Option<String> {
    let mut at = text.find("{{")?;
    text.contains("../").then_some(())?;
    let mut out = text.as_bytes().to_vec();
    let mut changed = false;
    while let Some(close) = text[at..].find("}}").map(|c| at + c) {
        let tag = &text[at + 2..close];
        if tag.len() <= 256 && !tag.contains(['\n', '{']) {
            let b = tag.as_bytes();
            let mut i = 0;
            while let Some(p) = tag[i..].find("../").map(|p| i + p) {
                let mut end = p;
                while tag[end..].starts_with("../") {
                    end += 3;
                }
                let starts = p == 0 || matches!(b[p - 1], b' ' | b'=' | b'(');
                let name_len = b[end..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
                    .count();
                let ends = b
                    .get(end + name_len)
                    .is_none_or(|c| matches!(c, b' ' | b')' | b'}'));
                if starts && name_len > 0 && ends {
                    for k in (at + 2 + p..at + 2 + end).step_by(3) {
                        out[k] = b'^';
                        out[k + 1] = b'^';
                    }
                    changed = true;
                }
                i = end.max(p + 3);
            }
        }
        match text[close..].find("{{") {
            Some(next) => at = close + next,
            None => break,
        }
    }
    changed.then(|| String::from_utf8(out).ok()).flatten()
}

/// Words of two or more letters.
fn word_count(b: &[u8]) -> usize {
    b.split(|c| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 2)
        .count()
}

#[cfg(test)]
mod tests {
    use crate::detect::testing::{flags, hits, rule, silent};
    use crate::extract::Kind;
    use crate::rules::*;

    #[test]
    fn template_parent_paths_are_no_traversal() {
        rule(
            LFI_TRAVERSAL,
            false,
            Kind::Value,
            "json:/body",
            1,
            &[
                "<td>{{formatPrice this.price currency=../currency}}</td>",
                "{{#each items}}{{../../title}}{{/each}}",
                "{{#if (eq ../status 'open')}}x{{/if}}",
            ],
        );
        rule(
            LFI_TRAVERSAL,
            true,
            Kind::Value,
            "json:/body",
            1,
            &[
                "{{include '../../../config/secrets.yml'}}",
                "{{x}} ../../../var/www/config.php",
                "{{../../secret/key.pem}}",
            ],
        );
    }

    #[test]
    fn markdown_links_to_pages_and_images_are_no_traversal() {
        rule(
            LFI_TRAVERSAL,
            false,
            Kind::Value,
            "json:/content",
            1,
            &[
                "See the [general setup](../setup/README.md) and [env](../../config/env.md#database).",
                "![chart](../../img/q3-revenue.png) shows the dip.",
            ],
        );
        rule(
            LFI_TRAVERSAL,
            true,
            Kind::Value,
            "json:/content",
            1,
            &[
                "[x](../../../../app/config.php)",
                "[x](../docs/../../../secret.md)",
                "[x](../../../../admin/report.pdf#)",
                "see ../../config/env.md",
            ],
        );
        // The file rules still read a link's target.
        assert!(
            hits(
                Kind::Value,
                "json:/content",
                "[x](../../../../etc/passwd.md)",
                1
            )
            .contains(&LFI_OS_FILE)
        );
    }

    #[test]
    fn shell_substrings_that_spell_a_slash() {
        rule(
            LFI_OS_FILE,
            true,
            Kind::Value,
            "query:file",
            1,
            &[
                "access.log;cat${PATH:0:1}etc${PATH:0:1}shadow",
                "${HOME::1}etc${HOME::1}passwd",
            ],
        );
        assert_eq!(crate::normalise::shell_expanded("${x:0:1}etc"), None);
        assert_eq!(
            crate::normalise::shell_expanded("cat${ifs}${path:0:1}etc").as_deref(),
            Some("cat /etc")
        );
    }

    #[test]
    fn detects_traversal_and_os_files() {
        flags(
            "lfi",
            &[
                "../../etc/passwd",
                "..\\..\\windows\\win.ini",
                "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                "%252e%252e%252f",
                "%c0%ae%c0%ae/%c0%ae%c0%ae/",
                "....//....//etc/hosts",
                "/etc/shadow",
                "file=/proc/self/environ",
                "C:\\boot.ini",
                "/var/www/.git/config",
                "0x5c0x2e.%00/",
                "/app/.env",
                "C:\\Windows\\System32\\config\\SAM",
                "c:/windows/system32/drivers/etc/hosts",
                "C:\\inetpub\\wwwroot\\global.asa",
                "..\u{A5}..\u{A5}..\u{A5}Windows\u{A5}win.ini",
                "..\u{20A9}..\u{20A9}boot.ini",
            ],
        );
        silent(
            "lfi",
            &["\u{A5}1,200 .. \u{A5}3,400", "Total: \u{20A9}15,000"],
        );
    }

    #[test]
    fn os_files_named_in_sentences_count_from_level_two() {
        let mentions = [
            "The container can't read /etc/hosts entries we mounted, so it fails",
            "4) check /var/log/lims/app.log for errors after the restart",
        ];
        rule(LFI_OS_FILE, false, Kind::Value, "json:/body", 1, &mentions);
        rule(
            LFI_OS_FILE_MENTION,
            true,
            Kind::Value,
            "json:/body",
            2,
            &mentions,
        );
        // The path alone, glued, traversed or behind a scheme is an access.
        rule(
            LFI_OS_FILE,
            true,
            Kind::Value,
            "json:/body",
            1,
            &[
                "/etc/passwd",
                "please show me the file at ../../../etc/passwd right now",
                "please read file:///etc/passwd for me right now",
                "please open('/etc/passwd') for me right now",
                "the hosts are in /etc/hosts as usual; file=/etc/shadow",
                "Dear team, see the attached report \\input /etc/passwd \\relax",
                "Dear team, see the attached report <iframe src= /etc/passwd width=800>",
            ],
        );
        // Logs and sysfs named inside configuration and commands are mentions; the path as
        // the value, behind a scheme or after a traversal is an access.
        let configured = [
            "/usr/local/bin/pg_backup.sh > /var/log/pg_backup.log 2>&1",
            "action(type=\"omfile\" file=\"/var/log/dnsmasq.log\")",
            "log[/var/log/nginx/error.log,\"error\"]",
            "cat /sys/class/thermal/thermal_zone0/temp",
        ];
        rule(
            LFI_OS_FILE,
            false,
            Kind::Value,
            "json:/command",
            1,
            &configured,
        );
        rule(
            LFI_OS_FILE,
            true,
            Kind::Value,
            "query:file",
            1,
            &[
                "/var/log/apache2/access.log",
                "file:///var/log/auth.log",
                "x/../../var/log/nginx/access.log",
                "/sys/class/net/eth0/address",
                "//var/log/apache2/access.log",
                " /./var/log/auth.log",
            ],
        );
    }

    #[test]
    fn leaves_ordinary_paths_alone() {
        silent(
            "lfi",
            &[
                "/home/user/documents/report.pdf",
                "images/2024/cat.png",
                "Wait... what?",
                "version 1.2.3",
                "see the .environment section",
                "my-passwd-manager",
                "etc. and so on",
                "C:\\Program Files\\App\\app.exe",
                "C:\\Windows\\System32\\notepad.exe",
                "src/Global.asax.cs",
            ],
        );
    }

    #[test]
    fn flags_hidden_path_segments() {
        assert!(hits(Kind::Path, "path", "/.git/config", 1).contains(&LFI_HIDDEN_PATH));
        assert!(super::PUBLIC_DOT_NAMES.windows(2).all(|w| w[0] < w[1]));
        rule(
            LFI_HIDDEN_PATH,
            true,
            Kind::Path,
            "path",
            1,
            &[
                "/app/.env.production",
                "/.aws/credentials",
                "/.cursor/mcp.json",
                "/.htaccess",
            ],
        );
        for p in [
            "/repos/a/b/contents/.github/workflows/ci.yml",
            "/files/.eslintrc.json",
        ] {
            assert!(
                !hits(Kind::Path, "path", p, 1).contains(&LFI_HIDDEN_PATH),
                "{p}"
            );
            assert!(
                hits(Kind::Path, "path", p, 2).contains(&LFI_HIDDEN_PATH_LOOSE),
                "{p}"
            );
        }
        assert!(hits(Kind::Path, "path", "/.kiro/hooks/x.sh", 1).contains(&LFI_HIDDEN_PATH));
        assert!(
            !hits(Kind::Path, "path", "/.well-known/openid-configuration", 1)
                .contains(&LFI_HIDDEN_PATH)
        );
        assert!(!hits(Kind::Path, "path", "/api/v1.2/items", 1).contains(&LFI_HIDDEN_PATH));
        for p in [
            "/scim/v2/Users/.search",
            "/.netlify/functions/subscribe",
            "/.ds-logs-app-2024.05.14-000001/_search",
        ] {
            assert!(
                !hits(Kind::Path, "path", p, 4).contains(&LFI_HIDDEN_PATH),
                "{p}"
            );
        }
        assert!(hits(Kind::Path, "path", "/.searchrc", 1).contains(&LFI_HIDDEN_PATH));
        // Out of an nginx alias without its trailing slash.
        assert!(hits(Kind::Path, "path", "/static../app/settings.py", 1).contains(&LFI_TRAVERSAL));
        for p in [
            "/files/more..",
            "/wait.../next",
            "/a/b..c/d",
            "/get/foo../1234",
        ] {
            assert!(
                !hits(Kind::Path, "path", p, 1).contains(&LFI_TRAVERSAL),
                "{p}"
            );
        }
    }
}

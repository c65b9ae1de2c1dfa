//! The request as the WAF sees it: borrowed bytes the gateway already holds.
//!
//! Filled by the gateway's `waf` stage after routing and authentication, with the body buffer
//! already bounded by the route's limit. Nothing here is validated: every field may hold hostile
//! bytes, and the extractor treats them as such.

/// A borrowed view of one HTTP request.
#[derive(Debug, Clone, Default)]
pub struct RequestView<'a> {
    /// Request method as sent (`GET`, `POST`, …).
    pub method: &'a str,
    /// Raw path, still percent-encoded, without the query string.
    pub path: &'a [u8],
    /// Raw query string without the `?`, still percent-encoded; `None` if there was no `?`.
    pub query: Option<&'a [u8]>,
    /// Headers in arrival order, names as sent (any case), values as raw bytes.
    pub headers: Vec<(&'a [u8], &'a [u8])>,
    /// The (bounded) body buffer, if the request has one.
    pub body: Option<&'a [u8]>,
}

impl<'a> RequestView<'a> {
    /// A view from a method and a request target (`/path?query`); headers and body are added
    /// with [`RequestView::header`] and [`RequestView::body`].
    pub fn new(method: &'a str, target: &'a [u8]) -> Self {
        let (path, query) = match memchr::memchr(b'?', target) {
            Some(i) => (&target[..i], Some(&target[i + 1..])),
            None => (target, None),
        };
        Self {
            method,
            path,
            query,
            headers: Vec::new(),
            body: None,
        }
    }

    /// Adds one header (builder style).
    pub fn header(
        mut self,
        name: &'a (impl AsRef<[u8]> + ?Sized),
        value: &'a (impl AsRef<[u8]> + ?Sized),
    ) -> Self {
        self.headers.push((name.as_ref(), value.as_ref()));
        self
    }

    /// Sets the body (builder style).
    pub fn body(mut self, body: &'a [u8]) -> Self {
        self.body = Some(body);
        self
    }

    /// Values of every header called `name` (ASCII case-insensitive), in arrival order.
    pub fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a [u8]> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| *v)
    }

    /// The first value of header `name`, if any.
    pub fn first_header(&self, name: &str) -> Option<&'a [u8]> {
        self.header_values(name).next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_target_at_first_question_mark() {
        let r = RequestView::new("GET", b"/a/b?x=1?y");
        assert_eq!(r.path, b"/a/b");
        assert_eq!(r.query, Some(&b"x=1?y"[..]));
        let r = RequestView::new("GET", b"/a");
        assert_eq!(r.query, None);
    }

    #[test]
    fn finds_headers_case_insensitively() {
        let r = RequestView::new("GET", b"/")
            .header("User-Agent", "a")
            .header("user-agent", "b");
        let v: Vec<_> = r.header_values("USER-AGENT").collect();
        assert_eq!(v, vec![&b"a"[..], &b"b"[..]]);
        assert_eq!(r.first_header("host"), None);
    }
}

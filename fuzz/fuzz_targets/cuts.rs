//! Shared by the HTTP/1.1 fuzz targets (not a target itself): how an input is split into cut
//! offsets and the bytes to cut.

/// The low three bits of `first` give a number of cut points (0-7, at most `rest.len()`);
/// that many bytes of `rest` give the gaps between them; what follows is the payload.
pub fn split(first: u8, rest: &[u8]) -> (Vec<usize>, &[u8]) {
    let n = usize::from(first & 7).min(rest.len());
    let (gaps, bytes) = rest.split_at(n);
    let mut at = 0;
    let cuts = gaps
        .iter()
        .map(|g| {
            at += usize::from(*g);
            at
        })
        .collect();
    (cuts, bytes)
}

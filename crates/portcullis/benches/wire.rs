//! Cost of the strict HTTP checks per request: the line-ending check the HTTP/1.1 server adds
//! to httparse on typical request heads, and the `validate` stage's head rules. Run with
//! `cargo bench -p portcullis --bench wire`; prints ns per request. A benchmark, not a test: it
//! asserts nothing.

use std::hint::black_box;
use std::time::Instant;

use portcullis::listener::wire::line_endings;

const ROUNDS: u32 = 200_000;

fn main() {
    // What wrk sends in the shared benchmark, and a browser-like API request.
    let small = b"GET /api/v1/items?id=42 HTTP/1.1\r\nHost: 127.0.0.1:18090\r\nUser-Agent: portcullis-bench/1\r\nAccept: application/json\r\n\r\n".to_vec();
    let api = b"POST /api/v1/orders?expand=items HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\nAccept: application/json\r\nAccept-Language: en-GB,en;q=0.9\r\nContent-Type: application/json\r\nContent-Length: 1024\r\nAuthorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln\r\nCookie: session=abc123; theme=dark\r\n\r\n".to_vec();
    for (name, bytes) in [("bench GET head", &small), ("API POST head", &api)] {
        let start = Instant::now();
        for _ in 0..ROUNDS {
            black_box(line_endings(black_box(bytes)));
        }
        let ns = start.elapsed().as_nanos() as f64 / f64::from(ROUNDS);
        println!("line endings, {name} ({} bytes): {ns:.0} ns", bytes.len());
    }
    let req = http::Request::post("/api/v1/orders?expand=items")
        .header("host", "api.example.com")
        .header("content-type", "application/json")
        .header("content-length", "1024")
        .body(())
        .unwrap_or_default();
    let start = Instant::now();
    for _ in 0..ROUNDS {
        let _ = black_box(portcullis::policy::validate::check(black_box(&req), false));
    }
    let ns = start.elapsed().as_nanos() as f64 / f64::from(ROUNDS);
    println!("validate stage head rules: {ns:.0} ns");
}

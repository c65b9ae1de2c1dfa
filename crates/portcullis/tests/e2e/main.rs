//! The one end-to-end test binary: starts the real `portcullis` binary against real upstream
//! servers on 127.0.0.1 and checks what a client and an upstream see.

#![allow(
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::collapsible_if,
    // Test clients read small, known bodies from servers the test started.
    clippy::disallowed_methods
)]

mod support;

mod cli;
mod identity;
mod inputs;
mod jwt;
mod lifecycle;
mod limits;
mod oracle;
mod protocols;
mod routing;
mod server;
mod smuggling;
mod suite;
mod tls;
mod traffic;
mod upstreams;

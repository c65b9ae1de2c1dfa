//! Portcullis: a secure API gateway. One binary in front of HTTP and gRPC services that proves
//! who each caller is, decides what they may do, rejects malformed or malicious input, limits
//! abuse, and records what a security team needs.
//!
//! Request path: [`listener`] (limits, TLS) → [`proxy`] (pins a [`snapshot::Snapshot`]) →
//! [`router`] → [`policy`] stages → [`upstream`] → back through response stages, with one
//! [`reply`] function for every local answer and [`observe`] recording it all.
#![forbid(unsafe_code)]

pub mod admin;
pub mod body;
pub mod config;
pub mod fetch;
pub mod listener;
pub mod names;
pub mod observe;
pub mod policy;
pub mod proxy;
pub mod reply;
pub mod router;
pub mod server;
pub mod snapshot;
pub mod state;
#[cfg(test)]
pub(crate) mod test_dir;
pub mod timer;
pub mod upstream;

//! HTTP Basic authentication (RFC 7617) against Argon2id password hashes.
//!
//! Argon2id is slow on purpose (tens of milliseconds and 19 MiB per check), so it never runs
//! on a request thread: checks go to the blocking pool through a semaphore as wide as the
//! machine, so a flood of guesses queues instead of taking every core and all memory. Results
//! are remembered by a keyed hash of the username and password (never the password): a
//! success for five minutes, a failure for thirty seconds, so a client repeating the same
//! credentials costs one Argon2 run. An unknown username runs the same Argon2 work against a
//! dummy hash, so response time does not tell which usernames exist.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::PasswordVerifier;
use argon2::password_hash::phc::PasswordHash;
use base64::Engine as _;
use tokio::sync::Semaphore;

use super::Consumer;

/// Longest `Authorization: Basic` value considered.
pub const MAX_CREDENTIAL_BYTES: usize = 1024;
/// Least memory (KiB) an accepted hash may use (OWASP: 7 MiB with t = 5 … 19 MiB with t = 2).
pub const MIN_MEMORY_KIB: u32 = 7 * 1024;
/// Least memory × iterations an accepted hash may use.
pub const MIN_COST: u64 = 35 * 1024;
/// Most memory (KiB) a hash may ask for per check.
pub const MAX_MEMORY_KIB: u32 = 256 * 1024;
/// Most iterations a hash may ask for.
pub const MAX_ITERATIONS: u32 = 10;
/// How long a request waits for a free verifier before it is refused.
const QUEUE_WAIT: Duration = Duration::from_secs(5);

/// Why a hash from the config is refused.
pub fn check_hash(phc: &str) -> Result<(), String> {
    let h = PasswordHash::new(phc).map_err(|e| format!("not a PHC string: {e}"))?;
    if h.algorithm.as_str() != "argon2id" {
        return Err(format!(
            "{} hashes are not accepted: use argon2id (`portcullis keys hash-password`)",
            h.algorithm.as_str()
        ));
    }
    let params = argon2::Params::try_from(&h).map_err(|e| format!("bad parameters: {e}"))?;
    let (m, t) = (params.m_cost(), params.t_cost());
    if m < MIN_MEMORY_KIB || u64::from(m) * u64::from(t) < MIN_COST {
        return Err(format!(
            "too cheap to resist guessing (m={m} KiB, t={t}): use at least m=19456, t=2"
        ));
    }
    if m > MAX_MEMORY_KIB || t > MAX_ITERATIONS || params.p_cost() > 8 {
        return Err(format!(
            "too costly to verify per request (m={m} KiB, t={t}, p={})",
            params.p_cost()
        ));
    }
    Ok(())
}

/// Hashes a password with Argon2id at the default cost (m = 19 MiB, t = 2, p = 1).
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::PasswordHasher;
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Consumers with basic-auth credentials, and the verifier's state.
pub struct BasicDirectory {
    users: HashMap<String, (Arc<Consumer>, String)>,
    /// A hash of a random password, verified for unknown usernames.
    dummy: String,
    /// Key of the result cache's hash (random per config load).
    cache_key: aws_lc_rs::hmac::Key,
    good: moka::sync::Cache<[u8; 32], Arc<Consumer>>,
    bad: moka::sync::Cache<[u8; 32], ()>,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for BasicDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicDirectory")
            .field("users", &self.users.len())
            .finish_non_exhaustive()
    }
}

/// A refusal, with its reason code.
pub type Refusal = &'static str;

impl BasicDirectory {
    /// A directory of `(username, consumer, PHC hash)`; hashes must have passed
    /// [`check_hash`].
    pub fn new(users: HashMap<String, (Arc<Consumer>, String)>) -> Result<Self, String> {
        let mut random = [0u8; 32];
        aws_lc_rs::rand::fill(&mut random).map_err(|_| "no randomness available")?;
        // The dummy costs what a real user's check costs (the first user's parameters), so an
        // unknown username takes as long as a known one.
        let params = users
            .values()
            .next()
            .and_then(|(_, h)| PasswordHash::new(h).ok())
            .and_then(|h| argon2::Params::try_from(&h).ok())
            .unwrap_or_default();
        let dummy = {
            use argon2::password_hash::PasswordHasher;
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
                .hash_password(hex::encode(random).as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| e.to_string())?
        };
        aws_lc_rs::rand::fill(&mut random).map_err(|_| "no randomness available")?;
        let width = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Ok(Self {
            users,
            dummy,
            cache_key: aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &random),
            good: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(300))
                .build(),
            bad: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(30))
                .build(),
            permits: Arc::new(Semaphore::new(width)),
        })
    }

    /// Whether no consumer has basic credentials.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Checks `user` / `password`.
    pub async fn verify(&self, user: &str, password: &str) -> Result<Arc<Consumer>, Refusal> {
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&self.cache_key);
        ctx.update(&(user.len() as u64).to_be_bytes());
        ctx.update(user.as_bytes());
        ctx.update(password.as_bytes());
        let mut id = [0u8; 32];
        id.copy_from_slice(ctx.sign().as_ref());
        if let Some(c) = self.good.get(&id) {
            return Ok(c);
        }
        if self.bad.contains_key(&id) {
            return Err("invalid_credential");
        }
        let (consumer, phc) = match self.users.get(user) {
            Some((c, h)) => (Some(c.clone()), h.clone()),
            None => (None, self.dummy.clone()),
        };
        let permit = tokio::time::timeout(QUEUE_WAIT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| "verifier_busy")?
            .map_err(|_| "verifier_busy")?;
        // The copy moved to the blocking pool is wiped when the check is done.
        let password = zeroize::Zeroizing::new(password.to_owned());
        let ok = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            PasswordHash::new(&phc).is_ok_and(|h| {
                argon2::Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
        })
        .await
        .unwrap_or(false);
        match (ok, consumer) {
            (true, Some(c)) => {
                self.good.insert(id, c.clone());
                Ok(c)
            }
            _ => {
                self.bad.insert(id, ());
                Err("invalid_credential")
            }
        }
    }
}

/// Splits an `Authorization: Basic` credential into username and password. `None` for
/// anything malformed (not base64, not UTF-8, no colon, empty username, too long).
pub fn parse_credential(token: &str) -> Option<(String, String)> {
    if token.is_empty() || token.len() > MAX_CREDENTIAL_BYTES {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, pass) = text.split_once(':')?;
    if user.is_empty()
        || user
            .bytes()
            .chain(pass.bytes())
            .any(|b| b.is_ascii_control())
    {
        return None;
    }
    Some((user.to_owned(), pass.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_credentials_strictly() {
        let enc = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(
            parse_credential(&enc("alice:s3cret:with:colons")),
            Some(("alice".into(), "s3cret:with:colons".into()))
        );
        for bad in [
            String::new(),
            "%%%".into(),
            enc("no-colon"),
            enc(":nouser"),
            enc("a\u{0}b:c"),
            "A".repeat(2000),
        ] {
            assert_eq!(parse_credential(&bad), None, "{bad}");
        }
    }

    #[test]
    fn accepts_only_argon2id_at_a_sane_cost() {
        let h = hash_password("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert_eq!(check_hash(&h), Ok(()));
        let weak =
            "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(check_hash(weak).is_err());
        let huge = "$argon2id$v=19$m=1048576,t=2,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(check_hash(huge).is_err());
        let argon2i = h.replacen("argon2id", "argon2i", 1);
        assert!(check_hash(&argon2i).is_err());
        assert!(check_hash("plaintext").is_err());
    }

    #[tokio::test]
    async fn verifies_remembers_and_refuses() {
        let c = Arc::new(Consumer {
            name: Arc::from("alice"),
            roles: Arc::from(["reader".into()]),
            groups: Vec::new(),
        });
        let h = hash_password("correct horse").expect("hash");
        let mut users = HashMap::new();
        users.insert("alice".to_owned(), (c, h));
        let dir = BasicDirectory::new(users).expect("dir");
        assert_eq!(
            dir.verify("alice", "correct horse")
                .await
                .map(|c| c.name.to_string()),
            Ok("alice".into())
        );
        // Cached: still right.
        assert!(dir.verify("alice", "correct horse").await.is_ok());
        assert_eq!(
            dir.verify("alice", "wrong").await.map(|_| ()),
            Err("invalid_credential")
        );
        assert_eq!(
            dir.verify("nobody", "correct horse").await.map(|_| ()),
            Err("invalid_credential")
        );
    }
}

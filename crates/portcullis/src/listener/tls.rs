//! TLS termination: rustls server configs with TLS 1.2/1.3 only and the provider's modern
//! suites, SNI selection among several certificates, ALPN h2/http1.1, and optional client
//! certificate verification whose verified identity is put on the request context.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
use sha2::{Digest, Sha256};

use crate::config::error::Collector;
use crate::config::expand::resolve_path;
use crate::config::raw::{CrlExpiry, CrlScope, TlsListenerConfig, UnknownRevocation};
use crate::upstream::load_cert_and_key;

/// Identity taken from a verified client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertIdentity {
    /// Subject distinguished name as x509-parser prints it: `TYPE=value` parts joined by `, `
    /// in the certificate's own order (not reversed as RFC 4514 would), values unescaped.
    pub subject: String,
    /// DNS, URI (SPIFFE IDs included), email and IP subject alternative names.
    pub sans: Vec<String>,
    /// SHA-256 fingerprint of the DER certificate, lower-case hex.
    pub fingerprint: String,
}

impl ClientCertIdentity {
    /// Reads the identity out of a DER certificate (already verified by rustls).
    pub fn from_der(der: &CertificateDer<'_>) -> Option<Self> {
        let fingerprint = hex::encode(Sha256::digest(der.as_ref()));
        let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
        let subject = cert.subject().to_string();
        let mut sans = Vec::new();
        if let Ok(Some(ext)) = cert.subject_alternative_name() {
            use x509_parser::extensions::GeneralName;
            for n in &ext.value.general_names {
                match n {
                    GeneralName::DNSName(d) => sans.push(format!("DNS:{d}")),
                    GeneralName::URI(u) => sans.push(format!("URI:{u}")),
                    GeneralName::RFC822Name(e) => sans.push(format!("email:{e}")),
                    GeneralName::IPAddress(ip) => {
                        let s = match ip.len() {
                            4 => <[u8; 4]>::try_from(*ip)
                                .map(|a| std::net::IpAddr::from(a).to_string())
                                .ok(),
                            16 => <[u8; 16]>::try_from(*ip)
                                .map(|a| std::net::IpAddr::from(a).to_string())
                                .ok(),
                            _ => None,
                        };
                        if let Some(s) = s {
                            sans.push(format!("IP:{s}"));
                        }
                    }
                    _ => {}
                }
            }
        }
        Some(Self {
            subject,
            sans,
            fingerprint,
        })
    }
}

/// Picks a certificate by SNI: exact name, then wildcard, then the default (first) one.
pub struct SniResolver {
    exact: HashMap<String, Arc<CertifiedKey>>,
    wildcard: HashMap<String, Arc<CertifiedKey>>,
    default: Arc<CertifiedKey>,
}

impl fmt::Debug for SniResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SniResolver")
            .field("exact", &self.exact.keys().collect::<Vec<_>>())
            .field("wildcard", &self.wildcard.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let Some(name) = hello.server_name() else {
            return Some(self.default.clone());
        };
        let name = name.to_ascii_lowercase();
        if let Some(c) = self.exact.get(&name) {
            return Some(c.clone());
        }
        if let Some((_, parent)) = name.split_once('.')
            && let Some(c) = self.wildcard.get(parent)
        {
            return Some(c.clone());
        }
        Some(self.default.clone())
    }
}

/// Builds the rustls server config for a listener.
pub fn server_config(
    t: &TlsListenerConfig,
    at: &str,
    errs: &mut Collector,
) -> Option<Arc<rustls::ServerConfig>> {
    let before = errs.errors.len();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = match t.min_version.as_deref() {
        None | Some("1.2") => &[&rustls::version::TLS13, &rustls::version::TLS12],
        Some("1.3") => &[&rustls::version::TLS13],
        Some(_) => {
            errs.push(format!("{at}.min_version"), "must be `1.2` or `1.3`");
            return None;
        }
    };
    if t.certificates.is_empty() {
        errs.push(
            format!("{at}.certificates"),
            "at least one certificate is required",
        );
        return None;
    }
    let mut exact = HashMap::new();
    let mut wildcard = HashMap::new();
    let mut default = None;
    for (i, c) in t.certificates.iter().enumerate() {
        let cat = format!("{at}.certificates[{i}]");
        let Some((chain, key)) = load_cert_and_key(c.cert.as_str(), c.key.as_str(), &cat, errs)
        else {
            continue;
        };
        let names: Vec<String> = if c.server_names.is_empty() {
            dns_names(&chain[0])
        } else {
            c.server_names
                .iter()
                .map(|n| n.as_str().to_ascii_lowercase())
                .collect()
        };
        let ck = match CertifiedKey::from_der(chain, key, &provider) {
            Ok(ck) => Arc::new(ck),
            Err(e) => {
                errs.push(
                    format!("{cat}.key"),
                    format!("does not match the certificate: {e}"),
                );
                continue;
            }
        };
        for n in names {
            if let Some(rest) = n.strip_prefix("*.") {
                wildcard
                    .entry(rest.to_owned())
                    .or_insert_with(|| ck.clone());
            } else {
                exact.entry(n).or_insert_with(|| ck.clone());
            }
        }
        if default.is_none() {
            default = Some(ck);
        }
    }
    let default = default?;
    let builder = match rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
    {
        Ok(b) => b,
        Err(e) => {
            errs.push(at.to_owned(), format!("{e}"));
            return None;
        }
    };
    let builder = match &t.client_auth {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let roots = match crate::upstream::load_ca_roots(&resolve_path(ca.ca.as_str())) {
                Ok(r) => r,
                Err(e) => {
                    errs.push(format!("{at}.client_auth.ca"), e);
                    return None;
                }
            };
            let mut vb = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            if !ca.required.unwrap_or(true) {
                vb = vb.allow_unauthenticated();
            }
            if !ca.crls.is_empty() {
                let mut crls = Vec::new();
                for (i, file) in ca.crls.iter().enumerate() {
                    match load_crls(&resolve_path(file.as_str())) {
                        Ok(mut found) => crls.append(&mut found),
                        Err(e) => errs.push(format!("{at}.client_auth.crls[{i}]"), e),
                    }
                }
                vb = vb.with_crls(crls);
                if ca.crl_scope == CrlScope::Leaf {
                    vb = vb.only_check_end_entity_revocation();
                }
                if ca.unknown_revocation == UnknownRevocation::Allow {
                    vb = vb.allow_unknown_revocation_status();
                }
                if ca.crl_expiry == CrlExpiry::Enforce {
                    vb = vb.enforce_revocation_expiration();
                }
            }
            match vb.build() {
                Ok(v) => builder.with_client_cert_verifier(v),
                Err(e) => {
                    errs.push(format!("{at}.client_auth"), format!("{e}"));
                    return None;
                }
            }
        }
    };
    if errs.errors.len() > before {
        return None;
    }
    let mut cfg = builder.with_cert_resolver(Arc::new(SniResolver {
        exact,
        wildcard,
        default,
    }));
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Some(Arc::new(cfg))
}

/// Every CRL in a PEM file (`-----BEGIN X509 CRL-----` blocks); at least one is required.
fn load_crls(path: &std::path::Path) -> Result<Vec<CertificateRevocationListDer<'static>>, String> {
    let crls: Vec<_> = CertificateRevocationListDer::pem_file_iter(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if crls.is_empty() {
        return Err(format!("{}: no X509 CRL found", path.display()));
    }
    Ok(crls)
}

fn dns_names(cert: &CertificateDer<'_>) -> Vec<String> {
    let Ok((_, c)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Ok(Some(ext)) = c.subject_alternative_name() {
        for n in &ext.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(d) = n {
                out.push(d.to_ascii_lowercase());
            }
        }
    }
    out
}

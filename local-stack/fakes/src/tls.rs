//! Mutual TLS for the RHSM fake: RHSM authenticates clients by certificate (pubtools'
//! `--rhsm-cert`/`--rhsm-key`), so the fake can require one signed by a CA.
//!
//! A TLS folder holds `ca.pem`, `server.pem`, `server.key` (used when present) and, when the
//! fake generates them, `ca.key`, `client.pem`, `client.key` for the clients to use.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

/// The files of a TLS folder.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The CA clients' certificates must chain to (`ca.pem`).
    pub ca: PathBuf,
    /// The server certificate (`server.pem`), valid for 127.0.0.1 and localhost.
    pub server_cert: PathBuf,
    /// The server key (`server.key`).
    pub server_key: PathBuf,
    /// A client certificate signed by the CA (`client.pem`), when generated here.
    pub client_cert: PathBuf,
    /// Its key (`client.key`).
    pub client_key: PathBuf,
}

impl TlsFiles {
    /// The files of `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        TlsFiles {
            ca: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
        }
    }
}

fn err(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

fn leaf(
    names: &[&str],
    common_name: &str,
    issuer: &Issuer<'_, KeyPair>,
) -> Result<(String, String), String> {
    let key = KeyPair::generate().map_err(|e| err("generate a key", e))?;
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .map_err(|e| err("certificate parameters", e))?;
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    let cert = params
        .signed_by(&key, issuer)
        .map_err(|e| err("sign a certificate", e))?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Uses the CA and server certificate of `dir`, or generates a CA, a server certificate for
/// 127.0.0.1 and a client certificate there when `ca.pem` is absent.
pub fn ensure(dir: &Path) -> Result<TlsFiles, String> {
    let files = TlsFiles::in_dir(dir);
    if files.ca.is_file() && files.server_cert.is_file() && files.server_key.is_file() {
        return Ok(files);
    }
    std::fs::create_dir_all(dir).map_err(|e| err(&dir.display().to_string(), e))?;
    let ca_key = KeyPair::generate().map_err(|e| err("generate a key", e))?;
    let mut ca_params =
        CertificateParams::new(Vec::<String>::new()).map_err(|e| err("CA parameters", e))?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "vmpush local RHSM CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(|e| err("sign the CA", e))?;
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text).map_err(|e| err(&path.display().to_string(), e))
    };
    write(&files.ca, &ca_cert.pem())?;
    write(&dir.join("ca.key"), &ca_key.serialize_pem())?;
    let issuer = Issuer::new(ca_params, ca_key);
    let (server_cert, server_key) =
        leaf(&["127.0.0.1", "localhost"], "vmpush local RHSM", &issuer)?;
    write(&files.server_cert, &server_cert)?;
    write(&files.server_key, &server_key)?;
    let (client_cert, client_key) = leaf(&["vmpush-client"], "vmpush client", &issuer)?;
    write(&files.client_cert, &client_cert)?;
    write(&files.client_key, &client_key)?;
    Ok(files)
}

/// A rustls server configuration that requires client certificates signed by the CA.
pub fn server_config(files: &TlsFiles) -> Result<rustls::ServerConfig, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&files.ca).map_err(|e| err("read the CA", e))? {
        roots
            .add(cert.map_err(|e| err("parse the CA", e))?)
            .map_err(|e| err("add the CA", e))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| err("client verifier", e))?;
    let certs = CertificateDer::pem_file_iter(&files.server_cert)
        .map_err(|e| err("read the server certificate", e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err("parse the server certificate", e))?;
    let key = PrivateKeyDer::from_pem_file(&files.server_key)
        .map_err(|e| err("read the server key", e))?;
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err("TLS versions", e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| err("server certificate", e))
}

/// Serves `router` over mutual TLS on an already bound listener.
pub async fn serve(
    listener: std::net::TcpListener,
    router: Router,
    config: rustls::ServerConfig,
) -> std::io::Result<()> {
    let config = RustlsConfig::from_config(Arc::new(config));
    listener.set_nonblocking(true)?;
    axum_server::from_tcp_rustls(listener, config)?
        .serve(router.into_make_service())
        .await
}

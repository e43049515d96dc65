//! Real TLS on 127.0.0.1: a self-signed certificate made with rcgen, trusted
//! through the CA-file option; h2 negotiated by ALPN.

use std::net::SocketAddr;
use std::sync::Arc;

use http::Version;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use phigate_upstream::{ClientConfig, ConnectFailure, Endpoint, Error, UpstreamClient, UpstreamResponse};
use phigate_upstream_stub::{Stub, StubConfig};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::harness::{chat_body, completion_text, drain, into_stream, streamed_text};

/// Serves the stub's router over TLS; returns the address and the cert PEM.
async fn tls_stub() -> (SocketAddr, String) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let cert_pem = generated.cert.pem();
    let cert = CertificateDer::from(generated.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(generated.key_pair.serialize_der()));
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Stub::new(StubConfig::default()).unwrap().router();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let (acceptor, router) = (acceptor.clone(), router.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), TowerToHyperService::new(router))
                    .await;
            });
        }
    });
    (addr, cert_pem)
}

#[tokio::test]
async fn https_with_a_configured_ca_over_h2() {
    let (addr, cert_pem) = tls_stub().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, cert_pem).unwrap();
    let mut config = ClientConfig::default();
    config.webpki_roots = false;
    config.ca_files.push(ca);
    let client = UpstreamClient::new(config).unwrap();

    for host in ["localhost", "127.0.0.1"] {
        let ep = Endpoint::new("tls", &format!("https://{host}:{}/v1", addr.port())).unwrap();
        let response = client.send(&ep, "/chat/completions", chat_body("over tls", false), false).await.unwrap();
        let UpstreamResponse::Complete(complete) = &response else { panic!() };
        assert_eq!(complete.version, Version::HTTP_2, "ALPN negotiated h2");
        assert_eq!(completion_text(response), "echo: over tls");

        let response = client.send(&ep, "/chat/completions", chat_body("streamed", true), true).await.unwrap();
        let mut stream = into_stream(response);
        assert_eq!(stream.version(), Version::HTTP_2);
        let (events, error) = drain(&mut stream).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(streamed_text(&events), "echo: streamed");
    }
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_connect_error() {
    let (addr, _) = tls_stub().await;
    let client = UpstreamClient::new(ClientConfig::default()).unwrap();
    let ep = Endpoint::new("tls", &format!("https://localhost:{}/v1", addr.port())).unwrap();
    let err = client.send(&ep, "/chat/completions", chat_body("x", false), false).await.unwrap_err();
    assert!(matches!(err, Error::Connect { kind: ConnectFailure::Tls, .. }), "{err}");
    assert!(err.to_string().contains("tls"), "{err}");
}

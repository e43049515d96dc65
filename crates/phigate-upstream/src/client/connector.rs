//! The connector hyper's pool calls for a new connection: resolve, refuse
//! plain http to anything but loopback, TCP connect (with the endpoint's
//! timeout, `TCP_NODELAY`), then TLS with ALPN `h2`/`http/1.1` for https.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::ConnectFailure;

/// Why a connection could not be made. Travels through hyper's error as its
/// source; the client turns it back into [`crate::Error`].
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {detail}")]
pub(crate) struct ConnectError {
    pub(crate) kind: ConnectKind,
    pub(crate) detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectKind {
    Failed(ConnectFailure),
    Timeout,
    /// `http://` to a name that resolved to no loopback address.
    PlainHttpRefused,
}

impl std::fmt::Display for ConnectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectKind::Failed(kind) => kind.fmt(f),
            ConnectKind::Timeout => f.write_str("timeout"),
            ConnectKind::PlainHttpRefused => f.write_str("plain http to a non-loopback address"),
        }
    }
}

impl ConnectError {
    fn new(kind: ConnectFailure, detail: impl std::fmt::Display) -> Self {
        Self { kind: ConnectKind::Failed(kind), detail: detail.to_string() }
    }
}

/// One connector per connect timeout (see `UpstreamClient`'s pools).
#[derive(Clone)]
pub(crate) struct Connector {
    pub(crate) tls: TlsConnector,
    pub(crate) connect_timeout: Duration,
    pub(crate) allow_plain_http: bool,
}

impl tower_service::Service<Uri> for Connector {
    type Response = Conn;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<Conn, ConnectError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            match tokio::time::timeout(this.connect_timeout, this.connect(uri)).await {
                Ok(result) => result,
                Err(_) => Err(ConnectError { kind: ConnectKind::Timeout, detail: "connect timed out".into() }),
            }
        })
    }
}

impl Connector {
    async fn connect(self, uri: Uri) -> Result<Conn, ConnectError> {
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(ConnectError::new(ConnectFailure::Tcp, "unsupported scheme")),
        };
        let host = uri.host().ok_or_else(|| ConnectError::new(ConnectFailure::Dns, "no host"))?;
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let mut addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| ConnectError::new(ConnectFailure::Dns, e))?
                .collect(),
        };
        if !https && !self.allow_plain_http {
            addrs.retain(|a| a.ip().is_loopback());
            if addrs.is_empty() {
                return Err(ConnectError {
                    kind: ConnectKind::PlainHttpRefused,
                    detail: "resolved to a non-loopback address".into(),
                });
            }
        }
        let tcp = connect_any(&addrs).await?;
        if !https {
            return Ok(Conn::Plain(TokioIo::new(tcp)));
        }
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| ConnectError::new(ConnectFailure::Tls, "host is not a valid TLS server name"))?;
        let tls = self.tls.connect(name, tcp).await.map_err(|e| ConnectError::new(ConnectFailure::Tls, e))?;
        Ok(Conn::Tls(Box::new(TokioIo::new(tls))))
    }
}

async fn connect_any(addrs: &[SocketAddr]) -> Result<TcpStream, ConnectError> {
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => {
                // Streamed tokens are small writes: do not let Nagle hold them.
                let _ = tcp.set_nodelay(true);
                return Ok(tcp);
            }
            Err(e) => last = Some(e),
        }
    }
    let last = last.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"));
    Err(ConnectError::new(ConnectFailure::Tcp, last))
}

/// A pooled connection: plain TCP (loopback) or TLS.
pub(crate) enum Conn {
    Plain(TokioIo<TcpStream>),
    Tls(Box<TokioIo<TlsStream<TcpStream>>>),
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        match self {
            Conn::Plain(_) => Connected::new(),
            Conn::Tls(io) => {
                let (_, session) = io.inner().get_ref();
                if session.alpn_protocol() == Some(b"h2") { Connected::new().negotiated_h2() } else { Connected::new() }
            }
        }
    }
}

impl Read for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: ReadBufCursor<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(io) => Pin::new(io).poll_read(cx, buf),
            Conn::Tls(io) => Pin::new(io.as_mut()).poll_read(cx, buf),
        }
    }
}

impl Write for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(io) => Pin::new(io).poll_write(cx, buf),
            Conn::Tls(io) => Pin::new(io.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(io) => Pin::new(io).poll_flush(cx),
            Conn::Tls(io) => Pin::new(io.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(io) => Pin::new(io).poll_shutdown(cx),
            Conn::Tls(io) => Pin::new(io.as_mut()).poll_shutdown(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(io) => io.is_write_vectored(),
            Conn::Tls(io) => io.is_write_vectored(),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(io) => Pin::new(io).poll_write_vectored(cx, bufs),
            Conn::Tls(io) => Pin::new(io.as_mut()).poll_write_vectored(cx, bufs),
        }
    }
}

/// Builds the TLS connector: ring, TLS 1.2 and 1.3, the webpki roots and/or
/// the configured CA files, ALPN `h2` then `http/1.1`.
pub(crate) fn tls_connector(roots: rustls::RootCertStore) -> Result<TlsConnector, crate::Error> {
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| crate::Error::TlsConfig(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

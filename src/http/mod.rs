//! The status API, event stream, Prometheus metrics and the steward's dashboard.
//!
//! One router serves two kinds of process: `omega run --http ADDR` (a live view, refreshed every
//! cycle by a progress hook and fed domain events by an event sink) and `omega serve` (a
//! read-only view of a reports folder, re-read from the checkpoint periodically). Both publish
//! the same [`View`] through a `watch` channel, so the handlers never know which one they serve.

pub mod a2a;
mod chain;
mod control;
mod jobs;
mod metrics;
mod routes;
mod sink;
mod state;
mod status;

pub use sink::HttpSink;
pub use state::{
    ChainSource, Feed, HistoryPoint, HttpContext, StreamEvent, View, checkpoint_hash_on_disk,
    view_from_checkpoint,
};
pub use status::report as status_report;

use clap::Args;
use eyre::{Result, WrapErr};
use std::net::SocketAddr;

/// `--http` and its guard, shared by `omega run` and `omega serve`.
#[derive(Args, Debug, Clone)]
pub struct HttpArgs {
    /// Serve the status API and dashboard on this address (loopback only unless --http-public),
    /// e.g. 127.0.0.1:8080. Port 0 takes a free port; the bound address is logged and written to
    /// <reports>/http.addr.
    #[arg(long, env = "OMEGA_HTTP", value_name = "ADDR:PORT")]
    pub http: Option<SocketAddr>,
    /// Allow --http to bind a non-loopback address (the API then answers anyone who can reach it;
    /// pause/resume still need OMEGA_CONTROL_TOKEN).
    #[arg(long, env = "OMEGA_HTTP_PUBLIC")]
    pub http_public: bool,
    /// `omega run`: let anyone read A2A tasks (`GetTask` without the bearer token); posting and
    /// cancelling still need OMEGA_CONTROL_TOKEN.
    #[arg(long, env = "OMEGA_A2A_PUBLIC_READS")]
    pub a2a_public_reads: bool,
}

/// Refuses a public bind unless asked for explicitly.
pub fn check_bind(addr: SocketAddr, public: bool) -> Result<()> {
    if !addr.ip().is_loopback() && !public {
        eyre::bail!(
            "--http {addr} is not a loopback address: the status API would be reachable from the network. \
             Bind 127.0.0.1 (or [::1]), or pass --http-public if that is intended"
        );
    }
    Ok(())
}

/// Binds the listener now, so a bad or busy address fails before the orchestrator starts.
pub async fn bind(addr: SocketAddr, public: bool) -> Result<tokio::net::TcpListener> {
    check_bind(addr, public)?;
    tokio::net::TcpListener::bind(addr)
        .await
        .wrap_err_with(|| format!("cannot listen on {addr} (--http)"))
}

/// Serves the API on `listener` in the background until the process ends, and reports the bound
/// address: a log line and `<reports>/http.addr` (`127.0.0.1:PORT` and a newline, written
/// atomically). With `--http 127.0.0.1:0` the system picks a free port, and the file is how a
/// script or a test learns it without choosing a port first and racing others for it. The file
/// holds the address of the last process that served this reports folder.
pub fn spawn(listener: tokio::net::TcpListener, ctx: HttpContext) -> Result<SocketAddr> {
    let addr = listener
        .local_addr()
        .wrap_err("the status API's listening address")?;
    let file = ctx.paths.dir.join(ADDR_FILE);
    crate::persistence::atomic::write_atomic(&file, format!("{addr}\n").as_bytes())
        .wrap_err_with(|| format!("writing {}", file.display()))?;
    let app = routes::router(std::sync::Arc::new(ctx));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("status API stopped: {e}");
        }
    });
    tracing::info!("status API and dashboard on http://{addr}/");
    Ok(addr)
}

/// Where [`spawn`] reports the bound address, in the reports folder.
pub const ADDR_FILE: &str = "http.addr";

//! The status API, event stream, Prometheus metrics and the steward's dashboard.
//!
//! One router serves two kinds of process: `omega run --http ADDR` (a live view, refreshed every
//! cycle by a progress hook and fed domain events by an event sink) and `omega serve` (a
//! read-only view of a reports folder, re-read from the checkpoint periodically). Both publish
//! the same [`View`] through a `watch` channel, so the handlers never know which one they serve.

mod chain;
mod control;
mod jobs;
mod metrics;
mod routes;
mod sink;
mod state;

pub use sink::HttpSink;
pub use state::{
    ChainSource, Feed, HistoryPoint, HttpContext, StreamEvent, View, checkpoint_hash_on_disk,
    view_from_checkpoint,
};

use clap::Args;
use eyre::{Result, WrapErr};
use std::net::SocketAddr;

/// `--http` and its guard, shared by `omega run` and `omega serve`.
#[derive(Args, Debug, Clone)]
pub struct HttpArgs {
    /// Serve the status API and dashboard on this address (loopback only unless --http-public),
    /// e.g. 127.0.0.1:8080.
    #[arg(long, env = "OMEGA_HTTP", value_name = "ADDR:PORT")]
    pub http: Option<SocketAddr>,
    /// Allow --http to bind a non-loopback address (the API then answers anyone who can reach it;
    /// pause/resume still need OMEGA_CONTROL_TOKEN).
    #[arg(long, env = "OMEGA_HTTP_PUBLIC")]
    pub http_public: bool,
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

/// Serves the API on `listener` in the background until the process ends.
pub fn spawn(listener: tokio::net::TcpListener, ctx: HttpContext) {
    let addr = listener.local_addr().ok();
    let app = routes::router(std::sync::Arc::new(ctx));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("status API stopped: {e}");
        }
    });
    if let Some(addr) = addr {
        tracing::info!("status API and dashboard on http://{addr}/");
    }
}

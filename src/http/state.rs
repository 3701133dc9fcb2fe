//! What the handlers read: the latest [`View`] of the world (a `watch` channel), a short price
//! history for the chart, and a `broadcast` channel of domain events for the stream.

use crate::config::ReportPaths;
use crate::domain::world::{World, WorldState};
use crate::persistence::checkpoint;
use serde::Serialize;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};

/// Points kept for the price/utilisation chart.
const HISTORY: usize = 600;
/// Events a slow stream client may fall behind by before it skips ahead.
const EVENT_BUFFER: usize = 4096;
/// A live run publishes at most this often (fast mode runs thousands of cycles a second, and
/// each publication clones the live state).
const MIN_PUBLISH_INTERVAL: Duration = Duration::from_millis(50);
/// And it spends at most 1/PUBLISH_DUTY of its time publishing: a large state (fast mode
/// between checkpoints holds many settled jobs) is published less often instead of slowing
/// the run down.
const PUBLISH_DUTY: u32 = 50;

/// One state of the world as the API shows it.
pub struct View {
    pub state: WorldState,
    /// The checkpoint's content hash, when the view was read from one (`omega serve`).
    pub checkpoint_hash: Option<String>,
    /// Milliseconds since the Unix epoch when this view was published.
    pub updated_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct HistoryPoint {
    pub cycle: u64,
    pub time_ms: u64,
    pub token_per_energy: f64,
    pub token_per_compute: f64,
    pub utilisation: f64,
}

/// One domain event, serialized once for every stream client.
#[derive(Clone, Debug)]
pub struct StreamEvent {
    pub name: Arc<str>,
    pub json: Arc<str>,
}

/// Where the chain half of the view comes from (absent with `--chain off`).
#[derive(Clone, Debug, Default)]
pub struct ChainSource {
    /// "devnet", "rpc" or "off".
    pub mode: &'static str,
    pub manifest: Option<PathBuf>,
    pub rpc_url: Option<String>,
    /// The addresses that send the run's transactions, by who they are ("owner", "employer",
    /// agent names): public addresses only, never keys.
    pub signers: Vec<(String, alloy::primitives::Address)>,
    /// The run's transaction counters (`omega run --http` on a chain; absent under `serve`).
    pub transactions: Option<crate::chain::tx::TxFigures>,
}

/// One value read from the chain, reused for `ttl` however often the dashboard or a scraper asks.
#[derive(Default)]
pub struct Cache(tokio::sync::Mutex<Option<(Instant, serde_json::Value)>>);

impl Cache {
    pub async fn get_or<F>(&self, ttl: Duration, read: F) -> serde_json::Value
    where
        F: std::future::Future<Output = serde_json::Value>,
    {
        let mut slot = self.0.lock().await;
        if let Some((_, v)) = slot.as_ref().filter(|(at, _)| at.elapsed() < ttl) {
            return v.clone();
        }
        let v = read.await;
        *slot = Some((Instant::now(), v.clone()));
        v
    }
}

/// Everything a request handler may read.
pub struct HttpContext {
    pub view: watch::Receiver<Arc<View>>,
    pub history: Arc<Mutex<VecDeque<HistoryPoint>>>,
    pub events: broadcast::Sender<StreamEvent>,
    pub paths: ReportPaths,
    pub chain: ChainSource,
    /// `OMEGA_CONTROL_TOKEN`; `None` disables the control endpoints.
    pub token: Option<String>,
    /// "live" (`omega run --http`) or "serve".
    pub mode: &'static str,
    /// The latest on-chain attestation and the signers' pending transactions, as last read.
    pub attestation_cache: Cache,
    pub pending_cache: Cache,
    /// The A2A agent (`omega run --http`; `None` under `omega serve`).
    pub a2a: Option<super::a2a::A2aService>,
}

/// The producer side: publishes views and history points.
pub struct Feed {
    view: watch::Sender<Arc<View>>,
    history: Arc<Mutex<VecDeque<HistoryPoint>>>,
    events: broadcast::Sender<StreamEvent>,
    /// No publication before this instant (see `PUBLISH_DUTY`).
    next: Option<Instant>,
}

impl HttpContext {
    /// A feed and the context its handlers read, starting from `initial`.
    pub fn new(
        initial: View,
        paths: ReportPaths,
        chain: ChainSource,
        mode: &'static str,
    ) -> (Feed, HttpContext) {
        let mut points = VecDeque::with_capacity(HISTORY);
        points.push_back(point(&initial.state));
        let history = Arc::new(Mutex::new(points));
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (view_tx, view_rx) = watch::channel(Arc::new(initial));
        let feed = Feed {
            view: view_tx,
            history: history.clone(),
            events: events.clone(),
            next: None,
        };
        let token = std::env::var("OMEGA_CONTROL_TOKEN")
            .ok()
            .filter(|t| !t.is_empty());
        let ctx = HttpContext {
            view: view_rx,
            history,
            events,
            paths,
            chain,
            token,
            mode,
            attestation_cache: Cache::default(),
            pending_cache: Cache::default(),
            a2a: None,
        };
        (feed, ctx)
    }

    pub fn current(&self) -> Arc<View> {
        self.view.borrow().clone()
    }
}

impl View {
    pub fn new(state: WorldState, checkpoint_hash: Option<String>) -> View {
        View {
            state,
            checkpoint_hash,
            updated_ms: crate::engine::clock::wall_ms(),
        }
    }
}

impl Feed {
    pub fn events(&self) -> broadcast::Sender<StreamEvent> {
        self.events.clone()
    }

    /// Publishes a new view and, when the cycle moved, a chart point.
    pub fn publish(&mut self, view: View) {
        let moved = view.state.cycle != self.view.borrow().state.cycle;
        if moved {
            self.record_point(&view.state);
        }
        self.view.send_replace(Arc::new(view));
    }

    /// Seeds the chart from the telemetry file's history (`omega serve`).
    pub fn seed_history(&mut self, points: impl IntoIterator<Item = HistoryPoint>) {
        let mut h = self.history.lock().expect("history");
        h.clear();
        for p in points {
            push_bounded(&mut h, p);
        }
    }

    /// The orchestrator's per-cycle hook for a live run.
    pub fn progress_hook(mut self) -> Box<dyn FnMut(&World) + Send> {
        Box::new(move |world| {
            let started = Instant::now();
            if self.next.is_some_and(|next| started < next) {
                return;
            }
            self.publish(View::new(world.state.clone(), None));
            let cost = started.elapsed();
            self.next = Some(Instant::now() + MIN_PUBLISH_INTERVAL.max(cost * PUBLISH_DUTY));
        })
    }

    fn record_point(&mut self, s: &WorldState) {
        push_bounded(&mut self.history.lock().expect("history"), point(s));
    }
}

fn point(s: &WorldState) -> HistoryPoint {
    HistoryPoint {
        cycle: s.cycle,
        time_ms: s.now_ms,
        token_per_energy: s.resources.token_per_energy,
        token_per_compute: s.resources.token_per_compute,
        utilisation: s.resources.utilisation(),
    }
}

fn push_bounded(h: &mut VecDeque<HistoryPoint>, p: HistoryPoint) {
    if h.len() == HISTORY {
        h.pop_front();
    }
    h.push_back(p);
}

/// The checkpoint's content hash, read from its header without parsing the state (a live run
/// rewrites the file every interval).
pub fn checkpoint_hash_on_disk(paths: &ReportPaths) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Header {
        content_hash: String,
    }
    let bytes = std::fs::read(&paths.state).ok()?;
    serde_json::from_slice::<Header>(&bytes)
        .ok()
        .map(|h| h.content_hash)
}

/// Loads the checkpoint as a view (for `omega serve`).
pub fn view_from_checkpoint(paths: &ReportPaths) -> eyre::Result<Option<View>> {
    Ok(checkpoint::load(&paths.state)?
        .map(|loaded| View::new(loaded.state, Some(loaded.hash.to_string()))))
}

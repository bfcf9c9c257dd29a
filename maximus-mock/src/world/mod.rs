//! The mock backend's domain state: what the endpoints read and change, kept
//! in one place so every answer agrees with every other.

mod consciousness;
mod governance;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::ids::IdGen;
use consciousness::{Arousal, ShutdownRecord};
use governance::{Decision, OperatorStats, Session};

pub(crate) use consciousness::EsgtEvent;
pub(crate) use governance::{ResolveError, Verdict};

/// How the governance event stream behaves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamConfig {
    /// Events sent before the stream ends.
    pub events: usize,
    /// Pause between two events.
    pub interval: Duration,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            events: 3,
            interval: Duration::from_millis(50),
        }
    }
}

/// Everything the endpoints remember between requests.
#[derive(Debug)]
pub(crate) struct World {
    pub ids: IdGen,
    pub started: Instant,
    pub arousal: Arousal,
    pub esgt_events: Vec<EsgtEvent>,
    pub shutdown: Option<ShutdownRecord>,
    pub queries_processed: u64,
    pub decisions: Vec<Decision>,
    pub sessions: HashMap<String, Session>,
    pub operators: HashMap<String, OperatorStats>,
    pub stream: StreamConfig,
}

impl World {
    /// A freshly booted backend: a few past ESGT events and pending decisions.
    pub(crate) fn new() -> Self {
        let mut world = Self {
            ids: IdGen::from_clock(),
            started: Instant::now(),
            arousal: Arousal::default(),
            esgt_events: Vec::new(),
            shutdown: None,
            queries_processed: 0,
            decisions: Vec::new(),
            sessions: HashMap::new(),
            operators: HashMap::new(),
            stream: StreamConfig::default(),
        };
        world.seed_esgt_events();
        world.seed_decisions();
        world
    }
}

/// Rounds to four decimals, as the backend reports its floats.
pub(crate) fn round(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

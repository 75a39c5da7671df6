//! Fault injection for the no-abort tests: arms one code path to panic once,
//! so a test can show that a panic there reaches JavaScript as an error
//! rather than aborting Node. Only the hidden `__forcePanic` binding arms it;
//! unarmed, a site costs one relaxed atomic load.

use std::sync::atomic::{AtomicU8, Ordering};

/// The code paths a panic can take to the JavaScript boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Site {
    /// A synchronous call guarded only by napi's `catch_unwind`.
    SyncCall = 1,
    /// An `AsyncTask` computing on the libuv pool.
    Task = 2,
    /// An analysis phase on the second thread of `Snapshot::analyze`.
    PhaseThread = 3,
    /// The push parser, as a snapshot stream's `write` drives it.
    Parser = 4,
    /// A tracker call while it holds its log's lock.
    Tracker = 5,
    /// The parser's second thread, reading part of a large integer array.
    ParserThread = 6,
}

impl Site {
    pub fn from_name(name: &str) -> Option<Site> {
        Some(match name {
            "sync-call" => Site::SyncCall,
            "task" => Site::Task,
            "phase-thread" => Site::PhaseThread,
            "parser" => Site::Parser,
            "tracker" => Site::Tracker,
            "parser-thread" => Site::ParserThread,
            _ => return None,
        })
    }
}

const UNARMED: u8 = 0;
static ARMED: AtomicU8 = AtomicU8::new(UNARMED);

/// Makes the next pass through `site` panic, once.
pub fn arm(site: Site) {
    ARMED.store(site as u8, Ordering::Relaxed);
}

/// Panics if `site` is armed, disarming it first so that the next call
/// through the same path runs normally.
#[inline]
pub fn inject(site: Site) {
    if ARMED.load(Ordering::Relaxed) == site as u8
        && ARMED
            .compare_exchange(site as u8, UNARMED, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        panic!("fault injected at {site:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_armed_site_panics_once_and_others_never() {
        inject(Site::Tracker);
        arm(Site::Tracker);
        inject(Site::Parser);
        let first = std::panic::catch_unwind(|| inject(Site::Tracker));
        assert!(first.is_err());
        let second = std::panic::catch_unwind(|| inject(Site::Tracker));
        assert!(second.is_ok());
        assert_eq!(Site::from_name("phase-thread"), Some(Site::PhaseThread));
        assert_eq!(Site::from_name("nowhere"), None);
    }
}

//! Live timers of one thread: kind, delay, age, fires, creation site and an
//! optional owner whose collection turns a running interval into a finding.
//!
//! Ids are the caller's (Node's async ids), so a numeric timer id passed to
//! `clearTimeout` finds its record without a second map.
//!
//! The facade does not call in per timer: it writes each creation, fire and
//! clear as a record into a journal that this registry owns and JS sees as a
//! Float64Array, and hands over the count written when the journal is full
//! or before anything reads the registry.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Timer ids are Node's async ids, counted up from 1 by Node itself, not
/// chosen by an adversary: a multiplicative hash spreads them, and SipHash
/// was the largest cost of applying the journal.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The journal starts with the number of records written (kept here, not
/// in the facade, so two copies of the facade on one thread, as a test
/// runner's module registries make, append to one journal instead of
/// overwriting each other). A record is `[op, id, delay ms, created on the
/// loop clock ms, the facade's slot for the timer object]`.
pub const RECORD: usize = 5;
pub const JOURNAL_RECORDS: usize = 1024;
/// Index of the first record.
pub const HEADER: usize = 1;
/// `op` of a creation the facade blanked because the timer ended before
/// the journal was applied; such a record is skipped.
pub const ANNULLED: f64 = 0.0;
/// `op` of a creation is `ADD + kind` (0 timeout, 1 interval, 2 immediate).
pub const ADD: f64 = 1.0;
pub const FIRE: f64 = 4.0;
pub const REMOVE: f64 = 5.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKind {
    Timeout,
    Interval,
    Immediate,
}

impl TimerKind {
    pub fn from_u32(k: u32) -> Option<TimerKind> {
        match k {
            0 => Some(TimerKind::Timeout),
            1 => Some(TimerKind::Interval),
            2 => Some(TimerKind::Immediate),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TimerKind::Timeout => "timeout",
            TimerKind::Interval => "interval",
            TimerKind::Immediate => "immediate",
        }
    }
}

struct Timer {
    kind: TimerKind,
    delay_ms: f64,
    created: Instant,
    fired: u64,
    site: Option<Arc<str>>,
    owner: Option<u64>,
    outlived: bool,
    /// Where the facade holds the timer object.
    slot: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimerInfo {
    pub id: u64,
    pub kind: TimerKind,
    pub delay_ms: f64,
    pub age_ms: f64,
    pub fired: u64,
    pub site: Option<String>,
    pub has_owner: bool,
    pub outlived_owner: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SiteGroup {
    pub site: Option<String>,
    pub count: u64,
    pub ids: Vec<u64>,
}

pub struct TimerRegistry {
    timers: HashMap<u64, Timer, BuildHasherDefault<IdHasher>>,
    /// Each site text once, shared by its timers and dropped with the last
    /// of them: code loaded under ever-new names (eval, vm, cache-busting
    /// URLs) must not make this table grow for the life of the thread.
    sites: HashSet<Arc<str>>,
    /// Written by JS between calls, hence `Cell`; never moved or freed
    /// while the registry lives.
    journal: Box<[Cell<f64>]>,
}

impl Default for TimerRegistry {
    fn default() -> Self {
        TimerRegistry {
            timers: HashMap::default(),
            sites: HashSet::new(),
            journal: (0..HEADER + JOURNAL_RECORDS * RECORD)
                .map(|_| Cell::new(0.0))
                .collect(),
        }
    }
}

impl TimerRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Start and length (in f64) of the journal, for JS to map.
    pub fn journal(&self) -> (*mut f64, usize) {
        (self.journal.as_ptr() as *mut f64, self.journal.len())
    }

    /// Applies the records written and empties the journal. Creation times
    /// are on the event loop's clock (Node's `_idleStart`), which reads
    /// `loop_now` at this moment; NaN means "just now" (immediates, which
    /// live less than a loop turn).
    pub fn apply_journal(&mut self, loop_now: f64) {
        let now = Instant::now();
        let n = self.journal[0].get();
        self.journal[0].set(0.0);
        let n = if n > 0.0 {
            (n as usize).min(JOURNAL_RECORDS)
        } else {
            0
        };
        for r in 0..n {
            let f = |i: usize| self.journal[HEADER + r * RECORD + i].get();
            let (op, id, delay, created, slot) = (f(0), f(1), f(2), f(3), f(4));
            if !(id >= 0.0 && id.fract() == 0.0) {
                continue;
            }
            let id = id as u64;
            if op == ANNULLED {
                continue;
            }
            if op == FIRE {
                self.fire(id);
            } else if op == REMOVE {
                self.remove(id);
            } else if let Some(kind) = TimerKind::from_u32((op - ADD) as u32).filter(|_| op >= ADD)
            {
                let ago = loop_now - created;
                let created = if ago > 0.0 && ago.is_finite() {
                    now.checked_sub(Duration::from_secs_f64(ago / 1000.0))
                        .unwrap_or(now)
                } else {
                    now
                };
                let delay = if delay.is_finite() { delay } else { 0.0 };
                let slot = (slot >= 0.0 && slot <= f64::from(u32::MAX)).then_some(slot as u32);
                self.add_at(id, kind, delay, created, slot);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.timers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.timers.is_empty()
    }

    pub fn add(&mut self, id: u64, kind: TimerKind, delay_ms: f64) {
        self.add_at(id, kind, delay_ms, Instant::now(), None);
    }

    fn add_at(
        &mut self,
        id: u64,
        kind: TimerKind,
        delay_ms: f64,
        created: Instant,
        slot: Option<u32>,
    ) {
        let replaced = self.timers.insert(
            id,
            Timer {
                kind,
                delay_ms,
                created,
                fired: 0,
                site: None,
                owner: None,
                outlived: false,
                slot,
            },
        );
        if let Some(old) = replaced {
            self.release(old.site);
        }
    }

    /// Forgets a timer's hold on its site, and the site with its last timer.
    fn release(&mut self, site: Option<Arc<str>>) {
        // Two holders left: the table and this timer.
        if let Some(site) = site.filter(|s| Arc::strong_count(s) == 2) {
            self.sites.remove(&*site);
        }
    }

    fn drop_timer(&mut self, id: u64) -> bool {
        match self.timers.remove(&id) {
            Some(t) => {
                self.release(t.site);
                true
            }
            None => false,
        }
    }

    /// Distinct sites held.
    pub fn site_count(&self) -> usize {
        self.sites.len()
    }

    /// The facade's slot of a live timer, for `clearTimeout(numericId)`.
    pub fn slot_of(&self, id: u64) -> Option<u32> {
        self.timers.get(&id).and_then(|t| t.slot)
    }

    /// Counts a fire. A timeout or immediate is done after it fires, so its
    /// record goes (a later `refresh()` adds it back).
    pub fn fire(&mut self, id: u64) {
        let done = match self.timers.get_mut(&id) {
            Some(t) => {
                t.fired += 1;
                t.kind != TimerKind::Interval
            }
            None => false,
        };
        if done {
            self.drop_timer(id);
        }
    }

    pub fn remove(&mut self, id: u64) -> bool {
        self.drop_timer(id)
    }

    pub fn contains(&self, id: u64) -> bool {
        self.timers.contains_key(&id)
    }

    pub fn set_site(&mut self, id: u64, site: &str) {
        if !self.timers.contains_key(&id) {
            return;
        }
        let shared = match self.sites.get(site) {
            Some(s) => s.clone(),
            None => {
                let s: Arc<str> = site.into();
                self.sites.insert(s.clone());
                s
            }
        };
        let old = self
            .timers
            .get_mut(&id)
            .and_then(|t| t.site.replace(shared));
        self.release(old);
    }

    pub fn set_owner(&mut self, id: u64, owner: u64) -> bool {
        match self.timers.get_mut(&id) {
            Some(t) => {
                t.owner = Some(owner);
                t.outlived = false;
                true
            }
            None => false,
        }
    }

    /// The owner was garbage-collected: every timer of it still registered
    /// outlived it. Returns those timers.
    pub fn owner_collected(&mut self, owner: u64) -> Vec<TimerInfo> {
        let now = Instant::now();
        let mut ids = Vec::new();
        for (id, t) in self.timers.iter_mut() {
            if t.owner == Some(owner) {
                t.outlived = true;
                ids.push(*id);
            }
        }
        ids.sort_unstable();
        ids.iter().filter_map(|id| self.info(*id, now)).collect()
    }

    fn info(&self, id: u64, now: Instant) -> Option<TimerInfo> {
        let t = self.timers.get(&id)?;
        Some(TimerInfo {
            id,
            kind: t.kind,
            delay_ms: t.delay_ms,
            age_ms: now.duration_since(t.created).as_secs_f64() * 1000.0,
            fired: t.fired,
            site: t.site.as_deref().map(String::from),
            has_owner: t.owner.is_some(),
            outlived_owner: t.outlived,
        })
    }

    /// Every live timer, oldest first.
    pub fn active(&self) -> Vec<TimerInfo> {
        let now = Instant::now();
        let mut ids: Vec<u64> = self.timers.keys().copied().collect();
        ids.sort_unstable();
        let mut out: Vec<TimerInfo> = ids.iter().filter_map(|id| self.info(*id, now)).collect();
        out.sort_by(|a, b| b.age_ms.total_cmp(&a.age_ms).then(a.id.cmp(&b.id)));
        out
    }

    /// Live timers grouped by creation site, largest group first.
    pub fn by_site(&self) -> Vec<SiteGroup> {
        let mut groups: HashMap<Option<&str>, Vec<u64>> = HashMap::new();
        for (id, t) in &self.timers {
            groups.entry(t.site.as_deref()).or_default().push(*id);
        }
        let mut out: Vec<SiteGroup> = groups
            .into_iter()
            .map(|(site, mut ids)| {
                ids.sort_unstable();
                SiteGroup {
                    site: site.map(String::from),
                    count: ids.len() as u64,
                    ids,
                }
            })
            .collect();
        out.sort_by(|a, b| b.count.cmp(&a.count).then(a.site.cmp(&b.site)));
        out
    }

    /// Ids matching every given filter: the site contains `site`, the owner
    /// is `owner`.
    pub fn select(&self, site: Option<&str>, owner: Option<u64>) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .timers
            .iter()
            .filter(|(_, t)| owner.is_none_or(|o| t.owner == Some(o)))
            .filter(|(_, t)| {
                site.is_none_or(|s| t.site.as_deref().is_some_and(|name| name.contains(s)))
            })
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_leave_after_firing_intervals_stay_and_count() {
        let mut r = TimerRegistry::new();
        r.add(1, TimerKind::Timeout, 10.0);
        r.add(2, TimerKind::Interval, 5.0);
        r.add(3, TimerKind::Immediate, 0.0);
        r.fire(1);
        r.fire(2);
        r.fire(2);
        r.fire(3);
        let a = r.active();
        assert_eq!(a.len(), 1);
        assert_eq!(
            (a[0].id, a[0].kind, a[0].fired),
            (2, TimerKind::Interval, 2)
        );
        assert!(r.remove(2));
        assert!(!r.remove(2));
        assert!(r.is_empty());
    }

    /// Appends a record the way lib/timers.js does.
    fn record(r: &TimerRegistry, rec: [f64; 4]) {
        let (ptr, len) = r.journal();
        // SAFETY: index 0 and the record are in bounds (checked), and are
        // written the way JS writes the journal between calls.
        unsafe {
            let i = ptr.read() as usize;
            assert!(HEADER + (i + 1) * RECORD <= len);
            for (j, v) in [rec[0], rec[1], rec[2], rec[3], i as f64]
                .into_iter()
                .enumerate()
            {
                ptr.add(HEADER + i * RECORD + j).write(v);
            }
            ptr.write((i + 1) as f64);
        }
    }

    #[test]
    fn the_journal_replays_creations_fires_and_clears_in_order() {
        let mut r = TimerRegistry::new();
        record(&r, [ADD + 1.0, 7.0, 50.0, 1000.0]); // interval made at loop time 1000
        record(&r, [ADD, 8.0, 10.0, 1900.0]);
        record(&r, [ADD + 2.0, 9.0, 0.0, f64::NAN]);
        record(&r, [FIRE, 7.0, 0.0, 0.0]);
        record(&r, [FIRE, 7.0, 0.0, 0.0]);
        record(&r, [FIRE, 9.0, 0.0, 0.0]);
        record(&r, [REMOVE, 8.0, 0.0, 0.0]);
        record(&r, [ADD, 1.5, 0.0, 0.0]); // not an id: skipped
        record(&r, [REMOVE, 99.0, 0.0, 0.0]); // not here: nothing to do
        record(&r, [ANNULLED, 10.0, 10.0, 1900.0]); // ended before this apply
        r.apply_journal(2000.0);
        let a = r.active();
        assert_eq!(a.len(), 1);
        assert_eq!(
            (a[0].id, a[0].kind, a[0].fired, a[0].delay_ms),
            (7, TimerKind::Interval, 2, 50.0)
        );
        // Made 1000 ms of loop time before the journal was applied.
        assert!(
            a[0].age_ms >= 1000.0 && a[0].age_ms < 1500.0,
            "{}",
            a[0].age_ms
        );
        assert_eq!((r.slot_of(7), r.slot_of(8)), (Some(0), None));
        record(&r, [REMOVE, 7.0, 0.0, 0.0]);
        r.apply_journal(2000.0);
        assert!(r.is_empty());
    }

    #[test]
    fn owner_collection_marks_only_that_owners_timers() {
        let mut r = TimerRegistry::new();
        r.add(1, TimerKind::Interval, 1000.0);
        r.add(2, TimerKind::Interval, 1000.0);
        r.add(3, TimerKind::Interval, 1000.0);
        assert!(r.set_owner(1, 7));
        assert!(r.set_owner(2, 8));
        assert!(!r.set_owner(99, 7));
        r.remove(2);
        let out = r.owner_collected(7);
        assert_eq!(out.len(), 1);
        assert!(out[0].outlived_owner);
        assert!(r.owner_collected(8).is_empty());
        let flags: Vec<(u64, bool)> = r
            .active()
            .iter()
            .map(|t| (t.id, t.outlived_owner))
            .collect();
        assert!(flags.contains(&(1, true)) && flags.contains(&(3, false)));
    }

    #[test]
    fn sites_group_and_filter() {
        let mut r = TimerRegistry::new();
        for id in 1..=3 {
            r.add(id, TimerKind::Interval, 1.0);
            r.set_site(id, "poll.js:4:17");
        }
        r.add(4, TimerKind::Timeout, 1.0);
        r.set_site(4, "other.js:1:1");
        r.add(5, TimerKind::Timeout, 1.0);
        r.set_owner(5, 1);
        let g = r.by_site();
        assert_eq!(g[0].site.as_deref(), Some("poll.js:4:17"));
        assert_eq!(g[0].ids, vec![1, 2, 3]);
        assert_eq!(g.len(), 3);
        assert_eq!(r.select(Some("poll.js"), None), vec![1, 2, 3]);
        assert_eq!(r.select(None, Some(1)), vec![5]);
        assert_eq!(r.select(Some("poll.js"), Some(1)), Vec::<u64>::new());
        assert_eq!(r.select(None, None).len(), 5);
    }

    #[test]
    fn a_site_is_held_only_while_one_of_its_timers_is() {
        let mut r = TimerRegistry::new();
        for id in 0..1000u64 {
            r.add(id, TimerKind::Timeout, 1.0);
            r.set_site(id, &format!("gen-{}.js:1:1", id % 100));
        }
        assert_eq!(r.site_count(), 100);
        // Fired, removed, re-added (refresh) and re-sited timers all let go.
        for id in 0..1000u64 {
            match id % 4 {
                0 => r.fire(id),
                1 => assert!(r.remove(id)),
                2 => r.add(id, TimerKind::Timeout, 1.0),
                _ => r.set_site(id, "one.js:2:2"),
            }
        }
        // Sites of ids = 3 mod 4 moved to one.js; ids = 2 mod 4 lost theirs.
        assert_eq!(r.site_count(), 1);
        assert_eq!(r.by_site().len(), 2);
        for id in 0..1000u64 {
            r.remove(id);
        }
        assert_eq!(r.site_count(), 0);
        // A site for a timer that is not registered is not kept.
        r.set_site(5000, "nobody.js:1:1");
        assert_eq!(r.site_count(), 0);
    }
}

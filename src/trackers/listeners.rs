//! Listener counts per (emitter, event), and the growth test that tells a leak
//! from churn.
//!
//! A count that goes up and comes back down (100 `once` listeners added, then
//! emitted) is churn; a count whose *floor* keeps rising is a leak. So each
//! key remembers the lowest count seen since the previous observation (its
//! trough); an observation compares that trough with the previous one, and
//! growth is reported only after `samples` rising floors in a row with the
//! count at or above the emitter's threshold.
//!
//! The counters themselves live in JS, on the emitter: an `on()` that called
//! into Rust would cost several times the `on()`. The facade hands this
//! registry the counters of the keys it watches as rows of `ROW` numbers
//! when it observes or reports, and this registry keeps what outlives one
//! call: names, floors, the rising streak, warnings and add sites.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A row of counters as the facade sends them, in this order.
pub const ROW_KEY: usize = 0;
pub const ROW_COUNT: usize = 1;
pub const ROW_PEAK: usize = 2;
pub const ROW_ADDS: usize = 3;
pub const ROW_REMOVES: usize = 4;
/// Lowest count since the last observation.
pub const ROW_TROUGH: usize = 5;
/// Written back by `observe`: an add that brings the count to at least this
/// is a candidate for add-site sampling.
pub const ROW_ARM: usize = 6;
pub const ROW: usize = 7;

/// Distinct add sites kept per key; further sites are counted as "other".
const MAX_SITES: usize = 32;
const OTHER_SITES: &str = "(other sites)";

pub struct EmitterInfo {
    name: Arc<str>,
    threshold: u64,
    keys: Vec<u32>,
}

#[derive(Default, Clone, Copy)]
struct SiteTally {
    /// Stacks captured at this site.
    samples: u64,
    /// Adds they stand for: each sample counts the adds since the previous one.
    adds: u64,
    /// The part of `adds` whose sampled listener is still attached: what a
    /// leak keeps and churn gives back. A request handler that adds and
    /// removes a listener adds as often as one that leaks, so adds alone
    /// cannot tell them apart.
    attached: u64,
}

pub struct KeyState {
    emitter: u32,
    event: Arc<str>,
    count: u64,
    peak: u64,
    adds: u64,
    removes: u64,
    floor: u64,
    rises: u32,
    warned_at: Option<u64>,
    sites: HashMap<String, SiteTally>,
}

impl KeyState {
    fn attached(&self) -> u64 {
        self.sites.values().map(|s| s.attached).sum()
    }

    fn sampled(&self) -> u64 {
        self.sites.values().map(|t| t.samples).sum()
    }

    /// The site whose sampled listeners stay attached the most (by adds when
    /// none stays).
    fn top_site(&self) -> Option<(&str, SiteTally)> {
        self.sites
            .iter()
            .max_by(|a, b| {
                (a.1.attached, a.1.adds)
                    .cmp(&(b.1.attached, b.1.adds))
                    .then_with(|| b.0.cmp(a.0))
            })
            .map(|(s, t)| (s.as_str(), *t))
    }
}

/// One detection, returned by `observe` so the caller can warn.
#[derive(Debug, Clone, PartialEq)]
pub struct Growth {
    pub emitter: String,
    pub event: String,
    pub count: u64,
    pub peak: u64,
    pub top_site: Option<String>,
    /// Listeners still attached that the top site's samples stand for.
    pub top_site_count: u64,
    /// The top site's part of the sampled listeners still attached, 0 to 1.
    pub top_site_share: f64,
    /// Stacks captured for this key.
    pub samples: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SiteCount {
    pub site: String,
    /// Listeners from this site still attached, as its samples stand for
    /// them (an estimate once sampling thins out).
    pub count: u64,
    /// Adds from this site, estimated the same way.
    pub adds: u64,
    pub samples: u64,
    /// This site's part of the sampled listeners still attached.
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventReport {
    pub event: String,
    pub count: u64,
    pub peak: u64,
    pub adds: u64,
    pub removes: u64,
    /// Consecutive observations whose floor rose.
    pub rising: u32,
    pub warned: bool,
    pub sites: Vec<SiteCount>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EmitterReport {
    pub id: u32,
    pub name: String,
    pub threshold: u64,
    pub events: Vec<EventReport>,
}

pub struct ListenerRegistry {
    samples: u32,
    next_emitter: u32,
    next_key: u32,
    emitters: HashMap<u32, EmitterInfo>,
    keys: HashMap<u32, KeyState>,
    /// Emitter and event names, each held once: a server registers the
    /// same few names for every emitter it watches.
    names: HashSet<Arc<str>>,
    /// Emitters forgotten since the tables were last shrunk.
    forgotten: usize,
}

/// Emitters dropped between two shrinks of the tables, at least.
const SHRINK_FLOOR: usize = 4096;

/// The count at which adds start to be sampled for a key that has not risen.
fn arm_level(threshold: u64) -> u64 {
    (threshold / 2).max(1)
}

fn next_id(next: &mut u32) -> u32 {
    let id = *next;
    *next = next.wrapping_add(1).max(1);
    id
}

impl ListenerRegistry {
    pub fn new(samples: u32) -> Self {
        ListenerRegistry {
            samples: samples.max(1),
            next_emitter: 1,
            next_key: 1,
            emitters: HashMap::new(),
            keys: HashMap::new(),
            names: HashSet::new(),
            forgotten: 0,
        }
    }

    fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(n) = self.names.get(name) {
            return n.clone();
        }
        let n: Arc<str> = name.into();
        self.names.insert(n.clone());
        n
    }

    /// Drops a name with its last user (the table and one holder are left).
    fn release(&mut self, name: Arc<str>) {
        if Arc::strong_count(&name) == 2 {
            self.names.remove(&*name);
        }
    }

    pub fn set_samples(&mut self, samples: u32) {
        self.samples = samples.max(1);
    }

    pub fn register(&mut self, name: &str, threshold: u64) -> u32 {
        let id = next_id(&mut self.next_emitter);
        let name = self.intern(name);
        self.emitters.insert(
            id,
            EmitterInfo {
                name,
                threshold: threshold.max(1),
                keys: Vec::new(),
            },
        );
        id
    }

    pub fn emitter_count(&self) -> usize {
        self.emitters.len()
    }

    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// A key for an event of a registered emitter, whose count was `floor`
    /// when the facade started counting it: the floor its first observation
    /// window is compared with. None when the emitter is gone.
    pub fn key(&mut self, emitter: u32, event: &str, floor: u64) -> Option<u32> {
        if !self.emitters.contains_key(&emitter) {
            return None;
        }
        let event = self.intern(event);
        let id = next_id(&mut self.next_key);
        self.emitters.get_mut(&emitter)?.keys.push(id);
        self.keys.insert(
            id,
            KeyState {
                emitter,
                event,
                count: floor,
                peak: floor,
                adds: 0,
                removes: 0,
                floor,
                rises: 0,
                warned_at: None,
                sites: HashMap::new(),
            },
        );
        Some(id)
    }

    /// Records a sampled add at `site`, standing for `adds` adds.
    pub fn add_site(&mut self, key: u32, site: &str, adds: u64) {
        let Some(k) = self.keys.get_mut(&key) else {
            return;
        };
        let tally = if let Some(t) = k.sites.get_mut(site) {
            t
        } else if k.sites.len() < MAX_SITES {
            k.sites.entry(site.to_string()).or_default()
        } else {
            k.sites.entry(OTHER_SITES.to_string()).or_default()
        };
        tally.samples += 1;
        tally.adds += adds.max(1);
        tally.attached += adds.max(1);
    }

    /// A sampled listener from `site` is no longer attached.
    pub fn detach_site(&mut self, key: u32, site: &str, adds: u64) {
        let Some(k) = self.keys.get_mut(&key) else {
            return;
        };
        let name = if k.sites.contains_key(site) {
            site
        } else {
            OTHER_SITES
        };
        if let Some(t) = k.sites.get_mut(name) {
            t.attached = t.attached.saturating_sub(adds.max(1));
        }
    }

    /// Drops a collected or untracked emitter. Once at least `SHRINK_FLOOR`
    /// emitters, and three times as many as remain, were dropped since the
    /// last time, the tables shrink and the allocator returns freed memory to
    /// the system: millions of watched emitters that came and went must not
    /// leave their high-water mark behind, and the heap walk this takes is
    /// paid once per thousands of emitters.
    pub fn forget(&mut self, emitter: u32) {
        let Some(info) = self.emitters.remove(&emitter) else {
            return;
        };
        for k in info.keys {
            if let Some(key) = self.keys.remove(&k) {
                self.release(key.event);
            }
        }
        self.release(info.name);
        self.forgotten += 1;
        if self.forgotten >= SHRINK_FLOOR && self.forgotten >= 3 * self.emitters.len() {
            self.emitters.shrink_to_fit();
            self.keys.shrink_to_fit();
            self.names.shrink_to_fit();
            self.forgotten = 0;
            super::release_free_memory();
        }
    }

    /// Takes the counters of the rows; rows of unknown keys are skipped.
    pub fn update(&mut self, rows: &[f64]) {
        for row in rows.chunks_exact(ROW) {
            let Some(k) = self.keys.get_mut(&(row[ROW_KEY] as u32)) else {
                continue;
            };
            let n = |i: usize| {
                let v = row[i];
                if v.is_finite() && v > 0.0 {
                    v as u64
                } else {
                    0
                }
            };
            k.count = n(ROW_COUNT);
            k.peak = n(ROW_PEAK).max(k.count);
            k.adds = n(ROW_ADDS);
            k.removes = n(ROW_REMOVES);
        }
    }

    /// Closes one observation window on the keys of `rows` and returns those
    /// that crossed into growth; writes each row's new arm level back. A
    /// key warns again only once its count doubles.
    pub fn observe(&mut self, rows: &mut [f64]) -> Vec<Growth> {
        self.update(rows);
        let mut found = Vec::new();
        for row in rows.chunks_exact_mut(ROW) {
            let id = row[ROW_KEY] as u32;
            let Some(k) = self.keys.get_mut(&id) else {
                continue;
            };
            let Some(info) = self.emitters.get(&k.emitter) else {
                continue;
            };
            let trough = row[ROW_TROUGH];
            let floor = if trough.is_finite() && trough > 0.0 {
                (trough as u64).min(k.count)
            } else {
                0
            };
            if floor > k.floor {
                k.rises += 1;
            } else if floor < k.floor {
                k.rises = 0;
            }
            k.floor = floor;
            // A rising floor makes every add a candidate for sampling.
            row[ROW_ARM] = if k.rises > 0 {
                0.0
            } else {
                arm_level(info.threshold) as f64
            };
            let rearmed = k.warned_at.is_none_or(|w| k.count >= w.saturating_mul(2));
            if k.rises >= self.samples && k.count >= info.threshold && rearmed {
                k.warned_at = Some(k.count);
                let total = k.attached();
                let top = k.top_site();
                found.push(Growth {
                    emitter: info.name.to_string(),
                    event: k.event.to_string(),
                    count: k.count,
                    peak: k.peak,
                    top_site: top.map(|(s, _)| s.to_string()),
                    top_site_count: top.map_or(0, |(_, t)| t.attached),
                    top_site_share: top
                        .map_or(0.0, |(_, t)| t.attached as f64 / total.max(1) as f64),
                    samples: k.sampled(),
                });
            }
        }
        found.sort_by_key(|g| std::cmp::Reverse(g.count));
        found
    }

    pub fn report(&self) -> Vec<EmitterReport> {
        let mut out: Vec<EmitterReport> = self
            .emitters
            .iter()
            .map(|(id, info)| {
                let mut events: Vec<EventReport> = info
                    .keys
                    .iter()
                    .filter_map(|id| self.keys.get(id))
                    .map(|k| {
                        let total = k.attached().max(1) as f64;
                        let mut sites: Vec<SiteCount> = k
                            .sites
                            .iter()
                            .map(|(s, t)| SiteCount {
                                site: s.clone(),
                                count: t.attached,
                                adds: t.adds,
                                samples: t.samples,
                                share: t.attached as f64 / total,
                            })
                            .collect();
                        sites.sort_by(|a, b| {
                            (b.count, b.adds)
                                .cmp(&(a.count, a.adds))
                                .then(a.site.cmp(&b.site))
                        });
                        EventReport {
                            event: k.event.to_string(),
                            count: k.count,
                            peak: k.peak,
                            adds: k.adds,
                            removes: k.removes,
                            rising: k.rises,
                            warned: k.warned_at.is_some(),
                            sites,
                        }
                    })
                    .collect();
                events.sort_by(|a, b| b.count.cmp(&a.count).then(a.event.cmp(&b.event)));
                EmitterReport {
                    id: *id,
                    name: info.name.to_string(),
                    threshold: info.threshold,
                    events,
                }
            })
            .collect();
        out.sort_by_key(|e| e.id);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The facade's counters of one key, as lib/listeners.js keeps them.
    struct Counters {
        key: u32,
        count: u64,
        peak: u64,
        adds: u64,
        removes: u64,
        trough: u64,
        arm: u64,
    }

    impl Counters {
        fn new(r: &mut ListenerRegistry, emitter: u32, event: &str, initial: u64) -> Counters {
            let threshold = r.emitters[&emitter].threshold;
            Counters {
                key: r.key(emitter, event, initial).unwrap(),
                count: initial,
                peak: initial,
                adds: 0,
                removes: 0,
                trough: initial,
                arm: arm_level(threshold),
            }
        }

        /// Sets the count; true when the add would be a sampling candidate.
        fn set(&mut self, n: u64) -> bool {
            let old = self.count;
            self.count = n;
            if n > old {
                self.adds += n - old;
                self.peak = self.peak.max(n);
                return n >= self.arm;
            }
            self.removes += old - n;
            self.trough = self.trough.min(n);
            false
        }

        fn add(&mut self) -> bool {
            self.set(self.count + 1)
        }

        fn remove(&mut self) {
            self.set(self.count.saturating_sub(1));
        }

        fn row(&self) -> [f64; ROW] {
            [
                self.key as f64,
                self.count as f64,
                self.peak as f64,
                self.adds as f64,
                self.removes as f64,
                self.trough as f64,
                self.arm as f64,
            ]
        }

        fn observe(&mut self, r: &mut ListenerRegistry) -> Vec<Growth> {
            let mut row = self.row();
            let found = r.observe(&mut row);
            self.arm = row[ROW_ARM] as u64;
            self.trough = self.count;
            found
        }
    }

    #[test]
    fn once_churn_returning_to_baseline_never_warns() {
        let mut r = ListenerRegistry::new(3);
        let e = r.register("bus", 10);
        let mut k = Counters::new(&mut r, e, "data", 0);
        for _ in 0..50 {
            for _ in 0..100 {
                k.add();
            }
            for _ in 0..100 {
                k.remove();
            }
            assert!(k.observe(&mut r).is_empty());
        }
        let rep = &r.report()[0].events[0];
        assert_eq!(
            (rep.count, rep.peak, rep.adds, rep.removes),
            (0, 100, 5000, 5000)
        );
    }

    #[test]
    fn rising_floor_warns_once_then_again_after_doubling() {
        let mut r = ListenerRegistry::new(3);
        let e = r.register("bus", 10);
        let mut k = Counters::new(&mut r, e, "data", 0);
        let mut warnings = Vec::new();
        for round in 1..=8u64 {
            for _ in 0..5 {
                if k.add() {
                    r.add_site(k.key, "app.js:3:5", 1);
                }
            }
            for g in k.observe(&mut r) {
                warnings.push((round, g));
            }
        }
        // A window's floor is its lowest count, here the count it started
        // with: floors 0, 5, 10, 15, so the third rise comes in round 4
        // (count 20); the next warning waits for the count to double (round 8).
        assert_eq!(warnings.len(), 2);
        assert_eq!(warnings[0].0, 4);
        assert_eq!(warnings[0].1.count, 20);
        assert_eq!(warnings[0].1.top_site.as_deref(), Some("app.js:3:5"));
        assert_eq!(warnings[0].1.top_site_share, 1.0);
        assert_eq!(warnings[1].0, 8);
    }

    #[test]
    fn a_drop_resets_the_streak_and_disarms() {
        let mut r = ListenerRegistry::new(3);
        let e = r.register("bus", 10);
        let mut k = Counters::new(&mut r, e, "x", 0);
        for _ in 0..3 {
            k.add();
            assert!(k.observe(&mut r).is_empty());
        }
        // Floors 0, 1, 2: two rises, and a rising floor arms every add.
        assert_eq!(r.report()[0].events[0].rising, 2);
        assert_eq!(k.arm, 0);
        for _ in 0..3 {
            k.remove();
        }
        assert!(k.observe(&mut r).is_empty());
        assert_eq!(r.report()[0].events[0].rising, 0);
        assert_eq!(k.arm, 5);
    }

    #[test]
    fn sites_are_weighted_by_the_adds_they_stand_for_and_capped() {
        let mut r = ListenerRegistry::new(3);
        let e = r.register("bus", 10);
        let mut k = Counters::new(&mut r, e, "x", 0);
        let asks: Vec<bool> = (0..6).map(|_| k.add()).collect();
        assert_eq!(asks, vec![false, false, false, false, true, true]);
        // One sample of the leak's site standing for 30 adds outweighs
        // three of another site standing for one each.
        r.add_site(k.key, "leak.js:1:1", 30);
        for _ in 0..3 {
            r.add_site(k.key, "ok.js:2:2", 1);
        }
        let sites = &r.report()[0].events[0].sites;
        assert_eq!(sites[0].site, "leak.js:1:1");
        assert_eq!(
            (sites[0].count, sites[0].adds, sites[0].samples),
            (30, 30, 1)
        );
        assert!((sites[0].share - 30.0 / 33.0).abs() < 1e-9);
        // A site whose sampled listeners all left is no longer counted as
        // attached, however many adds it made.
        for _ in 0..40 {
            r.add_site(k.key, "tidy.js:3:3", 1);
            r.detach_site(k.key, "tidy.js:3:3", 1);
        }
        let sites = &r.report()[0].events[0].sites;
        let tidy = sites.iter().find(|s| s.site == "tidy.js:3:3").unwrap();
        assert_eq!((tidy.count, tidy.adds, tidy.share), (0, 40, 0.0));
        assert_eq!(sites[0].site, "leak.js:1:1");
        r.forget(e);
        let e = r.register("bus", 10);
        let k = Counters::new(&mut r, e, "x", 0);
        for i in 0..40 {
            r.add_site(k.key, &format!("site{i}"), 1);
        }
        let sites = &r.report()[0].events[0].sites;
        assert_eq!(sites.len(), MAX_SITES + 1);
        let other = sites.iter().find(|s| s.site == OTHER_SITES).unwrap();
        assert_eq!(other.count, 8);
    }

    #[test]
    fn counters_arrive_with_rows_and_unknown_rows_are_skipped() {
        let mut r = ListenerRegistry::new(3);
        let e = r.register("target", 10);
        let mut k = Counters::new(&mut r, e, "abort", 2);
        k.set(5);
        k.set(1);
        let mut rows = [k.row(), [999.0, 7.0, 7.0, 7.0, 0.0, 7.0, 0.0]].concat();
        r.update(&rows);
        let rep = &r.report()[0].events[0];
        assert_eq!((rep.count, rep.peak, rep.adds, rep.removes), (1, 5, 3, 4));
        assert!(r.observe(&mut rows).is_empty());
        assert_eq!(rows[ROW + ROW_ARM], 0.0, "an unknown row is left alone");
    }

    #[test]
    fn names_are_held_once_and_tables_shrink_after_a_wave_of_emitters() {
        let mut r = ListenerRegistry::new(3);
        let ids: Vec<u32> = (0..20_000)
            .map(|_| {
                let e = r.register("Socket", 10);
                r.key(e, "data", 0);
                e
            })
            .collect();
        assert_eq!(r.names.len(), 2);
        let full = r.emitters.capacity();
        for e in &ids[..19_000] {
            r.forget(*e);
        }
        assert!(
            r.emitters.capacity() < full / 2,
            "{} of {full}",
            r.emitters.capacity()
        );
        assert_eq!((r.emitter_count(), r.key_count()), (1000, 1000));
        for e in &ids[19_000..] {
            r.forget(*e);
        }
        assert!(r.names.is_empty());
    }

    #[test]
    fn forget_drops_the_emitter_and_its_keys() {
        let mut r = ListenerRegistry::new(3);
        let e = r.register("bus", 10);
        let k = Counters::new(&mut r, e, "x", 0);
        r.add_site(k.key, "a.js:1:1", 1);
        r.forget(e);
        assert!(r.report().is_empty());
        assert_eq!(r.key_count(), 0);
        assert_eq!(r.key(e, "x", 0), None);
        r.add_site(k.key, "a.js:1:1", 1);
        assert_eq!(r.key_count(), 0);
    }
}

//! Listener counts per (emitter, event), and the growth test that tells a leak
//! from churn.
//!
//! A count that goes up and comes back down (100 `once` listeners added, then
//! emitted) is churn; a count whose *floor* keeps rising is a leak. So each
//! key remembers the lowest count seen since the previous observation (its
//! trough); an observation compares that trough with the previous one, and
//! growth is reported only after `samples` rising floors in a row with the
//! count at or above the emitter's threshold. Add sites are recorded only for
//! keys that look suspicious, because capturing a stack costs microseconds.
//!
//! The per-key counters live in `CellPages`: pages of plain f64 that the JS
//! facade maps as Float64Arrays and updates itself on every add and remove,
//! since a napi call per `on()` cost several times the `on()`. This registry
//! owns that memory and reads it when observing and reporting.

use super::cells::CellPages;
use std::collections::HashMap;

/// Counters per key, in this order.
pub const COUNT: usize = 0;
pub const PEAK: usize = 1;
pub const ADDS: usize = 2;
pub const REMOVES: usize = 3;
/// Lowest count since the last observation.
pub const TROUGH: usize = 4;
/// Written by the registry: an add that brings the count to at least this
/// captures its site.
pub const ARM: usize = 5;
pub const STRIDE: usize = 6;
/// Keys per page of counters.
pub const PAGE_KEYS: usize = 1024;

/// Distinct add sites kept per key; further sites are counted as "other".
const MAX_SITES: usize = 32;
const OTHER_SITES: &str = "(other sites)";

pub struct EmitterInfo {
    name: String,
    threshold: u64,
    keys: Vec<u32>,
}

pub struct KeyState {
    emitter: u32,
    event: String,
    floor: u64,
    rises: u32,
    warned_at: Option<u64>,
    sites: HashMap<String, u64>,
}

impl KeyState {
    fn top_site(&self) -> Option<(&str, u64)> {
        self.sites
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(s, n)| (s.as_str(), *n))
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
    pub top_site_count: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SiteCount {
    pub site: String,
    pub count: u64,
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
    emitters: HashMap<u32, EmitterInfo>,
    /// By key, which is also the key's counter slot.
    keys: HashMap<u32, KeyState>,
    counters: CellPages,
}

impl ListenerRegistry {
    pub fn new(samples: u32) -> Self {
        ListenerRegistry {
            samples: samples.max(1),
            next_emitter: 1,
            emitters: HashMap::new(),
            keys: HashMap::new(),
            counters: CellPages::new(STRIDE, PAGE_KEYS),
        }
    }

    pub fn set_samples(&mut self, samples: u32) {
        self.samples = samples.max(1);
    }

    pub fn register(&mut self, name: &str, threshold: u64) -> u32 {
        let id = self.next_emitter;
        self.next_emitter = self.next_emitter.wrapping_add(1).max(1);
        self.emitters.insert(
            id,
            EmitterInfo {
                name: name.to_string(),
                threshold: threshold.max(1),
                keys: Vec::new(),
            },
        );
        id
    }

    pub fn emitter_count(&self) -> usize {
        self.emitters.len()
    }

    pub fn counters(&self) -> &CellPages {
        &self.counters
    }

    /// Key for an event on an emitter, created with `initial` listeners
    /// already present (they count as the baseline, not as adds). The key
    /// is the index of its counters.
    pub fn key(&mut self, emitter: u32, event: &str, initial: u64) -> Option<u32> {
        let info = self.emitters.get(&emitter)?;
        if let Some(k) = info
            .keys
            .iter()
            .find(|k| self.keys.get(k).is_some_and(|s| s.event == event))
        {
            return Some(*k);
        }
        let arm = (info.threshold / 2).max(1) as f64;
        let id = self.counters.alloc();
        let c = &self.counters;
        for (field, v) in [
            (COUNT, initial as f64),
            (PEAK, initial as f64),
            (ADDS, 0.0),
            (REMOVES, 0.0),
            (TROUGH, initial as f64),
            (ARM, arm),
        ] {
            c.set(id, field, v);
        }
        self.emitters.get_mut(&emitter)?.keys.push(id);
        self.keys.insert(
            id,
            KeyState {
                emitter,
                event: event.to_string(),
                floor: initial,
                rises: 0,
                warned_at: None,
                sites: HashMap::new(),
            },
        );
        Some(id)
    }

    fn count(&self, key: u32) -> u64 {
        self.counters.get(key, COUNT) as u64
    }

    pub fn add_site(&mut self, key: u32, site: &str) {
        let Some(k) = self.keys.get_mut(&key) else {
            return;
        };
        if let Some(n) = k.sites.get_mut(site) {
            *n += 1;
        } else if k.sites.len() < MAX_SITES {
            k.sites.insert(site.to_string(), 1);
        } else {
            *k.sites.entry(OTHER_SITES.to_string()).or_insert(0) += 1;
        }
    }

    /// Drops the emitter; its counter slots go back to the free list, so
    /// the facade must not write them after this.
    pub fn forget(&mut self, emitter: u32) {
        if let Some(info) = self.emitters.remove(&emitter) {
            for k in info.keys {
                if self.keys.remove(&k).is_some() {
                    self.counters.free(k);
                }
            }
        }
    }

    /// Closes one observation window on every key and returns the keys that
    /// crossed into growth. A key warns again only once its count doubles.
    pub fn observe(&mut self) -> Vec<Growth> {
        let mut found = Vec::new();
        let c = &self.counters;
        for (id, k) in self.keys.iter_mut() {
            let count = c.get(*id, COUNT) as u64;
            let floor = c.get(*id, TROUGH) as u64;
            if floor > k.floor {
                k.rises += 1;
            } else if floor < k.floor {
                k.rises = 0;
            }
            k.floor = floor;
            c.set(*id, TROUGH, count as f64);
            let Some(info) = self.emitters.get(&k.emitter) else {
                continue;
            };
            // A rising floor makes every add suspicious.
            let arm = if k.rises > 0 {
                0
            } else {
                (info.threshold / 2).max(1)
            };
            c.set(*id, ARM, arm as f64);
            let rearmed = k.warned_at.is_none_or(|w| count >= w.saturating_mul(2));
            if k.rises >= self.samples && count >= info.threshold && rearmed {
                k.warned_at = Some(count);
                let top = k.top_site();
                found.push(Growth {
                    emitter: info.name.clone(),
                    event: k.event.clone(),
                    count,
                    peak: c.get(*id, PEAK) as u64,
                    top_site: top.map(|(s, _)| s.to_string()),
                    top_site_count: top.map_or(0, |(_, n)| n),
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
                    .filter_map(|id| self.keys.get(id).map(|k| (*id, k)))
                    .map(|(id, k)| {
                        let mut sites: Vec<SiteCount> = k
                            .sites
                            .iter()
                            .map(|(s, n)| SiteCount {
                                site: s.clone(),
                                count: *n,
                            })
                            .collect();
                        sites.sort_by(|a, b| b.count.cmp(&a.count).then(a.site.cmp(&b.site)));
                        let c = &self.counters;
                        EventReport {
                            event: k.event.clone(),
                            count: self.count(id),
                            peak: c.get(id, PEAK) as u64,
                            adds: c.get(id, ADDS) as u64,
                            removes: c.get(id, REMOVES) as u64,
                            rising: k.rises,
                            warned: k.warned_at.is_some(),
                            sites,
                        }
                    })
                    .collect();
                events.sort_by(|a, b| b.count.cmp(&a.count).then(a.event.cmp(&b.event)));
                EmitterReport {
                    id: *id,
                    name: info.name.clone(),
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

    /// What lib/listeners.js does to the counters after an add or remove
    /// leaves `n` listeners; true when it would capture the add site.
    fn set_count(r: &ListenerRegistry, key: u32, n: u64) -> bool {
        let c = r.counters();
        let (n, old) = (n as f64, c.get(key, COUNT));
        c.set(key, COUNT, n);
        if n > old {
            c.set(key, ADDS, c.get(key, ADDS) + n - old);
            c.set(key, PEAK, c.get(key, PEAK).max(n));
            return n >= c.get(key, ARM);
        }
        c.set(key, REMOVES, c.get(key, REMOVES) + old - n);
        c.set(key, TROUGH, c.get(key, TROUGH).min(n));
        false
    }

    fn add(r: &ListenerRegistry, key: u32) -> bool {
        set_count(r, key, r.count(key) + 1)
    }

    fn remove(r: &ListenerRegistry, key: u32) {
        set_count(r, key, r.count(key).saturating_sub(1));
    }

    #[test]
    fn once_churn_returning_to_baseline_never_warns() {
        let mut r = ListenerRegistry::new(3);
        let e = r.register("bus", 10);
        let k = r.key(e, "data", 0).unwrap();
        for _ in 0..50 {
            for _ in 0..100 {
                add(&r, k);
            }
            for _ in 0..100 {
                remove(&r, k);
            }
            assert!(r.observe().is_empty());
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
        let k = r.key(e, "data", 0).unwrap();
        let mut warnings = Vec::new();
        for round in 1..=8u64 {
            for _ in 0..5 {
                if add(&r, k) {
                    r.add_site(k, "app.js:3:5");
                }
            }
            for g in r.observe() {
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
        assert_eq!(warnings[1].0, 8);
    }

    #[test]
    fn a_drop_resets_the_streak() {
        let mut r = ListenerRegistry::new(3);
        let e = r.register("bus", 1);
        let k = r.key(e, "x", 0).unwrap();
        for _ in 0..2 {
            add(&r, k);
            assert!(r.observe().is_empty());
        }
        remove(&r, k);
        remove(&r, k);
        assert!(r.observe().is_empty());
        assert_eq!(r.report()[0].events[0].rising, 0);
    }

    #[test]
    fn sites_are_requested_only_when_suspicious_and_capped() {
        let mut r = ListenerRegistry::new(3);
        let e = r.register("bus", 10);
        let k = r.key(e, "x", 0).unwrap();
        let asks: Vec<bool> = (0..6).map(|_| add(&r, k)).collect();
        assert_eq!(asks, vec![false, false, false, false, true, true]);
        for i in 0..40 {
            r.add_site(k, &format!("site{i}"));
        }
        let sites = &r.report()[0].events[0].sites;
        assert_eq!(sites.len(), MAX_SITES + 1);
        assert_eq!(sites[0].site, OTHER_SITES);
        assert_eq!(sites[0].count, 8);
    }

    #[test]
    fn set_count_turns_differences_into_adds_and_removes() {
        let mut r = ListenerRegistry::new(3);
        let e = r.register("target", 10);
        let k = r.key(e, "abort", 2).unwrap();
        set_count(&r, k, 5);
        set_count(&r, k, 1);
        let rep = &r.report()[0].events[0];
        assert_eq!((rep.count, rep.peak, rep.adds, rep.removes), (1, 5, 3, 4));
    }

    #[test]
    fn forget_drops_the_emitter_and_reuses_its_counters_afresh() {
        let mut r = ListenerRegistry::new(3);
        let e = r.register("bus", 10);
        let k = r.key(e, "x", 0).unwrap();
        assert_eq!(r.key(e, "x", 0), Some(k));
        add(&r, k);
        r.forget(e);
        assert!(r.report().is_empty());
        assert_eq!(r.key(e, "x", 0), None);
        let e2 = r.register("other", 10);
        let k2 = r.key(e2, "y", 2).unwrap();
        assert_eq!(k2, k);
        let rep = &r.report()[0].events[0];
        assert_eq!((rep.count, rep.peak, rep.adds, rep.removes), (2, 2, 0, 0));
    }

    #[test]
    fn keys_spill_onto_new_pages_that_never_move() {
        let mut r = ListenerRegistry::new(3);
        let e = r.register("many", 10);
        let first = r.key(e, "e0", 0).unwrap();
        let page0 = r.counters().page(0).map(|(p, _)| p);
        let keys: Vec<u32> = (1..PAGE_KEYS + 5)
            .map(|i| r.key(e, &format!("e{i}"), 0).unwrap())
            .collect();
        assert_eq!(r.counters().page_count(), 2);
        assert_eq!(r.counters().page(0).map(|(p, _)| p), page0);
        assert_eq!(
            r.counters().page(1).map(|(_, n)| n),
            Some(PAGE_KEYS * STRIDE)
        );
        let last = *keys.last().unwrap();
        add(&r, last);
        add(&r, first);
        let rep = &r.report()[0].events;
        assert_eq!(rep.iter().filter(|ev| ev.count == 1).count(), 2);
    }
}

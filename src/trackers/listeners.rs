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

use std::collections::HashMap;

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
    count: u64,
    peak: u64,
    adds: u64,
    removes: u64,
    trough: u64,
    floor: u64,
    rises: u32,
    warned_at: Option<u64>,
    sites: HashMap<String, u64>,
}

impl KeyState {
    fn raise(&mut self, by: u64) {
        self.count += by;
        self.adds += by;
        self.peak = self.peak.max(self.count);
    }

    fn lower(&mut self, by: u64) {
        let by = by.min(self.count);
        self.count -= by;
        self.removes += by;
        self.trough = self.trough.min(self.count);
    }

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
    next_key: u32,
    emitters: HashMap<u32, EmitterInfo>,
    keys: HashMap<u32, KeyState>,
}

impl ListenerRegistry {
    pub fn new(samples: u32) -> Self {
        ListenerRegistry {
            samples: samples.max(1),
            next_emitter: 1,
            next_key: 1,
            emitters: HashMap::new(),
            keys: HashMap::new(),
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

    /// Key for an event on an emitter, created with `initial` listeners
    /// already present (they count as the baseline, not as adds).
    pub fn key(&mut self, emitter: u32, event: &str, initial: u64) -> Option<u32> {
        let info = self.emitters.get_mut(&emitter)?;
        if let Some(k) = info
            .keys
            .iter()
            .find(|k| self.keys.get(k).is_some_and(|s| s.event == event))
        {
            return Some(*k);
        }
        let id = self.next_key;
        self.next_key = self.next_key.wrapping_add(1).max(1);
        info.keys.push(id);
        self.keys.insert(
            id,
            KeyState {
                emitter,
                event: event.to_string(),
                count: initial,
                peak: initial,
                adds: 0,
                removes: 0,
                trough: initial,
                floor: initial,
                rises: 0,
                warned_at: None,
                sites: HashMap::new(),
            },
        );
        Some(id)
    }

    fn suspicious(&self, key: &KeyState) -> bool {
        let threshold = self.emitters.get(&key.emitter).map_or(1, |e| e.threshold);
        key.rises > 0 || key.count >= (threshold / 2).max(1)
    }

    /// Records one added listener; true when the caller should capture and
    /// report the add site.
    pub fn add(&mut self, key: u32) -> bool {
        let Some(k) = self.keys.get_mut(&key) else {
            return false;
        };
        k.raise(1);
        let k = &self.keys[&key];
        self.suspicious(k)
    }

    pub fn remove(&mut self, key: u32) {
        if let Some(k) = self.keys.get_mut(&key) {
            k.lower(1);
        }
    }

    /// For emitters that only expose their current count (EventTarget): the
    /// difference becomes adds or removes. Returns whether to capture a site.
    pub fn set_count(&mut self, key: u32, count: u64) -> bool {
        let Some(k) = self.keys.get_mut(&key) else {
            return false;
        };
        let grew = count > k.count;
        if grew {
            k.raise(count - k.count);
        } else {
            let by = k.count - count;
            k.lower(by);
        }
        grew && self.suspicious(&self.keys[&key])
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

    pub fn forget(&mut self, emitter: u32) {
        if let Some(info) = self.emitters.remove(&emitter) {
            for k in info.keys {
                self.keys.remove(&k);
            }
        }
    }

    /// Closes one observation window on every key and returns the keys that
    /// crossed into growth. A key warns again only once its count doubles.
    pub fn observe(&mut self) -> Vec<Growth> {
        let mut found = Vec::new();
        for k in self.keys.values_mut() {
            let floor = k.trough;
            if floor > k.floor {
                k.rises += 1;
            } else if floor < k.floor {
                k.rises = 0;
            }
            k.floor = floor;
            k.trough = k.count;
            let Some(info) = self.emitters.get(&k.emitter) else {
                continue;
            };
            let rearmed = k.warned_at.is_none_or(|w| k.count >= w.saturating_mul(2));
            if k.rises >= self.samples && k.count >= info.threshold && rearmed {
                k.warned_at = Some(k.count);
                let top = k.top_site();
                found.push(Growth {
                    emitter: info.name.clone(),
                    event: k.event.clone(),
                    count: k.count,
                    peak: k.peak,
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
                    .filter_map(|k| self.keys.get(k))
                    .map(|k| {
                        let mut sites: Vec<SiteCount> = k
                            .sites
                            .iter()
                            .map(|(s, n)| SiteCount {
                                site: s.clone(),
                                count: *n,
                            })
                            .collect();
                        sites.sort_by(|a, b| b.count.cmp(&a.count).then(a.site.cmp(&b.site)));
                        EventReport {
                            event: k.event.clone(),
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

    #[test]
    fn once_churn_returning_to_baseline_never_warns() {
        let mut r = ListenerRegistry::new(3);
        let e = r.register("bus", 10);
        let k = r.key(e, "data", 0).unwrap();
        for _ in 0..50 {
            for _ in 0..100 {
                r.add(k);
            }
            for _ in 0..100 {
                r.remove(k);
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
                if r.add(k) {
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
            r.add(k);
            assert!(r.observe().is_empty());
        }
        r.remove(k);
        r.remove(k);
        assert!(r.observe().is_empty());
        assert_eq!(r.report()[0].events[0].rising, 0);
    }

    #[test]
    fn sites_are_requested_only_when_suspicious_and_capped() {
        let mut r = ListenerRegistry::new(3);
        let e = r.register("bus", 10);
        let k = r.key(e, "x", 0).unwrap();
        let asks: Vec<bool> = (0..6).map(|_| r.add(k)).collect();
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
        r.set_count(k, 5);
        r.set_count(k, 1);
        let rep = &r.report()[0].events[0];
        assert_eq!((rep.count, rep.peak, rep.adds, rep.removes), (1, 5, 3, 4));
    }

    #[test]
    fn forget_drops_the_emitter_and_stale_keys_are_ignored() {
        let mut r = ListenerRegistry::new(3);
        let e = r.register("bus", 10);
        let k = r.key(e, "x", 0).unwrap();
        assert_eq!(r.key(e, "x", 0), Some(k));
        r.forget(e);
        assert!(!r.add(k));
        r.remove(k);
        assert!(r.report().is_empty());
        assert_eq!(r.key(e, "x", 0), None);
    }
}

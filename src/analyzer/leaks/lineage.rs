//! Which objects of the last snapshot existed in the earlier ones.
//!
//! V8 numbers heap objects the first time a snapshot (or tracking) sees
//! them, in increasing order, and keeps the number while the object lives,
//! so within one process an id means one object. Two caveats: an id can be
//! handed again to a new object allocated at a dead one's address before the
//! next snapshot, and ids of another process mean nothing here. So an
//! object counts as "the same" only with the same id, node type and name
//! (the constructor, or a string's contents), and a sequence whose ids do not
//! line up that way is refused rather than analysed.

use crate::analyzer::error::SnapshotError;
use crate::analyzer::snapshot::Snapshot;

/// Born in interval `k` (between snapshots k and k+1, 1-based); 0: already
/// in the first snapshot.
pub type Born = u8;
pub const OLD: Born = 0;

/// Whether node `a` of snapshot `sa` and node `b` of `sb` look like one
/// object: same type and same name.
pub fn same_object(sa: &Snapshot, a: u32, sb: &Snapshot, b: u32) -> bool {
    let (ga, gb) = (&sa.graph, &sb.graph);
    sa.node_type_name(a) == sb.node_type_name(b)
        && ga.strings.wtf8(ga.node_name[a as usize]) == gb.strings.wtf8(gb.node_name[b as usize])
}

/// Node `o` of `last` in snapshot `s`, if it was there.
pub fn find_in(s: &Snapshot, last: &Snapshot, o: u32) -> Option<u32> {
    let id = last.graph.node_id[o as usize] as u64;
    let there = s.ordinal_of_id(id)?;
    same_object(s, there, last, o).then_some(there)
}

/// For each node of the last snapshot, the interval it was born in.
pub fn birth_intervals(snaps: &[&Snapshot]) -> Vec<Born> {
    let last = snaps[snaps.len() - 1];
    let earlier = &snaps[..snaps.len() - 1];
    (0..last.node_count() as u32)
        .map(|o| {
            earlier
                .iter()
                .position(|s| find_in(s, last, o).is_some())
                .unwrap_or(earlier.len()) as Born
        })
        .collect()
}

/// Objects compared per pair of snapshots, spread over the id range: enough
/// to tell one process from another, bounded on huge heaps.
const SAMPLE: usize = 200_000;
/// Below this many shared ids, there is too little to judge by.
const MIN_SHARED: u64 = 200;
/// Share of shared ids naming the same object: about 1.0 within one process
/// (measured 0.9999+ on Node 20-26; V8 hands a dead object's id to what is
/// later allocated at its address, so churn lowers it), about 0.37 between
/// two runs of the same larger program. Two runs of a small deterministic
/// program, whose heaps are mostly Node's start-up laid out alike, measured
/// 0.79-0.82 with different workloads and 0.81-0.92 with identical ones:
/// the latter can pass for one process.
const SAME_PROCESS: f64 = 0.9;

/// The newest id of a V8 heap object. V8 numbers those with odd ids from
/// one counter; objects the embedder adds (Node's C++ side) get even ids that
/// follow no order.
fn max_id(s: &Snapshot) -> u32 {
    s.graph
        .node_id
        .iter()
        .copied()
        .filter(|id| id % 2 == 1)
        .max()
        .unwrap_or(0)
}

/// Refuses snapshots from different processes, and snapshots out of order.
pub fn check_sequence(snaps: &[&Snapshot]) -> Result<(), SnapshotError> {
    for k in 0..snaps.len() - 1 {
        let (a, b) = (snaps[k], snaps[k + 1]);
        let (ka, kb) = (k + 1, k + 2);
        if std::ptr::eq(a, b) {
            return Err(SnapshotError::SnapshotOrder(format!(
                "snapshots {ka} and {kb} are the same snapshot: pass snapshots taken after more work, oldest first"
            )));
        }
        let n = b.node_count();
        let step = n.div_ceil(SAMPLE).max(1);
        let (mut shared, mut same) = (0u64, 0u64);
        for o in (0..n as u32).step_by(step) {
            let id = b.graph.node_id[o as usize] as u64;
            if let Some(x) = a.ordinal_of_id(id) {
                shared += 1;
                same += same_object(a, x, b, o) as u64;
            }
        }
        if shared >= MIN_SHARED && (same as f64) < SAME_PROCESS * shared as f64 {
            return Err(SnapshotError::SnapshotMismatch(format!(
                "snapshots {ka} and {kb} come from different processes (or isolates): only {:.0}% of the heap ids they share name the same object. findLeaks needs snapshots of one process",
                100.0 * same as f64 / shared as f64
            )));
        }
        let (ma, mb) = (max_id(a), max_id(b));
        if mb < ma {
            return Err(SnapshotError::SnapshotOrder(format!(
                "snapshot {kb} was taken before snapshot {ka} (its newest heap id is {mb}, snapshot {ka}'s is {ma}): pass the snapshots oldest first"
            )));
        }
        if mb == ma {
            return Err(SnapshotError::SnapshotOrder(format!(
                "snapshots {ka} and {kb} hold the same heap (no object was allocated between them): pass snapshots taken after more work, oldest first"
            )));
        }
    }
    Ok(())
}

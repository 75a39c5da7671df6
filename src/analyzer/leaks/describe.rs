//! A suspect's words: the sentence, the advice and the evidence, built from
//! parts (see [`super::text`]) with the names a person would use, and the
//! path that shows where it hangs.

use super::node::{self, function_location, raw_name, target_named, NONE};
use super::sites::{self, AllocationSite};
use super::text::{self, NameKind, Text};
use super::timers;
use super::{Candidate, Context, LeakKind, Name, Subject, Suspect, MAX_HOLDER_PATH};
use crate::analyzer::report::PathStep;
use crate::analyzer::snapshot::{PathNode, DEFAULT_PATH_STEPS};
use std::collections::HashMap;

impl Context<'_> {
    /// Words and paths for a (folded) candidate.
    pub(super) fn suspect(&self, c: Candidate) -> Suspect {
        let s = self.last;
        let view = &self.view;
        let holder_summary = view.node(c.shown);
        // The capped path (its first and last steps, the count left out
        // between), as every other answer shows paths.
        let raw_path = s.retainer_path_capped(c.holder, DEFAULT_PATH_STEPS);
        let mut path: Vec<PathStep> = raw_path
            .iter()
            .map(|p| view.step(p.node, p.edge_in, p.skipped))
            .collect();
        if let Some(m) = c.member {
            // One step into what accumulates, when the member hangs right
            // below the holder (or its backing store).
            if self.parent(m) == c.holder {
                if let Some(e) = self.parent_edge(m) {
                    path.push(view.step(m, Some(e), 0));
                }
            }
        }
        let path_shape = shape(&path);
        let holder_path = self.holder_path(&raw_path, c.shown);
        // The members kept are of the dominant class: sites of what the
        // suspect is about, not of the keys and strings riding along.
        let sites = sites::allocation_sites(s, c.members.iter().copied());
        let leaked_class = self.member_label(&c, &sites);
        let (text, advice) = self.words(&c, &leaked_class, &holder_path);
        let evidence = self.evidence(&c);
        Suspect {
            kind: match c.subject {
                Subject::Collection => LeakKind::Collection,
                Subject::Listeners { .. } => LeakKind::Listeners,
                Subject::Modules { .. } => LeakKind::Modules,
                Subject::Closure { .. } => LeakKind::Closure,
                Subject::WeakRefs => LeakKind::WeakRefs,
                Subject::Objects => LeakKind::Objects,
                Subject::Timers { .. } => LeakKind::Timers,
            },
            text,
            advice,
            evidence,
            confidence: c.confidence,
            holder: holder_summary,
            holder_class: c.holder_class.clone(),
            holder_name: c.holder_name.clone(),
            holder_path,
            retainer_path: path,
            path_shape,
            leaked_class,
            counts: c.counts.clone(),
            retained_sizes: c.retained.clone(),
            added: c.added.clone(),
            added_bytes: c.added_bytes.clone(),
            external_bytes: c.external_bytes,
            external_stores: c.external_stores,
            sliced_strings: c.sliced,
            sliced_parent_bytes: c.sliced_parent_bytes,
            concatenated_strings: c.concatenated,
            concatenated_part_bytes: c.concatenated_part_bytes,
            growth: c.growth,
            holders: c.holders,
            allocation_sites: sites,
        }
    }

    /// `variable.prop.prop` for the holder, from the nearest variable on its
    /// (raw, capped) path; none across the steps a capped path left out.
    fn holder_path(&self, path: &[PathNode], holder: u32) -> Vec<Name> {
        let s = self.last;
        let Some(end) = path.iter().position(|p| p.node == holder) else {
            return Vec::new();
        };
        let mut out: Vec<Name> = Vec::new();
        let mut reached_variable = false;
        for k in (1..=end).rev() {
            let step = &path[k];
            let Some(e) = step.edge_in.filter(|_| step.skipped == 0) else {
                break;
            };
            let src = path[k - 1].node;
            let ty = s.edge_type_name(e);
            let name = s.edge_name(e);
            let from_global = s.class_of(src).name.starts_with("global");
            match ty {
                "context" => {
                    out.push((NameKind::Variable, name));
                    reached_variable = true;
                }
                "property" | "shortcut" if from_global => {
                    out.push(self.edge_name_from(src, e));
                    reached_variable = true;
                }
                "hidden" | "internal" => {
                    let ctx = src;
                    match name
                        .parse()
                        .ok()
                        .and_then(|slot| node::scope_slot_name(self.last, ctx, slot))
                    {
                        Some(variable) => {
                            out.push((NameKind::Variable, variable));
                            reached_variable = true;
                        }
                        None => break,
                    }
                }
                // Links of Node's timer lists and symbol-keyed internals are
                // no part of a name a person would write.
                "property" | "shortcut"
                    if name == "_idleNext"
                        || name == "_idlePrev"
                        || name == "_timerArgs"
                        || name.starts_with('<') =>
                {
                    break
                }
                "property" | "shortcut" => out.push(self.edge_name_from(src, e)),
                "element" => out.push((NameKind::Property, format!("[{name}]"))),
                _ => break,
            }
            if reached_variable || out.len() > MAX_HOLDER_PATH {
                break;
            }
        }
        if !reached_variable || out.len() < 2 || out.len() > MAX_HOLDER_PATH {
            return Vec::new();
        }
        out.reverse();
        out
    }

    /// "closures `onPrice` (leaks.js:77)", "Module", "InventoryPoller",
    /// "{url, method, time}", "sliced strings".
    fn member_label(&self, c: &Candidate, sites: &[AllocationSite]) -> Text {
        let s = self.last;
        let Some(m) = c.member else {
            return Text::new().text("objects");
        };
        let t = &s.types;
        let ty = s.graph.node_type(m);
        if ty == t.closure {
            let name = String::from_utf8_lossy(raw_name(s, m)).into_owned();
            let mut text = Text::new().text("closures");
            if !name.is_empty() {
                text = text.text(" ").quoted(NameKind::Function, name);
            }
            if let Some(site) = sites.first() {
                text = text.text(" created in ");
                text = if site.frame.function.is_empty() {
                    text.text("`(anonymous)`")
                } else {
                    text.quoted(NameKind::Function, site.frame.function.clone())
                };
                text = text
                    .text(" (")
                    .place(site.frame.script.clone(), site.frame.line)
                    .text(")");
            } else if let Some((script, line, _)) = function_location(s, m) {
                text = text.text(" (").place(script, line).text(")");
            }
            return text;
        }
        if ty == t.sliced_string {
            return Text::new().text("sliced strings");
        }
        if ty == t.cons_string {
            return Text::new().text("concatenated strings");
        }
        if ty == t.string {
            return Text::new().text("strings");
        }
        Text::new().class(s.class_of(m).name.clone())
    }

    fn holder_text(&self, c: &Candidate, holder_path: &[Name]) -> Text {
        let mut t = Text::new().class(c.holder_class.clone());
        if holder_path.len() >= 2 {
            t = t.text(" `");
            for (k, (kind, name)) in holder_path.iter().enumerate() {
                if k > 0 && !name.starts_with('[') {
                    t = t.text(".");
                }
                t = t.name(*kind, name.clone());
            }
            t = t.text("`");
        } else if let Some((kind, name)) = &c.holder_name {
            t = t.text(" ").quoted(*kind, name.clone());
        }
        t
    }

    fn words(&self, c: &Candidate, leaked: &Text, holder_path: &[Name]) -> (Text, Text) {
        let s = self.last;
        let n = self.snaps.len();
        let counts: Vec<u64> = c.counts.iter().map(|v| v.unwrap_or(0)).collect();
        let (prev, now) = (counts[n - 2], counts[n - 1]);
        let survivors = Text::new()
            .count(c.added[0])
            .text(" objects allocated between snapshots 1 and 2 are still alive (")
            .bytes(c.added_bytes[0])
            .text("), and ")
            .count(c.added[n - 2])
            .text(" more (")
            .bytes(c.added_bytes[n - 2])
            .text(format!(") were added after snapshot {}.", n - 1));
        let many = c.holders > 1;
        let (mut text, advice) = match &c.subject {
            Subject::Listeners { emitter, event } => {
                let emitter_class = s.class_of(*emitter).name.clone();
                let mut t = if many {
                    Text::new()
                        .text("'")
                        .name(event.0, event.1.clone())
                        .text("' listeners are added to ")
                        .count(c.holders)
                        .text(" ")
                        .class(emitter_class)
                        .text(" objects and never removed: +")
                        .count(now.saturating_sub(prev))
                        .text(format!(" on each between snapshots {} and {n} (", n - 1))
                } else {
                    let mut t = Text::new().class(emitter_class);
                    if let Some((kind, name)) = &c.holder_name {
                        t = t.text(" ").quoted(*kind, name.clone());
                    }
                    t.text(" keeps gaining '")
                        .name(event.0, event.1.clone())
                        .text("' listeners: ")
                        .count(prev)
                        .text(" → ")
                        .count(now)
                        .text(format!(" between snapshots {} and {n} (", n - 1))
                };
                t = t
                    .series(&counts)
                    .text(" across the snapshots), ")
                    .append(leaked.clone())
                    .text(". ");
                (
                    t.append(survivors),
                    Text::new().text("Remove each listener when its work ends (emitter.off / removeListener), or use once()."),
                )
            }
            Subject::Modules { parent } => {
                let module_file = target_named(s, *parent, b"filename")
                    .or_else(|| target_named(s, *parent, b"id"))
                    .map(|f| String::from_utf8_lossy(raw_name(s, f)).into_owned())
                    .unwrap_or_default();
                let copies = self.module_copies(c);
                let mut t = Text::new().text("Module objects accumulate in `module.children` of ");
                t = if module_file.is_empty() {
                    t.text("a module")
                } else {
                    t.place(module_file, 0)
                };
                t = t
                    .text(": ")
                    .series(&counts)
                    .text(" children across the snapshots");
                if let Some((file, k)) = copies {
                    t = t
                        .text(", ")
                        .count(k)
                        .text(" of them copies of ")
                        .place(file, 0);
                }
                t = t.text(". Deleting a module from require.cache and requiring it again loads a new copy, and its parent keeps every old one in module.children (with its exports and compiled code). ");
                (
                    t.append(survivors),
                    Text::new().text("Avoid reloading modules in-process; if you must, also remove the old Module from its parent's `children`."),
                )
            }
            Subject::Timers {
                repeat,
                rearmed,
                callback,
                owner_link,
                timer_property,
                timers,
                owner_bytes,
            } => {
                let api = if *repeat { "setInterval" } else { "setTimeout" };
                let clear = if *repeat {
                    "clearInterval"
                } else {
                    "clearTimeout"
                };
                let callback_name = String::from_utf8_lossy(raw_name(s, *callback)).into_owned();
                let mut cb = Text::new();
                cb = if callback_name.is_empty() {
                    cb.text("an anonymous callback")
                } else {
                    cb.quoted(NameKind::Function, callback_name)
                };
                if let Some((script, line, _)) = function_location(s, *callback) {
                    cb = cb.text(" (").place(script, line).text(")");
                }
                let owner = c.member.is_some();
                let is_store = matches!(owner_link, Some(timers::OwnerLink::AsyncStore));
                let t = if owner && *rearmed {
                    Text::new()
                        .append(leaked.clone())
                        .text(" objects are kept alive only by their own ")
                        .text(api)
                        .text(" chains, re-armed by ")
                        .append(cb)
                        .text(" every time they fire: ")
                        .series(&counts)
                        .text(" across the snapshots, and none is ever stopped.")
                } else if owner && is_store {
                    Text::new()
                        .count(*timers.last().unwrap_or(&0))
                        .text(format!(" {api} timers calling "))
                        .append(cb)
                        .text(" are pending (")
                        .series(timers)
                        .text(" across the snapshots); each keeps the AsyncLocalStorage store it was created in alive, ")
                        .append(leaked.clone())
                        .text(" (")
                        .bytes(*owner_bytes)
                        .text(" in all).")
                } else if owner {
                    let mut t = Text::new()
                        .count(*timers.last().unwrap_or(&0))
                        .text(format!(" {api} timers calling "))
                        .append(cb)
                        .text(" are still scheduled (")
                        .series(timers)
                        .text(" across the snapshots); their callbacks keep ")
                        .append(leaked.clone())
                        .text(" objects alive");
                    if let Some(timers::OwnerLink::Variable(v)) = owner_link {
                        t = t
                            .text(" (as ")
                            .quoted(NameKind::Variable, v.clone())
                            .text(")");
                    }
                    t.text(", ").bytes(*owner_bytes).text(" in all.")
                } else {
                    Text::new()
                        .count(*timers.last().unwrap_or(&0))
                        .text(format!(" {api} timers calling "))
                        .append(cb)
                        .text(" are pending: ")
                        .series(timers)
                        .text(" across the snapshots.")
                };
                let mut advice = Text::new().text(format!("Call {clear}("));
                advice = match (owner_link, timer_property) {
                    (Some(timers::OwnerLink::Variable(v)), Some(p)) => advice
                        .name(NameKind::Variable, v.clone())
                        .text(".")
                        .name(p.0, p.1.clone()),
                    (_, Some(p)) => advice.text("…").text(".").name(p.0, p.1.clone()),
                    _ => advice.text("timer"),
                };
                advice = advice.text(")");
                advice = if owner && !is_store {
                    advice
                        .text(" when each ")
                        .append(leaked.clone())
                        .text(" is done (a stop() or close() that is never called).")
                } else if is_store {
                    advice.text(" when the request it belongs to ends, or keep one timer for all requests instead of one each.")
                } else {
                    advice.text(" when the timer is no longer needed.")
                };
                (t, advice)
            }
            Subject::Closure { variable, bytes } => {
                let t = self
                    .holder_text(c, holder_path)
                    .text(" keeps gaining closures (")
                    .series(&counts)
                    .text(" across the snapshots), each closure's scope keeps ")
                    .quoted(NameKind::Variable, variable.clone())
                    .text(" (")
                    .bytes(*bytes)
                    .text(") alive. ")
                    .append(survivors);
                (
                    t,
                    Text::new().text("Closures share their scope: move the function out of the scope that holds the large value, or clear the variable when done."),
                )
            }
            Subject::WeakRefs => {
                let t = self
                    .holder_text(c, holder_path)
                    .text(" keeps WeakRef entries whose keys are never deleted: ")
                    .series(&counts)
                    .text(" entries across the snapshots; the WeakRefs free their targets but the ")
                    .class(c.holder_class.clone())
                    .text(" itself grows. ")
                    .append(survivors);
                (
                    t,
                    Text::new().text("Delete the key when deref() returns undefined, or use a FinalizationRegistry to delete it."),
                )
            }
            Subject::Collection | Subject::Objects => {
                let unit = unit_of(&c.holder_class);
                let mut t = self.holder_text(c, holder_path);
                if many {
                    t = Text::new().count(c.holders).text(" × ").append(t);
                }
                if c.by_count {
                    t = t
                        .text(format!(
                            " grew by {} {unit} (+",
                            text::thousands(now.saturating_sub(prev))
                        ))
                        .bytes(match (c.retained[n - 2], c.retained[n - 1]) {
                            (Some(a), Some(b)) => b.saturating_sub(a),
                            _ => 0,
                        })
                        .text(format!(
                            ") between snapshots {} and {n}, and at every snapshot (",
                            n - 1
                        ))
                        .series(&counts)
                        .text("), mostly ")
                        .append(leaked.clone())
                        .text(". ");
                } else {
                    let retained: Vec<u64> = c.retained.iter().map(|v| v.unwrap_or(0)).collect();
                    t = t.text(" keeps accumulating ").append(leaked.clone());
                    if let Some((kind, edge)) = self.entry_edge(c) {
                        t = t.text(" through ").quoted(kind, edge);
                    }
                    t = t.text(": it retains ");
                    for (k, &r) in retained.iter().enumerate() {
                        if k > 0 {
                            t = t.text(" → ");
                        }
                        t = t.bytes(r);
                    }
                    t = t.text(" across the snapshots. ");
                }
                for (name, class, counts) in &c.siblings {
                    let counts: Vec<u64> = counts.iter().map(|v| v.unwrap_or(0)).collect();
                    t = t.text("It grows together with ");
                    if let Some((kind, name)) = name {
                        t = t.quoted(*kind, name.clone()).text(" (");
                    }
                    t = t
                        .class(class.clone())
                        .text(", ")
                        .series(&counts)
                        .text(format!(" {}", unit_of(class)));
                    if name.is_some() {
                        t = t.text(")");
                    }
                    t = t.text(". ");
                }
                let advice = if c.holder_class == "Map"
                    || c.holder_class == "Set"
                    || c.holder_class.starts_with('{')
                    || c.holder_class == "Object"
                {
                    Text::new().text("Delete entries when they are done, or bound it (an LRU with a max, a TTL that purges).")
                } else if c.holder_class == "Array" {
                    Text::new()
                        .text("Bound it (drop old elements) or write the data somewhere else.")
                } else {
                    Text::new().text("Release what it accumulates when done, or bound it.")
                };
                (t.append(survivors), advice)
            }
        };
        // Strings whose own size hides what they keep: a slice pins its
        // parent, a concatenation the strings it joins.
        let added: u64 = c.added_bytes.iter().sum();
        let keeps_most = |count: u64, bytes: u64| {
            count >= self.options.min_count && bytes.saturating_mul(4) >= added
        };
        let pins = keeps_most(c.sliced, c.sliced_parent_bytes);
        if pins {
            text = strings_that_keep(
                text,
                c.sliced,
                "sliced strings (substrings of longer strings) that keep their parent strings alive",
                c.sliced_parent_bytes,
                "parents",
            );
        }
        if keeps_most(c.concatenated, c.concatenated_part_bytes) {
            text = strings_that_keep(
                text,
                c.concatenated,
                "concatenated strings (built with + or a template literal), which keep the strings they join alive",
                c.concatenated_part_bytes,
                "parts",
            );
        }
        if c.external_bytes > 0 && c.external_stores > 0 {
            text = text
                .text(" They hold ")
                .bytes(c.external_bytes)
                .text(" outside the JS heap in ")
                .count(c.external_stores)
                .text(" ArrayBuffer backing stores (")
                .bytes(c.external_bytes / c.external_stores)
                .text(" each)");
            // The user made Buffers, not stores: say how many, when Node
            // packed several into each store (its pool for small Buffers).
            text = if c.views > c.external_stores {
                text.text(", shared by ")
                    .count(c.views)
                    .text(" Buffers or typed arrays.")
            } else {
                text.text(".")
            };
        }
        let mut advice = advice;
        if pins {
            advice = advice.text(" Store a copy of the substring (e.g. Buffer.from(s).toString()), not a slice of the whole input.");
        }
        (text, advice)
    }

    /// The edge most new objects hang on, for holders that are not collections.
    fn entry_edge(&self, c: &Candidate) -> Option<Name> {
        let m = c.member?;
        let mut x = m;
        for _ in 0..8 {
            let p = self.parent(x);
            if p == NONE {
                return None;
            }
            if p == c.holder {
                return self.parent_edge(x).map(|e| self.edge_name_from(p, e));
            }
            x = p;
        }
        None
    }

    /// The file most of a Module suspect's children were loaded from.
    fn module_copies(&self, c: &Candidate) -> Option<(String, u64)> {
        let s = self.last;
        let mut files: HashMap<String, u64> = HashMap::new();
        for &m in &c.members {
            if let Some(f) = target_named(s, m, b"filename").or_else(|| target_named(s, m, b"id")) {
                *files
                    .entry(String::from_utf8_lossy(raw_name(s, f)).into_owned())
                    .or_insert(0) += 1;
            }
        }
        let (file, sampled) = files
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))?;
        // The sample is capped: scale to the members it stands for.
        let k = (sampled as f64 / c.members.len().max(1) as f64 * c.young_members as f64).round()
            as u64;
        Some((file, k))
    }

    fn evidence(&self, c: &Candidate) -> Text {
        let unit = match &c.subject {
            Subject::Listeners { .. } => "listeners".to_string(),
            Subject::Timers { .. } => {
                if c.member.is_some() {
                    "owners kept alive by timers".to_string()
                } else {
                    "pending timers".to_string()
                }
            }
            _ => unit_of(&c.holder_class).to_string(),
        };
        let mut t = Text::new();
        if c.by_count {
            let counts: Vec<u64> = c.counts.iter().map(|v| v.unwrap_or(0)).collect();
            t = t
                .text(format!("{unit} rose at every snapshot ("))
                .series(&counts)
                .text(")");
        } else {
            t = t.text("retained size rose at every snapshot");
        }
        let pct = (c.kept.min(1.0) * 100.0).round() as u64;
        t = t
            .text(format!(
                "; {pct}% of what was added since snapshot 1 is still there"
            ))
            .text(", and ")
            .count(c.survivors)
            .text(" objects from the first interval survived");
        if c.holders > 1 {
            t = t
                .text(" (over ")
                .count(c.holders)
                .text(" holders of the same shape)");
        }
        t.text(".")
    }
}

/// " N of them are <what>: X of <kept>, Y each on average."
fn strings_that_keep(text: Text, count: u64, what: &str, bytes: u64, kept: &str) -> Text {
    text.text(" ")
        .count(count)
        .text(" of them are ")
        .text(what)
        .text(": ")
        .bytes(bytes)
        .text(" of ")
        .text(kept)
        .text(", ")
        .bytes(bytes / count.max(1))
        .text(" each on average.")
}

pub(super) fn is_collection_class(name: &str) -> bool {
    matches!(name, "Array" | "Map" | "Set" | "Object") || name.starts_with('{')
}

fn unit_of(class: &str) -> &'static str {
    match class {
        "Array" => "elements",
        "Map" | "Set" | "WeakMap" | "WeakSet" => "entries",
        _ => "properties",
    }
}

/// A path's labels with what differs between holders of one shape blanked:
/// indices, and hops along Node's timer lists.
fn shape(path: &[PathStep]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for step in path {
        if step.skipped > 0 {
            out.push("…".to_string());
        }
        let label = match (step.edge_type.as_deref(), step.edge_label.as_deref()) {
            (Some("element"), _) => "[]".to_string(),
            (_, Some(".") | None) => String::new(),
            (_, Some(l)) if l == "._idleNext" || l == "._idlePrev" => {
                "._idleNext|_idlePrev".to_string()
            }
            (_, Some(l))
                if l.trim_start_matches(['[', '.'])
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == ']') =>
            {
                "[]".to_string()
            }
            (_, Some(l)) => l.to_string(),
        };
        let item = if label.is_empty() {
            step.node.class_name.clone()
        } else {
            format!("{label} {}", step.node.class_name)
        };
        if out.last() != Some(&item) {
            out.push(item);
        }
    }
    out
}

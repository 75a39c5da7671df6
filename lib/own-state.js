'use strict';

// leakwatch's own state that grows with the program's objects (the timer
// registry's slots, the listener tracker's watched keys and their records,
// a BoundedLog's staged entries) is kept on objects of classes named
// Leakwatch*: findLeaks knows them by that name and does not report what
// they hold as the program's leak (src/analyzer/leaks/mod.rs,
// held_by_leakwatch).
class LeakwatchState {}

module.exports = { LeakwatchState };

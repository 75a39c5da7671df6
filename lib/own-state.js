'use strict';

// leakwatch's own state that grows with the program's objects (the timer
// registry's slots) is kept on a LeakwatchState: findLeaks knows the class
// by name and does not name what it holds as the program's leak
// (src/analyzer/leaks/mod.rs, LEAKWATCH_STATE).
class LeakwatchState {}

module.exports = { LeakwatchState };

'use strict';

// `node -r leakwatch/register app.js` or `node --import leakwatch/register
// app.js` (or either in NODE_OPTIONS): starts the leakwatch agent for this
// thread from LEAKWATCH_* environment variables. Exports the agent (null when
// LEAKWATCH_AGENT=off or when it could not start).
//
// A preload that throws would stop the application before its first line,
// so a failure to start is a warning, never an exception.

const { emitWarningEscaped } = require('./terminal.js');

let agent = null;
try {
  agent = require('./agent.js').start(process.env);
} catch (err) {
  emitWarningEscaped(`leakwatch: the agent did not start: ${err && err.message}`, { code: 'LEAKWATCH_AGENT' });
}

module.exports = agent;

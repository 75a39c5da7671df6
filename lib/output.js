'use strict';

// Where the command line's text and files leave the process. Everything the
// CLI prints goes through `print`/`printError`, and every report file through
// `writeReportFile`, so what reaches a terminal or the disk is decided here
// once: snapshots carry other people's strings, and reports carry those.

const { escapeTerminal } = require('./terminal.js');
const { writeFileSecureSync } = require('./secure-file.js');

// A reader that goes away early (`leakwatch diff a b --json | head`) is not
// an error: drop the rest of the output and let the command finish with its
// own exit status. Any other stream error is real.
const closed = new WeakSet();
function watch(stream) {
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') closed.add(stream);
    else throw err;
  });
}
watch(process.stdout);
watch(process.stderr);

function write(stream, text) {
  if (closed.has(stream) || stream.destroyed) return;
  stream.write(text);
}

/**
 * Command output on stdout (add the newline). The command escapes the
 * snapshot's names before laying them out (escapeTerminalDeep); here, as a
 * second line of defence, any control character left but the newlines that
 * lay out the text is shown escaped.
 */
function print(text) {
  write(process.stdout, String(text).split('\n').map(escapeTerminal).join('\n'));
}

/** One line for the user on stderr (errors, where a report was written), escaped whole. */
function printError(line) {
  write(process.stderr, `${String(line).split('\n').map(escapeTerminal).join('\n')}\n`);
}

/**
 * Progress on a terminal's stderr, redrawn in place. `line` is leakwatch's
 * own text (a phase name and a percentage), never snapshot data.
 */
function progressLine(line) {
  write(process.stderr, line ? `\r\x1b[K${line}` : '\r\x1b[K');
}

/**
 * Writes a report the user asked for (--html): 0600 whatever the umask,
 * through a temporary file renamed over the target, so a symlink there is
 * replaced rather than followed and an existing file's mode is not kept.
 */
function writeReportFile(file, content) {
  writeFileSecureSync(file, content);
}

module.exports = { print, printError, progressLine, writeReportFile };

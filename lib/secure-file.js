'use strict';

// Every file leakwatch writes (reports, HTML) may hold what a heap held, so
// it is created readable by its owner only (0600), and never written through
// a symlink or into a file someone else prepared. The bytes go to a fresh
// temporary file beside the target, opened with O_CREAT|O_EXCL|O_NOFOLLOW
// (so a name planted in a shared directory is refused, not followed), set to
// 0600 whatever the umask, flushed, and then renamed over the target.
// rename(2) replaces the directory entry itself: a symlink at the target is
// replaced, never followed, and an existing file's looser mode is not kept
// because the file is a new one. Readers never see a half-written report.

const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { argError, checkString } = require('./errors.js');

const FILE_MODE = 0o600;
const CREATE_FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | (fs.constants.O_NOFOLLOW ?? 0);
// A name collision means someone else created that name first; a handful of
// fresh random names is plenty before calling it an attack.
const ATTEMPTS = 8;

function checkTarget(file, fnName) {
  checkString(file, 'file', { fnName, nonEmpty: true });
  if (file.includes('\0')) throw argError(`${fnName}: file must not contain a NUL byte`);
}

function checkData(data, fnName) {
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
    throw argError(`${fnName}: data must be a string, Buffer or Uint8Array`);
  }
}

function tempName(file) {
  const dir = path.dirname(file);
  return path.join(dir, `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
}

function targetError(file, err) {
  // Renaming onto a directory is the one way the target's own type makes the
  // write fail; say so rather than leave EISDIR/ENOTEMPTY to interpretation.
  if (err && (err.code === 'EISDIR' || err.code === 'ENOTEMPTY' || err.code === 'EEXIST')) {
    const e = new Error(`cannot write ${file}: it is a directory`);
    e.code = 'ERR_FILE_IS_DIRECTORY';
    e.cause = err;
    return e;
  }
  return err;
}

/**
 * Writes `data` to `file` with mode 0600 through a temporary file and a
 * rename, so the target is replaced atomically and never written through a
 * symlink. Returns the path written.
 */
function writeFileSecureSync(file, data) {
  checkTarget(file, 'writeFileSecureSync');
  checkData(data, 'writeFileSecureSync');
  for (let attempt = 0; ; attempt++) {
    const temp = tempName(file);
    let fd;
    try {
      fd = fs.openSync(temp, CREATE_FLAGS, FILE_MODE);
    } catch (err) {
      if (err.code === 'EEXIST' && attempt + 1 < ATTEMPTS) continue;
      throw err;
    }
    try {
      fs.fchmodSync(fd, FILE_MODE);
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fd = undefined;
      fs.renameSync(temp, file);
      return file;
    } catch (err) {
      if (fd !== undefined) fs.closeSync(fd);
      fs.rmSync(temp, { force: true });
      throw targetError(file, err);
    }
  }
}

/** The same as writeFileSecureSync, without blocking the event loop. */
async function writeFileSecure(file, data) {
  checkTarget(file, 'writeFileSecure');
  checkData(data, 'writeFileSecure');
  return writeThroughTemp(file, data, () => file);
}

/**
 * The same as writeFileSecure, for a file whose name depends on the file
 * itself (leakwatch marks its files with their own inode): `finalPath` gets
 * the written file's bigint stat and returns where to rename it. `file` names
 * the temporary file only. Returns the path written.
 */
async function writeFileSecureAs(file, data, finalPath) {
  checkTarget(file, 'writeFileSecureAs');
  checkData(data, 'writeFileSecureAs');
  if (typeof finalPath !== 'function') throw argError('writeFileSecureAs: finalPath must be a function');
  return writeThroughTemp(file, data, finalPath);
}

async function writeThroughTemp(file, data, finalPath) {
  const fsp = fs.promises;
  for (let attempt = 0; ; attempt++) {
    const temp = tempName(file);
    let handle;
    try {
      handle = await fsp.open(temp, CREATE_FLAGS, FILE_MODE);
    } catch (err) {
      if (err.code === 'EEXIST' && attempt + 1 < ATTEMPTS) continue;
      throw err;
    }
    let target = file;
    try {
      await handle.chmod(FILE_MODE);
      await handle.writeFile(data);
      await handle.sync();
      target = finalPath(await handle.stat({ bigint: true }));
      await handle.close();
      handle = undefined;
      await fsp.rename(temp, target);
      return target;
    } catch (err) {
      if (handle !== undefined) await handle.close();
      await fsp.rm(temp, { force: true });
      throw targetError(target, err);
    }
  }
}

module.exports = { writeFileSecureSync, writeFileSecure, writeFileSecureAs, FILE_MODE };

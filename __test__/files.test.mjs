// Files leakwatch writes hold what a heap held: each is created 0600 whatever
// the umask, replaces a symlink at its path instead of writing through it,
// and does not keep an existing file's looser mode.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { OUT, ROOT } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { writeFileSecureSync, writeFileSecure, writeFileSecureAs } = require('../lib/secure-file.js');
const { makeScenario } = require('./fixtures/scenarios.js');
const CLI = path.join(ROOT, 'bin', 'leakwatch.js');

function scratch(name) {
  const dir = fs.mkdtempSync(path.join(OUT, `${name}-`));
  return dir;
}

const mode = (file) => fs.lstatSync(file).mode & 0o777;

for (const [flavour, write] of [
  ['sync', async (f, d) => writeFileSecureSync(f, d)],
  ['async', (f, d) => writeFileSecure(f, d)],
]) {
  test(`writeFileSecure (${flavour}): 0600, never through a symlink, never a looser mode kept`, async () => {
    const dir = scratch(`secure-${flavour}`);
    const victim = path.join(dir, 'victim.txt');
    fs.writeFileSync(victim, 'precious', { mode: 0o644 });
    const link = path.join(dir, 'report.html');
    fs.symlinkSync(victim, link);
    await write(link, '<p>report</p>');
    assert.equal(fs.readFileSync(victim, 'utf8'), 'precious', 'the symlink target is untouched');
    assert.ok(fs.lstatSync(link).isFile(), 'the symlink was replaced by a file');
    assert.equal(mode(link), 0o600);
    assert.equal(fs.readFileSync(link, 'utf8'), '<p>report</p>');

    const loose = path.join(dir, 'loose.json');
    fs.writeFileSync(loose, 'old', { mode: 0o644 });
    fs.chmodSync(loose, 0o666);
    await write(loose, Buffer.from('new'));
    assert.equal(mode(loose), 0o600);
    assert.equal(fs.readFileSync(loose, 'utf8'), 'new');

    const dangling = path.join(dir, 'dangling');
    fs.symlinkSync(path.join(dir, 'nowhere', 'x'), dangling);
    await write(dangling, 'x');
    assert.ok(fs.lstatSync(dangling).isFile());
    assert.equal(fs.existsSync(path.join(dir, 'nowhere')), false, 'nothing created where the link pointed');

    const sub = path.join(dir, 'a-directory');
    fs.mkdirSync(sub);
    await assert.rejects(async () => write(sub, 'x'), { code: 'ERR_FILE_IS_DIRECTORY' });
    await assert.rejects(async () => write(path.join(dir, 'no', 'such', 'dir.html'), 'x'), { code: 'ENOENT' });
    for (const bad of [null, 5, '', Symbol('x'), 10n]) await assert.rejects(async () => write(bad, 'x'), { code: 'ERR_INVALID_ARG' });
    await assert.rejects(async () => write(path.join(dir, 'x'), { not: 'data' }), { code: 'ERR_INVALID_ARG' });
    // No temporary file is left behind, on success or failure.
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
  });
}

test('writeFileSecureAs: the final name comes from the written file itself; 0600; nothing left when naming fails', async () => {
  const dir = scratch('secure-as');
  const victim = path.join(dir, 'victim.txt');
  fs.writeFileSync(victim, 'keep me');
  let seen;
  const written = await writeFileSecureAs(path.join(dir, 'report.json'), '{"a":1}', (st) => {
    seen = st;
    const final = path.join(dir, `report-${st.ino}.json`);
    // Planted at the final name: replaced, not followed.
    fs.symlinkSync(victim, final);
    return final;
  });
  assert.equal(written, path.join(dir, `report-${seen.ino}.json`));
  assert.equal(typeof seen.ino, 'bigint');
  assert.equal(fs.lstatSync(written, { bigint: true }).ino, seen.ino, 'the name is the file\'s own');
  assert.equal(mode(written), 0o600);
  assert.equal(fs.readFileSync(written, 'utf8'), '{"a":1}');
  assert.equal(fs.readFileSync(victim, 'utf8'), 'keep me');

  await assert.rejects(writeFileSecureAs(path.join(dir, 'other.json'), 'x', () => { throw new Error('no name'); }), /no name/);
  assert.deepEqual(fs.readdirSync(dir).sort(), [path.basename(written), 'victim.txt'].sort(), 'no temporary file left');
  await assert.rejects(writeFileSecureAs(path.join(dir, 'x.json'), 'x', 'name'), { code: 'ERR_INVALID_ARG' });
});

test('a permissive umask does not loosen the mode', () => {
  const dir = scratch('umask');
  const file = path.join(dir, 'out.html');
  const r = spawnSync(
    process.execPath,
    ['-e', `process.umask(0); require(${JSON.stringify(path.join(ROOT, 'lib', 'secure-file.js'))}).writeFileSecureSync(${JSON.stringify(file)}, 'x')`],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(mode(file), 0o600);
});

test('leakwatch --html replaces a symlink and an existing 0644 report with a 0600 file', () => {
  const [s1, , s3] = makeScenario('global-array', OUT, { reuse: true });
  const dir = scratch('cli-html');
  const victim = path.join(dir, 'authorized_keys');
  fs.writeFileSync(victim, 'ssh-ed25519 AAAA… user@host\n', { mode: 0o644 });
  const link = path.join(dir, 'report.html');
  fs.symlinkSync(victim, link);
  const r = spawnSync(process.execPath, [CLI, 'diff', s1, s3, '--html', link], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.readFileSync(victim, 'utf8'), 'ssh-ed25519 AAAA… user@host\n');
  assert.ok(fs.lstatSync(link).isFile());
  assert.equal(mode(link), 0o600);
  assert.match(fs.readFileSync(link, 'utf8'), /<!doctype html>/);

  const existing = path.join(dir, 'existing.html');
  fs.writeFileSync(existing, 'old', { mode: 0o644 });
  const again = spawnSync(process.execPath, [CLI, 'analyze', s3, '--html', existing], { encoding: 'utf8' });
  assert.equal(again.status, 0, again.stderr);
  assert.equal(mode(existing), 0o600);
  assert.match(fs.readFileSync(existing, 'utf8'), /leakwatch: heap snapshot/);
});

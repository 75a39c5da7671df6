// A throwaway app directory that sees this checkout as its dependency
// `leakwatch` (node_modules/leakwatch is a symlink to the repository), so
// tests import the package by name, through package.json "exports", exactly
// as an installed copy would be resolved.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { OUT, ROOT } from './helpers.mjs';

/** A fresh consumer directory, deleted when test `t` ends. */
export function consumerDir(t, name) {
  const dir = fs.mkdtempSync(path.join(OUT, `${name}-`));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'leakwatch'), 'dir');
  return dir;
}

/** Runs `node file` in `dir` and returns spawnSync's result (utf8). */
export function runNode(dir, file, { args = [], timeout = 120_000, env } = {}) {
  return spawnSync(process.execPath, [...args, file], { cwd: dir, encoding: 'utf8', timeout, env: env ?? process.env });
}

/** The ```lang blocks of README.md, in order, with the line each starts on. */
export function readmeBlocks(lang) {
  const text = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const fence = new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\`$`, 'gm');
  return [...text.matchAll(fence)].map((m) => ({ code: m[1], line: text.slice(0, m.index).split('\n').length }));
}

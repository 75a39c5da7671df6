// index.d.ts as TypeScript users meet it: consumers that import the package
// by name compile with `tsc --noEmit` in strict mode, then run; the declared
// value exports equal the runtime's (require and ESM); the README's ```ts
// blocks compile too.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import esbuild from 'esbuild';
import ts from 'typescript';
import { consumerDir, readmeBlocks, runNode } from './consumer.mjs';
import { OUT, ROOT, fixture, leakwatch } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { makeScenario } = require('./fixtures/scenarios.js');
const TSC = path.join(path.dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
const TYPES = path.join(ROOT, '__test__', 'types');

const COMPILER_OPTIONS = {
  strict: true,
  noEmit: true,
  module: 'nodenext',
  moduleResolution: 'nodenext',
  target: 'es2022',
  lib: ['es2022', 'esnext.disposable'],
  types: ['node'],
  skipLibCheck: false,
  forceConsistentCasingInFileNames: true,
};

function tsc(dir, files) {
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: COMPILER_OPTIONS, files }, null, 2));
  return spawnSync(process.execPath, [TSC, '--noEmit', '-p', path.join(dir, 'tsconfig.json')], { cwd: dir, encoding: 'utf8', timeout: 180_000 });
}

test('consumers compile in strict mode, .ts and .mts, with the README ```ts blocks and the generated-type checks', (t) => {
  const dir = consumerDir(t, 'types');
  fs.copyFileSync(path.join(TYPES, 'consumer.ts'), path.join(dir, 'consumer.ts'));
  fs.copyFileSync(path.join(TYPES, 'consumer.mts'), path.join(dir, 'consumer.mts'));
  const readme = readmeBlocks('ts').map((b, i) => {
    const name = `readme-${i + 1}-line-${b.line}.mts`;
    fs.writeFileSync(path.join(dir, name), b.code);
    return name;
  });
  assert.ok(readme.length >= 1, 'the README shows TypeScript');
  const r = tsc(dir, ['consumer.ts', 'consumer.mts', path.join(TYPES, 'generated.ts'), ...readme]);
  assert.equal(r.status, 0, `tsc:\n${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, '');
});

test('control: the same compile rejects a misuse, so the check above can fail', (t) => {
  const dir = consumerDir(t, 'types-control');
  fs.writeFileSync(
    path.join(dir, 'bad.mts'),
    "import { findLeaks, monitor } from 'leakwatch';\nawait findLeaks('one.heapsnapshot');\nmonitor().on('sample', (s: string) => s);\n",
  );
  const r = tsc(dir, ['bad.mts']);
  assert.notEqual(r.status, 0);
  assert.match(r.stdout, /bad\.mts\(2,\d+\): error TS2345/);
  assert.match(r.stdout, /bad\.mts\(3,\d+\): error TS/);
});

test('the consumers run, and every result has exactly the shape its type declares', (t) => {
  const dir = consumerDir(t, 'types-run');
  const [s1, s2, s3] = makeScenario('global-array', OUT, { reuse: true });
  const args = [fixture('bare'), s1, s2, s3];
  for (const [from, to, format] of [['consumer.ts', 'consumer.cjs', 'cjs'], ['consumer.mts', 'consumer.mjs', 'esm']]) {
    const { code } = esbuild.transformSync(fs.readFileSync(path.join(TYPES, from), 'utf8'), { loader: 'ts', format, target: 'node20', sourcefile: from });
    fs.writeFileSync(path.join(dir, to), code);
  }
  const cjs = spawnSync(process.execPath, ['consumer.cjs', ...args], { cwd: dir, encoding: 'utf8', timeout: 240_000 });
  assert.equal(cjs.status, 0, cjs.stderr);
  assert.deepEqual(JSON.parse(cjs.stdout.trim().split('\n').pop()), { mismatches: [] });
  const esm = spawnSync(process.execPath, ['consumer.mjs', ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  assert.equal(esm.status, 0, esm.stderr);
  assert.deepEqual(JSON.parse(esm.stdout), {
    sameReport: true,
    grew: true,
    holder: 'requestLog',
    functions: true,
    classes: true,
    objects: true,
    defaultIsModule: true,
  });
});

/** Value exports of index.d.ts, by the compiler's reading, with their kind. */
function declaredExports() {
  const file = path.join(ROOT, 'index.d.ts');
  const { options, errors } = ts.convertCompilerOptionsFromJson(COMPILER_OPTIONS, ROOT);
  assert.deepEqual(errors, []);
  const program = ts.createProgram([file], options);
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(file));
  const out = {};
  for (const sym of checker.getExportsOfModule(moduleSymbol)) {
    const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    if (!(target.flags & ts.SymbolFlags.Value)) continue;
    if (target.flags & ts.SymbolFlags.Class) out[sym.name] = 'class';
    else if (target.flags & ts.SymbolFlags.Function) out[sym.name] = 'function';
    else out[sym.name] = 'object';
  }
  return out;
}

function runtimeKind(value) {
  if (typeof value !== 'function') return typeof value;
  return /^class\b/.test(Function.prototype.toString.call(value)) ? 'class' : 'function';
}

test('index.d.ts declares exactly the runtime exports, each as what it is (class, function, object)', (t) => {
  const declared = declaredExports();
  const runtime = Object.fromEntries(Object.keys(leakwatch).map((k) => [k, runtimeKind(leakwatch[k])]));
  assert.ok(Object.keys(runtime).length >= 19);
  assert.deepEqual(Object.keys(declared).sort(), Object.keys(runtime).sort(), 'names: declared vs require()');
  assert.deepEqual(declared, Object.fromEntries(Object.keys(declared).map((k) => [k, runtime[k]])), 'kinds');

  const dir = consumerDir(t, 'types-esm');
  fs.writeFileSync(path.join(dir, 'names.mjs'), "import * as ns from 'leakwatch';\nconsole.log(JSON.stringify(Object.keys(ns).filter((k) => k !== 'default' && k !== 'module.exports').sort()));\n");
  const r = runNode(dir, 'names.mjs');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), Object.keys(declared).sort(), 'names: declared vs ESM namespace');
});

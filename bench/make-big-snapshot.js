'use strict';
// Writes a real, large V8 heap snapshot for `npm run bench`: a Node process holding the TypeScript
// compiler with a type-checked program (ASTs, symbols, types, diagnostics all alive), the kind of
// heap people actually need to analyse and the kind DevTools struggles with.
//
//   node bench/make-big-snapshot.js [--fresh] [--files N]
//
// Prints the snapshot path. The file is cached in bench/.out/ and reused unless --fresh (or a
// different --files) is given; ensureBigSnapshot() does the same for bench/run.js.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const OUT_DIR = path.join(__dirname, '.out');
// The default project size gives a ~600-700 MB snapshot on Node 20 (see the README's figures).
const DEFAULT_FILES = 2000;

function snapshotPath(files) {
  return path.join(OUT_DIR, `typescript-${files}.heapsnapshot`);
}

// One generated module. Each file imports from a few earlier ones and uses generics, mapped and
// conditional types and overloads, so the checker instantiates many types per file instead of
// just binding names: that is what makes a compiler heap large and irregular.
function sourceFile(i) {
  const deps = [i - 1, i - 7, i - 31].filter(d => d >= 0);
  const imports = deps.map(d => `import { Model${d}, make${d}, Keys${d} } from './m${d}';`).join('\n');
  const depFields = deps.map(d => `  dep${d}: Model${d}<T>;\n  keys${d}: Keys${d};`).join('\n');
  const depCalls = deps.map(d => `  const v${d} = make${d}(Number(seed) + ${d});`).join('\n');
  return `${imports}
export interface Model${i}<T> {
  id: number;
  name: string;
  payload: T;
  tags: ReadonlyArray<string>;
${depFields}
}
export type Keys${i} = keyof Model${i}<string>;
export type Partial${i}<T> = { [K in keyof Model${i}<T>]?: Model${i}<T>[K] };
export type Pick${i}<T> = T extends { id: infer U } ? U : never;
export class Store${i}<T extends object> {
  private items = new Map<number, Model${i}<T>>();
  add(item: Model${i}<T>): this { this.items.set(item.id, item); return this; }
  find(pred: (m: Model${i}<T>) => boolean): Model${i}<T> | undefined {
    for (const m of this.items.values()) if (pred(m)) return m;
    return undefined;
  }
  patch(id: number, p: Partial${i}<T>): Model${i}<T> | undefined {
    const m = this.items.get(id);
    return m ? { ...m, ...p } : undefined;
  }
}
export function make${i}(seed: number): Model${i}<{ n: number; s: string }>;
export function make${i}(seed: string): Model${i}<string>;
export function make${i}(seed: number | string): any {
${depCalls}
  return { id: Number(seed), name: 'm${i}', payload: seed, tags: ['a', 'b'] };
}
export const store${i} = new Store${i}<{ n: number; s: string }>().add(make${i}(${i}));
export const picked${i}: Pick${i}<Model${i}<number>> = ${i};
`;
}

// Runs in the child: build and check the program, keep it reachable, write the snapshot.
function child(out, files) {
  const inspector = require('node:inspector');
  const v8 = require('node:v8');
  const ts = require('typescript');

  const sources = new Map();
  for (let i = 0; i < files; i++) sources.set(`/bench/m${i}.ts`, sourceFile(i));
  const options = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    noEmit: true,
    // Every lib file (lib.dom.d.ts alone is ~1.8 MB of declarations to bind and check) except the
    // web worker ones, which redeclare DOM globals and would only add conflict diagnostics.
    lib: fs.readdirSync(path.dirname(require.resolve('typescript')))
      .filter(f => /^lib\..*\.d\.ts$/.test(f) && f !== 'lib.d.ts' && !f.includes('webworker')),
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.readFile = f => sources.get(f) ?? readFile(f);
  host.fileExists = f => sources.has(f) || fileExists(f);
  // The generated files live in a virtual /bench directory; module resolution asks for it first.
  const directoryExists = host.directoryExists?.bind(host);
  host.directoryExists = d => d === '/bench' || (directoryExists ? directoryExists(d) : fs.existsSync(d));
  host.getSourceFile = (f, lang) => {
    const text = host.readFile(f);
    return text === undefined ? undefined : ts.createSourceFile(f, text, lang, true);
  };

  let t = performance.now();
  const program = ts.createProgram([...sources.keys()], options, host);
  const checker = program.getTypeChecker();
  const diagnostics = ts.getPreEmitDiagnostics(program);
  // Touch every exported symbol's type so the checker caches them, as an editor session would.
  let types = 0;
  for (const sf of program.getSourceFiles()) {
    const moduleSymbol = checker.getSymbolAtLocation(sf);
    if (!moduleSymbol) continue;
    for (const sym of checker.getExportsOfModule(moduleSymbol)) {
      checker.typeToString(checker.getTypeOfSymbolAtLocation(sym, sf));
      types++;
    }
  }
  globalThis.benchProgram = { program, checker, diagnostics };
  const checkSeconds = (performance.now() - t) / 1000;

  // On Node 20, writeHeapSnapshot of this heap is pathologically slow unless the Debugger domain
  // is enabled first (measured on a 62 MB snapshot of an early 200-file version of this program:
  // 518 s without, 3 s with).
  // BENCH_NO_DEBUGGER=1 skips it, to reproduce that measurement.
  const session = new inspector.Session();
  session.connect();
  if (!process.env.BENCH_NO_DEBUGGER) session.post('Debugger.enable');

  t = performance.now();
  const tmp = `${out}.${process.pid}.tmp`;
  v8.writeHeapSnapshot(tmp);
  fs.renameSync(tmp, out);
  const writeSeconds = (performance.now() - t) / 1000;
  session.disconnect();
  process.stderr.write(
    `program: ${files} files + libs, ${diagnostics.length} diagnostics, ${types} exported symbols; ` +
    `check ${checkSeconds.toFixed(1)} s, writeHeapSnapshot ${writeSeconds.toFixed(1)} s\n`,
  );
}

/** Returns the path of the big snapshot, generating it (in a child process) when needed. */
function ensureBigSnapshot({ fresh = false, files = DEFAULT_FILES } = {}) {
  const out = snapshotPath(files);
  if (!fresh && fs.existsSync(out)) return out;
  fs.mkdirSync(OUT_DIR, { recursive: true });
  process.stderr.write(`generating ${path.relative(process.cwd(), out)} (TypeScript program, ${files} files)…\n`);
  const r = spawnSync(
    process.execPath,
    ['--max-old-space-size=8192', '--stack-size=4000', __filename, '--child', out, String(files)],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (r.status !== 0) throw new Error(`snapshot generator failed (status ${r.status}, signal ${r.signal})`);
  return out;
}

function main(argv) {
  if (argv[0] === '--child') return child(argv[1], Number(argv[2]));
  const filesAt = argv.indexOf('--files');
  const files = filesAt >= 0 ? Number(argv[filesAt + 1]) : DEFAULT_FILES;
  if (!Number.isInteger(files) || files < 1) throw new Error('--files needs a positive integer');
  const out = ensureBigSnapshot({ fresh: argv.includes('--fresh'), files });
  const mb = fs.statSync(out).size / 1e6;
  console.log(`${out} (${mb.toFixed(0)} MB)`);
}

module.exports = { ensureBigSnapshot, DEFAULT_FILES };

if (require.main === module) main(process.argv.slice(2));

// Bundles Chrome DevTools' heap snapshot worker (HeapSnapshot.ts + HeapSnapshotLoader.ts) into one
// Node ESM module, so the test suite can run the real DevTools algorithms as an oracle.
//
// The npm package ships the raw TypeScript sources of the DevTools tree, not the built bundle, so the
// file DevTools' own build generates (core/i18n/locales.js) is missing, and the code assumes a
// Chrome-era JS runtime (Promise.withResolvers). We stub exactly those; the analysis code itself is
// bundled untouched.
//
// Usage: `node __test__/oracle/build.mjs [--force]`, or `await buildOracle()` from a test.
import {existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export const OUT_FILE = path.join(here, '.build', 'devtools-heap.mjs');

// Resolve through Node so a hoisted or nested node_modules both work.
function devtoolsRoot() {
  return path.dirname(require.resolve('chrome-devtools-frontend/package.json'));
}

// The i18n module imports a file generated at DevTools build time. Only DEFAULT_LOCALE and the
// locale lists are read (to construct the i18n instance); the heap worker never formats a message
// for display, it only serializes progress strings we ignore.
const LOCALES_STUB = `
export const LOCALES = ['en-US'];
export const BUNDLED_LOCALES = ['en-US'];
export const DEFAULT_LOCALE = 'en-US';
export const REMOTE_FETCH_PATTERN = '';
export const LOCAL_FETCH_PATTERN = './locales/@LOCALE@.json';
`;

// Runs before any bundled module body (esbuild `banner`): Promise.withResolvers (ES2024) is used by
// the loader and the secondary init manager, and Node 20 lacks it. No browser globals are needed:
// core/platform/HostRuntime detects Node and picks its Node host (no window/self/location access).
const BANNER = `
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function () {
    let resolve, reject;
    const promise = new this((res, rej) => { resolve = res; reject = rej; });
    return {promise, resolve, reject};
  };
}
`;

const stubPlugin = {
  name: 'devtools-generated-stubs',
  setup(build) {
    build.onResolve({filter: /[/\\]locales\.js$/}, args =>
      args.importer.includes(`${path.sep}core${path.sep}i18n${path.sep}`) ? {path: 'locales', namespace: 'stub'} : undefined);
    build.onLoad({filter: /.*/, namespace: 'stub'}, () => ({contents: LOCALES_STUB, loader: 'js'}));
  },
};

// The bundle is stale if it predates the installed package (or this script).
function isFresh() {
  if (!existsSync(OUT_FILE)) return false;
  const built = statSync(OUT_FILE).mtimeMs;
  const pkg = statSync(path.join(devtoolsRoot(), 'package.json')).mtimeMs;
  const script = statSync(fileURLToPath(import.meta.url)).mtimeMs;
  return built > pkg && built > script;
}

export async function buildOracle({force = false} = {}) {
  if (!force && isFresh()) return OUT_FILE;
  const {build} = await import('esbuild');
  const workerDir = path.join(devtoolsRoot(), 'front_end', 'entrypoints', 'heap_snapshot_worker');
  mkdirSync(path.dirname(OUT_FILE), {recursive: true});
  const version = JSON.parse(readFileSync(path.join(devtoolsRoot(), 'package.json'), 'utf8')).version;
  const {outputFiles} = await build({
    stdin: {
      contents: `export * as HeapSnapshot from './HeapSnapshot.ts';
                 export * as HeapSnapshotLoader from './HeapSnapshotLoader.ts';
                 export * as HeapSnapshotModel from '../../models/heap_snapshot/HeapSnapshotModel.ts';`,
      resolveDir: workerDir,
      sourcefile: 'oracle-entry.ts',
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: OUT_FILE,
    write: false,
    banner: {js: `// chrome-devtools-frontend ${version}, bundled by __test__/oracle/build.mjs\n${BANNER}`},
    plugins: [stubPlugin],
    logLevel: 'error',
    // Keep the output debuggable: it is the ground truth when a comparison fails.
    minify: false,
    sourcemap: false,
  });
  // Write-then-rename so a concurrent test process never imports a half-written bundle.
  const tmp = `${OUT_FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, outputFiles[0].contents);
  renameSync(tmp, OUT_FILE);
  return OUT_FILE;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = performance.now();
  const out = await buildOracle({force: process.argv.includes('--force')});
  console.log(`${path.relative(process.cwd(), out)} (${(performance.now() - t0).toFixed(0)} ms)`);
}

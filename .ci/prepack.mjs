// Runs before `npm pack` and `npm publish` (package.json "prepack"), so that
// a tarball always carries a binary that loads where its users run it.
//
// - Release workflow: every target's binary is already in npm/<platform>/
//   (put there by `napi artifacts`) and ships as the platform packages, the
//   main package's optional dependencies; the main package carries none.
// - Anywhere else the tarball carries this machine's binary. On linux-x64 that
//   is the glibc 2.17 build (`npm run build:dist`, linked by zig through
//   cargo-zigbuild: .ci/install-zigbuild installs both), checked here.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { glibcFloor, platformName } from './glibc.mjs';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const GLIBC_FLOOR = '2.17';

const platforms = pkg.napi.targets.map(platformName);
const inPackages = (p) => fs.existsSync(path.join(ROOT, 'npm', p, `${pkg.napi.binaryName}.${p}.node`));
if (platforms.every(inPackages)) {
  console.error(`prepack: binaries for ${platforms.join(', ')} ship in npm/<platform>/; the main package carries none`);
  process.exit(0);
}

const npm = (script, env) => execFileSync('npm', ['run', '--silent', script], { cwd: ROOT, stdio: 'inherit', env });
if (process.platform === 'linux' && process.arch === 'x64') {
  const zigBin = path.join(ROOT, '.ci', '.zig', 'bin');
  const env = { ...process.env, PATH: `${zigBin}${path.delimiter}${process.env.PATH}` };
  try {
    execFileSync('cargo-zigbuild', ['--version'], { env, stdio: 'ignore' });
  } catch {
    console.error('prepack: the linux-x64-gnu binary is linked by zig for a glibc 2.17 floor; run .ci/install-zigbuild first');
    process.exit(1);
  }
  npm('build:dist', env);
  const file = path.join(ROOT, `${pkg.napi.binaryName}.linux-x64-gnu.node`);
  const floor = glibcFloor(fs.readFileSync(file));
  if (floor !== GLIBC_FLOOR) {
    console.error(`prepack: ${path.basename(file)} needs glibc ${floor}, not ${GLIBC_FLOOR}`);
    process.exit(1);
  }
  console.error(`prepack: ${path.basename(file)} built, newest glibc symbol version ${floor}`);
} else {
  npm('build', process.env);
}

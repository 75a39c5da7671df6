// Helpers for checking the linux-x64-gnu binary's glibc floor without binutils.
import { createRequire } from 'node:module';

export const { platformOfTriple: platformName } = createRequire(import.meta.url)('../lib/platform.js');

/**
 * The newest glibc symbol version an ELF file asks for: the version names
 * (GLIBC_2.14, ...) its dynamic string table lists, as `objdump -T` shows
 * them. Null when it names none.
 */
export function glibcFloor(bytes) {
  const versions = [...new Set(bytes.toString('latin1').match(/GLIBC_\d+\.\d+(?:\.\d+)?/g) ?? [])].map((v) => v.slice(6));
  const key = (v) => v.split('.').map(Number);
  versions.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
    return 0;
  });
  return versions.at(-1) ?? null;
}

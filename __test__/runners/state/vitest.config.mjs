// Used by __test__/runner-state.test.mjs; named so that neither node --test
// nor Jest picks these spec files up. The cache goes to the temp directory,
// not into the source tree.
import os from 'node:os';
import path from 'node:path';

export default {
  cacheDir: path.join(os.tmpdir(), 'leakwatch-vitest-cache'),
  test: { include: ['*.vitest.mjs'], root: import.meta.dirname },
};

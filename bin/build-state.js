// The compiled build of src/ (dist/glimpse.js, decision 0011): whether it is current, and building
// it with esbuild. Used by bin/glimpse.js at every start and by scripts/build.js (`npm run build`,
// run by `npm ci` through the `prepare` script).
//
// "Current" means: dist/glimpse.js exists and no file under src/ was modified after the build
// started (the build's mtime is set to its start time, so an edit made while it ran still counts as
// newer). A checkout without src/ (an installed package) has nothing newer, so its dist is current.
// The output is written to a temp file and renamed into place, so processes starting at the same
// moment (cluster workers, parallel tests) never import a half-written file.
import { mkdirSync, readdirSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DIST_ENTRY = join('dist', 'glimpse.js');

/** The newest modification time (ms) of the files under `dir`, or 0 when it does not exist. */
function newestUnder(dir) {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** True when dist/glimpse.js exists and is not older than any file under src/. */
export function isBuildCurrent(root) {
  let built;
  try {
    built = statSync(join(root, DIST_ENTRY)).mtimeMs;
  } catch {
    return false;
  }
  return newestUnder(join(root, 'src')) <= built;
}

/** Bundles src/cli/main.ts into dist/glimpse.js (npm packages external) with a linked source map. */
export async function build(root) {
  const started = new Date();
  const { build: esbuild } = await import('esbuild');
  const outfile = join(root, DIST_ENTRY);
  const result = await esbuild({
    absWorkingDir: root,
    entryPoints: ['src/cli/main.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'error',
    write: false,
  });
  // The source map first, so the code never points at a map that is not there yet.
  mkdirSync(join(root, 'dist'), { recursive: true });
  const files = [...result.outputFiles].sort((a) => (a.path.endsWith('.map') ? -1 : 1));
  for (const file of files) {
    const temp = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temp, file.contents);
    utimesSync(temp, started, started);
    renameSync(temp, file.path);
  }
}

/** Builds unless the build is current (or always, with force); resolves 'built' or 'current'. */
export async function buildIfStale(root, { force = false } = {}) {
  if (!force && isBuildCurrent(root)) return 'current';
  await build(root);
  return 'built';
}

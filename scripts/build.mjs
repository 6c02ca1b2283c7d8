// Builds the gateway into dist/: tsc, then tsc-alias turns the `@app/*` path aliases into relative ESM
// imports; then Vite builds the web UI (apps/ui) into dist/ui. With --if-stale it does nothing when dist/ is
// newer than every source file.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const sources = [
  'apps',
  'libs',
  'migrations',
  'scripts',
  'examples',
  'tsconfig.json',
  'tsconfig.build.json',
  'package-lock.json',
];

function newestMtime(target) {
  if (!existsSync(target)) return 0;
  const stat = statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(target)) newest = Math.max(newest, newestMtime(path.join(target, entry)));
  return newest;
}

if (process.argv.includes('--if-stale') && existsSync(stamp)) {
  const built = statSync(stamp).mtimeMs;
  const newest = Math.max(...sources.map((s) => newestMtime(path.join(root, s))));
  if (newest <= built) process.exit(0);
}

const bin = (name) => path.join(root, 'node_modules', '.bin', name);
console.error('building the gateway (tsc)...');
try {
  execFileSync(bin('tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  execFileSync(bin('tsc-alias'), ['-p', 'tsconfig.build.json', '--resolve-full-paths'], {
    cwd: root,
    stdio: 'inherit',
  });
} catch {
  console.error('build failed: see the TypeScript errors above');
  process.exit(1);
}
console.error('building the web UI (vite)...');
try {
  const vite = path.join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  execFileSync(process.execPath, [vite, 'build', '--config', path.join('apps', 'ui', 'vite.config.ts')], {
    cwd: root,
    stdio: 'inherit',
  });
} catch {
  console.error('web UI build failed: see the errors above');
  process.exit(1);
}
// Worker threads written in plain JavaScript (*.worker.mjs) go next to the modules that start them.
function copyWorkers(dir) {
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) copyWorkers(relative);
    else if (entry.name.endsWith('.worker.mjs'))
      copyFileSync(path.join(root, relative), path.join(root, 'dist', relative));
  }
}
copyWorkers('libs');
writeFileSync(stamp, new Date().toISOString());

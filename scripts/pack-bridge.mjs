// Builds libs/openai-bridge as a standalone package in a staging folder and packs it:
// `node scripts/pack-bridge.mjs [destination]` prints the tarball's path. Nothing is written inside the repo.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const lib = path.join(root, 'libs/openai-bridge');
const destination = path.resolve(process.argv[2] ?? path.join(root, 'dist/pack'));
const staging = mkdtempSync(path.join(tmpdir(), 'openai-bridge-'));
try {
  execFileSync(
    process.execPath,
    [
      path.join(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      path.join(lib, 'tsconfig.pack.json'),
      '--outDir',
      path.join(staging, 'dist'),
    ],
    { stdio: 'inherit' },
  );
  for (const file of ['package.json', 'README.md'])
    copyFileSync(path.join(lib, file), path.join(staging, file));
  mkdirSync(destination, { recursive: true });
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', destination], {
    cwd: staging,
    encoding: 'utf8',
  });
  const [{ filename }] = JSON.parse(out);
  console.log(path.join(destination, filename));
} finally {
  rmSync(staging, { recursive: true, force: true });
}

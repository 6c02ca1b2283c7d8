// `npm start`: builds when the build is missing or stale, then runs the gateway in this process, so that
// signals (SIGTERM, Ctrl-C) reach it directly. Arguments after `--` are passed on (`--config FILE`).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
try {
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs'), '--if-stale'], {
    stdio: 'inherit',
  });
} catch {
  process.exit(1);
}
await import(pathToFileURL(path.join(root, 'dist', 'apps', 'gateway', 'src', 'main.js')).href);

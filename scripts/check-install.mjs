// `npm run check:install`: the install works on machines other than this one, and leaves the user's Node alone.
// 1. No `node` binary in node_modules/.bin (a platform package there would shadow the user's `node` in every
//    npm script).
// 2. `npm ci` resolves on other platforms: run as a dry run on a copy of package.json and the lockfile, with
//    Node's platform and architecture overridden (macOS arm64, Windows x64, Linux arm64). A required
//    dependency restricted to one platform fails it with EBADPLATFORM.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let failed = false;

for (const bin of ['node', 'node.exe', 'node.cmd']) {
  if (existsSync(path.join(root, 'node_modules/.bin', bin))) {
    console.error(
      `node_modules/.bin/${bin} exists: a dependency ships a Node binary that shadows the user's node`,
    );
    failed = true;
  }
}

const work = mkdtempSync(path.join(os.tmpdir(), 'gw-install-check-'));
try {
  copyFileSync(path.join(root, 'package.json'), path.join(work, 'package.json'));
  copyFileSync(path.join(root, 'package-lock.json'), path.join(work, 'package-lock.json'));
  for (const [platform, arch] of [
    ['darwin', 'arm64'],
    ['win32', 'x64'],
    ['linux', 'arm64'],
  ]) {
    const fake = path.join(work, `fake-${platform}-${arch}.cjs`);
    writeFileSync(
      fake,
      `Object.defineProperty(process, 'platform', { value: '${platform}' });\n` +
        `Object.defineProperty(process, 'arch', { value: '${arch}' });\n`,
    );
    try {
      execFileSync('npm', ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund'], {
        cwd: work,
        env: { ...process.env, NODE_OPTIONS: `--require ${fake}` },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      console.log(`npm ci resolves on ${platform}-${arch}`);
    } catch (error) {
      const lines = String(error.stderr ?? '').split('\n');
      const why = lines.filter(
        (l) => /EBADPLATFORM|notsup|Unsupported platform|wanted|current/i.test(l) && !/EBADENGINE/.test(l),
      );
      console.error(
        `npm ci fails on ${platform}-${arch}:\n${(why.length ? why : lines).slice(0, 8).join('\n')}`,
      );
      failed = true;
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

// `npm run start:dev`: tsc in watch mode; after every clean compile, rewrite the aliases and restart the
// gateway. Arguments after `--` go to the gateway.
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const main = path.join(root, 'dist', 'apps', 'gateway', 'src', 'main.js');
let gateway = null;

function restart() {
  const launch = () => {
    gateway = spawn(process.execPath, ['--enable-source-maps', main, ...process.argv.slice(2)], {
      stdio: 'inherit',
    });
  };
  if (!gateway || gateway.exitCode !== null) return launch();
  gateway.once('exit', launch);
  gateway.kill('SIGTERM');
}

const tsc = spawn(bin('tsc'), ['-w', '-p', 'tsconfig.build.json', '--preserveWatchOutput'], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
});
tsc.stdout.on('data', (chunk) => {
  const text = chunk.toString();
  process.stdout.write(text);
  if (/Found 0 errors/.test(text)) {
    execFileSync(bin('tsc-alias'), ['-p', 'tsconfig.build.json', '--resolve-full-paths'], {
      cwd: root,
      stdio: 'inherit',
    });
    restart();
  }
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    tsc.kill();
    if (gateway && gateway.exitCode === null) gateway.once('exit', () => process.exit(0)).kill(signal);
    else process.exit(0);
  });
}

import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const CONFORMANCE_FIXTURE = path.resolve('test/fixtures/conformance-server.mjs');
/** The dual-era fixture on SDK v2 (`--transport stdio` makes it a stdio upstream). */
export const CONFORMANCE_FIXTURE_V2 = path.resolve('test/fixtures/conformance-server-v2.mjs');

/**
 * The conformance fixture over Streamable HTTP, as a separate process (kill `process` in afterAll): the 2025
 * one (SDK v1), or with `v2` the dual-era one on SDK v2.
 */
export async function startConformanceFixture(v2 = false): Promise<{ url: string; process: ChildProcess }> {
  const fixture = v2 ? CONFORMANCE_FIXTURE_V2 : CONFORMANCE_FIXTURE;
  const child = spawn(process.execPath, [fixture, '--transport', 'http', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /listening (\S+)/.exec(chunk.toString());
      if (match) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`fixture exited with ${code}`)));
  });
  return { url, process: child };
}

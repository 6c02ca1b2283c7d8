import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface PackageInfo {
  name: string;
  version: string;
}

let cached: PackageInfo | undefined;

/** The gateway's name and version from its package.json, found by walking up from this file. */
export function packageInfo(): PackageInfo {
  if (cached) return cached;
  let dir = path.dirname(new URL(import.meta.url).pathname);
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as Partial<PackageInfo>;
      if (pkg.name && pkg.version) return (cached = { name: pkg.name, version: pkg.version });
    }
    const parent = path.dirname(dir);
    if (parent === dir) return (cached = { name: 'mcp-gateway', version: '0.0.0' });
    dir = parent;
  }
}

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Controller, Get, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Public } from '@app/auth';
import { AppError } from '@app/core';

/** The SPA's files are public (they hold no data: every API call needs the session cookie or a key). */
const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};
const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,200}$/;

/** dist/ui beside the package.json this file belongs to (the same from the sources and from dist/). */
function findUiDir(): string | null {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) {
      const ui = path.join(dir, 'dist', 'ui');
      return existsSync(path.join(ui, 'index.html')) ? ui : null;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/**
 * The admin web UI (apps/ui, built by `npm run build` into dist/ui) at `/ui/`. Its pages are hash routes, so
 * the server only ever serves `index.html` and the hashed files under `/ui/assets/`.
 */
@Controller('ui')
@Public()
export class WebUiController {
  private readonly dir = findUiDir();

  @Get()
  index(@Res() res: Response): void {
    const file = this.file('index.html');
    res.set({ ...SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' });
    res.send(file);
  }

  @Get('assets/:name')
  asset(@Param('name') name: string, @Res() res: Response): void {
    const type = TYPES[path.extname(name)];
    if (!ASSET_NAME.test(name) || type === undefined) throw notFound(`/ui/assets/${name}`);
    const file = this.file(path.join('assets', name));
    // Vite names them by content hash: a new build is a new name.
    res.set({
      ...SECURITY_HEADERS,
      'Content-Type': type,
      'Cache-Control': 'public, max-age=31536000, immutable',
    });
    res.send(file);
  }

  private file(relative: string): Buffer {
    if (this.dir === null) {
      throw new AppError(
        'NOT_FOUND',
        'the web UI is not built: run "npm run build" (npm start builds it when stale), then reload /ui/',
      );
    }
    const full = path.join(this.dir, relative);
    if (!existsSync(full)) throw notFound(`/ui/${relative}`);
    return readFileSync(full);
  }
}

function notFound(what: string): AppError {
  return new AppError('NOT_FOUND', `no such web UI file: ${what}`);
}

/**
 * Static files of the dashboard page. Only files inside the page folder are served (after decoding,
 * normalising and resolving symlinks), plus uPlot's two dist files on a fixed route.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ServerResponse } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

/**
 * The package root (the folder holding ckpt's package.json), found from this module's location so it works
 * both from src/ (tsx) and from dist/ (built).
 * @example join(packageRoot(), 'src/server/page')
 */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'ckpt') return dir;
      } catch {
        // keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the ckpt package root above ${from}`);
    dir = parent;
  }
}

/**
 * The dashboard's static folder (ship it: package.json "files" must include src/server/page).
 * @example pageDir() // '/…/node_modules/ckpt/src/server/page'
 */
export function pageDir(): string {
  return join(packageRoot(), 'src', 'server', 'page');
}

/** uPlot's dist folder, wherever npm put it. */
export function uplotDir(): string {
  const require = createRequire(join(packageRoot(), 'package.json'));
  return dirname(require.resolve('uplot'));
}

/** Fixed vendor routes → files. */
const VENDOR: Record<string, () => string> = {
  '/vendor/uplot/uPlot.esm.js': () => join(uplotDir(), 'uPlot.esm.js'),
  '/vendor/uplot/uPlot.min.css': () => join(uplotDir(), 'uPlot.min.css'),
};

/**
 * Map a request path to a file inside `root`, or null when it is outside (traversal), hidden, or missing.
 * @example resolveStaticPath('/page', '/app.js') // '/page/app.js';  resolveStaticPath('/page', '/../etc/passwd') // null
 */
export function resolveStaticPath(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..' || s.startsWith('.'))) return null;
  if (segments.length === 0) segments.push('index.html');
  const realRoot = realpathSync(root);
  const candidate = resolve(realRoot, ...segments);
  if (!candidate.startsWith(realRoot + sep)) return null;
  try {
    const real = realpathSync(candidate);
    if (!real.startsWith(realRoot + sep) || !statSync(real).isFile()) return null;
    return real;
  } catch {
    return null;
  }
}

/**
 * Answer a GET for a static file; returns false when the path is not one this server serves (caller sends 404).
 * @example if (!serveStatic(res, url.pathname, pageDir())) notFound(res)
 */
export function serveStatic(res: ServerResponse, urlPath: string, root: string, headOnly = false): boolean {
  const vendor = Object.hasOwn(VENDOR, urlPath) ? VENDOR[urlPath] : undefined;
  const file = vendor ? vendor() : resolveStaticPath(root, urlPath);
  if (!file) return false;
  let body: Buffer;
  try {
    body = readFileSync(file);
  } catch {
    return false;
  }
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': vendor ? 'public, max-age=86400' : 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  res.end(headOnly ? undefined : body);
  return true;
}

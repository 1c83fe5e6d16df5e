/**
 * HTTP for the dashboard write suites: a request with method, headers and body, answered as status, headers
 * and raw bytes (exports are binary).
 */
import { request } from 'node:http';

export interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer; json(): any }

/** Send `method path` to `base` exactly as given (the Host header too, when set). */
export function send(base: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Answer> {
  const url = new URL(base);
  const payload = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: options.method ?? 'POST', headers: { ...(payload !== undefined ? { 'content-length': String(Buffer.byteLength(payload)) } : {}), ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString('utf8')) });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

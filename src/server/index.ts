// HTTP API, Server-Sent Events, the dashboard page, and the owner advertisement + client other processes use.
export * from './owner-server.js';
export * from './owner-file.js';
export * from './client.js';
export * from './access.js';
export * from './sse.js';
export * from './sse-parser.js';
export * from './view-routes.js';
export * from './http-server.js';
export * from './static-files.js';
export * from './owner-api.js';
export * from './proxy.js';
export * from './serve.js';

// HTTP API, Server-Sent Events and the dashboard page (docs/server.md), plus the owner advertisement and the
// client other processes use to read a ledger through its owner.
export { startOwnerServer, advertiseOwner, type OwnerServer, type OwnerServerOptions, type ServedWorkspace } from './owner-server.js';
export { serve, type ServeHandle, type ServeOptions } from './serve.js';
export {
  readOwner, readOwnerFile, writeOwnerFile, removeOwnerFile, pingOwner, isPidAlive, ownerUrl, OWNER_FILE,
  type Owner, type OwnerInfo,
} from './owner-file.js';
export { fetchJson, followEvents, type FollowOptions, type ServerAddress } from './client.js';
export { createSseParser, type SseMessage } from './sse-parser.js';
export { streamLedgerEvents, formatEventMessage, resumeSeq, type EventStreamOptions } from './sse.js';
export { createLedgerApi, type LedgerApi } from './owner-api.js';
export { VIEW_ROUTES, answerView, policyView } from './view-routes.js';
export { isLoopbackHost, assertBindAllowed, checkAccess, TOKEN_COOKIE } from './access.js';
export { pageDir, resolveStaticPath } from './static-files.js';

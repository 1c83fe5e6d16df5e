/**
 * The cross-process wake-up of a PostgreSQL ledger: LISTEN on the ledger's channel, report every notified
 * lastSeq, and after every (re)connect report the stored lastSeq once. A notification is only a hint — the
 * ledger core then reads the records after the seq it knows, by seq range — so a notification lost while
 * disconnected costs nothing: the lastSeq read after LISTEN covers it. No gap, and no duplicate (the core skips
 * seqs it already has).
 */
import pg from 'pg';

/** A running LISTEN loop; `close()` stops it. */
export interface PgListener {
  close(): Promise<void>;
}

/**
 * @example const listener = listenForAppends(url, 'ckpt_ledger_ckpt', 'SELECT max(seq) FROM ckpt.events', (seq) => ...)
 */
export function listenForAppends(url: string, channel: string, lastSeqSql: string, onAppended: (lastSeq: number) => void): PgListener {
  let closed = false;
  let wake: (() => void) | undefined;

  const loop = async (): Promise<void> => {
    for (let delay = 50; !closed; delay = Math.min(delay * 2, 1000)) {
      const ended = new Promise<void>((resolve) => (wake = resolve));
      const current = new pg.Client({ connectionString: url, application_name: 'ckpt-ledger-listen', connectionTimeoutMillis: 5000 });
      current.on('error', () => wake?.());
      current.on('end', () => wake?.());
      try {
        // Only this loop ends its client (ending one that is still connecting can leave connect() pending).
        await current.connect();
        current.on('notification', (message) => {
          const seq = Number(message.payload);
          if (!closed && Number.isSafeInteger(seq)) onAppended(seq);
        });
        await current.query(`LISTEN "${channel}"`);
        const { rows } = await current.query(lastSeqSql);
        if (!closed) onAppended(Number(rows[0]?.last ?? 0));
        delay = 50;
        await ended;
      } catch {
        // Server down or restarting: try again after the backoff.
      }
      await current.end().catch(() => undefined);
      if (!closed) await new Promise((resolve) => setTimeout(resolve, delay));
    }
  };
  const running = loop();
  return {
    async close() {
      closed = true;
      wake?.();
      await running;
    },
  };
}

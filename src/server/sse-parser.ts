/**
 * An incremental parser for the `text/event-stream` format (the subset servers send: id, event, data, retry,
 * comments; lines end in LF or CRLF). Feed it chunks as they arrive; it calls back once per complete message.
 */
export interface SseMessage {
  /** `message` unless the server named it. */
  event: string;
  data: string;
  /** The `id:` of this message, if it had one. */
  id?: string;
}

/**
 * @example
 *   const feed = createSseParser((m) => console.log(m.id, m.data))
 *   feed('id: 1\ndata: {"seq":1}\n\n')
 */
export function createSseParser(onMessage: (message: SseMessage) => void): (chunk: string) => void {
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  const dispatch = (): void => {
    if (data.length > 0) onMessage({ event: event || 'message', data: data.join('\n'), ...(id !== undefined ? { id } : {}) });
    event = '';
    data = [];
    id = undefined;
  };
  return (chunk: string) => {
    buffer += chunk;
    let start = 0;
    let newline: number;
    while ((newline = buffer.indexOf('\n', start)) >= 0) {
      let line = buffer.slice(start, newline);
      start = newline + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        dispatch();
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
      else if (field === 'id' && !value.includes('\0')) id = value;
    }
    buffer = buffer.slice(start);
  };
}

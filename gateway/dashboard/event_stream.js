// event_stream.js -- following a Server-Sent Events route with fetch, so that the bearer token goes along (EventSource sends no headers).

import { authHeaders } from './api.js';
import { FINAL } from './known_ids.js';

// The longest event the page takes (a batch of 1,000 candidates with its gate records is far less).
const MAX_EVENT_CHARS = 64 * 1024 * 1024;

// Follow path's events: onRecord(eventName, record) for each JSON data block until the stream
// ends or signal aborts. Resolves when it ended; rejects with the HTTP status on a refusal.
export async function followEvents(path, onRecord, signal) {
  const response = await fetch(path, { headers: authHeaders({ Accept: 'text/event-stream' }), signal });
  if (!response.ok || !response.body) {
    const err = new Error(`events: HTTP ${response.status}`);
    err.status = response.status;
    throw err;
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
    if (buffer.length > MAX_EVENT_CHARS) throw new Error(`events: an event over ${MAX_EVENT_CHARS} characters`);
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length === 0) continue; // a comment (heartbeat)
      try {
        onRecord(name, JSON.parse(data.join('\n')));
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
      }
    }
  }
}

// followEvents until a record is final: a stream cut short (the gateway restarted, the network
// dropped) is opened again after 2 s. A refusal (4xx) ends it with that error.
export async function followUntilFinal(path, onRecord, signal) {
  for (;;) {
    let final = false;
    try {
      await followEvents(path, (name, record) => {
        final ||= FINAL.has(record.status);
        onRecord(name, record);
      }, signal);
    } catch (err) {
      if (signal?.aborted || (err.status >= 400 && err.status < 500)) throw err;
    }
    if (final || signal?.aborted) return;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

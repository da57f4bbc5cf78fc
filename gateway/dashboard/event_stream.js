// event_stream.js -- following a Server-Sent Events route with fetch, so that the bearer token goes along (EventSource sends no headers).

import { authHeaders } from './api.js';

// Follow path's events: onRecord(eventName, record) for each JSON data block until the stream
// ends or signal aborts. Resolves when it ended; rejects with the HTTP status on a refusal.
export async function followEvents(path, onRecord, signal) {
  const response = await fetch(path, { headers: authHeaders({ Accept: 'text/event-stream' }), signal });
  if (!response.ok || !response.body) throw new Error(`events: HTTP ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
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

// api.js -- the gateway's REST API as the pages call it, with the user's bearer token from sessionStorage.

const TOKEN_KEY = 'jouletrace.token';

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// The headers of every call: the bearer token when one was typed in.
export function authHeaders(extra = {}) {
  const t = token();
  return t ? { ...extra, Authorization: `Bearer ${t}` } : { ...extra };
}

// An error of the API: status, the envelope's error code and message.
export class ApiError extends Error {
  constructor(status, envelope) {
    super(envelope?.message || `HTTP ${status}`);
    this.status = status;
    this.code = envelope?.error || 'http_error';
    this.field = envelope?.details?.field;
  }
}

async function call(method, path, body) {
  const init = { method, headers: authHeaders(body ? { 'Content-Type': 'application/json' } : {}) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

export const getTask = (id) => call('GET', `/api/v1/tasks/${encodeURIComponent(id)}`);
export const getBatch = (id) => call('GET', `/api/v1/batches/${encodeURIComponent(id)}`);
export const submitMeasure = (job) => call('POST', '/api/v1/measure', job);
export const cancelTask = (id) => call('DELETE', `/api/v1/tasks/${encodeURIComponent(id)}`);

// api.js — the console speaks only citygridd's public API (README "API").
// The session token lives in sessionStorage: it goes with the tab, and a
// closed tab forgets it. Every call sends it as a Bearer token; a 401 means
// the session is over and the page goes back to the login form.

const TOKEN_KEY = 'citygrid.token';
const ME_KEY = 'citygrid.me';

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.details = details || {};   // the whole "error" object (e.g. distance_m)
  }
}

let onUnauthorized = () => {};
// Every request of a session shares one AbortController: logout aborts what
// is still in flight, so nothing arrives (or fails) after the token is gone.
let session = new AbortController();
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export function token() { return sessionStorage.getItem(TOKEN_KEY); }
export function savedMe() {
  try { return JSON.parse(sessionStorage.getItem(ME_KEY) || 'null'); } catch { return null; }
}
export function saveMe(me) { sessionStorage.setItem(ME_KEY, JSON.stringify(me)); }

async function decodeError(res) {
  let code = '', message = '', details = {};
  try {
    const body = await res.json();
    details = body?.error || {};
    code = details.code || '';
    message = details.message || '';
  } catch { /* not JSON */ }
  return new ApiError(res.status, code, message, details);
}

// fetch with the token; JSON in and out. opts: {method, body, raw, headers}
export async function api(path, opts = {}) {
  const headers = Object.assign({}, opts.headers || {});
  const tok = token();
  // Logged out (a view still finishing its work): do not ask without a token.
  if (!tok) throw new ApiError(401, 'unauthorized', 'not logged in');
  headers.Authorization = `Bearer ${tok}`;
  let body = opts.body;
  if (body !== undefined && !(body instanceof Blob) && !(body instanceof ArrayBuffer)) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(body);
  }
  const res = await fetch(path, { method: opts.method || (body !== undefined ? 'POST' : 'GET'), headers, body, signal: session.signal });
  if (res.status === 401 && tok) {
    onUnauthorized();
    throw await decodeError(res);
  }
  if (!res.ok) throw await decodeError(res);
  if (opts.raw) return res;
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  return type.includes('json') ? res.json() : res.text();
}

// Every page of a paged list ({"items","next"}), up to max items.
export async function apiAll(path, max = 5000) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api(`${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...(page.items || []));
    cursor = page.next;
  } while (cursor && items.length < max);
  return items;
}

export async function login(loginName, password) {
  const res = await fetch('/v1/sessions', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: loginName, password }),
  });
  if (!res.ok) throw await decodeError(res);
  const body = await res.json();
  sessionStorage.setItem(TOKEN_KEY, body.token);
  return body.member;
}

// Revoke the token (DELETE /v1/sessions). The token is dropped here in any
// case; a server without the endpoint (404/405) or an expired token (401)
// leaves nothing to revoke.
export async function logout() {
  const tok = token();
  session.abort();
  session = new AbortController();
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(ME_KEY);
  if (!tok) return;
  try {
    await fetch('/v1/sessions', { method: 'DELETE', headers: { Authorization: `Bearer ${tok}` } });
  } catch { /* offline: the token is gone from this tab anyway */ }
}

// A photo's bytes need the token, so <img src> cannot load them directly:
// fetch, then show the blob.
export async function photoUrl(sha) {
  const res = await api(`/v1/photos/${encodeURIComponent(sha)}`, { raw: true });
  return URL.createObjectURL(await res.blob());
}

export async function uploadPhoto(caseId, stage, file) {
  return api(`/v1/cases/${encodeURIComponent(caseId)}/photos?stage=${stage}`, {
    method: 'POST', body: file, headers: { 'Content-Type': file.type || 'image/jpeg' },
  });
}

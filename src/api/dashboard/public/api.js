// The daemon's REST API and WebSocket, with the token the user logged in with.

const KEY = 'asicd.token';

export function token() {
  return sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY) ?? '';
}

export function setToken(value, remember) {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
  if (value) (remember ? localStorage : sessionStorage).setItem(KEY, value);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** A JSON request; rejects with ApiError carrying the daemon's own error text (except for `alsoOk` statuses). */
export async function api(method, path, body, tokenOverride, alsoOk = []) {
  const t = tokenOverride ?? token();
  const headers = {};
  if (t) headers.authorization = `Bearer ${t}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!r.ok && !alsoOk.includes(r.status)) throw new ApiError(r.status, json?.error ?? `${r.status} ${r.statusText}`);
  return json;
}

/**
 * A WebSocket that reconnects with backoff and re-subscribes to `topics()`. `onMessage(topic, data)`, `onState(open)`.
 */
export function liveSocket(topics, onMessage, onState) {
  let ws;
  let wait = 500;
  let stopped = false;
  let timer;
  const open = () => {
    const t = token();
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    // browsers cannot set headers on a WebSocket: the token goes as a subprotocol (answered with "asicd"), never in
    // the URL (URLs end up in logs)
    ws = new WebSocket(`${proto}://${location.host}/api/v1/ws`, t ? ['asicd', `asicd.bearer.${t}`] : []);
    ws.onopen = () => {
      wait = 500;
      ws.send(JSON.stringify({ subscribe: topics() }));
      onState(true);
    };
    ws.onmessage = (ev) => {
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (m && typeof m.topic === 'string') onMessage(m.topic, m.data);
    };
    ws.onclose = () => {
      onState(false);
      if (stopped) return;
      timer = setTimeout(open, wait);
      wait = Math.min(wait * 2, 10_000);
    };
  };
  open();
  return {
    restart() {
      clearTimeout(timer);
      wait = 500;
      if (ws && ws.readyState <= 1) ws.close();
      else open();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      ws?.close();
    },
  };
}

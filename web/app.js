// teld's web page: plain DOM, no framework, no build step, nothing fetched from
// anywhere but this teld (the CSP forbids it).
//
// The token goes in an Authorization header on every call and lives in sessionStorage
// only: never in a URL (it would land in logs) nor a cookie (which would need CSRF
// defence). That is why live events come from fetch() + a stream reader, not
// EventSource, and why images are fetched and shown as blob: URLs, not <img src>:
// neither EventSource nor <img> can send a header.
'use strict';

const $ = (sel, el = document) => el.querySelector(sel);
const ACTIONS = ['stop', 'park', 'close', 'open', 'take', 'release', 'resume'];
const TOKEN_KEY = 'teld.token';
const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  me: null,
  lastEventId: null,
  sse: null,
  timers: {},
  blobs: {},
};

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

async function api(path, opts = {}) {
  const headers = new Headers(opts.headers || {});
  if (state.token) headers.set('Authorization', `Bearer ${state.token}`);
  const init = { method: opts.method || 'GET', headers, signal: opts.signal };
  if (opts.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    init.body = JSON.stringify(opts.json);
  }
  const r = await fetch(path, init);
  if (r.status === 401 && state.me) signOut('Your token was refused (revoked or expired). Sign in again.');
  return r;
}

async function apiJson(path, opts) {
  const r = await api(path, opts);
  let body = null;
  try { body = await r.json(); } catch (_) { /* not JSON: keep null */ }
  if (!r.ok) {
    const err = new Error(body?.error?.message || `${r.status} ${r.statusText}`);
    err.status = r.status;
    err.body = body;
    throw err;
  }
  return body;
}

// Runs `fn` at most once per `ms`, the last call winning: a burst of events causes
// one reload, not dozens.
function soon(name, fn, ms = 300) {
  if (state.timers[name]) return;
  state.timers[name] = setTimeout(() => { state.timers[name] = null; fn(); }, ms);
}

function setBlob(key, img, blob) {
  if (state.blobs[key]) URL.revokeObjectURL(state.blobs[key]);
  state.blobs[key] = URL.createObjectURL(blob);
  img.src = state.blobs[key];
}

// ---- sign in -------------------------------------------------------------------

async function start() {
  let r;
  try { r = await api('/api/v1/whoami'); } catch (e) { return showLogin(`teld is not reachable: ${e.message}`); }
  if (r.status === 401) return showLogin(state.token ? 'That token was refused.' : '');
  if (!r.ok) return showLogin(`teld answered ${r.status}.`);
  state.me = await r.json();
  showApp();
}

function showLogin(message) {
  state.me = null;
  $('#app').hidden = true;
  $('#login').hidden = false;
  $('#login-error').textContent = message || '';
  $('#who').replaceChildren();
}

function signOut(message) {
  state.token = '';
  sessionStorage.removeItem(TOKEN_KEY);
  if (state.sse) state.sse.abort();
  showLogin(message || '');
}

$('#login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  state.token = $('#token').value.trim();
  sessionStorage.setItem(TOKEN_KEY, state.token);
  $('#token').value = '';
  start();
});

function isOperator() {
  return state.me && (state.me.role === 'operator' || state.me.role === 'admin');
}

function showApp() {
  $('#login').hidden = true;
  $('#app').hidden = false;
  const who = $('#who');
  who.replaceChildren(el('span', { id: 'whoami', 'data-role': state.me.role },
    state.me.auth ? `${state.me.name} (${state.me.role})` : 'local access (auth off)'));
  if (state.me.auth) who.append(' ', el('button', { type: 'button', onclick: () => signOut() }, 'Sign out'));
  $('#requests-title').textContent = state.me.role === 'observer' ? 'My requests' : 'Requests';
  refreshAll();
  connectEvents();
  clearInterval(state.timers.poll);
  // The stream carries changes; this only catches up if it is down for long.
  state.timers.poll = setInterval(() => { refreshStatus(); refreshPlan(); }, 60000);
}

function refreshAll() {
  refreshStatus();
  refreshPlan();
  refreshRequests();
  refreshFrames();
}

// ---- telescopes ----------------------------------------------------------------

function mountWord(m) {
  if (!m) return 'unknown';
  if (m.connected === false) return 'disconnected';
  if (m.at_park) return 'parked';
  if (m.slewing) return 'slewing';
  if (m.tracking) return 'tracking';
  return 'stopped';
}

function domeWord(d) {
  if (!d) return 'none';
  if (d.connected === false) return 'disconnected';
  return d.shutter_status || 'unknown';
}

function cameraWord(c) {
  if (!c) return 'none';
  if (c.connected === false) return 'disconnected';
  return c.camera_state || 'unknown';
}

function fmtDeg(v, digits = 2) {
  return typeof v === 'number' ? v.toFixed(digits) : '–';
}

async function refreshStatus() {
  let s;
  try { s = await apiJson('/api/v1/status'); } catch (e) { return addAlert('status', e.message); }
  $('#site').textContent = s.site?.name || '';
  $('#clock').textContent = `${s.clock?.utc?.slice(0, 19) || ''} UTC${s.clock?.mode === 'simulated' ? ` (simulated ×${s.clock.speed})` : ''}`
    + (s.night ? ` · Sun ${fmtDeg(s.night.sun_altitude_deg, 1)}°` : '');
  const box = $('#telescopes');
  const cards = Object.entries(s.telescopes || {}).map(([name, t]) => telescopeCard(name, t));
  box.replaceChildren(...cards);
}

function row(label, value, cls) {
  return el('div', { class: 'row' }, el('span', { class: 'label' }, label),
    el('span', { class: `value ${cls}` }, value));
}

function telescopeCard(name, t) {
  const safe = t.safety?.safe;
  const w = t.weather;
  const card = el('article', { class: 'card', 'data-telescope': name },
    el('h3', {}, name, ' ', el('span', { class: `badge ${safe ? 'ok' : 'bad'}` }, t.safety?.level || (safe ? 'safe' : 'unsafe'))),
    row('mount', mountWord(t.mount), 'mount'),
    row('pointing', `RA ${fmtDeg(t.mount?.right_ascension, 4)} h · Dec ${fmtDeg(t.mount?.declination)}°`, 'pointing'),
    row('dome', domeWord(t.dome), 'dome'),
    row('camera', cameraWord(t.camera), 'camera'),
    row('control', t.control?.mode ? `${t.control.mode}${t.control.holder ? ` (${t.control.holder})` : ''}` : 'auto', 'control'),
    row('doing', t.activity || '–', 'activity'),
    row('block', t.block ? `request ${t.block.request_id} · ${t.block.phase || ''}` : '–', 'block'),
    row('weather', w ? `${w.is_safe === false ? 'unsafe' : 'safe'} · ${fmtDeg(w.temperature, 1)} °C · RH ${fmtDeg(w.humidity, 0)} % · rain ${fmtDeg(w.rain_rate, 1)}` : 'none', 'weather'),
  );
  if (!safe && t.safety?.reason) card.append(el('p', { class: 'error' }, t.safety.reason));
  if (isOperator()) {
    card.append(el('div', { class: 'controls' }, ACTIONS.map((a) =>
      el('button', { type: 'button', 'data-action': a, class: a === 'stop' ? 'danger' : '',
        onclick: () => act(name, a) }, a[0].toUpperCase() + a.slice(1)))));
  }
  return card;
}

function confirmAction(text) {
  const dlg = $('#confirm');
  $('#confirm-text').textContent = text;
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
    dlg.showModal();
  });
}

async function act(telescope, action) {
  if (!await confirmAction(`${action[0].toUpperCase()}${action.slice(1)} ${telescope}?`)) return;
  try {
    const r = await apiJson(`/api/v1/telescopes/${encodeURIComponent(telescope)}/actions/${action}`,
      { method: 'POST' });
    addAlert('control', `${action} ${telescope}: ${r.done ? 'done' : 'under way'}`);
  } catch (e) {
    addAlert('control', `${action} ${telescope} refused: ${e.message}`, true);
  }
  refreshStatus();
}

// ---- plan ----------------------------------------------------------------------

async function refreshPlan() {
  try {
    const plan = await apiJson('/api/v1/plan');
    const rows = [];
    for (const t of plan.telescopes || []) {
      for (const b of t.blocks || []) {
        rows.push(el('tr', { 'data-plan-request': b.request_id },
          el('td', {}, t.name), el('td', {}, b.request_id), el('td', {}, b.name),
          el('td', {}, b.start.slice(0, 19)), el('td', {}, b.end.slice(11, 19)),
          el('td', {}, b.value.toFixed(1))));
      }
    }
    if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 6 }, 'nothing planned')));
    $('#plan-table tbody').replaceChildren(...rows);
    const r = await api('/api/v1/plan.svg?now=true');
    if (r.ok) setBlob('plan', $('#plan-chart'), await r.blob());
  } catch (e) {
    addAlert('plan', e.message, true);
  }
}

// ---- requests ------------------------------------------------------------------

const CANCELLABLE = new Set(['queued', 'scheduled']);

async function refreshRequests() {
  let list;
  try { list = await apiJson('/api/v1/requests?limit=50'); } catch (e) { return addAlert('requests', e.message, true); }
  const rows = (list.requests || []).map((q) => el('tr', { 'data-request': q.id, 'data-state': q.state },
    el('td', {}, q.id), el('td', {}, q.name || ''), el('td', { class: 'state' }, q.state),
    el('td', {}, q.priority), el('td', {}, q.attempts), el('td', {}, (q.updated_at || '').slice(0, 19)),
    el('td', {}, CANCELLABLE.has(q.state)
      ? el('button', { type: 'button', onclick: () => cancelRequest(q.id) }, 'Cancel') : '')));
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 7 }, 'no requests yet')));
  $('#requests tbody').replaceChildren(...rows);
}

async function cancelRequest(id) {
  if (!await confirmAction(`Cancel request ${id}?`)) return;
  try {
    await apiJson(`/api/v1/requests/${id}/cancel`, { method: 'POST' });
  } catch (e) {
    addAlert('requests', `cancel ${id}: ${e.message}`, true);
  }
  refreshRequests();
}

// Builds the request JSON from the form: dotted names nest, empty optional fields
// are left out so the API's defaults apply.
function formJson(form) {
  const out = {};
  for (const input of form.querySelectorAll('input[name], select[name]')) {
    const raw = input.value.trim();
    if (raw === '') continue;
    const value = input.type === 'number' ? Number(raw) : raw;
    const path = input.name.split('.');
    let o = out;
    for (const k of path.slice(0, -1)) o = (o[k] ||= {});
    o[path[path.length - 1]] = value;
  }
  return out;
}

$('#request-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  for (const e of form.querySelectorAll('.field-error')) e.remove();
  for (const e of form.querySelectorAll('.invalid')) e.classList.remove('invalid');
  const result = $('#request-result');
  result.className = '';
  try {
    const r = await apiJson('/api/v1/requests', { method: 'POST', json: formJson(form) });
    result.textContent = `Request ${r.id} accepted (${r.state}).`;
    result.dataset.requestId = r.id;
    refreshRequests();
  } catch (e) {
    result.className = 'error';
    result.textContent = e.message;
    const errors = e.body?.error?.errors || (e.body?.error?.field ? [e.body.error] : []);
    for (const fe of errors) {
      const input = form.querySelector(`[name="${CSS.escape(fe.field || '')}"]`);
      if (!input) continue;
      input.classList.add('invalid');
      input.after(el('span', { class: 'field-error' }, fe.message));
    }
  }
});

// ---- frames --------------------------------------------------------------------

async function refreshFrames() {
  let list;
  try { list = await apiJson('/api/v1/frames?limit=500'); } catch (e) { return addAlert('frames', e.message, true); }
  const recent = (list.frames || []).slice(-12).reverse();
  const tiles = recent.map((f) => {
    const img = el('img', { alt: `preview of frame ${f.id}` });
    const q = f.quality;
    const tile = el('figure', { class: 'frame', 'data-frame': f.id }, img,
      el('figcaption', {}, `${f.telescope} · ${(f.date_obs || '').slice(0, 19)} · ${f.exptime_s} s`,
        q ? el('span', { class: `badge ${q.pass ? 'ok' : 'bad'}` }, q.pass ? `FWHM ${fmtDeg(q.fwhm_arcsec, 1)}″` : q.reason || 'failed') : '',
        ' ', el('button', { type: 'button', onclick: () => download(f) }, 'FITS')));
    if (q?.preview) {
      api(f.preview_url).then((r) => (r.ok ? r.blob() : null)).then((b) => { if (b) setBlob(`frame${f.id}`, img, b); });
    }
    return tile;
  });
  $('#frames').replaceChildren(...(tiles.length ? tiles : [el('p', {}, 'no frames yet')]));
}

async function download(f) {
  const r = await api(f.fits_url);
  if (!r.ok) return addAlert('frames', `download of frame ${f.id}: ${r.status}`, true);
  const url = URL.createObjectURL(await r.blob());
  const a = el('a', { href: url, download: f.path.split('/').pop() });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// ---- alerts --------------------------------------------------------------------

function addAlert(source, message, bad) {
  const list = $('#alerts');
  list.prepend(el('li', { class: bad ? 'bad' : '' },
    el('time', {}, new Date().toISOString().slice(11, 19)), ' ', el('b', {}, source), ' ', message));
  while (list.children.length > 100) list.lastChild.remove();
}

function describe(kind, d) {
  switch (kind) {
    case 'alert': return [d.source || 'alert', d.message, true];
    case 'observation': return [`observation ${d.observation_id}`, `${d.telescope}: request ${d.request_id} ${d.phase}${d.detail ? ` (${d.detail})` : ''}`];
    case 'safety': return ['safety', `${d.telescope || ''} ${d.safe ? 'safe' : `${d.level || 'unsafe'}: ${d.reason || ''}`}`, !d.safe];
    case 'request': return [`request ${d.request_id}`, d.state];
    default: return null;
  }
}

// ---- live events (SSE over fetch) ------------------------------------------------

function onEvent(kind, data) {
  let d = {};
  try { d = JSON.parse(data); } catch (_) { /* keep-alive or non-JSON */ }
  switch (kind) {
    case 'hello':
    case 'reset':
      refreshAll();
      break;
    case 'telescope': case 'driver': case 'safety':
      soon('status', refreshStatus);
      break;
    case 'request': case 'request_state': case 'observation':
      soon('requests', refreshRequests);
      break;
    case 'frame':
      soon('frames', refreshFrames, 1000);
      break;
    case 'plan':
      soon('plan', refreshPlan);
      break;
    default:
      break;
  }
  if (kind === 'safety' || kind === 'observation') soon('status', refreshStatus);
  if (kind === 'observation') soon('plan', refreshPlan);
  const line = describe(kind, d);
  if (line) addAlert(...line);
}

async function connectEvents() {
  if (state.sse) state.sse.abort();
  const ctl = new AbortController();
  state.sse = ctl;
  let delay = 1000;
  while (!ctl.signal.aborted) {
    try {
      const headers = { Accept: 'text/event-stream' };
      if (state.lastEventId) headers['Last-Event-ID'] = state.lastEventId;
      const r = await api('/api/v1/events', { headers, signal: ctl.signal });
      if (!r.ok || !r.body) throw new Error(`events: ${r.status}`);
      $('#live').textContent = 'live';
      $('#live').className = 'badge ok';
      delay = 1000;
      await readStream(r.body, ctl.signal);
    } catch (e) {
      if (ctl.signal.aborted) break;
    }
    $('#live').textContent = 'reconnecting';
    $('#live').className = 'badge bad';
    await new Promise((res) => setTimeout(res, delay));
    delay = Math.min(delay * 2, 15000);
  }
}

// The text/event-stream format: fields until a blank line, then dispatch.
async function readStream(body, signal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let ev = { kind: 'message', data: [] };
  while (!signal.aborted) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let nl;
    while ((nl = buf.search(/\r\n|\n|\r/)) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + (buf.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (ev.data.length) onEvent(ev.kind, ev.data.join('\n'));
        ev = { kind: 'message', data: [] };
        continue;
      }
      if (line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'event') ev.kind = val;
      else if (field === 'data') ev.data.push(val);
      else if (field === 'id') state.lastEventId = val;
    }
  }
}

start();

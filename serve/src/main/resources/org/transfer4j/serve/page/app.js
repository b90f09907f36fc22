// The page at /: pick or drop an image, POST it to /v1/predict, draw the top-k classes as bars.
// Plain browser JavaScript, no libraries, nothing loaded from elsewhere (the server's CSP forbids it).
'use strict';

const $ = (id) => document.getElementById(id);
const state = { token: sessionStorage.getItem('transfer4j.token') || '', model: null, file: null };
const MANY_CLASSES = 40; // above this the class list folds away (an ImageNet model has 1000)

function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (state.token) h['Authorization'] = 'Bearer ' + state.token;
  return h;
}

function setState(s) { document.body.dataset.state = s; }

function showError(message) {
  const e = $('error');
  e.textContent = message;
  e.hidden = false;
  setState('error');
}

function clearError() { $('error').hidden = true; }

async function loadModel() {
  let r;
  try {
    r = await fetch('/v1/model', { headers: headers() });
  } catch (e) {
    showError('Cannot reach the server: ' + e.message);
    return;
  }
  if (r.status === 401) {
    $('token-box').hidden = false;
    $('model-name').textContent = 'token needed';
    setState('token');
    return;
  }
  const body = await r.json();
  if (!r.ok) { showError(body.error || ('HTTP ' + r.status)); return; }
  $('token-box').hidden = true;
  state.model = body;
  renderModel(body);
  setState('ready');
}

function renderModel(m) {
  $('model-name').textContent = m.name;
  $('m-name').textContent = m.name;
  const bb = m.backbone || {};
  $('m-backbone').textContent = (bb.file || bb.preset || '?') + (bb.sha256 ? ' · ' + bb.sha256.slice(0, 12) : '');
  $('m-input').textContent = (bb.input || '?') + (bb.preset ? ' · ' + bb.preset : '');
  $('m-count').textContent = String(m.num_classes);
  $('m-batch').textContent = 'up to ' + m.server.max_batch + ' per run, ' + m.server.max_wait_ms + ' ms wait';
  const select = $('top-k');
  select.textContent = '';
  const most = Math.min(10, m.num_classes);
  for (let k = 1; k <= most; k++) {
    const o = document.createElement('option');
    o.value = String(k);
    o.textContent = String(k);
    if (k === Math.min(m.server.top_k, most)) o.selected = true;
    select.appendChild(o);
  }
  const box = $('classes');
  box.textContent = '';
  const chips = (parent) => m.classes.forEach((c) => {
    const s = document.createElement('span');
    s.textContent = c;
    s.dataset.label = c;
    parent.appendChild(s);
  });
  if (m.classes.length <= MANY_CLASSES) {
    chips(box);
  } else {
    const d = document.createElement('details');
    const sum = document.createElement('summary');
    sum.textContent = 'all ' + m.classes.length + ' class names';
    d.appendChild(sum);
    const inner = document.createElement('div');
    inner.className = 'classes';
    chips(inner);
    d.appendChild(inner);
    box.appendChild(d);
  }
}

function pct(p) { return (100 * p).toFixed(1) + '%'; }

function renderPrediction(p) {
  $('top-label').textContent = p.label;
  $('top-prob').textContent = 'probability ' + pct(p.probability) + ' · class ' + p.index;
  const list = $('bars');
  list.textContent = '';
  for (const s of p.top) {
    const li = document.createElement('li');
    li.dataset.label = s.label;
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = s.label;
    name.title = s.label;
    const track = document.createElement('span');
    track.className = 'track';
    const fill = document.createElement('span');
    fill.className = 'fill';
    fill.style.width = Math.max(0, Math.min(100, 100 * s.probability)).toFixed(2) + '%';
    fill.style.display = 'block';
    track.appendChild(fill);
    const v = document.createElement('span');
    v.className = 'pct';
    v.textContent = pct(s.probability);
    li.append(name, track, v);
    list.appendChild(li);
  }
  const t = p.timings;
  $('timings').textContent = p.image.width + '×' + p.image.height + ' px · decode ' + t.decode_ms.toFixed(1)
    + ' ms · preprocess ' + t.preprocess_ms.toFixed(1) + ' ms · queue ' + t.queue_ms.toFixed(1) + ' ms · model ' + t.inference_ms.toFixed(1) + ' ms (batch of '
    + p.batch_size + ') · total ' + t.total_ms.toFixed(1) + ' ms';
  document.querySelectorAll('.classes span').forEach((s) => s.classList.toggle('hit', s.dataset.label === p.label));
  $('again').hidden = false;
  setState('done');
}

async function predict() {
  if (!state.file) return;
  clearError();
  setState('predicting');
  $('top-label').textContent = 'Thinking…';
  const k = $('top-k').value || '5';
  let r;
  try {
    r = await fetch('/v1/predict?top_k=' + encodeURIComponent(k), {
      method: 'POST',
      headers: headers({ 'Content-Type': state.file.type || 'application/octet-stream' }),
      body: state.file,
    });
  } catch (e) {
    showError('Cannot reach the server: ' + e.message);
    return;
  }
  let body;
  try { body = await r.json(); } catch (e) { body = { error: 'HTTP ' + r.status }; }
  if (!r.ok) {
    $('top-label').textContent = 'No prediction';
    $('bars').textContent = '';
    $('top-prob').textContent = '';
    $('timings').textContent = '';
    showError(body.error + (body.reason ? ' [' + body.reason + ']' : ''));
    if (r.status === 401) $('token-box').hidden = false;
    return;
  }
  renderPrediction(body);
}

function useFile(file) {
  if (!file) return;
  state.file = file;
  const img = $('preview');
  if (img.src) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(file);
  img.hidden = false;
  $('hint').hidden = true;
  predict();
}

function wire() {
  const drop = $('drop');
  drop.addEventListener('click', () => $('file').click());
  drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') $('file').click(); });
  $('file').addEventListener('change', (e) => useFile(e.target.files[0]));
  ['dragenter', 'dragover'].forEach((t) => drop.addEventListener(t, (e) => {
    e.preventDefault();
    drop.classList.add('over');
  }));
  ['dragleave', 'drop'].forEach((t) => drop.addEventListener(t, () => drop.classList.remove('over')));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    if (e.dataTransfer.files.length) useFile(e.dataTransfer.files[0]);
  });
  $('again').addEventListener('click', () => $('file').click());
  $('top-k').addEventListener('change', predict);
  $('token-box').addEventListener('submit', (e) => {
    e.preventDefault();
    state.token = $('token').value.trim();
    sessionStorage.setItem('transfer4j.token', state.token);
    loadModel();
  });
}

wire();
loadModel();

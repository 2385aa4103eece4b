// The page of gans/app.py: a Sudoku whose givens are generated images, and the run's gallery.
'use strict';

const state = { info: null, puzzle: null, entries: new Array(81).fill(0), selected: -1,
  revealed: false };  // revealed: "Solve" showed the answer; the board is read-only
const $ = (id) => document.getElementById(id);
const newSeed = () => Math.floor(Math.random() * 1e9);

async function getJSON(url) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {  // no answer at all: the server stopped, or the network is down
    throw new Error('the server cannot be reached; is `python -m gans.app` still running?');
  }
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// A button's work, its failure shown in the status line it reports to.
const reporting = (statusId, work) => async () => {
  try {
    await work();
  } catch (error) {
    $(statusId).textContent = `Error: ${error.message}`;
  }
};

function image(tile, alt) {
  const img = document.createElement('img');
  img.src = tile.src;
  img.title = tile.title;
  img.alt = alt;
  return img;
}

function numberName(n) {
  const numbers = state.info.numbers;
  return numbers ? `${n} = ${numbers[n - 1].name}` : String(n);
}

// ---- Sudoku ----

function renderBoard() {
  const { puzzle, entries } = state;
  const board = $('board');
  board.replaceChildren();
  for (let r = 0; r < 9; r++) {
    const row = board.insertRow();
    for (let c = 0; c < 9; c++) {
      const i = 9 * r + c;
      const td = row.insertCell();
      td.dataset.index = i;
      const given = puzzle.givens[i];
      // givens select too (typing there then changes nothing): the arrows cross them
      td.addEventListener('click', () => select(i));
      if (i === state.selected) td.classList.add('selected');
      if (given) {
        td.classList.add('given');
        td.dataset.value = given;
        const tile = puzzle.cells[i];
        if (tile) {
          td.append(image(tile, numberName(given)));
          if (!tile.checked) td.classList.add('unchecked');
        } else {
          td.textContent = given;
        }
      } else {
        if (entries[i]) {
          td.textContent = entries[i];
          td.classList.add(entries[i] === puzzle.solution[i] ? 'right' : 'wrong');
        }
        if (state.revealed) td.classList.add('solved');
      }
    }
  }
  renderStatus();
}

function renderStatus() {
  const { puzzle, entries } = state;
  const open = puzzle.givens.map((g, i) => (g ? -1 : i)).filter((i) => i >= 0);
  const wrong = open.filter((i) => entries[i] && entries[i] !== puzzle.solution[i]).length;
  const done = open.every((i) => entries[i] === puzzle.solution[i]);
  const why = state.info.classifier ? 'fell below the classifier\'s threshold'
    : 'could not be checked (no classifier)';
  const checked = puzzle.unchecked ? ` ${puzzle.unchecked} given image(s) ${why} (dashed).` : '';
  if (state.revealed) {
    $('puzzle-status').textContent = 'The solution is shown; "New puzzle" starts another.';
    return;
  }
  $('puzzle-status').textContent = done ? 'Solved!'
    : `${open.filter((i) => !entries[i]).length} cells to fill, ${wrong} mistake(s).${checked}`;
}

function select(i) {
  state.selected = i;
  renderBoard();
}

function fill(value) {
  const i = state.selected;
  if (i < 0 || state.puzzle.givens[i] || state.revealed) return;
  state.entries[i] = value;
  renderBoard();
}

function renderLegend() {
  const legend = $('legend');
  legend.replaceChildren();
  for (let n = 1; n <= 9; n++) {
    const button = document.createElement('button');
    button.dataset.number = n;
    const tile = state.info.legend[n - 1];
    if (tile) button.append(image(tile, numberName(n)));
    button.append(state.info.numbers ? `${n} ${state.info.numbers[n - 1].name}` : `${n}`);
    button.addEventListener('click', () => fill(n));
    legend.append(button);
  }
}

async function newPuzzle(seed = newSeed()) {
  $('puzzle-status').textContent = 'Generating…';
  const difficulty = $('difficulty').value;
  state.puzzle = await getJSON(`/api/sudoku?seed=${seed}&difficulty=${difficulty}`);
  const link = $('puzzle-link');  // the page's address with the seed: the same puzzle again
  link.href = `?seed=${seed}&difficulty=${difficulty}`;
  link.textContent = `puzzle seed ${seed}`;
  state.entries = new Array(81).fill(0);
  state.selected = -1;
  state.revealed = false;
  renderBoard();
}

function solve() {
  const { puzzle } = state;
  puzzle.givens.forEach((g, i) => { if (!g) state.entries[i] = puzzle.solution[i]; });
  state.revealed = true;
  renderBoard();
}

document.addEventListener('keydown', (event) => {
  if (!state.puzzle || state.selected < 0 || $('sudoku-panel').hidden) return;
  const moves = { ArrowUp: -9, ArrowDown: 9, ArrowLeft: -1, ArrowRight: 1 };
  if (/^[1-9]$/.test(event.key)) fill(Number(event.key));
  else if (['Backspace', 'Delete', '0'].includes(event.key)) fill(0);
  else if (event.key in moves) {
    const next = state.selected + moves[event.key];
    if (next >= 0 && next < 81) select(next);
  } else return;
  event.preventDefault();
});

// ---- Gallery ----

function renderTiles(container, data) {
  container.style.gridTemplateColumns = `repeat(${data.columns}, auto)`;
  container.replaceChildren(...data.tiles.map((t) => image(t, state.info.class_names[t.cls] || '')));
}

async function loadGallery() {
  $('gallery-status').textContent = 'Generating…';
  const seed = newSeed();
  const ema = $('use-ema').checked ? 1 : 0;
  renderTiles($('samples'), await getJSON(`/api/samples?seed=${seed}&ema=${ema}`));
  renderTiles($('interpolation'), await getJSON(`/api/interpolation?seed=${seed}&ema=${ema}`));
  $('gallery-status').textContent = `seed ${seed}${ema ? ', EMA' : ''}`;
}

async function plotFid() {
  const { step, fid, fid_ema: fidEma } = await getJSON('/api/fid');
  const svg = $('fid-plot');
  const ns = 'http://www.w3.org/2000/svg';
  const W = 420, H = 260, L = 50, B = 30, T = 10, R = 10;
  if (!step.length) {
    svg.innerHTML = `<text x="20" y="130">No FID logged yet (or the run is unscored).</text>`;
    return;
  }
  const final = state.info.scores.fid;  // of the run's end, on more samples
  const values = fid.concat(fidEma.filter((v) => v !== null), final === undefined ? [] : [final]);
  const lo = Math.min(...values), hi = Math.max(...values);
  const x = (s) => L + (W - L - R) * (step.length > 1 ? (s - step[0]) / (step[step.length - 1] - step[0]) : 0.5);
  const y = (v) => T + (H - T - B) * (hi > lo ? (hi - v) / (hi - lo) : 0.5);
  svg.innerHTML = '';
  const add = (tag, attrs, text) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    svg.append(el);
  };
  add('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#444' });
  add('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#444' });
  const TICKS = 5;
  for (let k = 0; k < TICKS; k++) {  // FID ticks, and step ticks under the curve
    const v = lo + (hi - lo) * k / (TICKS - 1);
    add('line', { x1: L - 4, y1: y(v), x2: L, y2: y(v), stroke: '#444' });
    add('text', { class: 'fid-tick', x: 4, y: y(v) + 4, 'font-size': 11 }, v.toFixed(1));
    const s = Math.round(step[0] + (step[step.length - 1] - step[0]) * k / (TICKS - 1));
    const anchor = k === 0 ? 'start' : (k === TICKS - 1 ? 'end' : 'middle');
    add('text', { class: 'step-tick', x: x(s), y: H - 12, 'font-size': 11, 'text-anchor': anchor }, String(s));
  }
  add('text', { x: (W - R) / 2, y: H - 1, 'font-size': 11 }, 'step');
  if (final !== undefined) {
    const n = state.info.scores.num_samples;
    const cx = x(Math.min(state.info.scores.step, step[step.length - 1]));
    add('circle', { id: 'final-fid', cx, cy: y(final), r: 5, fill: '#15803d' });
    add('text', { x: L + 8, y: y(final) + (y(final) > T + 30 ? -8 : 16), fill: '#15803d',
      'font-size': 12 }, `final FID ${final.toFixed(1)} (${n.toLocaleString('en')} samples)`);
  }
  const line = (vals, color, label, dy) => {
    const pts = vals.map((v, i) => (v === null ? null : `${x(step[i])},${y(v)}`)).filter(Boolean);
    if (!pts.length) return;
    add('polyline', { points: pts.join(' '), fill: 'none', stroke: color, 'stroke-width': 2 });
    add('text', { x: W - R - 80, y: T + dy, fill: color, 'font-size': 12 }, label);
  };
  line(fid, '#1d4ed8', 'FID', 12);
  line(fidEma, '#c2410c', 'FID (EMA)', 28);
}

// ---- Start ----

function showPanel(tab) {
  for (const t of document.querySelectorAll('.tab')) {
    t.classList.toggle('active', t === tab);
    $(t.dataset.panel).hidden = t !== tab;
  }
}

async function start() {
  const info = state.info = await getJSON('/api/info');
  const ema = info.has_ema ? ', EMA available' : '';
  const checker = info.classifier
    ? `images checked by the classifier (${info.classifier}) at confidence ≥ ${info.threshold}`
    : 'images not checked (no classifier)';
  $('run-info').textContent = `${info.source}: ${info.arch} GAN (${info.loss}) on `
    + `${info.dataset}, step ${info.step}${info.conditional ? ', conditional' : ''}${ema}; ${checker}.`;
  const sc = info.scores;
  $('run-scores').textContent = sc.fid === undefined
    ? 'No final scores: the run has not ended, or it is not scored.'
    : `Final scores at step ${sc.step}, ${sc.num_samples.toLocaleString('en')} samples against the test set: `
      + `FID ${sc.fid.toFixed(1)}, KID ${sc.kid.toFixed(2)}`
      + (sc.class_accuracy === undefined ? '' : `, class accuracy ${sc.class_accuracy.toFixed(3)}`)
      + '.';
  $('messages').replaceChildren(...info.messages.map((m) => {
    const li = document.createElement('li');
    li.textContent = m;
    return li;
  }));
  const asked = new URLSearchParams(window.location.search);  // ?seed=N&difficulty=D replays
  const difficulty = info.difficulties.includes(asked.get('difficulty')) ? asked.get('difficulty') : 'easy';
  $('difficulty').replaceChildren(...info.difficulties.map((d) => new Option(d, d, d === difficulty, d === difficulty)));
  $('use-ema').disabled = !info.has_ema;
  $('latest-grid').closest('figure').hidden = info.shipped;  // no run folder, no grids
  if (info.latest_grid) $('latest-caption').textContent = `The run's latest sample grid (samples/${info.latest_grid})`;
  for (const tab of document.querySelectorAll('.tab')) tab.addEventListener('click', () => showPanel(tab));
  $('new-puzzle').addEventListener('click', reporting('puzzle-status', () => newPuzzle()));
  // the menu always names the board's difficulty: changing it starts a puzzle of it
  $('difficulty').addEventListener('change', reporting('puzzle-status', () => newPuzzle()));
  $('solve').addEventListener('click', solve);
  $('new-samples').addEventListener('click', reporting('gallery-status', loadGallery));
  $('use-ema').addEventListener('change', reporting('gallery-status', loadGallery));
  $('latest-grid').addEventListener('error', () => { $('latest-caption').textContent = 'No sample grid written yet.'; });
  const seed = /^\d{1,10}$/.test(asked.get('seed') || '') && Number(asked.get('seed')) < 2 ** 31
    ? Number(asked.get('seed')) : newSeed();  // the server's range
  renderLegend();  // the same images for every puzzle
  await newPuzzle(seed);
  await Promise.all([loadGallery(), plotFid()]);
  document.body.dataset.ready = '1';
}

start().catch((error) => { $('run-info').textContent = `Error: ${error.message}`; });

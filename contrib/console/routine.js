// routine.js — the grid routine on the phone: check-in at the grid office
// (the distance is shown when it is refused), patrol tracking from the
// device's location while patrolling, this week's two-patrol-day
// compliance, meetings and the tasks claimed there.
import { t, fmtTime, fmtDate, cityIsoWeek } from './i18n.js';
import { h, clear, errorBox, section, table } from './dom.js';

const SEND_EVERY_MS = 30000;

function here() {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) { reject(new Error('no geolocation')); return; }
    navigator.geolocation.getCurrentPosition((p) => resolve(p.coords), reject, { enableHighAccuracy: true, timeout: 15000 });
  });
}

export async function render(root, { me, api }) {
  const gridSelect = (name) => h('select', { name }, me.grids.map((g) => h('option', { value: g }, g)));
  root.append(h('h1', {}, t('nav_routine')));

  // ---- check-in
  const ciGrid = gridSelect('grid');
  const ciOut = h('p', { id: 'checkin-result' });
  const ciButton = h('button', { type: 'button', id: 'checkin' }, t('checkin'));
  ciButton.addEventListener('click', async () => {
    ciOut.className = 'muted'; ciOut.textContent = '…';
    delete ciOut.dataset.result;
    delete ciOut.dataset.distance;
    try {
      const c = await here();
      await api('/v1/checkins', { body: { grid: ciGrid.value, lat: c.latitude, lon: c.longitude } });
      ciOut.className = 'ok'; ciOut.textContent = `${t('checkin_done')} ${fmtTime(new Date().toISOString())}`;
      ciOut.dataset.result = 'ok';
    } catch (err) {
      ciOut.className = 'error';
      const d = err.details && err.details.distance_m;
      ciOut.textContent = d != null ? `${err.message} (${t('distance')} ${d} ${t('meters')})` : err.message;
      ciOut.dataset.result = 'refused';
      if (d != null) ciOut.dataset.distance = String(d);
    }
  });
  root.append(section(t('checkin'), h('div', { class: 'filters' }, ciGrid, ciButton), ciOut));

  // ---- patrol
  const paGrid = gridSelect('grid');
  const paOut = h('p', { id: 'patrol-status', class: 'muted' });
  // What the member sees while walking: the patrol and how many points of
  // its track were recorded (sent or waiting to be sent).
  function showTrack() {
    paOut.dataset.points = String(sent + buffer.length);
    paOut.textContent = `${t('patrol')} ${patrol.id} · ${t('patrol_points')} ${sent + buffer.length}`;
  }
  const start = h('button', { type: 'button', id: 'patrol-start' }, t('patrol_start'));
  const stop = h('button', { type: 'button', id: 'patrol-end', class: 'danger', hidden: true }, t('patrol_end'));
  let patrol = null, watch = null, buffer = [], sent = 0, flushTimer = null, lastAt = 0;
  async function flush() {
    if (!patrol || !buffer.length) return;
    const points = buffer;
    buffer = [];
    try {
      await api(`/v1/patrols/${encodeURIComponent(patrol.id)}/points`, { body: { points } });
      sent += points.length;
    } catch (err) { buffer = points.concat(buffer); paOut.textContent = err.message; return; }
    if (patrol) showTrack();
  }
  start.addEventListener('click', async () => {
    try {
      patrol = await api('/v1/patrols', { body: { grid: paGrid.value } });
      sent = 0;
      buffer = [];
      lastAt = 0;
      paOut.dataset.patrol = patrol.id;
      showTrack();
      start.hidden = true; stop.hidden = false;
      if (navigator.geolocation) {
        watch = navigator.geolocation.watchPosition((p) => {
          // A device may hand over the fix it had before the patrol began
          // (its timestamp earlier): it is where the member is now, so it
          // counts from the start. Times must rise, as the server wants.
          const at = Math.max(p.timestamp, Date.parse(patrol.started_at) || 0, lastAt + 1);
          lastAt = at;
          buffer.push({ at: new Date(at).toISOString(), lat: p.coords.latitude, lon: p.coords.longitude });
          if (patrol) showTrack();
        }, (err) => { paOut.textContent = err.message; }, { enableHighAccuracy: true });
      }
      flushTimer = setInterval(flush, SEND_EVERY_MS);
    } catch (err) { paOut.textContent = err.message; }
  });
  async function endPatrol() {
    if (watch != null) navigator.geolocation.clearWatch(watch);
    watch = null;
    clearInterval(flushTimer);
    if (!patrol) return;
    await flush();
    try {
      await api(`/v1/patrols/${encodeURIComponent(patrol.id)}/end`, { method: 'POST' });
      paOut.dataset.ended = patrol.id;
    } catch (err) { paOut.textContent = err.message; }
    patrol = null;
    start.hidden = false; stop.hidden = true;
  }
  stop.addEventListener('click', endPatrol);
  root.append(section(t('patrol'), h('div', { class: 'filters' }, paGrid, start, stop), paOut));

  // ---- compliance, meetings, tasks
  const week = cityIsoWeek();
  const comp = h('div', { id: 'compliance' });
  const meet = h('div', { id: 'meetings' });
  const tasks = h('div', { id: 'tasks' });
  root.append(section(`${t('compliance')} (${week})`, comp), section(t('meetings'), meet), section(t('tasks'), tasks));
  api(`/v1/patrols/compliance?week=${week}&member=${encodeURIComponent(me.id)}`).then((r) => {
    clear(comp).append(table([t('grid'), t('patrol'), ''], (r.items || []).map((x) =>
      [x.grid, `${x.patrol_days} / ${r.required} ${t('days')}`, x.met ? '✔' : '✘'])));
  }, (err) => clear(comp).append(errorBox(err)));
  Promise.all(me.grids.slice(0, 5).map((g) => api(`/v1/meetings?grid=${g}&limit=10`).then((r) => r.items || [], () => [])))
    .then((lists) => {
      const all = lists.flat();
      clear(meet).append(all.length ? table([t('grid'), t('month'), t('tasks')], all.map((m) =>
        [m.grid, fmtDate(m.date), String((m.tasks || []).length)])) : h('p', { class: 'muted' }, t('none')));
    });
  async function drawTasks() {
    try {
      const r = await api(`/v1/tasks?assignee=${encodeURIComponent(me.id)}&limit=100`);
      const items = r.items || [];
      clear(tasks).append(items.length ? h('ul', {}, items.map((x) => h('li', {}, `${x.title} · ${x.status || ''} `,
        x.status !== 'done' ? h('button', { type: 'button', class: 'plain', onclick: async () => {
          await api(`/v1/tasks/${encodeURIComponent(x.id)}/done`, { method: 'POST' }); drawTasks();
        } }, t('task_done')) : null))) : h('p', { class: 'muted' }, t('none')));
    } catch (err) { clear(tasks).append(errorBox(err)); }
  }
  drawTasks();
  return () => { endPatrol(); };
}

// report.js — report a case: a category (grouped by department, in
// Chinese), a point from a click on the map or the device's location (the
// grid that holds it is shown at once: GET /v1/grids/locate), a description,
// before photos, "handled on site"; then POST /v1/cases, the photos, and the
// likely duplicates the 201 names.
import { t, tSource } from './i18n.js';
import { h, clear, errorBox, loadCatalog, catName, depName, caseList } from './dom.js';
import { gridMap } from './mapview.js';
import { uploadPhoto } from './api.js';

const SOURCES = ['patrol', 'citizen', 'camera', 'hotline', 'platform', 'inspection'];

export async function render(root, { api }) {
  const cat = await loadCatalog(api);
  const byDept = new Map();
  for (const c of cat.categories) {
    if (!byDept.has(c.department)) byDept.set(c.department, []);
    byDept.get(c.department).push(c);
  }
  const lat = h('input', { name: 'lat', type: 'number', step: 'any', required: true, readonly: true });
  const lon = h('input', { name: 'lon', type: 'number', step: 'any', required: true, readonly: true });
  const where = h('p', { id: 'located-grid', class: 'muted' }, t('pick_on_map'));
  const mapEl = h('div', { id: 'report-map', class: 'map small' });
  const result = h('div', { id: 'report-result' });
  const form = h('form', { id: 'report-form', class: 'card' },
    h('label', {}, t('category'), ' ', h('select', { name: 'category', required: true },
      h('option', { value: '' }, '—'),
      [...byDept.entries()].map(([dep, list]) => h('optgroup', { label: depName(dep) },
        list.map((c) => h('option', { value: c.code }, catName(c.code))))))),
    h('div', { class: 'point' }, h('label', { class: 'inline' }, 'lat', lat), h('label', { class: 'inline' }, 'lon', lon),
      h('button', { type: 'button', class: 'plain', id: 'use-device' }, t('use_device'))),
    where,
    h('label', {}, t('description'), h('textarea', { name: 'description', maxlength: '2000' })),
    h('label', {}, t('source'), ' ', h('select', { name: 'source' }, SOURCES.map((s) => h('option', { value: s }, tSource(s))))),
    h('label', {}, t('before_photos'), ' ', h('input', { name: 'photos', type: 'file', accept: 'image/jpeg,image/png', multiple: true })),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'handled_on_site' }), ' ', t('handled_on_site')),
    h('p', { class: 'error', id: 'report-error' }),
    h('button', { type: 'submit', id: 'report-submit' }, t('submit')));
  root.append(h('h1', {}, t('nav_report')), h('div', { class: 'two' }, h('div', {}, mapEl), form), result);

  let marker = null;
  let gm = null;
  async function setPoint(la, lo) {
    lat.value = la.toFixed(6);
    lon.value = lo.toFixed(6);
    if (marker) marker.setLatLng([la, lo]);
    else if (gm) marker = L.circleMarker([la, lo], { className: 'report-point', radius: 8, color: '#1d5fa8', weight: 3 }).addTo(gm.map);
    where.className = 'muted';
    where.textContent = '…';
    try {
      const g = await api(`/v1/grids/locate?lat=${la}&lon=${lo}`);
      const code = g.grid || g.code;
      const f = gm ? gm.features().find((x) => x.properties.code === code) : null;
      where.className = 'ok';
      where.textContent = `${t('located_in')}: ${f ? f.properties.name : ''} ${code}`;
      where.dataset.grid = code;
    } catch (err) {
      delete where.dataset.grid;
      where.className = 'error';
      where.textContent = err.status === 404 ? t('outside_grids') : err.message;
    }
  }
  try {
    // A member reports in the grids they serve: the map opens on those.
    gm = await gridMap(mapEl, api, {
      fit: 'mine',
      onMapClick: (ll) => setPoint(ll.lat, ll.lng),
      onGridClick: (code, props, ll) => setPoint(ll.lat, ll.lng),
    });
  } catch (err) { mapEl.append(errorBox(err)); }

  form.querySelector('#use-device').addEventListener('click', () => {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition((pos) => {
      setPoint(pos.coords.latitude, pos.coords.longitude);
      if (gm) gm.map.setView([pos.coords.latitude, pos.coords.longitude], Math.max(gm.map.getZoom(), 16));
    }, (err) => { where.className = 'error'; where.textContent = err.message; }, { enableHighAccuracy: true, timeout: 15000 });
  });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    const err = form.querySelector('#report-error');
    err.textContent = '';
    if (!fd.get('category') || !lat.value) { err.textContent = `${t('category')} / ${t('location')}`; return; }
    const button = form.querySelector('#report-submit');
    button.disabled = true;
    try {
      const body = {
        category: fd.get('category'), lat: Number(lat.value), lon: Number(lon.value),
        description: fd.get('description') || '', source: fd.get('source'),
        handled_on_site: fd.get('handled_on_site') === 'on',
      };
      const c = await api('/v1/cases', { body });
      for (const file of form.querySelector('input[name=photos]').files) await uploadPhoto(c.id, 'before', file);
      const dups = c.likely_duplicate_of || [];
      clear(result).append(h('section', { class: 'card' },
        h('h2', {}, t('report_done')),
        caseList([c]),
        dups.length ? h('div', { id: 'duplicates' }, h('h2', {}, t('likely_duplicates')),
          h('ul', { class: 'cases' }, dups.map((d) => h('li', { dataset: { caseId: d.id } },
            h('a', { href: `#/case/${encodeURIComponent(d.id)}` }, `${d.id} · ${Math.round(d.distance_m)} ${t('meters')}`))))) : null));
      form.reset();
      lat.value = ''; lon.value = '';
      if (marker) { marker.remove(); marker = null; }
      where.textContent = t('pick_on_map');
      if (gm) gm.refresh().catch(() => {});
    } catch (e) {
      err.textContent = `${t('error')}: ${e.message}`;
    } finally {
      button.disabled = false;
    }
  });
  return () => { if (gm) gm.destroy(); };
}

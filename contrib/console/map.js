// map.js — the grid map page: every grid the caller may see, coloured by its
// open cases and outlined when some are overdue, the open cases as points;
// a click on a grid opens the grid's page. Refreshes every 30 s.
import { t } from './i18n.js';
import { h, errorBox } from './dom.js';
import { gridMap, caseMarkers, legend } from './mapview.js';

const OPEN = ['reported', 'dispatched', 'accepted'];

export async function render(root, { api }) {
  const el = h('div', { id: 'grid-map', class: 'map big' });
  const info = h('p', { class: 'muted small' }, t('map_legend'));
  root.append(h('h1', {}, t('nav_map')), legend(), el, info);
  let gm;
  try {
    gm = await gridMap(el, api, { onGridClick: (code) => { location.hash = `#/grid/${code}`; } });
  } catch (err) {
    root.append(errorBox(err));
    return undefined;
  }
  let markers = null;
  async function points() {
    const pages = await Promise.all(OPEN.map((s) => api(`/v1/cases?status=${s}&limit=1000`)));
    if (markers) markers.remove();
    markers = caseMarkers(gm.map, pages.flatMap((p) => p.items));
  }
  await points().catch((err) => root.append(errorBox(err)));
  const timer = setInterval(() => { gm.refresh().then(points).catch(() => {}); }, 30000);
  return () => { clearInterval(timer); gm.destroy(); };
}

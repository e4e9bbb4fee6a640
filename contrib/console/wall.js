// wall.js — the command centre's wall display: the whole map, the city's
// live counts (open, overdue, waiting for review) and the latest overdue
// cases, refreshed every 15 s.
import { t } from './i18n.js';
import { h, clear, caseList, errorBox } from './dom.js';
import { gridMap, legend } from './mapview.js';

export async function render(root, { api }) {
  const el = h('div', { id: 'grid-map', class: 'map big' });
  const side = h('div', { class: 'wall-side' });
  root.append(h('h1', {}, t('wall_title')), h('div', { class: 'wall' }, h('div', {}, legend(), el), side));
  const gm = await gridMap(el, api, { onGridClick: (code) => { location.hash = `#/grid/${code}`; } });
  async function counts() {
    const fc = await gm.refresh();
    const open = fc.features.reduce((a, f) => a + f.properties.open, 0);
    const overdue = fc.features.reduce((a, f) => a + f.properties.overdue, 0);
    const [handled, late] = await Promise.all([api('/v1/cases?status=handled&limit=1000'), api('/v1/cases?overdue=true&limit=20')]);
    clear(side).append(h('div', { class: 'counters' },
      h('div', { class: 'counter' }, h('span', { class: 'num', id: 'wall-open' }, String(open)), h('span', { class: 'lbl' }, t('open_cases'))),
      h('div', { class: 'counter late' }, h('span', { class: 'num', id: 'wall-overdue' }, String(overdue)), h('span', { class: 'lbl' }, t('overdue'))),
      h('div', { class: 'counter' }, h('span', { class: 'num' }, String((handled.items || []).length)), h('span', { class: 'lbl' }, t('to_review'))),
      h('div', { class: 'counter' }, h('span', { class: 'num' }, String(fc.features.length)), h('span', { class: 'lbl' }, t('grids')))),
    h('h2', {}, t('overdue')), caseList(late.items || []),
    h('p', { class: 'muted small' }, `${t('updated_at')} ${new Date().toLocaleTimeString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false })}`));
  }
  await counts().catch((err) => side.append(errorBox(err)));
  const timer = setInterval(() => counts().catch(() => {}), 15000);
  return () => { clearInterval(timer); gm.destroy(); };
}

// cases.js — the case list with the API's filters (status, grid,
// department, overdue), paged by the API's cursor.
import { t, tStatus, getLang } from './i18n.js';
import { h, clear, caseList, errorBox, loadCatalog, depName } from './dom.js';

const STATUSES = ['', 'reported', 'dispatched', 'accepted', 'handled', 'closed', 'cancelled'];

export async function render(root, { me, api }) {
  const cat = await loadCatalog(api);
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const form = h('form', { class: 'filters', id: 'case-filters' },
    h('label', {}, t('status'), ' ', h('select', { name: 'status' },
      STATUSES.map((s) => h('option', { value: s, selected: params.get('status') === s }, s ? tStatus(s) : '—')))),
    h('label', {}, t('grid'), ' ', h('select', { name: 'grid' }, h('option', { value: '' }, '—'),
      me.grids.map((g) => h('option', { value: g, selected: params.get('grid') === g }, g)))),
    h('label', {}, t('department'), ' ', h('select', { name: 'department' }, h('option', { value: '' }, '—'),
      cat.departments.map((d) => h('option', { value: d.code, selected: params.get('department') === d.code }, depName(d.code))))),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'overdue', value: 'true', checked: params.get('overdue') === 'true' }), ' ', t('overdue')),
    h('button', { type: 'submit' }, t('search')));
  const out = h('div', { id: 'case-results' });
  const more = h('button', { type: 'button', class: 'plain', hidden: true }, getLang() === 'en' ? 'More' : '更多');
  root.append(h('h1', {}, t('nav_cases')), form, out, more);
  let next = null;
  let shown = [];

  async function load(reset) {
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) q.set(k, v);
    q.set('limit', '50');
    if (!reset && next) q.set('cursor', next);
    try {
      const page = await api(`/v1/cases?${q}`);
      shown = reset ? page.items : shown.concat(page.items);
      next = page.next;
      clear(out).append(caseList(shown));
      more.hidden = !next;
    } catch (err) { clear(out).append(errorBox(err)); }
  }
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load(true); });
  more.addEventListener('click', () => load(false));
  await load(true);
}

// grid.js — one grid's page: its hierarchy, office, staff by role, staffing
// gaps (for those who manage it) and open cases.
import { t, tRole, getLang } from './i18n.js';
import { h, caseList, section, table, errorBox, depName } from './dom.js';

const ROLE_ORDER = ['leader', 'instructor', 'fulltime', 'professional', 'optional'];

export async function render(root, { me, api, args }) {
  const code = args[0];
  const g = await api(`/v1/grids/${encodeURIComponent(code)}`);
  const hier = g.hierarchy || {};
  const place = (p) => (p ? (getLang() === 'en' ? p.name_en || p.name_zh : p.name_zh || p.name_en) : '');
  root.append(h('h1', { id: 'grid-title' }, g.name, h('span', { class: 'muted small' }, ` ${g.code}`)));
  root.append(section(t('hierarchy'),
    h('p', {}, ['city', 'district', 'subdistrict', 'community'].map((k) => place(hier[k])).filter(Boolean).join(' › ')),
    h('p', {}, `${t('office')}: ${g.office ? `${g.office.lat.toFixed(5)}, ${g.office.lon.toFixed(5)}` : '—'}`)));
  const staff = (g.staff || []).slice().sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role));
  root.append(section(t('staff'), table([t('role'), t('name'), t('department')],
    staff.map((s) => [tRole(s.role), s.name, s.department ? depName(s.department) : '—']))));
  if (me.is_admin || me.managed.includes(code)) {
    try {
      const gaps = await api('/v1/staffing/gaps');
      const mine = (gaps.items || []).find((x) => x.grid === code);
      root.append(section(t('gaps'), mine ? h('ul', {}, mine.missing.map((m) => {
        const [role, dep] = m.split(':');
        return h('li', {}, `${tRole(role)}${dep ? ` (${depName(dep)})` : ''}`);
      })) : h('p', {}, t('no_gaps'))));
    } catch (err) { root.append(errorBox(err)); }
  }
  const open = await Promise.all(['reported', 'dispatched', 'accepted', 'handled'].map((s) =>
    api(`/v1/cases?grid=${encodeURIComponent(code)}&status=${s}&limit=200`).then((p) => p.items)));
  root.append(section(t('open_cases'), caseList(open.flat().sort((a, b) => (a.id < b.id ? 1 : -1)))));
}

// admin.js — for administrators: plugins (state, mode, queue, in flight,
// dead letters, latency) with reload / enable / disable; the staffing gaps;
// members (look one up, add one); the categories and where they are routed.
import { t, tRole, tPluginState } from './i18n.js';
import { h, clear, errorBox, section, table, loadCatalog, catName, depName } from './dom.js';

const ROLES = ['leader', 'instructor', 'fulltime', 'professional', 'optional'];

export async function render(root, { api }) {
  const cat = await loadCatalog(api);
  const plugins = h('div', { id: 'plugins' });
  // The last reload / enable / disable and how it went (kept across redraws).
  const done = h('p', { id: 'plugin-result', class: 'muted' });
  const gaps = h('div', { id: 'gaps' });
  const members = h('div', { id: 'members' });
  root.append(h('h1', {}, t('nav_admin')), section(t('plugins'), plugins), section(t('gaps'), gaps),
    section(t('members'), members), section(t('categories'), table(
      [t('category'), t('department'), t('sla_hours'), t('after_photos')],
      cat.categories.map((c) => [catName(c.code), depName(c.department), String(c.sla_hours ?? '—'), c.requires_after_photo ? t('yes') : t('no')]))));

  async function drawPlugins() {
    const list = await api('/v1/plugins');
    const items = Array.isArray(list) ? list : list.items || [];
    clear(plugins).append(table([t('plugins'), t('state'), t('mode'), t('queue'), t('in_flight'), t('dead_letters'), t('latency'), ''],
      items.map((p) => [
        `${p.name} ${p.version || ''}`, tPluginState(p.state), p.mode, String(p.queue ?? 0), String(p.in_flight ?? 0),
        String(p.dead_letters ?? 0), p.latency_ms ? `${p.latency_ms.p50} ms` : '—',
        h('span', { class: 'plugin-ctl', dataset: { plugin: p.name, state: p.state || '', instance: p.instance || '' } },
          ['reload', p.state === 'disabled' ? 'enable' : 'disable'].map((verb) =>
            h('button', { type: 'button', class: 'plain', dataset: { plugin: p.name, verb }, onclick: async (ev) => {
              ev.target.disabled = true;
              try {
                const r = await api(`/v1/plugins/${encodeURIComponent(p.name)}/${verb}`, { method: 'POST' });
                Object.assign(done.dataset, { plugin: p.name, result: r.result || verb });
                done.className = 'ok';
                done.textContent = `${p.name}: ${t(verb)} ✔`;
              } catch (err) {
                Object.assign(done.dataset, { plugin: p.name, result: 'refused' });
                done.className = 'error';
                done.textContent = `${p.name}: ${t(verb)}: ${err.message}`;
              }
              drawPlugins().catch(() => {});
            } }, t(verb)))),
      ])), done);
  }
  drawPlugins().catch((err) => clear(plugins).append(errorBox(err)));
  const timer = setInterval(() => drawPlugins().catch(() => {}), 10000);

  api('/v1/staffing/gaps').then((g) => {
    const items = g.items || [];
    clear(gaps).append(h('p', {}, `${items.length} / ${g.grids ?? '?'}`), items.length ? table([t('grid'), t('gaps')],
      items.slice(0, 300).map((x) => [h('a', { href: `#/grid/${x.grid}` }, `${x.name || ''} ${x.grid}`),
        x.missing.map((m) => { const [r, d] = m.split(':'); return `${tRole(r)}${d ? `(${depName(d)})` : ''}`; }).join('、')])) : h('p', {}, t('no_gaps')));
  }, (err) => clear(gaps).append(errorBox(err)));

  // Members: look up by id; add one with one assignment.
  const out = h('div', { id: 'member-out' });
  const find = h('form', { class: 'filters' }, h('input', { name: 'id', placeholder: t('member_id'), required: true }),
    h('button', { type: 'submit' }, t('search')));
  find.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const m = await api(`/v1/members/${encodeURIComponent(new FormData(find).get('id'))}`);
      clear(out).append(h('p', {}, `${m.id} ${m.name} (${m.login || ''}) ${m.department ? depName(m.department) : ''}`),
        table([t('grid'), t('role'), t('department')], (m.assignments || []).map((a) => [a.grid, tRole(a.role), a.department ? depName(a.department) : '—'])));
    } catch (err) { clear(out).append(errorBox(err)); }
  });
  const add = h('form', { class: 'card', id: 'member-new' }, h('h3', {}, t('new_member')),
    h('label', {}, t('name'), ' ', h('input', { name: 'name', required: true })),
    h('label', {}, t('login_name'), ' ', h('input', { name: 'login', required: true })),
    h('label', {}, t('password'), ' ', h('input', { name: 'password', type: 'password', required: true, minlength: '8' })),
    h('label', {}, t('department'), ' ', h('select', { name: 'department' }, h('option', { value: '' }, '—'),
      cat.departments.map((d) => h('option', { value: d.code }, depName(d.code))))),
    h('label', {}, t('grid'), ' ', h('input', { name: 'grid', pattern: '[0-9]{14}' })),
    h('label', {}, t('role'), ' ', h('select', { name: 'role' }, ROLES.map((r) => h('option', { value: r }, tRole(r))))),
    h('p', { class: 'error' }), h('button', { type: 'submit' }, t('save')));
  add.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fd = new FormData(add);
    const body = { name: fd.get('name'), login: fd.get('login'), password: fd.get('password') };
    if (fd.get('department')) body.department = fd.get('department');
    if (fd.get('grid')) body.assignments = [{ grid: fd.get('grid'), role: fd.get('role') }];
    try {
      const m = await api('/v1/members', { body });
      add.querySelector('.error').textContent = '';
      clear(out).append(h('p', { class: 'ok' }, `${t('created')}: ${m.id}`));
      add.reset();
    } catch (err) { add.querySelector('.error').textContent = err.message; }
  });
  members.append(find, out, add);
  return () => clearInterval(timer);
}

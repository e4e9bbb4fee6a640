// app.js — the console's shell: login and logout, who the caller is, the
// navigation for their role, the language switch, and a hash router
// (#/home, #/map, #/report, #/cases, #/case/ID, #/grid/CODE, #/routine,
// #/assessment, #/admin, #/wall). Each view is a module with
// render(root, ctx) that may return a stop() function (timers, watchers).
import { api, login, logout, token, savedMe, saveMe, setUnauthorizedHandler } from './api.js';
import { t, tRole, getLang, setLang } from './i18n.js';
import { h, clear, errorBox, loadCatalog, forgetCatalog } from './dom.js';

const views = {
  home: () => import('./home.js'),
  map: () => import('./map.js'),
  grid: () => import('./grid.js'),
  report: () => import('./report.js'),
  cases: () => import('./cases.js'),
  case: () => import('./case.js'),
  routine: () => import('./routine.js'),
  assessment: () => import('./assessment.js'),
  admin: () => import('./admin.js'),
  wall: () => import('./wall.js'),
};

let me = null;        // {id, name, department, is_admin, department_account, assignments, roles}
let stopView = null;
let renderSeq = 0;

// What the caller is, from GET /v1/members/{id}.
function describe(member, full) {
  const m = Object.assign({}, member, full || {});
  m.assignments = m.assignments || [];
  m.roles = [...new Set(m.assignments.map((a) => a.role))];
  m.grids = [...new Set(m.assignments.map((a) => a.grid))];
  m.managed = [...new Set(m.assignments.filter((a) => a.role === 'leader' || a.role === 'instructor').map((a) => a.grid))];
  m.manager = m.managed.length > 0;
  m.isDepartment = !!m.department_account;
  return m;
}

function navItems() {
  const items = [['home', t('nav_home')], ['map', t('nav_map')], ['cases', t('nav_cases')], ['report', t('nav_report')]];
  if (!me.isDepartment || me.is_admin) items.push(['routine', t('nav_routine')]);
  items.push(['assessment', t('nav_assessment')]);
  if (me.is_admin) items.push(['admin', t('nav_admin')]);
  if (me.is_admin || me.isDepartment) items.push(['wall', t('nav_wall')]);
  return items.filter(([key]) => views[key]);
}

function drawChrome() {
  document.title = t('title');
  document.getElementById('brand').textContent = t('title');
  document.getElementById('lang').textContent = t('lang_switch');
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  const out = document.getElementById('logout');
  out.textContent = t('logout');
  clear(nav);
  if (!me) {
    nav.hidden = true; out.hidden = true; who.textContent = '';
    return;
  }
  const current = (location.hash.slice(2).split('/')[0]) || 'home';
  for (const [key, label] of navItems())
    nav.append(h('a', { href: `#/${key}`, id: `nav-${key}`, class: key === current ? 'active' : '' }, label));
  nav.hidden = false;
  out.hidden = false;
  const role = me.is_admin ? tRole('admin') : me.isDepartment ? tRole('department') : me.roles.map(tRole).join('、');
  who.textContent = `${me.name}${role ? ` · ${role}` : ''}`;
}

function showLogin(message) {
  if (stopView) { stopView(); stopView = null; }
  me = null;
  drawChrome();
  const view = clear(document.getElementById('view'));
  const form = h('form', { id: 'login-form', class: 'card narrow', autocomplete: 'on' },
    h('h1', {}, t('login')),
    h('label', {}, h('span', {}, t('login_name')), ' ', h('input', { name: 'login', autocomplete: 'username', required: true })),
    h('label', {}, h('span', {}, t('password')), ' ', h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    h('p', { class: 'error', id: 'login-error', role: 'alert' }, message || ''),
    h('button', { type: 'submit', id: 'login-submit' }, t('login')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    form.querySelector('button').disabled = true;
    try {
      const member = await login(fd.get('login'), fd.get('password'));
      await start(member);
    } catch (err) {
      form.querySelector('#login-error').textContent = err.status === 401 ? t('login_failed') : `${t('error')}: ${err.message}`;
      form.querySelector('button').disabled = false;
    }
  });
  view.append(form);
}

async function start(member) {
  let full = null;
  try { full = await api(`/v1/members/${encodeURIComponent(member.id)}`); } catch { /* admin bootstrap has no row to show */ }
  me = describe(member, full);
  saveMe(me);
  await loadCatalog(api);
  if (!location.hash || location.hash === '#' || location.hash === '#/login') location.hash = '#/home';
  else route();
}

async function route() {
  if (!me) return;
  const [name, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const key = views[name] ? name : 'home';
  const seq = ++renderSeq;
  if (stopView) { stopView(); stopView = null; }
  drawChrome();
  const view = clear(document.getElementById('view'));
  view.className = `view-${key}`;
  view.append(h('p', { class: 'muted', id: 'loading' }, t('loading')));
  try {
    const mod = await views[key]();
    if (seq !== renderSeq) return;
    clear(view);
    const stop = await mod.render(view, { me, api, args: rest.map(decodeURIComponent), rerender: route });
    if (seq !== renderSeq) { if (typeof stop === 'function') stop(); return; }
    stopView = typeof stop === 'function' ? stop : null;
  } catch (err) {
    if (seq !== renderSeq) return;
    clear(view).append(errorBox(err));
  }
}

document.getElementById('lang').addEventListener('click', () => {
  setLang(getLang() === 'zh' ? 'en' : 'zh');
  if (me) route(); else showLogin();
});
document.getElementById('logout').addEventListener('click', async () => {
  if (stopView) { stopView(); stopView = null; }
  renderSeq++;
  await logout();
  forgetCatalog();
  location.hash = '#/login';
  showLogin();
});
setUnauthorizedHandler(() => {
  sessionStorage.clear();
  showLogin(t('login_failed'));
});
window.addEventListener('hashchange', route);

// A reload keeps the session of this tab.
if (token() && savedMe()) {
  me = savedMe();
  loadCatalog(api).then(route, (err) => showLogin(err.message));
} else {
  showLogin();
}

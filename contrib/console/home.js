// home.js — a home for each role (issue: "a home for each role"):
//  - member: the open cases of their grids, what waits on them (to handle),
//    what came back from a failed review (to fix);
//  - leader / instructor: their grids' queue, overdue, waiting for review,
//    waiting for dispatch;
//  - department account: its department's queue city-wide;
//  - admin: the city's counts and everything open.
// The counts refresh every 15 s without a reload.
import { t } from './i18n.js';
import { h, clear, caseList, section, errorBox } from './dom.js';

const REFRESH_MS = 15000;
const OPEN = ['reported', 'dispatched', 'accepted'];

async function openCases(api, extra = '') {
  const pages = await Promise.all(OPEN.map((s) => api(`/v1/cases?status=${s}&limit=200${extra}`)));
  return pages.flatMap((p) => p.items).sort((a, b) => (a.id < b.id ? 1 : -1));
}

function counter(id, label, value, tone) {
  return h('div', { class: `counter ${tone || ''}`, id }, h('span', { class: 'num' }, String(value)), h('span', { class: 'lbl' }, label));
}

export async function render(root, { me, api }) {
  const body = h('div', { class: 'home' });
  root.append(h('h1', {}, t('nav_home')), body);

  async function draw() {
    const dept = me.isDepartment && !me.is_admin ? `&department=${encodeURIComponent(me.department)}` : '';
    const [open, overdue, handled, reported] = await Promise.all([
      openCases(api, dept),
      api(`/v1/cases?overdue=true&limit=200${dept}`).then((p) => p.items),
      api(`/v1/cases?status=handled&limit=200${dept}`).then((p) => p.items),
      api(`/v1/cases?status=reported&limit=200${dept}`).then((p) => p.items),
    ]);
    const mine = open.filter((c) => c.assignee === me.id && c.status === 'accepted');
    const toFix = mine.filter((c) => c.rework > 0);
    const blocks = [];
    const counters = h('div', { class: 'counters' },
      counter('count-open', t('open_cases'), open.length),
      counter('count-overdue', t('overdue'), overdue.length, overdue.length ? 'late' : ''),
      counter('count-review', t('to_review'), handled.length),
      counter('count-mine', t('to_handle'), mine.length));
    blocks.push(counters);
    if (me.is_admin) {
      blocks.push(section(t('overdue'), caseList(overdue)));
      blocks.push(section(t('to_review'), caseList(handled)));
      blocks.push(section(t('all_cases'), caseList(open.slice(0, 50))));
    } else if (me.isDepartment) {
      blocks.push(section(t('dept_queue'), caseList(open)));
      blocks.push(section(t('overdue'), caseList(overdue)));
    } else if (me.manager) {
      blocks.push(section(t('to_review'), caseList(handled)));
      blocks.push(section(t('overdue'), caseList(overdue)));
      blocks.push(section(t('to_dispatch'), caseList(reported)));
      blocks.push(section(t('open_cases'), caseList(open)));
    } else {
      blocks.push(section(t('to_handle'), caseList(mine.filter((c) => !c.rework))));
      blocks.push(section(t('to_fix'), caseList(toFix)));
      blocks.push(section(t('open_cases'), caseList(open)));
    }
    clear(body).append(...blocks,
      h('p', { class: 'muted small' }, `${t('updated_at')} ${new Date().toLocaleTimeString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false })}`));
  }

  try { await draw(); } catch (err) { clear(body).append(errorBox(err)); }
  const timer = setInterval(() => { draw().catch(() => {}); }, REFRESH_MS);
  return () => clearInterval(timer);
}

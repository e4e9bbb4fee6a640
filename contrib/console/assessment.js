// assessment.js — the monthly report by member, grid or department
// (GET /v1/reports/monthly), with charts from Debian's libjs-chart.js
// (global Chart): the ranking by score, the seven indicators of the chosen
// row (or the mean of all rows), and the trend of the last six months; the
// CSV download; the annual evaluation and the commendations.
import { t, tRole, tIndicator, indicatorKeys, cityMonth, getLang } from './i18n.js';
import { h, clear, errorBox, section, table, depName } from './dom.js';

const pct = (v) => (v == null ? '—' : `${Math.round(v * 100)}%`);
const num = (v) => (v == null ? '—' : (Math.round(v * 10) / 10).toString());

function rowName(by, r) {
  if (by === 'member') return r.name || r.member;
  if (by === 'department') return depName(r.department);
  return r.grid;
}

function monthsBack(month, n) {
  const [y, m] = month.split('-').map(Number);
  const out = [];
  for (let i = n - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(y, m - 1 - i, 1));
    out.push(`${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`);
  }
  return out;
}

export async function render(root, { api }) {
  const charts = [];
  const form = h('form', { class: 'filters', id: 'report-filters' },
    h('label', {}, t('month'), ' ', h('input', { type: 'month', name: 'month', value: cityMonth(), required: true })),
    h('label', {}, t('by'), ' ', h('select', { name: 'by' },
      h('option', { value: 'grid' }, t('by_grid')), h('option', { value: 'member' }, t('by_member')),
      h('option', { value: 'department' }, t('by_department')))),
    h('button', { type: 'submit' }, t('search')),
    h('button', { type: 'button', class: 'plain', id: 'csv' }, t('download_csv')));
  const out = h('div', { id: 'monthly' });
  const yearly = h('div', { id: 'annual' });
  root.append(h('h1', {}, t('nav_assessment')), form, out, yearly);

  function chart(canvas, config) {
    const c = new Chart(canvas, Object.assign({ options: {} }, config));
    charts.push(c);
    return c;
  }
  function dropCharts() { while (charts.length) charts.pop().destroy(); }

  async function draw() {
    dropCharts();
    const fd = new FormData(form);
    const month = fd.get('month');
    const by = fd.get('by');
    clear(out).append(h('p', { class: 'muted' }, t('loading')));
    const rep = await api(`/v1/reports/monthly?month=${month}&by=${by}&limit=1000`);
    const rows = rep.items || [];
    const scored = rows.filter((r) => r.score != null).sort((a, b) => b.score - a.score);
    const rank = h('canvas', { id: 'chart-ranking' });
    const ind = h('canvas', { id: 'chart-indicators' });
    const trend = h('canvas', { id: 'chart-trend' });
    const tableRows = (scored.length ? scored : rows).slice(0, 200).map((r, i) => [
      String(i + 1), rowName(by, r), by === 'member' ? tRole(r.role) : '', num(r.score),
      ...indicatorKeys.map((k) => (k === 'satisfaction' ? num(r[k]) : pct(r[k])))]);
    clear(out).append(
      h('div', { class: 'charts' },
        section(t('ranking'), h('div', { class: 'chart-box' }, rank)),
        section(t('indicators'), h('div', { class: 'chart-box' }, ind)),
        section(t('trend'), h('div', { class: 'chart-box' }, trend))),
      section(`${t('nav_assessment')} ${month}`, table(
        ['#', t(by === 'member' ? 'member' : by === 'department' ? 'department' : 'grid'), by === 'member' ? t('role') : '', t('score'),
          ...indicatorKeys.map(tIndicator)], tableRows)));

    const top = scored.slice(0, 10);
    chart(rank, {
      type: 'bar',
      data: { labels: top.map((r) => rowName(by, r)), datasets: [{ label: t('score'), data: top.map((r) => r.score), backgroundColor: '#1d5fa8' }] },
      options: { indexAxis: 'y', maintainAspectRatio: false, animation: false, scales: { x: { min: 0, max: 100 } } },
    });
    const mean = (k) => {
      const v = rows.map((r) => r[k]).filter((x) => x != null);
      if (!v.length) return null;
      const m = v.reduce((a, b) => a + b, 0) / v.length;
      return k === 'satisfaction' ? (m - 1) / 4 : m;
    };
    chart(ind, {
      type: 'bar',
      data: { labels: indicatorKeys.map(tIndicator), datasets: [{ label: getLang() === 'en' ? 'mean' : '平均', data: indicatorKeys.map((k) => (mean(k) == null ? null : Math.round(mean(k) * 100))), backgroundColor: '#f3a64b' }] },
      options: { maintainAspectRatio: false, animation: false, scales: { y: { min: 0, max: 100 } } },
    });
    const months = monthsBack(month, 6);
    const series = await Promise.all(months.map((m) => api(`/v1/reports/monthly?month=${m}&by=${by}&limit=1000`)
      .then((r) => {
        const s = (r.items || []).map((x) => x.score).filter((x) => x != null);
        return s.length ? Math.round((s.reduce((a, b) => a + b, 0) / s.length) * 10) / 10 : null;
      }, () => null)));
    chart(trend, {
      type: 'line',
      data: { labels: months, datasets: [{ label: t('score'), data: series, borderColor: '#1d5fa8', spanGaps: true }] },
      options: { maintainAspectRatio: false, animation: false, scales: { y: { min: 0, max: 100 } } },
    });
  }

  async function drawYear() {
    const year = cityMonth().slice(0, 4);
    try {
      const [annual, comm] = await Promise.all([
        api(`/v1/reports/annual?year=${year}&by=member&limit=1000`),
        api(`/v1/reports/commendations?year=${year}`)]);
      const a = (annual.items || []).filter((r) => r.score != null).sort((x, y) => y.score - x.score).slice(0, 50);
      clear(yearly).append(
        section(`${t('annual')} ${year}`, table([t('member'), t('role'), t('score')], a.map((r) => [r.name || r.member, tRole(r.role), num(r.score)]))),
        section(`${t('commendations')} ${year}`, table([t('role'), '#', t('member'), t('score')],
          (comm.items || []).map((r) => [tRole(r.role), String(r.rank), r.name || r.member, num(r.score)]))));
    } catch (err) { clear(yearly).append(errorBox(err)); }
  }

  form.addEventListener('submit', (ev) => { ev.preventDefault(); draw().catch((e) => clear(out).append(errorBox(e))); });
  form.querySelector('#csv').addEventListener('click', async () => {
    const fd = new FormData(form);
    const res = await api(`/v1/reports/monthly?month=${fd.get('month')}&by=${fd.get('by')}&format=csv&limit=1000`, { raw: true });
    const url = URL.createObjectURL(await res.blob());
    const a = h('a', { href: url, download: `citygrid-${fd.get('month')}-${fd.get('by')}.csv`, id: 'csv-link' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  });
  await draw().catch((e) => clear(out).append(errorBox(e)));
  drawYear();
  return dropCharts;
}

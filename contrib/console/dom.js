// dom.js — building elements without innerHTML (every text a user or the
// server wrote goes in as text, never as markup), and small shared widgets.
import { t, tStatus, tName, fmtTime } from './i18n.js';

// h('a', {href: '#/x', class: 'btn', onclick: fn, dataset: {caseId: 'C1'}}, 'text', child, ...)
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function clear(el) { while (el.firstChild) el.firstChild.remove(); return el; }

export function errorBox(err) {
  const msg = err && err.message ? err.message : String(err);
  return h('p', { class: 'error', role: 'alert' }, `${t('error')}: ${msg}`);
}

// The catalog (categories, departments) once per session and language-free.
let catalog = null;
export async function loadCatalog(api) {
  if (!catalog) {
    const [categories, departments] = await Promise.all([api('/v1/categories'), api('/v1/departments')]);
    catalog = {
      categories: asList(categories), departments: asList(departments),
    };
    catalog.category = Object.fromEntries(catalog.categories.map((c) => [c.code, c]));
    catalog.department = Object.fromEntries(catalog.departments.map((d) => [d.code, d]));
  }
  return catalog;
}
export function forgetCatalog() { catalog = null; }
function asList(x) { return Array.isArray(x) ? x : (x && x.items) || []; }

export const catName = (code) => (catalog && catalog.category[code] ? tName(catalog.category[code]) : code);
export const depName = (code) => (catalog && catalog.department[code] ? tName(catalog.department[code]) : code || '—');

// A list of cases; every row carries data-case-id (API.md "The console").
export function caseList(cases, emptyText) {
  if (!cases.length) return h('p', { class: 'muted' }, emptyText || t('none'));
  return h('ul', { class: 'cases' }, cases.map((c) =>
    h('li', { class: `case-item status-${c.status}${c.overdue ? ' overdue' : ''}`, dataset: { caseId: c.id } },
      h('a', { href: `#/case/${encodeURIComponent(c.id)}` },
        h('span', { class: 'case-id' }, c.id),
        h('span', { class: 'badge' }, tStatus(c.status)),
        c.overdue ? h('span', { class: 'badge late' }, t('overdue')) : null,
        h('span', { class: 'case-cat' }, catName(c.category)),
        h('span', { class: 'muted case-when' }, fmtTime(c.reported_at))))));
}

export function section(title, ...body) {
  return h('section', { class: 'card' }, h('h2', {}, title), ...body);
}

export function table(headers, rows) {
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((x) => h('td', {}, x)))))));
}

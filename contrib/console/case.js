// case.js — one case: status, level, deadline and time left, assignee, the
// history as a timeline, before/after photos, and exactly the verbs the
// caller may use now, each with the fields it needs.
//
// Which verbs: exactly those GET /v1/cases/{id} lists in "verbs", which
// the server works out for the caller with the same rules (case/verbs.h)
// that it applies again on every POST. The page decides nothing about
// rights itself.
import { t, tStatus, tLevel, tVerb, tSource, fmtTime, fmtLeft, getLang } from './i18n.js';
import { h, clear, loadCatalog, catName, depName, section } from './dom.js';
import { photoUrl, uploadPhoto } from './api.js';

const NEXT_LEVEL = { grid: 'community', community: 'joint', joint: 'city' };

const REQUIREMENT_LABELS = { penalty_decision: { zh: '处罚决定', en: 'Penalty decision' } };

function deptSelect(cat, name, exclude, multiple) {
  return h('select', { name, multiple, required: !multiple },
    multiple ? null : h('option', { value: '' }, '—'),
    cat.departments.filter((d) => d.code !== exclude).map((d) => h('option', { value: d.code }, depName(d.code))));
}

// The form of one verb: its fields, and how to turn them into the body.
function verbForm(verb, c, cat) {
  const fields = [];
  let after = null;
  switch (verb) {
    case 'dispatch':
      fields.push(h('label', {}, t('department'), ' ', deptSelect(cat, 'department', null, false)));
      break;
    case 'handle':
      for (const key of c.requires || [])
        fields.push(h('label', {}, (REQUIREMENT_LABELS[key] || {})[getLang()] || key, ' ', h('input', { name: `req:${key}`, required: true })));
      after = h('input', { type: 'file', name: 'after', accept: 'image/jpeg,image/png', multiple: true });
      fields.push(h('label', {}, t('upload_after'), ' ', after));
      break;
    case 'review': {
      const needs = cat.category[c.category] && cat.category[c.category].requires_after_photo;
      fields.push(h('label', { class: 'inline' }, h('input', { type: 'radio', name: 'result', value: 'pass', checked: true }), t('pass')),
        h('label', { class: 'inline' }, h('input', { type: 'radio', name: 'result', value: 'reject' }), t('reject')));
      if (needs) {
        fields.push(h('p', { class: 'muted small' }, t('after_photo_needed')));
        after = h('input', { type: 'file', name: 'after', accept: 'image/jpeg,image/png', multiple: true });
        fields.push(h('label', {}, t('upload_after'), ' ', after));
      }
      break;
    }
    case 'transfer':
      fields.push(h('label', {}, t('department'), ' ', deptSelect(cat, 'department', c.department, false)));
      break;
    case 'escalate':
      if (NEXT_LEVEL[c.level] === 'joint')
        fields.push(h('label', {}, t('departments_joint'), ' ', deptSelect(cat, 'departments', null, true)));
      break;
    case 'postpone':
      fields.push(h('label', {}, t('until'), ' ', h('input', { type: 'datetime-local', name: 'until', required: true })));
      break;
    case 'rate':
      fields.push(h('label', {}, t('rating'), ' ', h('select', { name: 'satisfaction' }, [5, 4, 3, 2, 1].map((n) => h('option', { value: n }, '★'.repeat(n))))),
        h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'fixed', checked: true }), ' ', t('fixed')));
      break;
    default:
  }
  const noteRequired = verb === 'transfer' || verb === 'escalate';
  fields.push(h('label', {}, t('note'), h('textarea', { name: 'note', required: noteRequired, maxlength: '2000' })));
  const form = h('form', { class: 'verb', dataset: { verb } }, h('h3', {}, tVerb(verb)), ...fields,
    h('p', { class: 'error' }),
    h('button', { type: 'submit', class: verb === 'cancel' ? 'danger' : '', dataset: { verb } }, tVerb(verb)));

  form.body = () => {
    const fd = new FormData(form);
    const body = { action: verb };
    const note = fd.get('note');
    if (note) body.note = note;
    if (verb === 'dispatch' || verb === 'transfer') { if (fd.get('department')) body.department = fd.get('department'); }
    if (verb === 'transfer' || verb === 'escalate') body.reason = note;
    if (verb === 'review') body.result = fd.get('result');
    if (verb === 'escalate' && fd.getAll('departments').length) body.departments = fd.getAll('departments');
    if (verb === 'postpone') body.until = cityTimeToIso(fd.get('until'));
    if (verb === 'rate') { body.satisfaction = Number(fd.get('satisfaction')); body.fixed = fd.get('fixed') === 'on'; }
    for (const [k, v] of fd.entries()) if (k.startsWith('req:')) body[k.slice(4)] = v;
    return body;
  };
  form.afterPhotos = () => (after ? [...after.files] : []);
  return form;
}

// A history note as people read it: a deadline in city time, a department
// by its name, a photo by its stage.
function noteText(e) {
  if (e.action === 'deadline' && /^\d{4}-\d\d-\d\dT/.test(e.note)) return fmtTime(e.note);
  if (e.action === 'dispatch' && /^[a-z_]+$/.test(e.note)) return depName(e.note);
  if (e.action === 'photo') return e.note.replace(/^(before|after) ([0-9a-f]{8})[0-9a-f]*/, (m, st, sha) => `${t(st === 'before' ? 'before_photos' : 'after_photos')} ${sha}`);
  return e.note;
}

// <input type=datetime-local> gives "YYYY-MM-DDTHH:MM" meant in city time.
function cityTimeToIso(local) {
  return local ? `${local}:00+08:00` : local;
}

async function photoStrip(api, c, stage) {
  const list = await api(`/v1/cases/${encodeURIComponent(c.id)}/photos`);
  const items = (list.items || []).filter((p) => p.stage === stage);
  const strip = h('div', { class: 'photos', id: `photos-${stage}` });
  for (const p of items) {
    const img = h('img', { alt: `${stage} ${p.sha256.slice(0, 8)}`, dataset: { sha: p.sha256 } });
    strip.append(img);
    photoUrl(p.sha256).then((u) => { img.src = u; }, () => {});
  }
  if (!items.length) strip.append(h('span', { class: 'muted' }, t('none')));
  return strip;
}

export async function render(root, { api, args }) {
  const id = args[0];
  const cat = await loadCatalog(api);
  let last = null;
  const box = h('div', { id: 'case-page' });
  root.append(box);

  async function draw() {
    const c = await api(`/v1/cases/${encodeURIComponent(id)}`);
    last = c.updated_at + c.status;
    const facts = h('dl', { class: 'facts' },
      h('dt', {}, t('status')), h('dd', {}, h('span', { class: 'badge', id: 'case-status', dataset: { status: c.status } }, tStatus(c.status)),
        c.overdue ? h('span', { class: 'badge late' }, t('overdue')) : null),
      h('dt', {}, t('level')), h('dd', { id: 'case-level', dataset: { level: c.level } }, tLevel(c.level)),
      h('dt', {}, t('category')), h('dd', {}, catName(c.category)),
      h('dt', {}, t('department')), h('dd', {}, depName(c.department)),
      h('dt', {}, t('grid')), h('dd', {}, c.grid ? h('a', { href: `#/grid/${c.grid}` }, c.grid) : '—'),
      h('dt', {}, t('deadline')), h('dd', {}, fmtTime(c.expected_at)),
      h('dt', {}, t('time_left')), h('dd', { id: 'time-left' }, ['closed', 'cancelled', 'handled'].includes(c.status) ? '—' : fmtLeft(c.expected_at)),
      h('dt', {}, t('assignee')), h('dd', { id: 'case-assignee' }, c.assignee || '—'),
      h('dt', {}, t('reporter')), h('dd', {}, c.reporter || '—'),
      h('dt', {}, t('source')), h('dd', {}, tSource(c.source)),
      h('dt', {}, t('reported_at')), h('dd', {}, fmtTime(c.reported_at)),
      h('dt', {}, t('description')), h('dd', {}, c.description || '—'));
    const timeline = h('ol', { class: 'timeline', id: 'case-history' }, (c.history || []).map((e) =>
      h('li', { dataset: { action: e.action } }, h('b', {}, tVerb(e.action)), ' ', e.to ? `→ ${tStatus(e.to)} ` : '',
        h('span', { class: 'muted small' }, `${fmtTime(e.at)} · ${e.actor}`), e.note ? h('div', {}, noteText(e)) : null)));
    const verbs = c.verbs || [];
    const actions = h('div', { id: 'case-actions' });
    if (!verbs.length) actions.append(h('p', { class: 'muted' }, t('none')));
    for (const v of verbs) {
      const form = verbForm(v, c, cat);
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const err = form.querySelector('.error');
        const button = form.querySelector('button[type=submit]');
        err.textContent = '';
        button.disabled = true;
        try {
          for (const f of form.afterPhotos()) await uploadPhoto(c.id, 'after', f);
          await api(`/v1/cases/${encodeURIComponent(c.id)}/actions`, { body: form.body() });
          await redraw();
        } catch (e) {
          err.textContent = `${t('error')}: ${e.message}`;
          button.disabled = false;
        }
      });
      actions.append(form);
    }
    const [before, after] = await Promise.all([photoStrip(api, c, 'before'), photoStrip(api, c, 'after')]);
    clear(box).append(
      h('h1', {}, `${t('case_page')} `, h('span', { class: 'case-id', id: 'case-id' }, c.id)),
      h('div', { class: 'two' },
        h('div', {}, section(t('status'), facts), section(t('photos'), h('h3', {}, t('before_photos')), before, h('h3', {}, t('after_photos')), after)),
        h('div', {}, section(t('actions'), actions), section(t('history'), timeline))));
  }
  async function redraw() { await draw(); }

  await draw();
  // A case moves on by itself (the plugin accepts it, a timer escalates it):
  // look again every 5 s, redraw only when it changed and no form is in use.
  const timer = setInterval(async () => {
    try {
      const c = await api(`/v1/cases/${encodeURIComponent(id)}`);
      const busy = box.contains(document.activeElement) && document.activeElement.tagName !== 'BODY' &&
        document.activeElement.closest('form');
      if (c.updated_at + c.status !== last && !busy) await draw();
    } catch (e) { /* shown on the next draw */ }
  }, 5000);
  return () => clearInterval(timer);
}

// mapview.js — the grid map (Leaflet from Debian's libjs-leaflet, global L).
// Every grid of the city is ONE SVG path of class "grid-cell" (a village
// grid's sites are the parts of one MultiPolygon, so one path), coloured by
// its open cases, outlined red when some are overdue (GET
// /v1/grids.geojson). Everyone signed in sees all 273 grids and their
// counts; the caller's own grids (property "mine") are drawn with a thick
// blue outline and class "mine", and only grids whose page the caller may
// read ("may_open") are clickable through to it. No tiles by default (the
// city network may be offline); a tile URL in the config's console.tiles
// adds them.
import { t } from './i18n.js';

let settings = null;
async function loadSettings() {
  if (!settings) {
    try { settings = await (await fetch('/console/settings.json')).json(); } catch { settings = { tiles: '' }; }
  }
  return settings;
}

export function fillFor(open) {
  if (!open) return '#cfe8cf';
  if (open <= 2) return '#f6e27a';
  if (open <= 5) return '#f3a64b';
  return '#d9534f';
}

function styleFor(props) {
  let color = '#5b6b7a', weight = 1;
  if (props.mine) { color = '#1d5fa8'; weight = 3; }
  if (props.overdue > 0) { color = '#b00020'; weight = props.mine ? 3.5 : 2.5; }
  return {
    className: `grid-cell${props.mine ? ' mine' : ''}${props.may_open ? ' may-open' : ''}`,
    color,
    weight,
    fillColor: fillFor(props.open),
    fillOpacity: 0.65,
  };
}

// el: the container (given id "grid-map" by the caller when it is THE map).
// opts: {onGridClick(code, props, latlng), onMapClick(latlng),
//        fit: 'all' (default) | 'mine' (the caller's own grids, when any)}
// onGridClick is called for a grid whose page the caller may open; a click
// on another grid goes to onMapClick (a point to report at, say).
export async function gridMap(el, api, opts = {}) {
  const s = await loadSettings();
  const map = L.map(el, { preferCanvas: false, zoomSnap: 0.25, attributionControl: !!s.tiles });
  if (s.tiles) L.tileLayer(s.tiles, { maxZoom: 19 }).addTo(map);
  let layer = null;
  const byCode = new Map();
  let fitted = false;

  async function refresh() {
    const fc = await api('/v1/grids.geojson');
    if (!layer) {
      layer = L.geoJSON(fc, {
        style: (f) => styleFor(f.properties),
        onEachFeature: (f, lyr) => {
          byCode.set(f.properties.code, lyr);
          lyr.bindTooltip(() => tip(lyr.feature.properties), { sticky: true });
          lyr.on('click', (ev) => {
            const p = lyr.feature.properties;
            if (opts.onGridClick && p.may_open) { L.DomEvent.stopPropagation(ev); opts.onGridClick(p.code, p, ev.latlng); }
          });
        },
      }).addTo(map);
    } else {
      for (const f of fc.features) {
        const lyr = byCode.get(f.properties.code);
        if (!lyr) continue;
        lyr.feature.properties = f.properties;
        lyr.setStyle(styleFor(f.properties));
      }
    }
    // Leaflet makes the paths once the map has a view: fit first, then mark.
    if (!fitted && fc.features.length) {
      map.fitBounds(fitBounds(), { padding: [8, 8] });
      fitted = true;
    }
    for (const f of fc.features) mark(byCode.get(f.properties.code), f.properties);
    return fc;
  }

  // What the view shows first: every grid, or the caller's own.
  function fitBounds() {
    if (opts.fit === 'mine') {
      const own = [...byCode.values()].filter((l) => l.feature.properties.mine);
      if (own.length) {
        el.dataset.fit = 'mine';
        return L.featureGroup(own).getBounds();
      }
    }
    el.dataset.fit = 'all';
    return layer.getBounds();
  }

  function mark(lyr, p) {
    const path = lyr && lyr.getElement && lyr.getElement();
    if (!path) return;
    path.setAttribute('data-grid-code', p.code);
    path.setAttribute('data-open', String(p.open));
    path.setAttribute('data-overdue', String(p.overdue));
    path.setAttribute('data-mine', p.mine ? '1' : '0');
  }

  if (opts.onMapClick) map.on('click', (ev) => opts.onMapClick(ev.latlng));
  const fc = await refresh();
  // Leaflet measures its container: tell it when the layout settles.
  // Until someone drags or zooms, keep every grid in view.
  let touched = false;
  map.on('dragstart', () => { touched = true; });
  map.getContainer().addEventListener('wheel', () => { touched = true; }, { passive: true });
  const ro = new ResizeObserver(() => {
    map.invalidateSize({ pan: false });
    if (!touched && layer && fc.features.length) map.fitBounds(fitBounds(), { padding: [8, 8], animate: false });
  });
  ro.observe(el);
  return {
    map, refresh, features: () => fc.features, layerOf: (code) => byCode.get(code),
    destroy() { ro.disconnect(); map.remove(); },
  };
}

function tip(p) {
  const d = document.createElement('div');
  const b = document.createElement('b');
  b.textContent = p.name;
  d.append(b, document.createElement('br'), `${t('open')} ${p.open} · ${t('overdue')} ${p.overdue}`);
  return d;
}

// Open cases as small circles; each carries data-case-id.
export function caseMarkers(map, cases) {
  const group = L.layerGroup().addTo(map);
  for (const c of cases) {
    if (c.lat == null || c.lon == null) continue;
    const m = L.circleMarker([c.lat, c.lon], {
      className: 'case-marker', radius: 6, color: c.overdue ? '#b00020' : '#1d5fa8', weight: 2,
      fillColor: '#fff', fillOpacity: 1,
    }).addTo(group);
    m.bindTooltip(c.id);
    m.on('click', () => { location.hash = `#/case/${encodeURIComponent(c.id)}`; });
    const el = m.getElement();
    if (el) el.setAttribute('data-case-id', c.id);
  }
  return group;
}

export function legend() {
  const wrap = document.createElement('div');
  wrap.className = 'legend';
  for (const [n, label] of [[0, '0'], [1, '1–2'], [3, '3–5'], [6, '>5']]) {
    const sw = document.createElement('span');
    sw.className = `swatch sw-${n}`;
    wrap.append(sw, ` ${label}  `);
  }
  const late = document.createElement('span');
  late.className = 'swatch late';
  const mine = document.createElement('span');
  mine.className = 'swatch mine';
  wrap.append(late, ` ${t('overdue')}  `, mine, ` ${t('my_grids')}`);
  return wrap;
}

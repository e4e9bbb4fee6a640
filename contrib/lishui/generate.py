#!/usr/bin/env python3
"""generate.py -- the SYNTHETIC Lishui grid dataset (places.csv, grids.geojson,
roster.csv) written beside this script.

The counts are the plan's (2021 Lishui implementation plan, section 3):
Liandu's five subdistricts hold 30 communities and 66 villages in 207 grids
(141 community grids, 66 village grids); the Development Zone's Nanmingshan
subdistrict holds 4 communities and 27 villages in 66 grids (39 + 27).
Everything else -- names, boundaries, the split per subdistrict, the staff --
is invented. Python 3 standard library only; a fixed seed, so running it
again gives byte-identical files.

All coordinates are kept as integer micro-degrees (1e-6 deg, about 0.1 m)
while generating, so the six-decimal text is exact and vertices shared by
neighbouring grids are identical.

Usage: python3 contrib/lishui/generate.py [OUTPUT_DIR]   (default: beside this file)
"""

import csv
import io
import json
import math
import os
import random
import sys

SEED = 20211028  # the plan's date
COUNTY = "331102"  # Liandu District; Nanmingshan lies in Liandu too

E6 = 1_000_000
LAT0, LON0 = 28_450_000, 119_920_000  # centre of Lishui, micro-degrees
CELL_LAT, CELL_LON = 3_600, 4_100  # one community grid cell, about 400 m x 400 m
ROWS, COLS = 12, 15  # 180 community grid cells
JITTER = 0.12  # max vertex displacement, fraction of a cell (keeps quads convex)
MARGIN = 4_000  # gap between the urban core and the village belts
SLOT_LAT, SLOT_LON = 9_000, 10_000  # one village slot, about 1 km square

# code, Chinese, pinyin, zone, communities, villages, community grids,
# village belt (side of the core).
SUBDISTRICTS = [
    ("001", "岩泉", "Yanquan", "liandu", 8, 4, 40, "east"),
    ("002", "紫金", "Zijin", "liandu", 7, 6, 35, "east"),
    ("003", "白云", "Baiyun", "liandu", 5, 18, 20, "north"),
    ("004", "万象", "Wanxiang", "liandu", 7, 8, 32, "east"),
    ("005", "联城", "Liancheng", "liandu", 3, 30, 14, "west"),
    ("006", "南明山", "Nanmingshan", "devzone", 4, 27, 39, "south"),
]
# The urban core is walked in a serpentine from the north-west corner; each
# subdistrict takes a consecutive run of cells, so it is contiguous.
CORE_ORDER = ["003", "005", "002", "001", "004", "006"]

ROLE_ORDER = ["leader", "instructor", "fulltime", "professional", "optional"]
MANDATORY_DEPTS = ["enforcement", "municipal", "sanitation", "market", "police"]
OPTIONAL_DEPTS = ["health", "eco", "culture", "volunteer", "partner", "outsourced"]

SURNAMES = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("陈", "chen"), ("刘", "liu"),
    ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("叶", "ye"), ("蓝", "lan"),
    ("雷", "lei"), ("钟", "zhong"), ("潘", "pan"), ("林", "lin"), ("何", "he"),
    ("杨", "yang"), ("朱", "zhu"), ("胡", "hu"), ("郑", "zheng"), ("金", "jin"),
    ("应", "ying"), ("季", "ji"), ("梅", "mei"), ("项", "xiang"), ("毛", "mao"),
    ("程", "cheng"), ("傅", "fu"), ("鲍", "bao"), ("章", "zhang"), ("汤", "tang"),
]
GIVEN = [
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"),
    ("丽", "li"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"),
    ("勇", "yong"), ("艳", "yan"), ("杰", "jie"), ("娟", "juan"), ("涛", "tao"),
    ("明", "ming"), ("超", "chao"), ("秀", "xiu"), ("霞", "xia"), ("平", "ping"),
    ("刚", "gang"), ("桂", "gui"), ("英", "ying"), ("华", "hua"), ("建", "jian"),
    ("国", "guo"), ("晓", "xiao"), ("红", "hong"), ("海", "hai"), ("燕", "yan"),
    ("志", "zhi"), ("文", "wen"), ("斌", "bin"), ("丹", "dan"), ("辉", "hui"),
    ("鹏", "peng"), ("浩", "hao"), ("婷", "ting"), ("宇", "yu"), ("佳", "jia"),
    ("林", "lin"), ("萍", "ping"), ("俊", "jun"), ("慧", "hui"), ("瑶", "yao"),
]


# --------------------------------------------------------------- geometry

def fmt(v):
    """Micro-degrees as exact six-decimal text (all values here are positive)."""
    return "%d.%06d" % divmod(v, E6)


def cross(o, a, b):
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def is_convex_ccw(pts):
    n = len(pts)
    return all(cross(pts[i], pts[(i + 1) % n], pts[(i + 2) % n]) > 0 for i in range(n))


def strictly_inside_star(pts, p):
    """p strictly inside a polygon star-shaped around p (CCW): every edge turns left of p."""
    n = len(pts)
    return all(cross(pts[i], pts[(i + 1) % n], p) > 0 for i in range(n))


def ring(pts):
    """Closed ring (first == last) of [lon, lat] pairs, counter-clockwise."""
    assert is_ccw(pts)
    return list(pts) + [pts[0]]


def is_ccw(pts):
    area2 = sum(pts[i][0] * pts[(i + 1) % len(pts)][1] - pts[(i + 1) % len(pts)][0] * pts[i][1]
                for i in range(len(pts)))
    return area2 > 0


# --------------------------------------------------------------- the core

def lattice(rng):
    """Vertex (i, j) of the urban core: i = column 0..COLS west->east, j = row
    0..ROWS south->north, nominal lattice plus a fixed random jitter."""
    lon_w = LON0 - COLS * CELL_LON // 2
    lat_s = LAT0 - ROWS * CELL_LAT // 2
    jx, jy = int(CELL_LON * JITTER), int(CELL_LAT * JITTER)
    v = {}
    for j in range(ROWS + 1):
        for i in range(COLS + 1):
            v[i, j] = (lon_w + i * CELL_LON + rng.randint(-jx, jx),
                       lat_s + j * CELL_LAT + rng.randint(-jy, jy))
    return v, lon_w, lat_s


def serpentine_cells():
    """Cells (i, j) from the north-west corner, row by row, alternating direction:
    consecutive cells share an edge, so every run of them is contiguous."""
    cells = []
    for r in range(ROWS):
        j = ROWS - 1 - r
        cols = range(COLS) if r % 2 == 0 else range(COLS - 1, -1, -1)
        cells.extend((i, j) for i in cols)
    return cells


def split_total(rng, total, parts, minimum):
    """`total` split into `parts` positive sizes >= minimum, a little uneven."""
    sizes = [total // parts + (1 if k < total % parts else 0) for k in range(parts)]
    for _ in range(parts * 2):
        a, b = rng.randrange(parts), rng.randrange(parts)
        if a != b and sizes[a] - 1 >= minimum:
            sizes[a] -= 1
            sizes[b] += 1
    return sizes


def office_in_quad(rng, quad):
    """A point strictly inside a convex quadrilateral: a weighted mean of its corners."""
    w = [0.25 + rng.uniform(-0.08, 0.08) for _ in quad]
    s = sum(w)
    p = (round(sum(wk * q[0] for wk, q in zip(w, quad)) / s),
         round(sum(wk * q[1] for wk, q in zip(w, quad)) / s))
    assert strictly_inside_star(quad, p)
    return p


# --------------------------------------------------------------- villages

def village_slots(side, count, lon_w, lat_s):
    """`count` slot origins (south-west corners) in the belt on one side of the
    core, nearest the core first. The belts never meet: north and south stay
    within the core's longitudes, east and west outside them."""
    core_e = lon_w + COLS * CELL_LON
    core_n = lat_s + ROWS * CELL_LAT
    slots = []
    for k in range(count):
        if side in ("north", "south"):
            per_row = (COLS * CELL_LON) // SLOT_LON
            row, col = divmod(k, per_row)
            lon = lon_w + col * SLOT_LON
            lat = (core_n + MARGIN + row * SLOT_LAT if side == "north"
                   else lat_s - MARGIN - (row + 1) * SLOT_LAT)
        else:
            per_col = 5
            col, row = divmod(k, per_col)
            lat = lat_s + row * SLOT_LAT
            lon = (core_e + MARGIN + col * SLOT_LON if side == "east"
                   else lon_w - MARGIN - (col + 1) * SLOT_LON)
        slots.append((lon, lat))
    return slots


def village_sites(rng, slot):
    """One to three small irregular polygons in separate quarters of the slot;
    the office is the centre of the first one (each is star-shaped around it)."""
    n_sites = rng.choices([1, 2, 3], weights=[40, 35, 25])[0]
    quarters = rng.sample([(0, 0), (1, 0), (0, 1), (1, 1)], n_sites)
    hx, hy = SLOT_LON // 4, SLOT_LAT // 4  # half a quarter
    polys, office = [], None
    for qx, qy in quarters:
        cx = slot[0] + (2 * qx + 1) * hx + round(rng.uniform(-0.2, 0.2) * hx)
        cy = slot[1] + (2 * qy + 1) * hy + round(rng.uniform(-0.2, 0.2) * hy)
        k = rng.randint(5, 7)
        pts = []
        for m in range(k):
            # Angles in strictly increasing order within their own sector: CCW.
            a = (m + rng.uniform(0.2, 0.8)) / k
            u = rng.uniform(0.4, 0.75)
            pts.append((cx + round(u * hx * cos_turn(a)), cy + round(u * hy * sin_turn(a))))
        assert strictly_inside_star(pts, (cx, cy))
        polys.append(pts)
        if office is None:
            office = (cx, cy)
    return polys, office


def cos_turn(a):
    return math.cos(2 * math.pi * a)


def sin_turn(a):
    return math.sin(2 * math.pi * a)


# --------------------------------------------------------------- places and grids

def build(rng):
    vert, lon_w, lat_s = lattice(rng)
    cells = serpentine_cells()
    by_code = {s[0]: s for s in SUBDISTRICTS}
    places = [
        ("city", "lishui", "", "丽水市", "Lishui City"),
        ("district", "liandu", "lishui", "莲都区", "Liandu District"),
        ("zone", "devzone", "lishui", "开发区", "Development Zone"),
    ]
    grids = []
    for s in SUBDISTRICTS:
        places.append(("subdistrict", COUNTY + s[0], s[3], s[1] + "街道", s[2] + " Subdistrict"))

    # Community grids: each subdistrict's run of the serpentine, cut into communities.
    pos = 0
    for sd in CORE_ORDER:
        code, zh, py, zone, n_comm, n_vil, n_grids, _ = by_code[sd]
        sizes = split_total(rng, n_grids, n_comm, 3)
        for c, size in enumerate(sizes, start=1):
            comm_code = "%s%s%03d" % (COUNTY, code, c)
            comm_zh = "%s街道第%d社区" % (zh, c)
            places.append(("community", comm_code, COUNTY + code, comm_zh,
                            "%s Community %d" % (py, c)))
            for g in range(1, size + 1):
                i, j = cells[pos]
                pos += 1
                quad = [vert[i, j], vert[i + 1, j], vert[i + 1, j + 1], vert[i, j + 1]]
                assert is_convex_ccw(quad)
                grids.append({
                    "code": "%s%02d" % (comm_code, g), "name": "%s第%d网格" % (comm_zh, g),
                    "type": "community", "district": zone, "subdistrict": COUNTY + code,
                    "community": comm_code, "office": office_in_quad(rng, quad),
                    "polygons": [quad],
                })
    assert pos == len(cells)

    # Village grids: one per village, in the belt on the subdistrict's side.
    belts = {}
    for s in SUBDISTRICTS:
        belts.setdefault(s[7], []).append(s)
    for side in ("north", "east", "south", "west"):
        members = belts.get(side, [])
        slots = village_slots(side, sum(s[5] for s in members), lon_w, lat_s)
        k = 0
        for code, zh, py, zone, _, n_vil, _, _ in members:
            for v in range(1, n_vil + 1):
                vil_code = "%s%s%03d" % (COUNTY, code, 200 + v)
                vil_zh = "%s街道第%d村" % (zh, v)
                places.append(("village", vil_code, COUNTY + code, vil_zh,
                               "%s Village %d" % (py, v)))
                polys, office = village_sites(rng, slots[k])
                k += 1
                grids.append({
                    "code": vil_code + "01", "name": vil_zh + "网格", "type": "village",
                    "district": zone, "subdistrict": COUNTY + code, "community": vil_code,
                    "office": office, "polygons": polys,
                })
    level_rank = {"city": 0, "district": 1, "zone": 2, "subdistrict": 3, "community": 4,
                  "village": 5}
    places.sort(key=lambda p: (p[1] if level_rank[p[0]] >= 3 else "", level_rank[p[0]]))
    grids.sort(key=lambda g: g["code"])
    return places, grids


# --------------------------------------------------------------- the roster

class Roster:
    def __init__(self, rng):
        self.rng = rng
        self.members = []  # (id, login, name, pinyin, terminal, department)
        self.rows = []  # (member index, grid code, role)

    def person(self, department):
        sn, sp = self.rng.choice(SURNAMES)
        given = self.rng.sample(GIVEN, self.rng.choice([1, 2, 2, 2]))
        num = len(self.members) + 1
        name = sn + "".join(g[0] for g in given)
        pinyin = sp.capitalize() + " " + "".join(g[1] for g in given).capitalize()
        login = sp + "".join(g[1] for g in given) + "%04d" % num
        self.members.append(("M%05d" % num, login, name, pinyin, "T%05d" % num, department))
        return len(self.members) - 1

    def assign(self, member, grid, role):
        self.rows.append((member, grid, role))


def chunks(rng, items, lo, hi):
    """Consecutive runs of lo..hi items; never leaves a run of one behind
    (callers pass at least `lo` items)."""
    out, k = [], 0
    while k < len(items):
        n = rng.randint(lo, hi)
        if len(items) - k - n == 1:
            n = n + 1 if n < hi else n - 1
        out.append(items[k:k + n])
        k += n
    return out


def build_roster(rng, grids):
    r = Roster(rng)
    # Short-handed departments: market regulation in the communities, police
    # and sanitation in the villages. One member serves 2-3 neighbouring grids
    # (consecutive numbers in one community, or neighbouring village slots).
    shared = {}
    by_parent = {}
    for g in grids:
        key = g["community"] if g["type"] == "community" else g["subdistrict"]
        by_parent.setdefault((g["type"], key), []).append(g["code"])
    for (gtype, _), codes in sorted(by_parent.items()):
        depts = ["market"] if gtype == "community" else ["police", "sanitation"]
        for dept in depts:
            for run in chunks(rng, codes, 2, 3):
                m = r.person(dept)
                for code in run:
                    shared[code, dept] = m

    for g in grids:
        code = g["code"]
        r.assign(r.person(""), code, "leader")
        r.assign(r.person("enforcement"), code, "instructor")
        r.assign(r.person(""), code, "fulltime")
        for dept in MANDATORY_DEPTS:
            m = shared.get((code, dept))
            r.assign(m if m is not None else r.person(dept), code, "professional")
        # X: optional members where the grid needs them (about one grid in three).
        if rng.random() < 0.33:
            for dept in rng.sample(OPTIONAL_DEPTS, rng.choice([1, 1, 2])):
                r.assign(r.person(dept), code, "optional")
    return r


# --------------------------------------------------------------- writers

def geojson_text(grids):
    out = io.StringIO()
    out.write('{"type": "FeatureCollection",\n "name": "lishui-grids (SYNTHETIC)",\n'
              ' "features": [\n')
    for n, g in enumerate(grids):
        props = {
            "code": g["code"], "name": g["name"], "type": g["type"],
            "district": g["district"], "subdistrict": g["subdistrict"],
            "community": g["community"], "office": "@OFFICE@", "external_id": None,
        }
        ptxt = json.dumps(props, ensure_ascii=False).replace(
            '"@OFFICE@"', "[%s, %s]" % (fmt(g["office"][0]), fmt(g["office"][1])))
        rings = ["[[" + ", ".join("[%s, %s]" % (fmt(x), fmt(y)) for x, y in ring(p)) + "]]"
                 for p in g["polygons"]]
        if g["type"] == "community":
            geom = '{"type": "Polygon", "coordinates": %s}' % rings[0]
        else:
            geom = '{"type": "MultiPolygon", "coordinates": [%s]}' % ", ".join(rings)
        out.write('  {"type": "Feature", "properties": %s,\n   "geometry": %s}%s\n'
                  % (ptxt, geom, "," if n + 1 < len(grids) else ""))
    out.write(" ]}\n")
    return out.getvalue()


def csv_text(header, rows):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue()


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    rng = random.Random(SEED)
    places, grids = build(rng)
    roster = build_roster(rng, grids)

    n_comm = sum(g["type"] == "community" for g in grids)
    assert (len(grids), n_comm) == (273, 180), (len(grids), n_comm)
    assert len({g["code"] for g in grids}) == 273

    role_rank = {r: k for k, r in enumerate(ROLE_ORDER)}
    dept_rank = {d: k for k, d in enumerate(MANDATORY_DEPTS + OPTIONAL_DEPTS + [""])}
    rows = sorted(roster.rows, key=lambda t: (t[1], role_rank[t[2]],
                                              dept_rank[roster.members[t[0]][5]], t[0]))
    roster_rows = [list(roster.members[m]) + [grid, role] for m, grid, role in rows]

    files = {
        "places.csv": csv_text(["level", "code", "parent", "name_zh", "name_en"], places),
        "grids.geojson": geojson_text(grids),
        "roster.csv": csv_text(["member_id", "login", "name", "name_pinyin", "terminal_id",
                                "department", "grid", "role"], roster_rows),
    }
    for name, text in files.items():
        with open(os.path.join(outdir, name), "w", encoding="utf-8", newline="") as f:
            f.write(text)
    print("grids: %d (%d community, %d village); places: %d; members: %d; roster rows: %d"
          % (len(grids), n_comm, len(grids) - n_comm, len(places), len(roster.members),
             len(roster_rows)))


if __name__ == "__main__":
    main()

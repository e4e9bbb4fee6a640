#!/usr/bin/env python3
"""generate_sources.py -- the SYNTHETIC data sources of the datahub plugin
(persons, vehicles, companies, offenders, property_owners, cameras), written
as one SQL script, sources.sql, beside this file.

EVERY ROW IS INVENTED. No person, plate, company, decision or camera here
exists; the ID numbers and credit codes only *look* real: they carry the
check characters of GB 11643-1999 (citizen ID numbers) and GB 32100-2015
(unified social credit codes) so that software which validates them accepts
them, and Lishui's region codes (3311xx) so that masking and searching behave
as they would on the real registries. Addresses and positions lie in the
synthetic grids of grids.geojson.

Python 3 standard library only; a fixed seed, so running it again gives a
byte-identical file. The datahub plugin (plugins/datahub) loads the script
into its own SQLite file on first start; the core's database never holds it.

Usage: python3 contrib/lishui/generate_sources.py [OUTPUT_FILE]
       (default: sources.sql beside this file)
"""

import datetime
import json
import os
import random
import sys

SEED = 20211028 + 6  # the plan's date; section 6 is the data sources

HERE = os.path.dirname(os.path.abspath(__file__))

# Region codes of Lishui (GB/T 2260): where people were born (ID numbers).
REGIONS = ["331102"] * 12 + ["331121", "331122", "331123", "331124", "331125",
                             "331126", "331127", "331181"]
SURNAMES = "王李张陈刘吴周徐叶蓝雷钟潘林何杨朱胡郑金应季梅项毛程傅鲍章汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国晓红海燕志文斌丹辉鹏浩婷宇佳林萍俊慧瑶"
ROADS = ["中山街", "解放街", "大洋路", "丽阳街", "括苍路", "人民街", "继光街", "紫金路",
         "花园路", "城北街", "万象路", "白云路", "岩泉街", "丽青路", "南明路", "水阁路"]
PHONE_PREFIXES = ["130", "133", "135", "137", "138", "139", "150", "151", "152",
                  "158", "159", "177", "180", "186", "187", "189", "199"]

# GB 11643-1999: weights of the first 17 digits, and the check characters.
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK = "10X98765432"

# GB 32100-2015: the 31 characters of a credit code, the weights of the first
# 17, and GB 11714's organization code (positions 9-17) with its own check.
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


def id_check(first17):
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS)) % 11]


def org_check(first8):
    # Letters count as 10..35 (A..Z); the check is 11 - sum mod 11 (10: X, 11: 0).
    s = sum(int(c, 36) * w for c, w in zip(first8, ORG_WEIGHTS))
    c = 11 - s % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def uscc_check(first17):
    s = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_CHARS[(31 - s % 31) % 31]


# ----------------------------------------------------------------- grids

def load_grids():
    with open(os.path.join(HERE, "grids.geojson"), encoding="utf-8") as f:
        fc = json.load(f)
    grids = []
    for feat in fc["features"]:
        p, g = feat["properties"], feat["geometry"]
        ring = g["coordinates"][0] if g["type"] == "Polygon" else g["coordinates"][0][0]
        name = p["name"]
        place = name[:name.rindex("第")] if p["type"] == "community" else name.replace("网格", "")
        grids.append({"code": p["code"], "place": place, "ring": ring[:-1]})
    return grids


def point_in(rng, grid):
    # The grids' rings are convex, so a convex combination of the vertices
    # lies inside.
    w = [rng.random() + 0.05 for _ in grid["ring"]]
    t = sum(w)
    lon = sum(v[0] * x for v, x in zip(grid["ring"], w)) / t
    lat = sum(v[1] * x for v, x in zip(grid["ring"], w)) / t
    return round(lat, 6), round(lon, 6)


class Gen:
    def __init__(self, rng, grids):
        self.rng = rng
        self.grids = grids
        self.serial = {}
        self.used_ids = set()

    def grid(self):
        return self.rng.choice(self.grids)

    def address(self, grid):
        r = self.rng
        district = "莲都区" if grid["code"][6:9] != "006" else "丽水经济技术开发区"
        return "丽水市%s%s%s%d号" % (district, grid["place"], r.choice(ROADS), r.randint(1, 320))

    def name(self):
        r = self.rng
        return r.choice(SURNAMES) + "".join(r.sample(GIVEN, r.choice([1, 2, 2, 2])))

    def phone(self):
        return self.rng.choice(PHONE_PREFIXES) + "%08d" % self.rng.randint(0, 99999999)

    def id_number(self, birth, male):
        while True:
            seq = self.rng.randint(0, 499) * 2 + (1 if male else 0)
            first17 = self.rng.choice(REGIONS) + birth.strftime("%Y%m%d") + "%03d" % seq
            n = first17 + id_check(first17)
            if n not in self.used_ids:
                self.used_ids.add(n)
                return n

    def birth(self, lo_year, hi_year):
        start = datetime.date(lo_year, 1, 1).toordinal()
        end = datetime.date(hi_year, 12, 31).toordinal()
        return datetime.date.fromordinal(self.rng.randint(start, end))

    def credit_code(self, kind):
        r = self.rng
        org = "".join(r.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
        first17 = "9" + kind + "331102" + org + org_check(org)
        return first17 + uscc_check(first17)

    def date(self, lo, hi):
        return self.birth(lo, hi).isoformat()


# ----------------------------------------------------------------- rows

def persons_and_households(g):
    r = g.rng
    persons = []
    for h in range(1, 101):
        grid = g.grid()
        hh = "HH331102%05d" % h
        addr = g.address(grid)
        head_birth = g.birth(1948, 1992)
        head_male = r.random() < 0.6
        members = [("户主", head_birth, head_male)]
        if r.random() < 0.8:
            members.append(("配偶", g.birth(head_birth.year - 4, head_birth.year + 4), not head_male))
        for _ in range(r.choice([0, 1, 1, 2])):
            members.append(("子女", g.birth(min(head_birth.year + 22, 2015), 2016), r.random() < 0.5))
        surname = r.choice(SURNAMES)
        for rel, birth, male in members:
            name = (surname if rel != "配偶" else r.choice(SURNAMES)) + \
                "".join(r.sample(GIVEN, r.choice([1, 2, 2])))
            persons.append({
                "id_number": g.id_number(birth, male), "name": name,
                "gender": "男" if male else "女", "birth_date": birth.isoformat(),
                "phone": g.phone() if birth.year < 2008 else "",
                "household_no": hh, "relation": rel, "address": addr, "grid": grid["code"]})
    return persons


def vehicles(g, persons):
    r = g.rng
    adults = [p for p in persons if p["birth_date"] < "2006"]
    plate_chars = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    rows, seen = [], set()
    while len(rows) < 120:
        owner = r.choice(adults)
        if r.random() < 0.2:
            plate = "浙K" + r.choice("DF") + "%05d" % r.randint(0, 99999)  # new energy
            kind = "新能源小型轿车"
        else:
            plate = "浙K" + r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + "".join(
                r.choice(plate_chars) for _ in range(4))
            kind = r.choice(["小型轿车", "小型轿车", "小型普通客车", "轻型货车", "二轮摩托车"])
        if plate in seen:
            continue
        seen.add(plate)
        rows.append({
            "plate": plate, "vehicle_type": kind,
            "brand": r.choice(["吉利", "比亚迪", "大众", "丰田", "本田", "长安", "五菱", "哈弗"]),
            "color": r.choice(["白", "黑", "银", "灰", "红", "蓝"]),
            "owner_name": owner["name"], "owner_id_number": owner["id_number"],
            "owner_phone": owner["phone"], "registered_on": g.date(2008, 2025),
            "address": owner["address"], "grid": owner["grid"]})
    return rows


TRADES = [
    ("小餐饮", "餐饮服务", True), ("食品店", "食品销售", True), ("旅馆", "住宿服务", False),
    ("理发美容", "美容美发服务", False), ("洗浴", "洗浴服务", False),
    ("网吧", "互联网上网服务", False), ("农贸市场", "市场管理服务", True),
    ("药店", "药品零售", False), ("五金建材", "五金产品零售", False),
]
SHOP_WORDS = "鑫源丰泰盛兴隆福瑞祥和顺达华美佳康宏"


def companies(g, persons):
    r = g.rng
    adults = [p for p in persons if p["birth_date"] < "2004"]
    rows = []
    for i in range(1, 101):
        trade, scope, food = r.choice(TRADES)
        kind = "2" if r.random() < 0.5 else "1"  # individual business or enterprise
        grid = g.grid()
        lat, lon = point_in(r, grid)
        shop = "".join(r.sample(SHOP_WORDS, 2))
        name = ("莲都区%s%s" % (shop, trade)) if kind == "2" else ("丽水市%s%s有限公司" % (shop, scope[:2]))
        rep = r.choice(adults)
        rows.append({
            "credit_code": g.credit_code(kind), "name": name,
            "kind": "个体工商户" if kind == "2" else "有限责任公司",
            # 食品经营许可证: JY + 1 (sales) / 2 (catering) + region + serial + check.
            "licence_no": ("JY%d331102%06d%d" % (2 if trade == "小餐饮" else 1, i, i % 10)) if food else "",
            "legal_rep": rep["name"], "legal_rep_phone": rep["phone"],
            "business_scope": scope, "trade": trade,
            "registered_on": g.date(2005, 2025),
            "status": r.choice(["存续", "存续", "存续", "存续", "注销", "吊销"]),
            "address": g.address(grid), "grid": grid["code"], "lat": lat, "lon": lon})
    return rows


VIOLATIONS = [
    ("占道摆摊", "street_stall", "责令改正，罚款200元"),
    ("店外经营", "outside_trading", "责令改正，罚款500元"),
    ("乱贴乱画", "ten_disorders", "罚款100元"),
    ("违法搭建", "illegal_structure", "责令限期拆除"),
    ("违法停车", "illegal_parking", "罚款150元，记3分"),
    ("食品经营不符合卫生要求", "food_hygiene", "警告，罚款2000元"),
    ("乱倒建筑垃圾", "ten_disorders", "罚款5000元"),
]


def offenders(g, persons, comps):
    r = g.rng
    adults = [p for p in persons if p["birth_date"] < "2006"]
    rows = []
    for i in range(1, 61):
        what, cat, penalty = r.choice(VIOLATIONS)
        year = r.randint(2019, 2025)
        if r.random() < 0.3:
            c = r.choice(comps)
            party, party_id, party_type, addr, grid = c["name"], c["credit_code"], "单位", c["address"], c["grid"]
        else:
            p = r.choice(adults)
            party, party_id, party_type, addr, grid = p["name"], p["id_number"], "个人", p["address"], p["grid"]
        rows.append({
            "decision_no": "丽综执罚决字〔%d〕第%04d号" % (year, i * 7 % 10000),
            "party_name": party, "party_id_number": party_id, "party_type": party_type,
            "violation": what, "category": cat, "penalty": penalty,
            "decided_on": g.date(year, year), "address": addr, "grid": grid})
    return rows


def property_owners(g, persons):
    r = g.rng
    adults = [p for p in persons if p["birth_date"] < "2004"]
    rows = []
    for i in range(1, 121):
        grid = g.grid()
        lat, lon = point_in(r, grid)
        owner = r.choice(adults)
        year = r.randint(2005, 2025)
        illegal = r.random() < 0.2
        rows.append({
            "building_id": "B%s%03d" % (grid["code"], i),
            "cert_no": "浙(%d)丽水市不动产权第%07d号" % (year, r.randint(1, 9999999)),
            "address": g.address(grid), "use": r.choice(["住宅", "住宅", "住宅", "商铺", "厂房", "农房"]),
            "floors": str(r.randint(1, 18)),
            "owner_name": owner["name"], "owner_id_number": owner["id_number"],
            "owner_phone": owner["phone"],
            "illegal_structure": r.choice(["顶层加盖", "违法搭建雨棚", "擅自改建"]) if illegal else "",
            "grid": grid["code"], "lat": lat, "lon": lon})
    return rows


def cameras(g):
    r = g.rng
    rows = []
    for i in range(1, 91):
        grid = g.grid()
        lat, lon = point_in(r, grid)
        # GB/T 28181 device codes: 20 digits, region 331102, type 131 (camera).
        cid = "33110200%02d131%07d" % (r.randint(0, 99), i)
        rows.append({
            "camera_id": cid,
            "name": "%s%s%s" % (grid["place"], r.choice(ROADS), r.choice(["路口", "口", "沿线", "市场门口"])),
            "kind": r.choice(["枪机", "球机", "卡口", "高空瞭望"]),
            "stream_url": "rtsp://video.example.invalid/synthetic/%s" % cid,
            "grid": grid["code"], "lat": lat, "lon": lon})
    return rows


# ----------------------------------------------------------------- SQL

TABLES = [
    ("persons", ["id_number", "name", "gender", "birth_date", "phone", "household_no",
                 "relation", "address", "grid"]),
    ("vehicles", ["plate", "vehicle_type", "brand", "color", "owner_name", "owner_id_number",
                  "owner_phone", "registered_on", "address", "grid"]),
    ("companies", ["credit_code", "name", "kind", "licence_no", "legal_rep", "legal_rep_phone",
                   "business_scope", "trade", "registered_on", "status", "address", "grid",
                   "lat", "lon"]),
    ("offenders", ["decision_no", "party_name", "party_id_number", "party_type", "violation",
                   "category", "penalty", "decided_on", "address", "grid"]),
    ("property_owners", ["building_id", "cert_no", "address", "use", "floors", "owner_name",
                         "owner_id_number", "owner_phone", "illegal_structure", "grid", "lat",
                         "lon"]),
    ("cameras", ["camera_id", "name", "kind", "stream_url", "grid", "lat", "lon"]),
]


def sql_value(v):
    if isinstance(v, float):
        return "%.6f" % v
    return "'" + str(v).replace("'", "''") + "'"


def sql_text(data):
    out = ["-- SYNTHETIC data sources for the datahub plugin: every row is invented.",
           "-- Written by contrib/lishui/generate_sources.py (seed %d); do not edit." % SEED,
           "BEGIN;",
           "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
           "INSERT INTO meta VALUES ('synthetic', 'yes'), ('generator', "
           "'contrib/lishui/generate_sources.py'), ('seed', '%d');" % SEED]
    for table, cols in TABLES:
        defs = ", ".join("%s %s" % (c, "REAL" if c in ("lat", "lon") else "TEXT") for c in cols)
        out.append("CREATE TABLE %s (%s);" % (table, defs))
        for row in data[table]:
            out.append("INSERT INTO %s VALUES (%s);" % (table, ",".join(sql_value(row[c]) for c in cols)))
    out.append("COMMIT;")
    return "\n".join(out) + "\n"


def main():
    target = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "sources.sql")
    rng = random.Random(SEED)
    g = Gen(rng, load_grids())
    persons = persons_and_households(g)
    comps = companies(g, persons)
    data = {"persons": persons, "vehicles": vehicles(g, persons), "companies": comps,
            "offenders": offenders(g, persons, comps),
            "property_owners": property_owners(g, persons), "cameras": cameras(g)}
    with open(target, "w", encoding="utf-8", newline="\n") as f:
        f.write(sql_text(data))
    print(", ".join("%s %d" % (t, len(data[t])) for t, _ in TABLES))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""The console in a real browser (Debian's chromium, chromium-driver and
python3-selenium).

Starts the real citygridd on a free 127.0.0.1 port with a temporary state
directory (the Lishui grids and roster, every department plugin, the console
from the source tree), gives three roster members of grid 33110200100101 a
password through the API, and then uses the page only: a professional member
logs in, sees all 273 grids on the map with their own one marked, checks in
at the grid office (refused from afar with the distance shown, then
accepted), starts and ends a patrol, reports a case through the form (a
point picked on the map, a before photo), finds it in the list and on the
map, handles it with an after photo; the grid's leader logs in, sees the 273
grids with only their own clickable through to its page, passes the review
through the buttons, postpones and escalates (twice, the second time to a
joint task with the departments it convenes) a second case, opens the
monthly report and downloads its CSV, and switches the language; the
reporter rates the closed case; an administrator sees the wall and disables,
enables and reloads plugins through the buttons. On every case page the
verb forms are exactly the "verbs" GET /v1/cases/{id} gives that caller.

Fails on any error in the browser's console and on any request to an address
other than citygridd's (read from the performance log); a refusal the test
provokes on purpose (the check-in from afar) is announced first and
tolerated exactly once. Screenshots at phone (360x740, where the page must
not scroll sideways) and desktop (1366x900) size, and the wall at 1920x1080,
go to $CG_BUILDDIR/tests/browser/screenshots/ (not committed). Every wait
has a deadline scaled by CG_TEST_PATIENCE (as the C tests' are); no fixed
sleeps.
"""
import base64
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

SRC = os.environ.get("CG_SRCDIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("CG_BUILDDIR") or os.getcwd()
PLUGINS = ["enforcement", "municipal", "sanitation", "market", "police", "volunteer"]
GRID = "33110200100101"          # 岩泉街道第1社区第1网格
LEADER = ("M00151", "xujianjun0151")
PROFESSIONAL = ("M00154", "zhengtingwen0154")   # enforcement, the grid's only one
PASSWORD = "browser-test-1"
TERMINAL = "T-BROWSER-0154"       # check-ins come from a registered terminal


def patience():
    """CG_TEST_PATIENCE (1..1000, default 10): how many times what a quiet
    machine needs a wait may take (tests/support/testutil.h)."""
    try:
        v = int(os.environ.get("CG_TEST_PATIENCE", "10"))
    except ValueError:
        v = 10
    return v if 1 <= v <= 1000 else 10


WAIT_S = 3 * patience()           # per element: 30 s by default, two busy cores
PHONE = (360, 740)
DESKTOP = (1366, 900)
WALL = (1920, 1080)
CITY = datetime.timezone(datetime.timedelta(hours=8))   # Asia/Shanghai, no DST

# A 1x1 PNG (the evidence check wants real image bytes).
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")


def log(msg):
    print(msg, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Daemon:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cg-browser-")
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        plugins = ",\n".join(
            '  { name = "%s"; path = "%s"; enabled = true; mode = "thread"; required = false; }'
            % (p, os.path.join(BUILD, "plugins", p, ".libs", p + ".so")) for p in PLUGINS)
        cfg = os.path.join(self.dir, "citygrid.cfg")
        with open(cfg, "w") as f:
            f.write('listen = "127.0.0.1:%d";\nstate_dir = "%s";\ndataset_dir = "%s";\n'
                    'log_level = "info";\nconsole = { dir = "%s"; javascript_dir = "/usr/share/javascript"; };\n'
                    'plugins = (\n%s\n);\n'
                    % (self.port, self.dir, os.path.join(SRC, "contrib", "lishui"),
                       os.path.join(SRC, "contrib", "console"), plugins))
        self.log_path = os.path.join(self.dir, "daemon.log")
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([os.path.join(BUILD, "core", "citygridd"), "--config", cfg],
                                     stdout=self.logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 6 * patience()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("citygridd exited with %s" % self.proc.returncode)
            try:
                with urllib.request.urlopen(self.base + "/v1/health", timeout=2) as r:
                    if r.status == 200 and os.path.exists(os.path.join(self.dir, "admin.token")):
                        break
            except (urllib.error.URLError, ConnectionError, socket.timeout):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("citygridd did not answer /v1/health within %d s" % (6 * patience()))
            time.sleep(0.1)  # a poll interval, not a wait for an outcome
        with open(os.path.join(self.dir, "admin.token")) as f:
            self.token = f.read().strip()

    def call(self, method, path, body=None, token=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + (token or self.token))
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=WAIT_S) as r:
            text = r.read()
            return json.loads(text) if text else None

    def stop(self, keep):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        if keep:
            log("daemon state kept in %s" % self.dir)
            with open(self.log_path, errors="replace") as f:
                log("---- daemon log (tail) ----\n" + "".join(f.readlines()[-60:]))
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


class Browser:
    def __init__(self, base, shots):
        self.base = base
        self.shots = shots
        self.profile = tempfile.mkdtemp(prefix="cg-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--user-data-dir=" + self.profile,
                     "--window-size=%d,%d" % DESKTOP):
            opts.add_argument(flag)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        self.driver.set_page_load_timeout(2 * WAIT_S)
        # The device's location is the test's to give (check-in, patrol);
        # downloads land in a folder of the test's.
        self.driver.execute_cdp_cmd("Browser.grantPermissions",
                                    {"origin": base, "permissions": ["geolocation"]})
        self.downloads = tempfile.mkdtemp(prefix="cg-downloads-")
        self.driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                                    {"behavior": "allow", "downloadPath": self.downloads})
        self.console_errors = []
        self.tolerated = []
        self.expected_refusals = []   # [(path, status)]: provoked on purpose, once each
        self.provoked = []
        self.logging_out = False
        self.foreign = []
        self.requests = 0

    # ---- the two rules: no console error, no request elsewhere ----------
    def check_logs(self, where):
        for entry in self.driver.get_log("browser"):
            if entry.get("level") == "SEVERE":
                # Logout calls DELETE /v1/sessions; a server from before that
                # endpoint answers 405 (or 404), which the console treats as
                # done. Only that exact failure is tolerated.
                m = entry.get("message", "")
                if (m.startswith(self.base + "/v1/sessions - Failed to load resource") and
                        ("status of 405" in m or "status of 404" in m) and self.logging_out):
                    self.tolerated.append(m)
                    continue
                # A refusal the test provoked and announced (expect_refusal).
                hit = next((e for e in self.expected_refusals
                            if m.startswith(self.base + e[0] + " - Failed to load resource")
                            and "status of %d" % e[1] in m), None)
                if hit:
                    self.expected_refusals.remove(hit)
                    self.provoked.append(m)
                    continue
                self.console_errors.append("%s: %s" % (where, entry.get("message")))
        for entry in self.driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") != "Network.requestWillBeSent":
                continue
            url = msg["params"]["request"]["url"]
            # The browser's own start page (chrome://new-tab-page) loads its
            # chrome:// parts before the first navigation: not our page's.
            if msg["params"].get("documentURL", "").startswith("chrome://"):
                continue
            self.requests += 1
            if not (url.startswith(self.base + "/") or url == self.base or
                    url.startswith("data:") or url.startswith("blob:")):
                self.foreign.append("%s: %s" % (where, url))
        if self.console_errors:
            raise AssertionError("errors in the browser console:\n  " + "\n  ".join(self.console_errors))
        if self.foreign:
            raise AssertionError("requests to other addresses than citygridd:\n  " + "\n  ".join(self.foreign))

    def expect_refusal(self, path, status):
        """The next request to path is meant to be refused with status: the
        browser logs that as an error, which is then not one."""
        self.expected_refusals.append((path, status))

    def set_location(self, lat, lon):
        self.driver.execute_cdp_cmd("Emulation.setGeolocationOverride",
                                    {"latitude": lat, "longitude": lon, "accuracy": 5})

    def token(self):
        return self.driver.execute_script("return sessionStorage.getItem('citygrid.token')")

    # ---- waiting with a deadline ----------------------------------------
    def wait(self, css, timeout=WAIT_S, visible=True):
        def found(d):
            for el in d.find_elements(By.CSS_SELECTOR, css):
                try:
                    if not visible or el.is_displayed():
                        return el
                except StaleElementReferenceException:
                    pass
            return False
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(found)
        except TimeoutException:
            raise AssertionError("no %s within %d s on %s" % (css, timeout, self.driver.current_url))

    def wait_until(self, what, fn, timeout=WAIT_S):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(lambda d: fn())
        except TimeoutException:
            raise AssertionError("%s: not within %d s on %s" % (what, timeout, self.driver.current_url))

    def go(self, hash_):
        self.driver.execute_script("location.hash = arguments[0]", hash_)

    def text(self, css):
        return self.wait(css).text

    def screenshot(self, name, sizes=(("phone", PHONE), ("desktop", DESKTOP))):
        """The current page at phone and desktop size (or the sizes given).
        At phone size nothing may stick out sideways: a 360 px phone must
        not need to scroll left and right."""
        for label, (w, h) in sizes:
            self.driver.set_window_size(w, h)
            # let the layout and Leaflet settle at the new size: wait for
            # the document width to follow the window
            self.wait_until("resize to %d" % w,
                            lambda: abs(self.driver.execute_script("return window.innerWidth") - w) < 40)
            self.driver.execute_script("window.dispatchEvent(new Event('resize'))")
            # a map on the page refits itself to the new size: wait until
            # its grids lie inside its box
            self.wait_until("the map fitted to %d px" % w, lambda: self.driver.execute_script("""
                const m = document.querySelector('.leaflet-container');
                const own = m && m.dataset.fit === 'mine' ? '.mine' : '';
                const ps = [...document.querySelectorAll('.leaflet-container path.grid-cell' + own)];
                if (!m || !ps.length) return true;
                const b = m.getBoundingClientRect();
                return ps.every(p => { const r = p.getBoundingClientRect();
                  return r.left >= b.left - 2 && r.right <= b.right + 2; });"""))
            if label == "phone":
                wide = self.driver.execute_script("""
                    const w = window.innerWidth;
                    if (document.documentElement.scrollWidth <= w + 1) return null;
                    const out = [...document.querySelectorAll('body *')].filter(e => {
                      const r = e.getBoundingClientRect();
                      return r.right > w + 1 && !e.closest('.table-wrap, .leaflet-container');
                    }).slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className
                                       + ' ' + Math.round(e.getBoundingClientRect().right));
                    return [document.documentElement.scrollWidth, out];""")
                assert wide is None, "%s at %d px scrolls sideways: %s" % (name, w, wide)
            self.driver.save_screenshot(os.path.join(self.shots, "%s-%s.png" % (name, label)))
        self.driver.set_window_size(*DESKTOP)

    def login(self, who):
        d = self.driver
        self.wait("form#login-form")
        login = self.wait('input[name="login"]')
        login.clear()
        login.send_keys(who)
        pw = self.wait('input[name="password"]')
        pw.clear()
        pw.send_keys(PASSWORD)
        self.wait('form#login-form button[type="submit"]').click()
        self.wait("#nav a#nav-home")
        self.wait("#logout")
        assert d.execute_script("return !!sessionStorage.getItem('citygrid.token')"), "no token in sessionStorage"

    def logout(self):
        self.check_logs("before logout")
        self.logging_out = True
        self.wait("#logout").click()
        self.wait('form#login-form input[name="login"]')
        self.check_logs("logout")
        self.logging_out = False
        assert not self.driver.execute_script("return sessionStorage.getItem('citygrid.token')"), \
            "the token is still in sessionStorage after logout"

    def quit(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)
            shutil.rmtree(self.downloads, ignore_errors=True)


def head(daemon, path, headers=None):
    """(status, headers) of a GET without the browser."""
    req = urllib.request.Request(daemon.base + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=WAIT_S) as r:
            r.read()
            return r.status, r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.headers


def check_static(daemon):
    """The static files: types, caching, the CSP, nothing outside the roots."""
    for path, ctype in (("/", "text/html"), ("/console/app.js", "text/javascript"),
                        ("/console/console.css", "text/css"), ("/console/icon.svg", "image/svg+xml"),
                        ("/javascript/leaflet/leaflet.js", "text/javascript"),
                        ("/javascript/leaflet/leaflet.css", "text/css"),
                        ("/javascript/leaflet/images/layers.png", "image/png"),
                        ("/javascript/chart.js/chart.min.js", "text/javascript")):
        status, h = head(daemon, path)
        assert status == 200, (path, status)
        assert h["Content-Type"].startswith(ctype), (path, h["Content-Type"])
        assert h["X-Content-Type-Options"] == "nosniff", path
        csp = h["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
        etag = h["ETag"]
        assert etag and h["Cache-Control"], path
        status, _ = head(daemon, path, {"If-None-Match": etag})
        assert status == 304, (path, status)
    for path in ("/javascript/jquery/jquery.js", "/console/.hidden.js", "/console/app.js.orig",
                 "/console/%2e%2e/etc/passwd", "/javascript/leaflet/..%2f..%2f..%2fetc%2fpasswd",
                 "/console/..%5c..%5cetc%5cpasswd", "/javascript/..%2fleaflet/leaflet.js"):
        status, _ = head(daemon, path)
        assert status in (400, 404), (path, status)


def map_cells(b, extra=""):
    return b.driver.find_elements(By.CSS_SELECTOR, "#grid-map path.grid-cell" + extra)


def api_status(daemon, method, path, token):
    """The HTTP status of a call (a refusal is not an exception here)."""
    try:
        daemon.call(method, path, token=token)
        return 200
    except urllib.error.HTTPError as e:
        return e.code


def check_map(b, daemon, who):
    """All 273 grids drawn, the caller's own one (GRID) marked and the only
    one that opens a page; the GeoJSON says the same."""
    b.wait("#grid-map path.grid-cell")
    b.wait_until("all 273 grids on %s's map" % who, lambda: len(map_cells(b)) == 273)
    fc = daemon.call("GET", "/v1/grids.geojson", token=b.token())
    assert len(fc["features"]) == 273, len(fc["features"])
    mine = [f["properties"]["code"] for f in fc["features"] if f["properties"]["mine"]]
    assert mine == [GRID], (who, mine)
    assert all("open" in f["properties"] and "overdue" in f["properties"] for f in fc["features"])
    b.wait_until("%s's own grid marked" % who,
                 lambda: [p.get_attribute("data-grid-code") for p in map_cells(b, ".mine")] == [GRID])
    assert [p.get_attribute("data-grid-code") for p in map_cells(b, ".may-open")] == [GRID], who


def verb_forms(b):
    return sorted(f.get_attribute("data-verb")
                  for f in b.driver.find_elements(By.CSS_SELECTOR, "#case-actions form.verb"))


def open_case(b, daemon, case_id, want=None):
    """The case page; its verb forms are exactly the server's "verbs" for
    this caller (and `want`, when given). Returns the case as the API has it."""
    b.go("#/case/" + case_id)
    b.wait('#case-id')
    b.wait_until("case %s drawn" % case_id, lambda: b.text("#case-id") == case_id)
    c = daemon.call("GET", "/v1/cases/" + case_id, token=b.token())
    b.wait_until("the verbs of %s: %s" % (case_id, c["verbs"]),
                 lambda: verb_forms(b) == sorted(c["verbs"]))
    if want is not None:
        assert sorted(c["verbs"]) == sorted(want), (case_id, c["verbs"], want)
    return c


def submit_verb(b, verb, note=None):
    form = b.wait('form[data-verb="%s"]' % verb)
    if note is not None:
        form.find_element(By.CSS_SELECTOR, 'textarea[name="note"]').send_keys(note)
    form.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()


def wait_case(b, daemon, case_id, what, pred):
    """Poll the API until pred(case) (the page redraws after its POST)."""
    holder = {}

    def ok():
        holder["c"] = daemon.call("GET", "/v1/cases/" + case_id, token=b.token())
        return pred(holder["c"])
    b.wait_until("%s: %s" % (case_id, what), ok)
    return holder["c"]


def routine(b, daemon):
    """Check-in at the grid office (refused from afar, with the distance),
    then a patrol started and ended from the page."""
    d = b.driver
    fc = daemon.call("GET", "/v1/grids.geojson", token=b.token())
    office_lon, office_lat = next(f["properties"]["office"] for f in fc["features"]
                                  if f["properties"]["code"] == GRID)
    b.set_location(office_lat + 0.02, office_lon)    # ~2.2 km north of the office
    b.go("#/routine")
    b.wait("#checkin")
    assert Select(b.wait("section select")).first_selected_option.get_attribute("value") == GRID
    b.expect_refusal("/v1/checkins", 422)
    b.wait("#checkin").click()
    out = b.wait('#checkin-result[data-result="refused"]')
    distance = float(out.get_attribute("data-distance"))
    assert 1500 < distance < 3000, distance
    assert "米" in out.text and ("%g" % distance) in out.text.replace(",", ""), out.text
    b.check_logs("check-in refused")
    assert not b.expected_refusals, "the refused check-in was not seen: %s" % b.expected_refusals
    b.set_location(office_lat, office_lon)
    b.wait("#checkin").click()
    b.wait('#checkin-result[data-result="ok"]')
    assert "签到成功" in b.text("#checkin-result")
    b.check_logs("check-in")

    b.set_location(office_lat + 0.0002, office_lon + 0.0002)
    b.wait("#patrol-start").click()
    b.wait("#patrol-end")
    status = b.wait("#patrol-status[data-patrol]")
    patrol = status.get_attribute("data-patrol")
    b.wait_until("a track point recorded",
                 lambda: int(b.wait("#patrol-status").get_attribute("data-points") or 0) >= 1)
    b.screenshot("routine")
    b.wait("#patrol-end").click()
    b.wait('#patrol-status[data-ended="%s"]' % patrol)
    b.wait("#patrol-start")
    p = daemon.call("GET", "/v1/patrols/" + patrol, token=b.token())
    assert p["ended_at"] and p["points"] >= 1 and p["grid"] == GRID, p
    log("patrol %s: %d point(s), ended from the page" % (patrol, p["points"]))
    b.check_logs("patrol")


def city_local(days):
    """'YYYY-MM-DDTHH:MM' in city time, `days` from now (datetime-local)."""
    return (datetime.datetime.now(CITY) + datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def leader_verbs(b, daemon):
    """A second case: postponed, escalated to the community, then to a
    joint task naming its departments, all through the page's forms."""
    case_id = daemon.call("POST", "/v1/cases", {"category": "street_stall", "grid": GRID,
                                                "description": "第二个摊位 (browser test)"},
                          token=b.token())["id"]
    wait_case(b, daemon, case_id, "accepted", lambda c: c["status"] == "accepted")
    open_case(b, daemon, case_id, ["cancel", "escalate", "postpone", "transfer"])

    until = city_local(3)
    form = b.wait('form[data-verb="postpone"]')
    field = form.find_element(By.CSS_SELECTOR, 'input[name="until"][type="datetime-local"]')
    b.driver.execute_script("arguments[0].value = arguments[1];"
                            "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", field, until)
    submit_verb(b, "postpone", "店主约定三天内整改")
    c = wait_case(b, daemon, case_id, "postponed", lambda c: c["postponed"])
    when = datetime.datetime.fromisoformat(c["expected_at"].replace("Z", "+00:00")).astimezone(CITY)
    assert when.strftime("%Y-%m-%dT%H:%M") == until, (c["expected_at"], until)
    b.wait('#case-history li[data-action="postpone"]')

    form = b.wait('form[data-verb="escalate"]')
    assert not form.find_elements(By.CSS_SELECTOR, 'select[name="departments"]'), "departments before joint"
    submit_verb(b, "escalate", "需要社区协调")
    wait_case(b, daemon, case_id, "at community level", lambda c: c["level"] == "community")
    b.wait('#case-level[data-level="community"]')

    form = b.wait('form[data-verb="escalate"]')
    joint = Select(form.find_element(By.CSS_SELECTOR, 'select[name="departments"]'))
    assert joint.is_multiple
    for dep in ("municipal", "police"):
        joint.select_by_value(dep)
    submit_verb(b, "escalate", "联合处置")
    c = wait_case(b, daemon, case_id, "a joint task", lambda c: c["level"] == "joint")
    assert sorted(c["joint_departments"]) == ["municipal", "police"], c["joint_departments"]
    b.wait('#case-level[data-level="joint"]')
    open_case(b, daemon, case_id)
    b.screenshot("case-joint")
    b.check_logs("postpone and escalate")
    return case_id


def download_csv(b, daemon):
    """The monthly report's CSV through the button: a file on disk with
    the server's bytes."""
    before = set(os.listdir(b.downloads))
    b.wait("#csv").click()

    def done():
        new = [f for f in set(os.listdir(b.downloads)) - before if not f.endswith(".crdownload")]
        return new[0] if new else None
    name = b.wait_until("the CSV downloaded", done)
    assert name.startswith("citygrid-") and name.endswith(".csv"), name
    with open(os.path.join(b.downloads, name), "rb") as f:
        data = f.read()
    month, by = name[len("citygrid-"):-len(".csv")].rsplit("-", 1)    # citygrid-YYYY-MM-BY.csv
    req = urllib.request.Request("%s/v1/reports/monthly?month=%s&by=%s&format=csv&limit=1000"
                                 % (daemon.base, month, by), headers={"Authorization": "Bearer " + b.token()})
    with urllib.request.urlopen(req, timeout=WAIT_S) as r:
        want = r.read()
    assert data.startswith(b"\xef\xbb\xbf"), data[:20]          # the BOM spreadsheets want
    assert data.splitlines()[0] == want.splitlines()[0], (data.splitlines()[0], want.splitlines()[0])
    assert len(data.splitlines()) == len(want.splitlines()) >= 2, (len(data.splitlines()), len(want.splitlines()))
    log("downloaded %s: %d bytes, %d rows" % (name, len(data), len(data.splitlines()) - 1))


def plugin_ctl(b, name):
    return b.wait('#plugins span.plugin-ctl[data-plugin="%s"]' % name)


def plugin_buttons(b, daemon):
    """Disable and enable a plugin, reload another, through the buttons."""
    slow = 2 * WAIT_S   # the table redraws every 10 s, a hand-over takes its time
    b.wait('#plugins button[data-plugin="volunteer"][data-verb="disable"]').click()
    b.wait('#plugin-result[data-plugin="volunteer"][data-result="disabled"]')
    b.wait_until("volunteer shown disabled",
                 lambda: plugin_ctl(b, "volunteer").get_attribute("data-state") == "disabled", slow)
    b.wait('#plugins button[data-plugin="volunteer"][data-verb="enable"]').click()
    b.wait('#plugin-result[data-plugin="volunteer"][data-result="enabled"]')
    b.wait_until("volunteer shown ready again",
                 lambda: plugin_ctl(b, "volunteer").get_attribute("data-state") == "ready", slow)

    def instance():
        return next(p for p in daemon.call("GET", "/v1/plugins", token=b.token())
                    if p["name"] == "enforcement").get("instance")
    old = instance()
    b.wait('#plugins button[data-plugin="enforcement"][data-verb="reload"]').click()
    b.wait('#plugin-result[data-plugin="enforcement"][data-result="reloaded"]')
    b.wait_until("enforcement shown ready in a new instance",
                 lambda: plugin_ctl(b, "enforcement").get_attribute("data-instance") not in ("", old) and
                 plugin_ctl(b, "enforcement").get_attribute("data-state") == "ready", slow)
    log("enforcement reloaded: instance %s -> %s" % (old, instance()))
    b.check_logs("plugin buttons")


def run(daemon, b, tmp):
    d = b.driver
    check_static(daemon)
    # ---- the login page: the fixed points of API.md -------------------
    d.get(daemon.base + "/")
    b.wait('form#login-form input[name="login"]')
    b.wait('form#login-form input[name="password"][type="password"]')
    b.wait('form#login-form button[type="submit"]')
    assert d.title == "城市管理全员网格", d.title
    b.screenshot("login")
    b.check_logs("login page")

    # ---- a member: home, the whole city's map, routine ----------------
    b.login(PROFESSIONAL[1])
    b.wait("#count-open")
    b.screenshot("home-member")
    b.check_logs("member home")

    b.go("#/map")
    check_map(b, daemon, "the member")
    b.screenshot("map-member")
    b.check_logs("member map")

    routine(b, daemon)

    # ---- the member reports a case through the form -------------------
    before = os.path.join(tmp, "before.png")
    after = os.path.join(tmp, "after.png")
    for path in (before, after):
        with open(path, "wb") as f:
            f.write(TINY_PNG)
    b.go("#/report")
    Select(b.wait('#report-form select[name="category"]')).select_by_value("street_stall")
    b.wait('#report-map path.grid-cell[data-grid-code="%s"]' % GRID).click()
    b.wait('#located-grid[data-grid="%s"]' % GRID)
    b.wait('#report-form textarea[name="description"]').send_keys("人行道上的流动摊位 (browser test)")
    b.wait('#report-form input[name="photos"]', visible=False).send_keys(before)
    b.screenshot("report")
    b.wait("#report-submit").click()
    case_id = b.wait("#report-result li[data-case-id]").get_attribute("data-case-id")
    assert case_id.startswith("C"), case_id
    log("reported %s through the form" % case_id)
    b.check_logs("report")

    # ... finds it in the list and on the map
    b.go("#/cases")
    b.wait('#case-results li[data-case-id="%s"]' % case_id)
    b.go("#/map")
    b.wait('#grid-map path.case-marker[data-case-id="%s"]' % case_id)
    b.wait_until("its grid counted open",
                 lambda: int(b.wait('#grid-map path.grid-cell[data-grid-code="%s"]' % GRID)
                             .get_attribute("data-open")) >= 1)
    b.check_logs("list and map")

    # ... and handles it through the buttons, with an after photo (the
    # enforcement plugin assigned it to them). The page offers what the
    # server lists: handle and transfer, never review.
    wait_case(b, daemon, case_id, "accepted", lambda c: c["status"] == "accepted")
    open_case(b, daemon, case_id, ["handle", "transfer"])
    form = b.wait('form[data-verb="handle"]')
    form.find_element(By.CSS_SELECTOR, 'input[name="after"]').send_keys(after)
    form.find_element(By.CSS_SELECTOR, 'textarea[name="note"]').send_keys("已劝离")
    form.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
    b.wait('#case-status[data-status="handled"]')
    b.wait("#photos-after img[data-sha]")
    b.wait("#photos-before img[data-sha]")
    open_case(b, daemon, case_id, [])
    b.screenshot("case-handled")
    b.check_logs("handle")
    b.logout()

    # ---- the leader: the case waits for review at home; pass it ---------
    b.login(LEADER[1])
    b.wait('li[data-case-id="%s"]' % case_id)
    b.screenshot("home-leader")
    b.go("#/map")
    check_map(b, daemon, "the leader")
    other = next(p.get_attribute("data-grid-code") for p in map_cells(b) if
                 p.get_attribute("data-grid-code") != GRID)
    assert api_status(daemon, "GET", "/v1/grids/" + other, b.token()) == 403, "another grid's page"
    b.screenshot("map-leader")
    # the own grid opens its page (a click Leaflet receives on the path)
    d.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))",
                     b.wait('#grid-map path.grid-cell.mine[data-grid-code="%s"]' % GRID))
    b.wait_until("the grid's page", lambda: d.execute_script("return location.hash") == "#/grid/" + GRID)
    b.wait("#grid-title")
    b.check_logs("leader home and map")
    open_case(b, daemon, case_id, ["cancel", "review"])
    form = b.wait('form[data-verb="review"]')
    assert form.find_element(By.CSS_SELECTOR, 'input[name="result"][value="pass"]').is_selected()
    form.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
    b.wait('#case-status[data-status="closed"]')
    assert daemon.call("GET", "/v1/cases/" + case_id, token=b.token())["status"] == "closed"
    open_case(b, daemon, case_id, ["reopen"])
    b.screenshot("case-closed")
    b.check_logs("review")

    leader_verbs(b, daemon)

    # ---- the monthly report, its CSV -----------------------------------
    b.go("#/assessment")
    b.wait("#chart-ranking")
    b.wait_until("the charts drawn", lambda: d.execute_script(
        "return ['chart-ranking','chart-indicators','chart-trend'].every("
        "id => window.Chart && Chart.getChart(document.getElementById(id)))"))
    b.wait("#monthly table tbody tr")
    b.screenshot("assessment")
    download_csv(b, daemon)
    b.check_logs("assessment")

    # ---- the language switch ---------------------------------------------
    b.wait("#lang").click()
    b.wait_until("English navigation", lambda: b.text("#nav-home") == "Home")
    assert d.execute_script("return document.documentElement.lang") == "en"
    b.screenshot("assessment-en")
    open_case(b, daemon, case_id, ["reopen"])
    b.wait_until("an English status", lambda: b.text("#case-status") == "Closed")
    assert b.text('form[data-verb="reopen"] h3') == "Reopen"
    assert b.text("#case-history li[data-action=\"review\"] b") == "Review"
    b.screenshot("case-en")
    b.wait("#lang").click()
    b.wait_until("Chinese navigation", lambda: b.text("#nav-home") == "首页")
    b.wait_until("a Chinese status", lambda: b.text("#case-status") == "已办结")
    b.check_logs("language switch")
    b.logout()

    # ---- the reporter rates the closed case ------------------------------
    b.login(PROFESSIONAL[1])
    open_case(b, daemon, case_id, ["rate"])
    form = b.wait('form[data-verb="rate"]')
    Select(form.find_element(By.CSS_SELECTOR, 'select[name="satisfaction"]')).select_by_value("4")
    assert form.find_element(By.CSS_SELECTOR, 'input[name="fixed"]').is_selected()
    submit_verb(b, "rate", "处理及时")
    c = wait_case(b, daemon, case_id, "rated", lambda c: c.get("satisfaction") == 4)
    assert c["status"] == "closed", c["status"]
    b.wait('#case-history li[data-action="rate"]')
    b.check_logs("rate")
    b.logout()

    # ---- an administrator: all 273 grids, the wall, the plugins ----------
    b.login("admin")
    b.go("#/map")
    b.wait_until("all 273 grids drawn", lambda: len(map_cells(b)) == 273)
    assert (len(map_cells(b, ".may-open")), len(map_cells(b, ".mine"))) == (273, 0), \
        (len(map_cells(b, ".may-open")), len(map_cells(b, ".mine")))
    b.wait('#grid-map path.grid-cell[data-grid-code="%s"]' % GRID)
    b.screenshot("map-admin")
    b.go("#/wall")
    b.wait_until("the wall's map", lambda: len(map_cells(b)) == 273)
    b.wait("#wall-open")
    b.screenshot("wall", (("phone", PHONE), ("desktop", DESKTOP), ("wall", WALL)))
    b.go("#/admin")
    b.wait('#plugins button[data-plugin="enforcement"][data-verb="reload"]')
    b.screenshot("admin")
    plugin_buttons(b, daemon)
    b.check_logs("admin")
    b.logout()
    b.check_logs("end")


def main():
    shots = os.path.join(BUILD, "tests", "browser", "screenshots")
    os.makedirs(shots, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="cg-browser-files-")
    daemon = None
    browser = None
    ok = False
    try:
        daemon = Daemon()
        # (before the passwords: the admin's new one ends its token)
        daemon.call("PATCH", "/v1/members/" + PROFESSIONAL[0], {"terminal_id": TERMINAL})
        for member, _login in (LEADER, PROFESSIONAL, ("admin", "admin")):
            daemon.call("PATCH", "/v1/members/" + member, {"password": PASSWORD})
        browser = Browser(daemon.base, shots)
        run(daemon, browser, tmp)
        ok = True
        log("PASS: %d requests, all to %s; no console errors; screenshots in %s"
            % (browser.requests, daemon.base, shots))
        if browser.tolerated:
            log("note: this server has no DELETE /v1/sessions yet (%d logout(s) answered 404/405)"
                % len(browser.tolerated))
    except Exception:
        traceback.print_exc()
        if browser:
            try:
                browser.driver.save_screenshot(os.path.join(shots, "failure.png"))
                log("screenshot of the failure: %s" % os.path.join(shots, "failure.png"))
            except Exception:
                pass
    finally:
        if browser:
            browser.quit()
        if daemon:
            daemon.stop(keep=not ok)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""The console in a real browser (Debian's chromium, chromium-driver and
python3-selenium).

Starts the real citygridd on a free 127.0.0.1 port with a temporary state
directory (the Lishui grids and roster, every department plugin, the console
from the source tree), gives three roster members of grid 33110200100101 a
password through the API, and then uses the page only: a professional member
logs in, reports a case through the form (a point picked on the map, a
before photo), finds it in the list and on the map, handles it with an after
photo; the grid's leader logs in and passes its review through the buttons,
opens the monthly report, and switches the language.

Fails on any error in the browser's console and on any request to an address
other than citygridd's (read from the performance log). Screenshots at phone
(360x740) and desktop (1366x900) size go to
$CG_BUILDDIR/tests/browser/screenshots/ (not committed). Every wait has a
deadline; no fixed sleeps.
"""
import base64
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
WAIT_S = 30                       # per element; generous: two busy cores
PHONE = (360, 740)
DESKTOP = (1366, 900)

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
        deadline = time.monotonic() + 60
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
                raise RuntimeError("citygridd did not answer /v1/health within 60 s")
            time.sleep(0.1)  # a poll interval, not a wait for an outcome
        with open(os.path.join(self.dir, "admin.token")) as f:
            self.token = f.read().strip()

    def call(self, method, path, body=None, token=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + (token or self.token))
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as r:
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
        self.driver.set_page_load_timeout(60)
        self.console_errors = []
        self.tolerated = []
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

    def screenshot(self, name):
        """The current page at phone and desktop size."""
        for label, (w, h) in (("phone", PHONE), ("desktop", DESKTOP)):
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
                const ps = [...document.querySelectorAll('.leaflet-container path.grid-cell')];
                if (!m || !ps.length) return true;
                const b = m.getBoundingClientRect();
                return ps.every(p => { const r = p.getBoundingClientRect();
                  return r.left >= b.left - 2 && r.right <= b.right + 2; });"""))
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


def head(daemon, path, headers=None):
    """(status, headers) of a GET without the browser."""
    req = urllib.request.Request(daemon.base + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
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


def map_cells(b):
    return b.driver.find_elements(By.CSS_SELECTOR, "#grid-map path.grid-cell")


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

    # A wrong password is refused on the page (a 401 from /v1/sessions
    # is a failed resource load in the console: leave it out of the rule).
    # ---- a member: home, map ------------------------------------------
    b.login(PROFESSIONAL[1])
    b.wait("#count-open")
    b.screenshot("home-member")
    b.check_logs("member home")

    b.go("#/map")
    b.wait("#grid-map path.grid-cell")
    fc = daemon.call("GET", "/v1/grids.geojson",
                     token=d.execute_script("return sessionStorage.getItem('citygrid.token')"))
    b.wait_until("every grid the member sees drawn",
                 lambda: len(map_cells(b)) == len(fc["features"]) == 1)
    b.screenshot("map-member")
    b.check_logs("member map")

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
    # enforcement plugin assigned it to them).
    b.go("#/case/" + case_id)
    form = b.wait('form[data-verb="handle"]')
    assert not b.driver.find_elements(By.CSS_SELECTOR, 'form[data-verb="review"]'), "a member may not review"
    form.find_element(By.CSS_SELECTOR, 'input[name="after"]').send_keys(after)
    form.find_element(By.CSS_SELECTOR, 'textarea[name="note"]').send_keys("已劝离")
    form.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
    b.wait('#case-status[data-status="handled"]')
    b.wait("#photos-after img[data-sha]")
    b.wait("#photos-before img[data-sha]")
    b.screenshot("case-handled")
    b.check_logs("handle")
    b.logout()

    # ---- the leader: the case waits for review at home; pass it ---------
    b.login(LEADER[1])
    b.wait('li[data-case-id="%s"]' % case_id)
    b.screenshot("home-leader")
    b.go("#/map")
    b.wait('#grid-map path.grid-cell[data-grid-code="%s"]' % GRID)
    b.check_logs("leader home and map")
    b.go("#/case/" + case_id)
    form = b.wait('form[data-verb="review"]')
    assert form.find_element(By.CSS_SELECTOR, 'input[name="result"][value="pass"]').is_selected()
    form.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
    b.wait('#case-status[data-status="closed"]')
    tok = d.execute_script("return sessionStorage.getItem('citygrid.token')")
    assert daemon.call("GET", "/v1/cases/" + case_id, token=tok)["status"] == "closed"
    b.screenshot("case-closed")
    b.check_logs("review")

    # ---- the monthly report ----------------------------------------------
    b.go("#/assessment")
    b.wait("#chart-ranking")
    b.wait_until("the charts drawn", lambda: d.execute_script(
        "return ['chart-ranking','chart-indicators','chart-trend'].every("
        "id => window.Chart && Chart.getChart(document.getElementById(id)))"))
    b.wait("#monthly table tbody tr")
    b.screenshot("assessment")
    b.check_logs("assessment")

    # ---- the language switch ---------------------------------------------
    b.wait("#lang").click()
    b.wait_until("English navigation", lambda: b.text("#nav-home") == "Home")
    assert d.execute_script("return document.documentElement.lang") == "en"
    b.screenshot("assessment-en")
    b.wait("#lang").click()
    b.wait_until("Chinese navigation", lambda: b.text("#nav-home") == "首页")
    b.check_logs("language switch")
    b.logout()

    # ---- an administrator: all 273 grids, the wall, the plugins ----------
    b.login("admin")
    b.go("#/map")
    b.wait_until("all 273 grids drawn", lambda: len(map_cells(b)) == 273)
    b.wait('#grid-map path.grid-cell[data-grid-code="%s"]' % GRID)
    b.screenshot("map-admin")
    b.go("#/wall")
    b.wait_until("the wall's map", lambda: len(map_cells(b)) == 273)
    b.wait("#wall-open")
    b.screenshot("wall")
    b.go("#/admin")
    b.wait('#plugins button[data-plugin="enforcement"][data-verb="reload"]')
    b.screenshot("admin")
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

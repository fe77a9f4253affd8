"""ctlkit-web driven through WebDriver in headless Chromium, and by plain
HTTPS requests for what a browser would not send: log in, a wrong password
refused, every page loads without a console error and shows what the CLI's
--json says, a read-only user sees no change form and cannot POST one, a
request without a session or CSRF token is refused. One screenshot per
page is kept in $CTLKIT_WEB_ARTIFACTS (the test's build folder)."""
import json
import os
import tempfile

import requests
from selenium.webdriver.common.by import By

import browsertest
import webtest
from browsertest import field
from webtest import check, run
ART = os.environ.get("CTLKIT_WEB_ARTIFACTS", os.getcwd())
os.makedirs(ART, exist_ok=True)
WORK = tempfile.mkdtemp(prefix="ctlkit-web-test.")
CL = os.path.join(WORK, "cl")


def admin(cmd):
    return webtest.admin(CL, cmd)


# ---- a test cluster: mixed mode, two users, two trust certificates near expiry
ip = webtest.mixed_cluster(WORK, CL)
for name, days in (("soon7", 5), ("soon30", 20)):
    pem = os.path.join(WORK, name + ".pem")
    run("cert", "new", pem, "--cn", name, "--days", str(days))
    admin("set cert import trust CallManager-trust %s %s" % (pem, name))

status = json.loads(run("cluster", "status", CL, "--json"))
show_ctl = json.loads(admin("show ctl --json"))
audit = json.loads(admin("show audit --json"))
trust = json.loads(admin("show cert list trust --json"))

# ---- ctlkit-web on a random port (another is tried if it is taken)
web, BASE = webtest.start_web(CL, ip, os.path.join(WORK, "web.log"))


def login_session(user, pw):
    return webtest.login_session(BASE, user, pw)


def csrf_of(s, path="/cluster"):
    return s.get(BASE + path).text.split('name="csrf" value="')[1].split('"')[0]


try:
    # ---- without a session
    anon = requests.Session()
    anon.verify = False
    r = anon.get(BASE + "/api/cluster")
    check(r.status_code == 401, "/api/cluster without a session: %d" % r.status_code)
    r = anon.get(BASE + "/cluster", allow_redirects=False)
    check(r.status_code == 303 and r.headers.get("Location") == "/login", "/cluster without a session redirects")
    r = anon.post(BASE + "/cluster/materialize", data={"csrf": "0" * 64})
    check(r.status_code == 401, "a change without a session: %d" % r.status_code)
    csp = r.headers.get("Content-Security-Policy", "")
    check("default-src 'none'" in csp and "unsafe" not in csp, "strict CSP: " + csp)
    # A login without the login form's token.
    r = anon.post(BASE + "/login", data={"user": "alice", "password": "Admin-pass1"}, allow_redirects=False)
    check(r.status_code == 403, "a login without its CSRF token: %d" % r.status_code)

    # ---- sessions: cookie flags, CSRF, roles
    a, r = login_session("alice", "Admin-pass1")
    check(r.status_code == 303, "alice logs in: %d" % r.status_code)
    cookie = r.headers.get("Set-Cookie", "")
    for flag in ("Secure", "HttpOnly", "SameSite=Strict"):
        check(flag in cookie, "session cookie has " + flag + ": " + cookie)
    check(a.get(BASE + "/api/cluster").status_code == 200, "alice reads /api/cluster")
    r = a.post(BASE + "/cluster/materialize", data={})
    check(r.status_code == 403, "alice's change without a CSRF token: %d" % r.status_code)
    r = a.post(BASE + "/cluster/materialize", data={"csrf": "f" * 64})
    check(r.status_code == 403, "alice's change with a wrong CSRF token: %d" % r.status_code)
    r = a.post(BASE + "/cluster/materialize", data={"csrf": csrf_of(a)})
    check(r.status_code == 200 and 'id="notice"' in r.text, "alice's change with its token: %d" % r.status_code)
    b, r = login_session("bob", "Reader-pass1")
    check(r.status_code == 303, "bob logs in")
    r = b.post(BASE + "/cluster/materialize", data={"csrf": csrf_of(b)})
    check(r.status_code == 403, "bob (read-only) changes with a valid token: %d" % r.status_code)
    # Another user's token does not fit.
    r = a.post(BASE + "/cluster/materialize", data={"csrf": csrf_of(b)})
    check(r.status_code == 403, "alice's change with bob's token: %d" % r.status_code)

    # ---- the browser
    br = browsertest.Browser(WORK, height=900, page_load_timeout=30)
    driver = br.driver

    def shot(name):
        driver.save_screenshot(os.path.join(ART, name + ".png"))

    try:
        br.log_in(BASE, "alice", "wrong-password")
        check(driver.find_element(By.ID, "error").text == "Wrong user name or password.", "wrong password refused")
        check(driver.current_url.endswith("/login"), "still on the login page")
        shot("login-refused")
        # The refused login is answered 403: that status, and only it, is in the log.
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        check(all("/login" in e["message"] and "403" in e["message"] for e in errors),
              "console on the refused login: %s" % errors)
        driver.get(BASE + "/login")
        br.console_clean("login")
        shot("login")

        br.log_in(BASE, "alice", "Admin-pass1")
        check(driver.current_url.endswith("/cluster"), "logged in, on /cluster: " + driver.current_url)
        br.console_clean("cluster")
        shot("cluster")
        text = lambda i: driver.find_element(By.ID, i).text
        check(text("security_mode_name") == status["security_mode_name"], "mode as cluster status")
        check(text("ctl_md5") == status["ctl"]["md5"], "CTL MD5 as cluster status")
        check(text("ctl_version") == str(status["ctl"]["version"]), "CTL version as cluster status")
        rows = driver.find_elements(By.CSS_SELECTOR, "tr.node")
        check(len(rows) == len(status["nodes"]), "one row per node")
        for row, n in zip(rows, status["nodes"]):
            check(field(row, "name") == n["name"] and field(row, "ip") == n["ip"] and field(row, "role") == n["role"],
                  "node %s as cluster status" % n["name"])
            check(field(row, "ctl") == n["ctl"]["state"] and field(row, "itl") == n["itl"]["state"],
                  "node %s copies as cluster status" % n["name"])
        recs = driver.find_elements(By.CSS_SELECTOR, "tr.record")
        want = show_ctl["file"]["records"]
        check(len(recs) == len(want), "CTL records: %d, show ctl %d" % (len(recs), len(want)))
        for row, rec in zip(recs, want):
            check(field(row, "serial") == rec["serial"] and field(row, "role") == (rec["role"] or "-"),
                  "CTL record %s as show ctl" % rec["index"])
        check(len(driver.find_elements(By.CSS_SELECTOR, "form.change")) == 1, "admin sees the change form")

        driver.get(BASE + "/certs")
        br.console_clean("certs")
        shot("certs")
        rows = driver.find_elements(By.CSS_SELECTOR, "tr.cert")
        units = [(c["unit"], c["serial"], c["expires"]) for n in status["nodes"] for c in n["certificates"]]
        shown = [(field(r, "unit"), field(r, "serial"), field(r, "expires")) for r in rows]
        for u in units:
            check(u in shown, "certificate %s as cluster status" % (u,))
        trust_rows = trust if isinstance(trust, list) else trust.get("certificates", trust.get("trust", []))
        check(len(rows) == len(units) + len(trust_rows), "every unit and trust entry: %d rows" % len(rows))
        warn = {field(r, "serial"): field(r, "warning") for r in rows}
        check(sorted(w for w in warn.values() if w != "-") == ["30 days", "7 days"],
              "warnings at 30 and 7 days: %s" % sorted(warn.values()))

        driver.get(BASE + "/audit")
        br.console_clean("audit")
        shot("audit")
        rows = driver.find_elements(By.CSS_SELECTOR, "tr.entry")
        check(len(rows) >= len(audit) > 0, "audit rows: %d, show audit %d" % (len(rows), len(audit)))
        for row, e in zip(rows, audit):
            check(field(row, "at") == e["at"] and field(row, "who") == e["who"] and field(row, "action") == e["action"],
                  "audit row as show audit: %s" % e["action"])

        br.submit(driver.find_element(By.CSS_SELECTOR, "form.logout button"))
        check(driver.current_url.endswith("/login"), "logged out")
        driver.get(BASE + "/cluster")
        check(driver.current_url.endswith("/login"), "after logout /cluster asks to log in")

        br.log_in(BASE, "bob", "Reader-pass1")
        br.console_clean("cluster (read-only)")
        shot("cluster-readonly")
        check(driver.find_elements(By.CSS_SELECTOR, "form.change") == [], "read-only user sees no change form")
        check("read-only" in driver.find_element(By.ID, "who").text, "read-only user named as such")
    finally:
        driver.quit()

    # ---- back-off: after three wrong passwords, logins wait (even right ones)
    codes = [login_session("mallory", "not-the-password")[1].status_code for _ in range(5)]
    check(codes[:3] == [403, 403, 403] and 429 in codes[3:], "wrong passwords then back-off: %s" % codes)
    s, r = login_session("alice", "Admin-pass1")
    check(r.status_code == 429 and "Too many failed logins" in r.text, "a login from a backed-off source waits")
finally:
    webtest.stop_web(web, WORK)
webtest.finish("web.dashboard", WORK, "; screenshots in " + ART)

"""ctlkit-web's rehearsal page on a cluster with a small fleet (phone rows
written into the cluster database as the nodes' tracking would, some
phones on record as devices): the page's table and reject list and POST
/api/rehearse equal `ctlkit rehearse --json` for the same commands; a
read-only user may rehearse; a POST without the CSRF token is refused;
bad commands get a clear error; other pages answer while a rehearsal
runs; no console error in headless Chromium; the cluster (rows, audit
log, every key and TFTP file) is unchanged afterwards and the rehearsals'
temporary folders are gone. Screenshots are kept in $CTLKIT_WEB_ARTIFACTS."""
import hashlib
import json
import os
import random
import sqlite3
import subprocess
import tempfile
import threading
import time

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

import browsertest
import webtest
from browsertest import field
from webtest import CTLKIT, check, run
ART = os.environ.get("CTLKIT_WEB_ARTIFACTS", os.getcwd())
os.makedirs(ART, exist_ok=True)
WORK = tempfile.mkdtemp(prefix="ctlkit-web-rehearsal.")
CL = os.path.join(WORK, "cl")
TMP = os.path.join(WORK, "tmp")  # the rehearsals' private folders, gone afterwards
os.mkdir(TMP)
COMMANDS = ["set cert regen CallManager", "utils ctl update CTLFile"]


def admin(cmd):
    return webtest.admin(CL, cmd)


def state():
    """Everything a command could change: the rows, the audit log, every file of every node folder."""
    db = sqlite3.connect(os.path.join(CL, "cluster.db"))
    rows = []
    for table in ("certificate", "trust", "processconfig", "publishedfile", "auditlog", "device", "phone"):
        rows.append(sorted(repr(r) for r in db.execute("SELECT * FROM %s" % table)))
    db.close()
    files = {}
    for top, _, names in os.walk(os.path.join(CL, "nodes")):
        for n in names:
            p = os.path.join(top, n)
            with open(p, "rb") as f:
                files[os.path.relpath(p, CL)] = hashlib.sha256(f.read()).hexdigest()
    return rows, files


# ---- a mixed-mode cluster, two users, a small fleet
ip = webtest.mixed_cluster(WORK, CL)
db = sqlite3.connect(os.path.join(CL, "cluster.db"))
ctl = db.execute("SELECT md5 FROM publishedfile WHERE name='CTLFile.tlv'").fetchone()[0]
itl = dict(db.execute("SELECT node, md5 FROM publishedfile WHERE name='ITLFile.tlv'"))
now = int(time.time())
rnd = random.Random(11)
rows, devices = [], []
for i in range(40):
    mac = "0CC0%08X" % rnd.getrandbits(32)
    model = ("7975", "8865", "7960", "")[i % 4]
    held = ctl if i % 10 else "a" * 32  # one in ten on a CTL the cluster no longer publishes
    node = ("pub", "sub")[i % 2]
    rows.append((mac, model if i % 8 else "", "10.0.0.%d" % i, node, held, now - 3600, itl[node],
                 now - 3600, 1, 0, "valid", now - 3000, now - 60))
    if model in ("7975", "8865") and i % 3:
        devices.append("SEP%s,%s" % (mac, model))
db.executemany("INSERT OR REPLACE INTO phone(mac, model, ipaddress, node, ctlmd5, ctlat, itlmd5, itlat, tvsvalid,"
               " tvsinvalid, tvslast, tvsat, lastseen) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
db.commit()
db.close()
with open(os.path.join(WORK, "devices.csv"), "w") as f:
    f.write("name,model\n" + "\n".join(devices) + "\n")
run("device", "import", "--cluster", CL, os.path.join(WORK, "devices.csv"))

env = dict(os.environ, TMPDIR=TMP)
cli = subprocess.run([CTLKIT, "rehearse", "--cluster", CL, "--node", "pub", "--json", "--", *COMMANDS],
                     capture_output=True, text=True, env=env)
if cli.returncode != 0:
    raise SystemExit("ctlkit rehearse failed: " + cli.stderr)
want = json.loads(cli.stdout)
check(want["total"]["reject"] > 0 and want["total"]["unknown"] > 0, "the fleet has phones that reject: %s"
      % want["total"])
before = state()


def comparable(j):
    """A rehearsal without what new keys change from run to run: the new CTL's MD5."""
    j = dict(j)
    j.pop("ctl_md5_after", None)
    j["phones"] = [dict(p) for p in j["phones"]]
    return j


web, BASE = webtest.start_web(CL, ip, os.path.join(WORK, "web.log"), env=env)


def login_session(user, pw):
    return webtest.logged_in(BASE, user, pw)


try:
    anon = requests.Session()
    anon.verify = False
    check(anon.post(BASE + "/api/rehearse", data={"command": COMMANDS}).status_code == 401,
          "POST /api/rehearse without a session is refused")

    # ---- the JSON twin, as the read-only user
    b = login_session("bob", "Reader-pass1")
    form = b.get(BASE + "/api/rehearse").json()
    check(form["node"] == "pub" and form["nodes"] == ["pub", "sub"] and form["csrf"], "the form's view: %s"
          % {k: v for k, v in form.items() if k != "csrf"})
    r = b.post(BASE + "/api/rehearse", data={"command": COMMANDS})
    check(r.status_code == 403 and "token" in r.json().get("error", ""), "no CSRF token: refused (%d)"
          % r.status_code)
    r = b.post(BASE + "/api/rehearse", data={"command": COMMANDS, "csrf": "0" * 64})
    check(r.status_code == 403, "a wrong CSRF token: refused (%d)" % r.status_code)
    r = b.post(BASE + "/api/rehearse", data={"command": ["utils ctl frobnicate"], "csrf": form["csrf"]})
    check(r.status_code == 400 and "not a command a rehearsal knows" in r.json().get("error", ""),
          "an unknown command: 400 and why (%d %s)" % (r.status_code, r.text.strip()))
    r = b.post(BASE + "/api/rehearse", data={"csrf": form["csrf"]})
    check(r.status_code == 400, "no command: 400 (%d)" % r.status_code)

    # Other requests are answered while a rehearsal runs (it has its own thread).
    result = {}

    def rehearse_api():
        result["r"] = b.post(BASE + "/api/rehearse", data={"command": COMMANDS, "csrf": form["csrf"]})

    other = login_session("alice", "Admin-pass1")
    t = threading.Thread(target=rehearse_api)
    t0 = time.monotonic()
    t.start()
    time.sleep(0.2)
    t1 = time.monotonic()
    mid = other.get(BASE + "/api/cluster")
    answered = time.monotonic() - t1
    t.join()
    print("web.rehearsal: /api/cluster answered in %.0f ms during a rehearsal of %.0f ms"
          % (1000 * answered, 1000 * (time.monotonic() - t0)), flush=True)
    check(mid.status_code == 200, "another page answers during a rehearsal")
    got = result["r"]
    check(got.status_code == 200, "POST /api/rehearse: %d %s" % (got.status_code, got.text[:300]))
    if got.status_code == 200:
        j = got.json()
        check(comparable(j) == comparable(want), "POST /api/rehearse equals ctlkit rehearse --json:\n%s\n%s"
              % (json.dumps(comparable(j)), json.dumps(comparable(want))))
        check(list(j) == list(want), "the same fields in the same order")

    # A client that gives up mid-rehearsal: the server finishes it, drops the
    # answer and rehearses again for the next one (503 only while busy).
    try:
        b.post(BASE + "/api/rehearse", data={"command": COMMANDS, "csrf": form["csrf"]}, timeout=0.3)
    except requests.exceptions.RequestException:
        pass
    for attempt in range(240):
        r = b.post(BASE + "/api/rehearse", data={"command": ["utils ctl update CTLFile"], "csrf": form["csrf"]})
        if r.status_code != 503:
            break
        check("already running" in r.json()["error"], "busy: says why")
        time.sleep(0.25)
    check(r.status_code == 200, "a rehearsal after an abandoned one: %d %s" % (r.status_code, r.text[:200]))

    # ---- the browser
    br = browsertest.Browser(WORK, height=1400)
    driver = br.driver

    def fill(rows):
        for i, (op, arg) in enumerate(rows, 1):
            Select(driver.find_element(By.ID, "op%d" % i)).select_by_value(op)
            driver.find_element(By.ID, "arg%d" % i).send_keys(arg)

    try:
        br.log_in(BASE, "bob", "Reader-pass1")
        check(driver.find_elements(By.CSS_SELECTOR, 'nav a[href="/rehearsal"]') != [], "the nav links the page")
        driver.get(BASE + "/rehearsal")
        br.console_clean("rehearsal form")
        check(driver.find_elements(By.ID, "result") == [], "no result before a rehearsal")
        fill([("set cert regen", "CallManager"), ("utils ctl update CTLFile", "")])
        br.submit(driver.find_element(By.ID, "rehearse-go"))
        br.console_clean("rehearsal result")
        driver.save_screenshot(os.path.join(ART, "rehearsal.png"))
        check([li.text for li in driver.find_elements(By.CSS_SELECTOR, "#rh-commands li")] == COMMANDS,
              "the page lists the commands")
        check(driver.find_element(By.ID, "ctl_md5_before").text == want["ctl_md5_before"], "the CTL now")
        shown = [[field(r, k) for k in ("model", "direct", "via_tvs", "reject", "no_change", "unknown")]
                 for r in driver.find_elements(By.CSS_SELECTOR, "#rh-models tr.model, #rh-models tr.total")]
        expect = [[m.get("model", "Total")] + [str(m[k]) for k in ("direct", "via_tvs", "reject", "no_change",
                                                                     "unknown")]
                  for m in want["models"] + [want["total"]]]
        check(shown == expect, "the page's table equals the CLI's --json:\n%s\n%s" % (shown, expect))
        rejects = [(field(r, "name"), field(r, "model"), field(r, "reason"))
                   for r in driver.find_elements(By.CSS_SELECTOR, "#rh-rejects tr.reject")]
        expect = [(p["name"], p["model"], p["reason"]) for p in want["phones"] if p["outcome"] == "reject"]
        check(rejects == expect, "the reject list equals the CLI's: %s / %s" % (rejects, expect))

        # A bad argument: the page says why, the form is still there.
        driver.get(BASE + "/rehearsal")
        fill([("utils service restart", "Frobnicator")])
        br.submit(driver.find_element(By.ID, "rehearse-go"))
        br.console_clean("rehearsal error", status=400)
        check("unknown service" in driver.find_element(By.ID, "error").text and
              driver.find_elements(By.ID, "rehearse-go"), "a bad argument: the error on the page")

        # The form without its token (as another site's page would post it).
        driver.get(BASE + "/rehearsal")
        fill([("utils ctl update CTLFile", "")])
        driver.execute_script("document.querySelector('#rehearse input[name=csrf]').remove()")
        br.submit(driver.find_element(By.ID, "rehearse-go"))
        driver.save_screenshot(os.path.join(ART, "rehearsal-nocsrf.png"))
        check("token" in driver.find_element(By.TAG_NAME, "main").text and
              driver.find_elements(By.ID, "result") == [], "the form without its CSRF token is refused")
    finally:
        driver.quit()
finally:
    webtest.stop_web(web, WORK, timeout=60)

check(state() == before, "the cluster is unchanged after the rehearsals")
check(os.listdir(TMP) == [], "the rehearsals' copies are gone: %s" % os.listdir(TMP))
webtest.finish("web.rehearsal", WORK, "; screenshots in " + ART)

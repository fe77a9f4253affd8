"""ctlkit-web's phones pages on a cluster that has seen 10,000 phones: the
drift equals `show phones trust --json`, every page of the list renders
(100 phones each, every phone once, in MAC order), the filters select
what the counts say, one phone's page shows its row, the chart is drawn,
a read-only user can look, no console error in headless Chromium.
Screenshots are kept in $CTLKIT_WEB_ARTIFACTS. The phone rows are written
into the cluster database directly, as the nodes' tracking would."""
import json
import os
import random
import sqlite3
import tempfile
import time

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

import browsertest
import webtest
from browsertest import field
from webtest import check, run
ART = os.environ.get("CTLKIT_WEB_ARTIFACTS", os.getcwd())
os.makedirs(ART, exist_ok=True)
WORK = tempfile.mkdtemp(prefix="ctlkit-web-phones.")
CL = os.path.join(WORK, "cl")
PHONES = 10000


def admin(cmd):
    return webtest.admin(CL, cmd)


# ---- a mixed-mode cluster, two users, 10,000 phones in every state
ip = webtest.mixed_cluster(WORK, CL)
current = json.loads(run("cluster", "status", CL, "--json"))["ctl"]["md5"]
older = ["a" * 32, "b" * 32]
now = int(time.time())
rows = []
rnd = random.Random(7)
for i in range(PHONES):
    mac = "0CC0%08X" % rnd.getrandbits(32)
    model = ("7960", "8865", "7975", "")[i % 4]
    kind = rnd.choice(("current", "current", "current", "older", "none", "stranded", "aged"))
    ctl = {"current": current, "stranded": current, "older": older[i % 2], "none": "", "aged": older[0]}[kind]
    ctl_at = now - rnd.randint(3600, 7 * 86400) if ctl else 0
    tvs = ("invalid", ctl_at + 60) if kind == "stranded" else ("valid", ctl_at + 30) if ctl else ("", 0)
    seen = now - 30 * 86400 if kind == "aged" else now - rnd.randint(0, 3000)
    rows.append((mac, model, "10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255), ("pub", "sub")[i % 2], ctl, ctl_at,
                 "", 0, 1 if tvs[0] == "valid" else 0, 1 if tvs[0] == "invalid" else 0, tvs[0], tvs[1], seen))
db = sqlite3.connect(os.path.join(CL, "cluster.db"))
db.executemany("INSERT OR REPLACE INTO phone(mac, model, ipaddress, node, ctlmd5, ctlat, itlmd5, itlat, tvsvalid,"
               " tvsinvalid, tvslast, tvsat, lastseen) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
db.commit()
macs = sorted(r[0] for r in db.execute("SELECT mac FROM phone"))
db.close()
trust = json.loads(admin("show phones trust --json"))
check(sum(m["current"] + m["older"] + m["none"] + m["aged_out"] for m in trust["models"]) == len(macs),
      "the CLI counts every phone")

web, BASE = webtest.start_web(CL, ip, os.path.join(WORK, "web.log"))


def cpu_seconds(pid):
    """User and system CPU time of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def login_session(user, pw):
    return webtest.logged_in(BASE, user, pw)


try:
    anon = requests.Session()
    anon.verify = False
    check(anon.get(BASE + "/api/phones").status_code == 401, "/api/phones without a session is refused")
    check(anon.get(BASE + "/phones", allow_redirects=False).status_code == 303, "/phones without a session")

    # ---- the read-only user: every page of the list, as HTML and JSON
    b = login_session("bob", "Reader-pass1")
    first = b.get(BASE + "/api/phones").json()
    check(first["trust"]["models"] == trust["models"] and first["trust"]["total"] == trust["total"]
          and first["trust"]["older_ctls"] == trust["older_ctls"] and first["trust"]["stranded"] == trust["stranded"]
          and first["trust"]["nodes"] == trust["nodes"], "the page's drift equals show phones trust --json")
    check(first["total"] == len(macs) and first["pages"] == (len(macs) + 99) // 100, "total and pages")
    listed = []
    took = []  # seconds to answer each HTML page: reported, never asserted
    cpu0 = cpu_seconds(web.pid)
    for page in range(1, first["pages"] + 1):
        j = b.get(BASE + "/api/phones?page=%d" % page).json()
        listed += [p["name"][3:] for p in j["phones"]]
        check(len(j["phones"]) == min(100, len(macs) - (page - 1) * 100), "API page %d holds its phones" % page)
        t0 = time.monotonic()
        r = b.get(BASE + "/phones?page=%d" % page)
        took.append(time.monotonic() - t0)
        check(r.status_code == 200 and r.text.count('<tr class="phone">') == len(j["phones"])
              and ('id="next"' in r.text) == (page < first["pages"]), "HTML page %d renders" % page)
    check(listed == macs, "the pages list every phone once, in MAC order")
    # CPU time of ctlkit-web itself per page (an API page and an HTML page
    # each): unlike the wall clock it does not grow with the machine's load.
    cpu = cpu_seconds(web.pid) - cpu0
    took.sort()
    print("web.phones: %d phones, %d list pages answered in median %.1f ms, slowest %.1f ms (HTTPS, one client, "
          "load average %.1f); ctlkit-web's CPU time per page (JSON + HTML): %.1f ms"
          % (len(macs), len(took), 1000 * took[len(took) // 2], 1000 * took[-1], os.getloadavg()[0],
             1000 * cpu / (2 * len(took))), flush=True)
    for what, url in (("one phone", "/phones/SEP" + macs[0]), ("filtered", "/phones?model=7960&state=older")):
        t0 = time.monotonic()
        b.get(BASE + url)
        print("web.phones: %s page answered in %.1f ms" % (what, 1000 * (time.monotonic() - t0)), flush=True)
    for m in trust["models"]:
        for state in ("current", "older", "none", "stranded", "aged_out"):
            j = b.get(BASE + "/api/phones", params={"model": m["model"], "state": state}).json()
            check(j["total"] == m[state], "filter %s/%s: %d, CLI %d" % (m["model"], state, j["total"], m[state]))
            check(all(p["model"] == m["model"] and (p["state"] == state or (state, p["state"]) == ("current", "stranded"))
                      for p in j["phones"]), "filter %s/%s lists only those" % (m["model"], state))
    stranded = b.get(BASE + "/api/phones?state=stranded&page=1").json()
    check([p["name"] for p in stranded["phones"]] == trust["stranded"][:100], "stranded phones as the CLI's list")
    check(b.get(BASE + "/api/phones?state=lost").status_code == 400, "an unknown state is refused")
    check(b.get(BASE + "/api/phones/SEPNOTAPHONE").status_code == 400, "a bad phone name is refused")
    check(b.get(BASE + "/api/phones/SEP0CC1FFFFFFFF").status_code == 404, "a phone never seen is not found")
    one = b.get(BASE + "/api/phones/SEP" + macs[0]).json()
    row = next(r for r in rows if r[0] == macs[0])
    check(one["mac"] == row[0] and one["ip"] == row[2] and one["node"] == row[3] and (one["ctl_md5"] or "") == row[4]
          and one["tvs_valid"] == row[8] and one["tvs_invalid"] == row[9], "one phone as its row: %s" % one)

    # ---- the browser
    br = browsertest.Browser(WORK, height=1800)
    driver = br.driver

    try:
        for user, pw in (("alice", "Admin-pass1"), ("bob", "Reader-pass1")):
            br.log_in(BASE, user, pw)
            driver.get(BASE + "/phones")
            br.console_clean("phones (%s)" % user)
            driver.save_screenshot(os.path.join(ART, "phones%s.png" % ("" if user == "alice" else "-readonly")))
            check(driver.find_element(By.ID, "ctl_md5").text == trust["ctl_md5"], "current CTL as the CLI")
            shown = {field(r, "model"): r for r in driver.find_elements(By.CSS_SELECTOR, "#phone-models tr.model")}
            for m in trust["models"]:
                r = shown.get(m["model"])
                check(r is not None, "a row for model %s" % m["model"])
                if r is None:
                    continue
                for state in ("current", "older", "none", "stranded", "aged_out"):
                    check(field(r, state) == str(m[state]), "model %s %s as the CLI" % (m["model"], state))
                known = m["current"] + m["older"] + m["none"]
                check(field(r, "progress") == "%d/%d" % (m["current"], known), "model %s progress" % m["model"])
            check(len(driver.find_elements(By.CSS_SELECTOR, "#ctl-history polyline")) == 3, "the chart: three CTLs")
            check(len(driver.find_elements(By.CSS_SELECTOR, "tr.phone")) == 100, "100 phones on the first page")
            check(driver.find_elements(By.CSS_SELECTOR, "form.change") == [], "no change form on the phones page")
            br.submit(driver.find_element(By.CSS_SELECTOR, "form.logout button"))

        br.log_in(BASE, "alice", "Admin-pass1")
        driver.get(BASE + "/phones")
        want = next(m for m in trust["models"] if m["model"] == "7960")
        Select(driver.find_element(By.ID, "filter-model")).select_by_value("7960")
        Select(driver.find_element(By.ID, "filter-state")).select_by_value("older")
        br.submit(driver.find_element(By.ID, "filter-go"))
        br.console_clean("phones filtered")
        driver.save_screenshot(os.path.join(ART, "phones-filtered.png"))
        check(driver.find_element(By.ID, "total").text == str(want["older"]), "the filter form: 7960 older")
        rows_shown = driver.find_elements(By.CSS_SELECTOR, "tr.phone")
        check(rows_shown and all(field(r, "model") == "7960" and field(r, "state") == "older" for r in rows_shown),
              "the filtered list holds 7960s on an older CTL")
        if want["older"] > 100:
            br.submit(driver.find_element(By.ID, "next"))
            check(driver.find_element(By.ID, "page").text == "2" and "model=7960" in driver.current_url,
                  "the next page keeps the filter")
        name = "SEP" + macs[0]
        driver.get(BASE + "/phones/" + name)
        br.console_clean("one phone")
        driver.save_screenshot(os.path.join(ART, "phone.png"))
        text = lambda i: driver.find_element(By.ID, i).text
        check(text("mac") == one["mac"] and text("ip") == one["ip"] and text("state") == one["state"]
              and text("ctl_md5") == (one["ctl_md5"] or "-") and text("tvs_invalid") == str(one["tvs_invalid"])
              and text("last_seen") == one["last_seen"], "one phone's page as its API")
    finally:
        driver.quit()
finally:
    webtest.stop_web(web, WORK)
webtest.finish("web.phones", WORK, "; screenshots in " + ART)

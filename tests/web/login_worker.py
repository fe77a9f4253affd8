"""ctlkit-web checks a login's password (PBKDF2) on a worker thread, not
on its event loop: with the test hook CTLKIT_WEB_TEST_HOLD_LOGIN=FILE the
check holds until FILE exists (it says so by creating FILE.held); while
it holds, another client's request is answered; once released, the login
gets its session. A wrong password is still refused, and ctlkit-web stops
cleanly with no check left running. No timing is asserted: on the old
code the second request is not answered while the check holds (the
requests below give up after their timeout)."""
import os
import random
import tempfile
import threading
import time

import requests

import webtest
from webtest import check, run
WORK = tempfile.mkdtemp(prefix="ctlkit-web-login.")
CL = os.path.join(WORK, "cl")
HOLD = os.path.join(WORK, "release")


def wait_for(cond, limit=30.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


ip = "127.0.0.%d" % random.randint(2, 250)
run("cluster", "init", CL, "--publisher", "pub=" + ip, "--subscriber", "sub=127.0.0.251")
pwfile = os.path.join(WORK, "alice.pw")
with open(pwfile, "w") as fh:
    fh.write("Admin-pass1\n")
run("user", "add", "--cluster", CL, "alice", "--role", "admin", "--password-file", pwfile)

env = dict(os.environ, CTLKIT_WEB_TEST_HOLD_LOGIN=HOLD)
web, BASE = webtest.start_web(CL, ip, os.path.join(WORK, "web.log"), env=env)


def new_session():
    s = requests.Session()
    s.verify = False
    return s


def login_form(s):
    r = s.get(BASE + "/login", timeout=20)
    return r.text.split('name="csrf" value="')[1].split('"')[0]


try:
    alice = new_session()
    token = login_form(alice)
    result = {}

    def post_login():
        try:
            result["r"] = alice.post(BASE + "/login", data={"csrf": token, "user": "alice", "password": "Admin-pass1"},
                                     allow_redirects=False, timeout=60)
        except Exception as e:  # reported below
            result["error"] = repr(e)

    t = threading.Thread(target=post_login)
    t.start()
    check(wait_for(lambda: os.path.exists(HOLD + ".held")), "the login's password check started")
    # The check holds: another client is answered meanwhile.
    try:
        other = new_session().get(BASE + "/login", timeout=15)
        check(other.status_code == 200 and 'name="csrf"' in other.text, "another request answered: %d" % other.status_code)
    except requests.RequestException as e:
        check(False, "another request was not answered while a login was checked: %r" % e)
    check(t.is_alive(), "the login waits for its check")
    open(HOLD, "w").close()
    t.join(timeout=60)
    r = result.get("r")
    check(r is not None and r.status_code == 303 and r.headers.get("Location") == "/cluster",
          "the login got its session: %r" % (result.get("error") or (r.status_code, r.headers.get("Location")),))
    check(alice.get(BASE + "/cluster", allow_redirects=False, timeout=20).status_code == 200, "the session works")

    # A wrong password is still refused (the hook lets it through: FILE exists).
    mallory = new_session()
    r = mallory.post(BASE + "/login", data={"csrf": login_form(mallory), "user": "alice", "password": "wrong"},
                     allow_redirects=False, timeout=20)
    check(r.status_code == 403 and "Wrong user name or password" in r.text, "a wrong password: %d" % r.status_code)
finally:
    webtest.stop_web(web, WORK)
webtest.finish("web.login_worker", WORK)

"""Attacks on ctlkit-web's login (docs/web.md, "Security choices").

1. A burst of wrong passwords sent at once gets no more checks than the
   back-off allows (three free failures, then 429): with the test hook
   CTLKIT_WEB_TEST_HOLD_LOGIN=FILE the first check holds while five more
   logins queue behind it (each queued login appends a byte to
   FILE.queued); once released, three are checked (403) and three are
   refused unchecked (429). On the code that asked the back-off on the
   loop when a login was queued, all six were checked (403): a burst got
   WEB_LOGIN_MAX_QUEUED guesses per back-off.
2. A user name holding a newline does not forge a line in the log.

Addresses 127.0.0.247 (the dashboard) and 127.0.0.248 only. No timing is
asserted."""
import os
import tempfile
import threading
import time

import requests

import webtest
from webtest import check, run
WORK = tempfile.mkdtemp(prefix="ctlkit-web-backoff.")
CL = os.path.join(WORK, "cl")
HOLD = os.path.join(WORK, "release")
LOG = os.path.join(WORK, "web.log")
IP = "127.0.0.247"


def wait_for(cond, limit=60.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


def new_session():
    s = requests.Session()
    s.verify = False
    return s


def login_form(s, base):
    r = s.get(base + "/login", timeout=30)
    return r.text.split('name="csrf" value="')[1].split('"')[0]


run("cluster", "init", CL, "--publisher", "pub=" + IP, "--subscriber", "sub=127.0.0.248")
pwfile = os.path.join(WORK, "alice.pw")
with open(pwfile, "w") as fh:
    fh.write("Admin-pass1\n")
run("user", "add", "--cluster", CL, "alice", "--role", "admin", "--password-file", pwfile)

# 1. The burst.
env = dict(os.environ, CTLKIT_WEB_TEST_HOLD_LOGIN=HOLD)
web, BASE = webtest.start_web(CL, IP, LOG, env=env)
BURST = 6
try:
    sessions = [new_session() for _ in range(BURST)]
    tokens = [login_form(s, BASE) for s in sessions]
    codes = [None] * BURST

    def guess(i):
        try:
            r = sessions[i].post(BASE + "/login", data={"csrf": tokens[i], "user": "alice", "password": "guess%d" % i},
                                 allow_redirects=False, timeout=120)
            codes[i] = r.status_code
        except requests.RequestException as e:
            codes[i] = repr(e)

    threads = [threading.Thread(target=guess, args=(0,))]
    threads[0].start()
    check(wait_for(lambda: os.path.exists(HOLD + ".held")), "the first check started and holds")
    for i in range(1, BURST):
        threads.append(threading.Thread(target=guess, args=(i,)))
        threads[-1].start()
    queued = HOLD + ".queued"
    check(wait_for(lambda: os.path.exists(queued) and os.path.getsize(queued) >= BURST),
          "%d logins queued" % BURST)
    open(HOLD, "w").close()
    for t in threads:
        t.join(timeout=120)
    checked, refused = codes.count(403), codes.count(429)
    check(checked == 3 and refused == BURST - 3,
          "a burst of %d wrong passwords: 3 checked (403), the rest refused by the back-off (429): %r"
          % (BURST, codes))
    # The back-off holds the right password too.
    s = new_session()
    r = s.post(BASE + "/login", data={"csrf": login_form(s, BASE), "user": "alice", "password": "Admin-pass1"},
               allow_redirects=False, timeout=60)
    check(r.status_code == 429, "while backed off, even the right password is refused: %d" % r.status_code)
finally:
    webtest.stop_web(web, WORK)

# 2. A forged log line (a fresh server: the back-off above is in memory).
web, BASE = webtest.start_web(CL, IP, LOG)
FORGED = "ctlkit-web: alice (admin) logged in from 10.9.9.9"
try:
    s = new_session()
    r = s.post(BASE + "/login", data={"csrf": login_form(s, BASE), "user": "x\n" + FORGED, "password": "whatever1"},
               allow_redirects=False, timeout=60)
    check(r.status_code == 403, "a user name with a newline is refused: %d" % r.status_code)
finally:
    webtest.stop_web(web, WORK)
with open(LOG) as f:
    lines = f.read().splitlines()
check(not any(l.startswith(FORGED) for l in lines), "no forged line in the log: %r" % lines)
check(any("login of 'x?" + FORGED in l for l in lines), "the refusal is logged with the newline shown as '?': %r" % lines)
webtest.finish("web.login_backoff", WORK)

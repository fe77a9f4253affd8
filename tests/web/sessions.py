"""A session lasts only as long as what it logged in with (docs/web.md,
"Security choices"): removing a user (`ctlkit user remove`) ends its
sessions, and so does a new password (`ctlkit user passwd`, e.g. after a
password leaked) or a new role (remove + add); other users' sessions stay.
On the code before, a removed admin kept its session as long as it was
used (30 minutes idle, no other limit).

Addresses 127.0.0.247 (the dashboard) and 127.0.0.248 only. No timing."""
import os
import tempfile

import webtest
from webtest import check, run
WORK = tempfile.mkdtemp(prefix="ctlkit-web-sessions.")
CL = os.path.join(WORK, "cl")
IP = "127.0.0.247"


def pwfile(name, pw):
    f = os.path.join(WORK, name + ".pw")
    with open(f, "w") as fh:
        fh.write(pw + "\n")
    return f


def status(s, path):
    return s.get(BASE + path, allow_redirects=False, timeout=60).status_code


run("cluster", "init", CL, "--publisher", "pub=" + IP, "--subscriber", "sub=127.0.0.248")
for user, role in (("alice", "admin"), ("bob", "admin"), ("carol", "read-only"), ("dave", "admin")):
    run("user", "add", "--cluster", CL, user, "--role", role, "--password-file", pwfile(user, user.title() + "-pass1"))

web, BASE = webtest.start_web(CL, IP, os.path.join(WORK, "web.log"))
try:
    s = {u: webtest.logged_in(BASE, u, u.title() + "-pass1") for u in ("alice", "bob", "carol", "dave")}
    for u, sess in s.items():
        check(status(sess, "/cluster") == 200, "%s's session works" % u)

    run("user", "remove", "--cluster", CL, "bob")
    check(status(s["bob"], "/cluster") == 303, "a removed user's page leads to the login")
    check(status(s["bob"], "/api/cluster") == 401, "a removed user's API call is 401")

    run("user", "passwd", "--cluster", CL, "alice", "--password-file", pwfile("alice2", "Alice-pass2"))
    check(status(s["alice"], "/cluster") == 303, "a new password ends the old session")

    # A new role: remove and add again (same password).
    run("user", "remove", "--cluster", CL, "dave")
    run("user", "add", "--cluster", CL, "dave", "--role", "read-only", "--password-file", pwfile("dave", "Dave-pass1"))
    check(status(s["dave"], "/cluster") == 303, "a user made again (now read-only) lost its admin session")

    check(status(s["carol"], "/cluster") == 200, "another user's session stays")
    a2 = webtest.logged_in(BASE, "alice", "Alice-pass2")
    check(status(a2, "/cluster") == 200, "the new password logs in")
    check(status(s["carol"], "/api/cluster") == 200, "and the other session still works")
finally:
    webtest.stop_web(web, WORK)
with open(os.path.join(WORK, "web.log")) as f:
    log = f.read()
check("session of bob ended" in log and "session of alice ended" in log, "the ended sessions are logged: %s" % log)
webtest.finish("web.sessions", WORK)

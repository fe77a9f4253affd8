"""POST /api/rehearse takes whole commands, but only those the rehearsal
form offers (docs/web.md, "The rehearsal page"): `set cert import trust
PURPOSE FILE` would have ctlkit-web read FILE on its own host for whoever
is logged in, read-only users included. Spelt in capitals, or as one of
several commands, it is refused too (400, nothing runs). On the code
before, the API ran it: the certificate file of the server's host was
imported into the copy (200).

Addresses 127.0.0.247 (the dashboard) and 127.0.0.248 only. No timing."""
import os
import subprocess
import tempfile

import requests

import webtest
from webtest import check, run
WORK = tempfile.mkdtemp(prefix="ctlkit-web-rhapi.")
CL = os.path.join(WORK, "cl")
IP = "127.0.0.247"

run("cluster", "init", CL, "--publisher", "pub=" + IP, "--subscriber", "sub=127.0.0.248", "--bits", "2048")
webtest.admin(CL, "utils ctl set-cluster mixed-mode")
pw = os.path.join(WORK, "bob.pw")
with open(pw, "w") as fh:
    fh.write("Reader-pass1\n")
run("user", "add", "--cluster", CL, "bob", "--role", "read-only", "--password-file", pw)
# A certificate that only the server's host has.
pem = os.path.join(WORK, "server-only.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", os.path.join(WORK, "k.pem"),
                "-out", pem, "-subj", "/CN=server-only", "-days", "30"], check=True, capture_output=True)

web, BASE = webtest.start_web(CL, IP, os.path.join(WORK, "web.log"))
try:
    bob = webtest.logged_in(BASE, "bob", "Reader-pass1")
    tok = bob.get(BASE + "/api/rehearse", timeout=60).json()["csrf"]
    for cmds in (["set cert import trust CallManager-trust " + pem],
                 ["SET Cert Import Trust CallManager-trust " + pem],
                 ["utils ctl update CTLFile", "set cert import trust CallManager-trust " + pem]):
        r = bob.post(BASE + "/api/rehearse", data={"csrf": tok, "command": cmds}, timeout=120)
        err = r.json().get("error", "") if r.headers.get("Content-Type", "").startswith("application/json") else ""
        check(r.status_code == 400 and "not a command the dashboard offers" in err,
              "%r refused: %d %s" % (cmds, r.status_code, err or r.text[:200]))
    # What the form offers still runs, whole commands and a quoted argument.
    r = bob.post(BASE + "/api/rehearse", data={"csrf": tok, "command": [
        "set cert regen CallManager", "utils ctl update CTLFile", 'utils service restart "Cisco Tftp"']}, timeout=120)
    check(r.status_code == 200 and "error" not in r.json(), "offered commands rehearsed: %d %s" % (r.status_code, r.text[:300]))
    # The form's rows cannot name it either.
    r = bob.post(BASE + "/api/rehearse", data={"csrf": tok, "op1": "set cert import trust", "arg1": "x " + pem},
                 timeout=120)
    check(r.status_code == 400, "the form's row refused: %d" % r.status_code)
finally:
    webtest.stop_web(web, WORK)
webtest.finish("web.rehearse_api", WORK)

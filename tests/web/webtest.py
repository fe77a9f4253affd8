"""What the ctlkit-web tests share: the programs, a result list, running
`ctlkit`, starting ctlkit-web on a free port and logging in.

Each test imports this module first (it also tells requests not to verify
the node's self-signed certificate, which names the node, not the
address, and drops any CA bundle in the environment, which would override
Session.verify)."""

import os
import random
import shutil
import subprocess
import sys
import warnings

import requests
import urllib3

urllib3.disable_warnings()
for _var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
    os.environ.pop(_var, None)
warnings.simplefilter("ignore")

BIN = os.environ["CTLKIT_BIN"]
CTLKIT = os.path.join(BIN, "ctlkit")
WEB = os.path.join(BIN, "ctlkit-web")
failures = []


def check(cond, what):
    """Notes a failed expectation and goes on, so one run reports all."""
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def run(*args, input_text=None):
    """Runs ctlkit; a failure ends the test with its error."""
    r = subprocess.run([CTLKIT, *args], capture_output=True, text=True, input=input_text)
    if r.returncode != 0:
        raise SystemExit("ctlkit %s failed: %s" % (" ".join(args), r.stderr))
    return r.stdout


def admin(cluster, cmd, node="pub"):
    return run("admin", "--cluster", cluster, "--node", node, "-c", cmd, "--yes")


def mixed_cluster(work, cluster):
    """A two-node cluster in mixed mode, its publisher on a random loopback
    address (returned), with the users alice (admin, Admin-pass1) and bob
    (read-only, Reader-pass1)."""
    ip = "127.0.0.%d" % random.randint(2, 250)
    run("cluster", "init", cluster, "--publisher", "pub=" + ip, "--subscriber", "sub=127.0.0.251", "--bits", "2048")
    admin(cluster, "utils ctl set-cluster mixed-mode")
    for user, role, pw in (("alice", "admin", "Admin-pass1"), ("bob", "read-only", "Reader-pass1")):
        f = os.path.join(work, user + ".pw")
        with open(f, "w") as fh:
            fh.write(pw + "\n")
        run("user", "add", "--cluster", cluster, user, "--role", role, "--password-file", f)
    return ip


def start_web(cluster, ip, log_path, env=None):
    """Starts ctlkit-web on ip and a random port (another is tried when it
    is taken); returns the process and its https:// base address."""
    for _ in range(5):
        port = random.randint(20000, 60000)
        log = open(log_path, "w")
        # CTLKIT_WEB_EXTRA_ARGS="--seccomp=trap": the same test with the
        # filter (a call outside its list is named in the log: stop_web).
        extra = os.environ.get("CTLKIT_WEB_EXTRA_ARGS", "").split()
        web = subprocess.Popen([WEB, "--cluster", cluster, "--listen", "%s:%d" % (ip, port)] + extra,
                               stdout=subprocess.PIPE, stderr=log, text=True, env=env)
        if "serving" in web.stdout.readline():
            return web, "https://%s:%d" % (ip, port)
        web.wait()
    raise SystemExit("ctlkit-web did not start: " + open(log_path).read())


def stop_web(web, work, timeout=30):
    """Stops ctlkit-web; that it stops cleanly (under ASan, also without a
    leak) is a check. Its log is work/web.log."""
    web.terminate()
    code = web.wait(timeout=timeout)
    with open(os.path.join(work, "web.log")) as f:
        text = f.read()
    check(code == 0, "ctlkit-web stops cleanly on SIGTERM (%d): %s" % (code, text[-2000:]))
    denied = [l for l in text.splitlines() if "seccomp: system call" in l]
    check(not denied, "no system call outside ctlkit-web's list: %s" % " ".join(denied[:3]))


def finish(test, work, passed=""):
    """Ends a test: with a failed check the work folder is kept, named and
    the exit status is 1; else the folder is removed."""
    if failures:
        print("%d check(s) failed; work folder kept: %s" % (len(failures), work))
        sys.exit(1)
    shutil.rmtree(work, ignore_errors=True)
    print("%s: all checks passed%s" % (test, passed))


def login_session(base, user, pw):
    """A requests session after the login form; returns it and the POST's answer."""
    s = requests.Session()
    s.verify = False
    r = s.get(base + "/login")
    token = r.text.split('name="csrf" value="')[1].split('"')[0]
    r = s.post(base + "/login", data={"csrf": token, "user": user, "password": pw}, allow_redirects=False)
    return s, r


def logged_in(base, user, pw):
    """A session after a login that must succeed (noted as a failure if not)."""
    s, r = login_session(base, user, pw)
    check(r.status_code == 303, "%s logs in: %d" % (user, r.status_code))
    return s

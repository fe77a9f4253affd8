"""What the ctlkit-web tests that drive headless Chromium share: starting
it, a console without errors, submitting a form, logging in, reading a
table cell by its data-field. Apart from webtest.py because only these
tests need Selenium (login_worker.py uses plain HTTPS)."""

import os

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from webtest import check


def replaced(element):
    """A wait condition: element's document has been replaced by another.
    Selenium's staleness_of expects a stale-reference error; Chromium 156
    sometimes answers a node of the old document, in the middle of the
    navigation, with "Node with given id does not belong to the document"
    instead (seen once in CI), which means the same."""
    def gone(_driver):
        try:
            element.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as e:
            if "does not belong to the document" in str(e):
                return True
            raise
    return gone


class Browser:
    """Headless Chromium, 1280 pixels wide and height tall, that accepts
    the node's self-signed certificate and keeps the console log."""

    def __init__(self, work, height, page_load_timeout=60):
        opts = webdriver.ChromeOptions()
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1280,%d" % height, "--user-data-dir=" + os.path.join(work, "chrome")):
            opts.add_argument(arg)
        opts.accept_insecure_certs = True  # the cluster's self-signed certificate
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        self.driver.set_page_load_timeout(page_load_timeout)

    def console_clean(self, page, status=None):
        """No console error; status: the page's own HTTP status, which
        Chromium logs when it is not 2xx."""
        errors = [e for e in self.driver.get_log("browser") if e.get("level") == "SEVERE"
                  and not (status and e.get("source") == "network" and "status of %d" % status in e["message"])]
        check(not errors, "console errors on %s: %s" % (page, errors))

    def submit(self, button):
        """Clicks a form's button and waits until the next page replaced this
        one (a click returns before the navigation ends)."""
        html = self.driver.find_element(By.TAG_NAME, "html")
        button.click()
        WebDriverWait(self.driver, 60).until(replaced(html))
        WebDriverWait(self.driver, 60).until(lambda d: d.execute_script("return document.readyState") == "complete")

    def log_in(self, base, user, pw):
        """Fills and sends the login form (whether it succeeds is the test's to check)."""
        self.driver.get(base + "/login")
        self.driver.find_element(By.ID, "user").send_keys(user)
        self.driver.find_element(By.ID, "password").send_keys(pw)
        self.submit(self.driver.find_element(By.ID, "submit"))


def field(row, name):
    """The text of a row's cell whose data-field is name."""
    return row.find_element(By.CSS_SELECTOR, '[data-field="%s"]' % name).text

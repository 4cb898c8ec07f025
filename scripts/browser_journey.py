"""The web client's journey in a real browser (Debian's Chromium, headless, driven by Selenium through
chromedriver) against a running local server: register, add three debts, record a payment, read the history,
plan with the chart drawn, adopt the plan, see progress, download the CSV, erase the account. On every page
axe-core runs and no violation of impact serious or critical may be found; every page is also checked at
375 px wide; a screenshot of each is written to ARTIFACTS. The size budget of the page's files is checked too.

Usage: browser_journey.py BASE_URL ARTIFACTS_DIR AXE_JS
"""

import json
import os
import pathlib
import sys
import tempfile
import time
import urllib.request
import uuid

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

# The client's files as web/files.json lists them: ours, and uPlot's.
MANIFEST = json.loads((pathlib.Path(__file__).resolve().parents[1] / "web" / "files.json").read_text())
OWN_FILES = [f["path"] for f in MANIFEST["files"] if f["from"] == "web"]
VENDOR_FILES = [f["path"] for f in MANIFEST["files"] if f["from"] == "vendor"]
OWN_BUDGET = 60 * 1024
PAGE_BUDGET = 120 * 1024


class JourneyFailure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise JourneyFailure(message)


def size_budget(base):
    sizes = {path: len(urllib.request.urlopen(base + path, timeout=10).read()) for path in OWN_FILES + VENDOR_FILES}
    own = sum(sizes[p] for p in OWN_FILES)
    whole = sum(sizes.values())
    check(own < OWN_BUDGET, f"our own HTML, CSS and JavaScript are {own} bytes, over {OWN_BUDGET}: {sizes}")
    check(whole < PAGE_BUDGET, f"the page with uPlot is {whole} bytes, over {PAGE_BUDGET}: {sizes}")
    print(f"  ok  size budget: our files {own} bytes (< {OWN_BUDGET}), with uPlot {whole} (< {PAGE_BUDGET})")


class Journey:
    def __init__(self, base, artifacts, axe_source, downloads):
        options = webdriver.ChromeOptions()
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                         "--disable-gpu", "--no-first-run"]:
            options.add_argument(argument)
        options.binary_location = "/usr/bin/chromium"
        options.add_experimental_option("prefs", {"download.default_directory": downloads,
                                                  "download.prompt_for_download": False})
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        self.driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
        self.base, self.artifacts, self.axe, self.downloads = base, artifacts, axe_source, downloads
        self.wait = WebDriverWait(self.driver, 20)
        self.steps = 0

    def ok(self, what):
        self.steps += 1
        print(f"  ok  {what}")

    def heading(self, text):
        self.wait.until(ready.text_to_be_present_in_element((By.TAG_NAME, "h1"), text))

    def fill(self, form, values):
        for name, value in values.items():
            element = form.find_element(By.NAME, name)
            if element.tag_name == "select":
                element.find_element(By.CSS_SELECTOR, f"option[value='{value}']").click()
            elif element.get_attribute("type") == "date":
                # Typed keys follow the browser's locale (mm/dd/yyyy here); a date picker's value is ISO.
                self.driver.execute_script("arguments[0].value = arguments[1]", element, value)
            else:
                element.clear()
                element.send_keys(value)

    def submit(self, form_id, values):
        form = self.driver.find_element(By.ID, form_id)
        self.fill(form, values)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    def audit(self, name):
        """axe-core in the page, the page at 375 px, and a screenshot."""
        self.driver.execute_script(self.axe)
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations)).catch(e => done(String(e)));")
        check(isinstance(result, list), f"axe-core did not run on {name}: {result}")
        grave = [f"{v['id']} ({v['impact']}): {v['help']}" for v in result if v.get("impact") in ("serious", "critical")]
        check(not grave, f"accessibility violations on {name}: {grave}")
        self.driver.save_screenshot(str(self.artifacts / f"{name}.png"))
        # A phone's viewport, as DevTools emulates one (a headless window has a minimum width of its own).
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": 375, "height": 812, "deviceScaleFactor": 1, "mobile": True})
        time.sleep(0.2)
        width, viewport = self.driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        wide = self.driver.execute_script("""
            return [...document.querySelectorAll('body *')]
              .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1
                           && !e.closest('.table-scroll, .chart'))
              .slice(0, 5).map(e => `${e.tagName}.${e.className}#${e.id}`);""")
        self.driver.save_screenshot(str(self.artifacts / f"{name}-375.png"))
        self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        check(viewport == 375 and width <= viewport, f"{name} is {width} px wide in a {viewport} px viewport: {wide}")
        self.ok(f"{name}: no serious or critical axe-core violation, fits 375 px")

    def drawn(self, chart_id):
        """How many pixels of the first two series' colours (blue, orange) the chart's canvas holds: the
        background, the grid and the axes are neither."""
        return self.driver.execute_script("""
            const canvas = document.querySelector(`#${arguments[0]} canvas`);
            if (!canvas) return 0;
            const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let found = 0;
            for (let i = 0; i < pixels.length; i += 4) {
              const near = (r, g, b) => Math.abs(pixels[i] - r) < 40 && Math.abs(pixels[i + 1] - g) < 40
                  && Math.abs(pixels[i + 2] - b) < 40;
              if (pixels[i + 3] > 200 && (near(31, 95, 191) || near(194, 65, 12))) found++;
            }
            return found;""", chart_id)

    def run(self):
        driver = self.driver
        username = f"web_{uuid.uuid4().hex[:10]}"
        password = "correct horse battery staple"
        driver.get(self.base + "/#/login")
        self.heading("Debts")
        self.audit("login")
        self.submit("register", {"username": username, "email": f"{username}@example.com",
                                 "full_name": "Web Journey", "password": password})
        self.heading("Your debts")
        self.ok("registered and signed in")

        # The keyboard alone: log out, then log in with Tab and Enter.
        driver.find_element(By.ID, "logout").click()
        self.heading("Debts")
        username_input = driver.find_element(By.CSS_SELECTOR, "#login [name=username]")
        username_input.click()
        username_input.send_keys(username, Keys.TAB, password, Keys.ENTER)
        self.heading("Your debts")
        self.ok("logged in with the keyboard alone")

        # A refusal shown beside the field it names.
        self.submit("add-debt", {"debt_name": "Bad", "principal": "100", "interest_rate": "900",
                                 "start_date": "2026-01-01"})
        note = self.wait.until(ready.presence_of_element_located(
            (By.CSS_SELECTOR, "#add-debt [name=interest_rate] + .field-error")))
        check(note.text, "the rate's refusal is shown beside it")
        self.ok(f"a refused field is explained beside it: {note.text}")

        debts = [("Card", "2400", "19.99", "60"), ("Car", "9000", "6.5", "250"), ("Loan", "500", "0", "25")]
        for name, balance, rate, minimum in debts:
            self.submit("add-debt", {"debt_name": name, "principal": balance, "current_balance": balance,
                                     "interest_rate": rate, "minimum_payment": minimum, "start_date": "2026-01-01",
                                     "payment_frequency": "monthly"})
            self.wait.until(ready.presence_of_element_located((By.LINK_TEXT, name)))
        self.ok("added three debts")
        self.audit("debts")

        driver.find_element(By.LINK_TEXT, "Card").click()
        self.heading("Card")
        self.submit("payment", {"amount": "150"})
        self.wait.until(ready.text_to_be_present_in_element((By.TAG_NAME, "table"), "Payment Recorded"))
        history = driver.find_element(By.TAG_NAME, "table").text
        check("2,400.00" in history and "2,250.00" in history, f"the history shows the balance before and after: {history}")
        self.ok("recorded a payment and read it in the history")
        self.audit("debt")

        driver.get(self.base + "/#/plan")
        self.heading("Plan your payoff")
        self.submit("planner", {"monthly_budget": "900", "strategy": "avalanche"})
        self.wait.until(lambda d: self.drawn("plan-chart") > 50)
        self.ok(f"the plan's chart is drawn ({self.drawn('plan-chart')} pixels of its lines)")
        self.audit("plan")
        driver.find_element(By.XPATH, "//button[text()='Download the schedule (CSV)']").click()
        csv = pathlib.Path(self.downloads) / "payoff-plan.csv"
        for _ in range(100):
            if csv.exists() and csv.stat().st_size > 0:
                break
            time.sleep(0.1)
        check(csv.exists(), "the CSV was downloaded")
        check(csv.read_text().startswith("month,on,debt_id,interest,payment,balance"), "the CSV has its header")
        self.ok(f"downloaded the schedule as CSV ({csv.stat().st_size} bytes)")
        driver.find_element(By.XPATH, "//button[text()='Adopt this plan']").click()
        self.wait.until(ready.text_to_be_present_in_element((By.ID, "adopt-status"), "Adopted"))
        self.ok("adopted the plan")

        driver.get(self.base + "/#/progress")
        self.heading("Your progress")
        self.wait.until(lambda d: self.drawn("progress-chart") > 20)
        table = driver.find_element(By.CSS_SELECTOR, ".table-scroll table").text
        check("11,750.00" in table, f"this month's total is 11,750.00 after the payment: {table}")
        page_text = driver.find_element(By.ID, "main").text
        check("null" not in page_text and "undefined" not in page_text, f"no value shows as null: {page_text[:300]}")
        self.ok("progress shows this month against the plan")
        self.audit("progress")

        driver.get(self.base + "/#/summary")
        self.heading("Summary")
        self.audit("summary")

        # An expired (here: forged) token returns to the login page. The hash is replaced without a
        # hashchange so that no request of the old page is in flight when the page reloads: one that ended
        # the session during the reload would leave the new page at #/debts with no session (and no notice).
        driver.execute_script("sessionStorage.setItem('debts.token', 'not-a-token');"
                              "history.replaceState(null, '', '#/debts')")
        driver.refresh()
        self.wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, ".notice")))
        self.ok("a refused token returns to the login page")
        self.submit("login", {"username": username, "password": password})
        self.heading("Your debts")

        driver.get(self.base + "/#/settings")
        self.heading("Settings")
        self.audit("settings")
        self.submit("erase", {"password": password})
        self.heading("Debts")
        self.ok("erased the account")

    def close(self):
        self.driver.quit()


def main():
    base, artifacts, axe_path = sys.argv[1].rstrip("/"), pathlib.Path(sys.argv[2]), sys.argv[3]
    artifacts.mkdir(parents=True, exist_ok=True)
    size_budget(base)
    with tempfile.TemporaryDirectory() as downloads:
        journey = Journey(base, artifacts, pathlib.Path(axe_path).read_text(), downloads)
        started = time.monotonic()
        try:
            journey.run()
        except Exception:
            journey.driver.save_screenshot(str(artifacts / "failure.png"))
            raise
        finally:
            journey.close()
        print(f"browser journey: {journey.steps} steps in {time.monotonic() - started:.1f} s; screenshots in {artifacts}")


if __name__ == "__main__":
    try:
        main()
    except JourneyFailure as failure:
        sys.exit(f"browser journey failed: {failure}")

"""Debian's headless chromium driven through chromium-driver (selenium), and the dashboard read back
from its stable ids and data attributes. Shared by the console's and the demo's browser tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

FUNNEL = ("captured", "valid", "callable", "contacted", "qualified")

# Flags that work on a machine without a screen or a network: no sandbox (root), no GPU, and no
# background connections (they are refused here, many at a time).
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-dev-shm-usage")


@contextmanager
def headless_chromium(profile_dir: Path) -> Iterator[webdriver.Chrome]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "Debian's chromium and chromium-driver are needed: scripts/test installs them"
    options = Options()
    options.binary_location = chromium
    for flag in (*_FLAGS, f"--user-data-dir={profile_dir}"):
        options.add_argument(flag)
    browser = webdriver.Chrome(options=options, service=Service(driver))
    try:
        yield browser
    finally:
        browser.quit()


def read_dashboard(browser: webdriver.Chrome, stages: Sequence[str] = FUNNEL) -> dict[str, Any]:
    """What the dashboard shows, read in one script run: the page re-renders every second, so reading
    element by element could mix two renders (or hit a removed one)."""
    page = browser.execute_script("""
        const value = (el) => el ? el.getAttribute('data-value') : null;
        const out = {funnel: {}, reasons: {}, reason_labels: {}, by_source: {}};
        for (const s of arguments[0]) out.funnel[s] = value(document.getElementById('funnel-' + s));
        for (const g of document.querySelectorAll('#reasons-chart g[data-reason]')) {
            out.reasons[g.getAttribute('data-reason')] = value(g);
            out.reason_labels[g.getAttribute('data-reason')] = g.getAttribute('data-label');
        }
        for (const row of document.querySelectorAll('#sources-body tr[data-source]'))
            out.by_source[row.getAttribute('data-source')] = row.querySelector('td[data-field=captured]').textContent;
        out.contact_rate = value(document.getElementById('health-contact_rate'));
        out.stranded = [value(document.getElementById('offers-stranded')),
                        value(document.getElementById('offers-stranded-oldest'))];
        out.stale = [value(document.getElementById('leads-stale')),
                     value(document.getElementById('leads-stale-oldest'))];
        out.opt_outs = value(document.getElementById('opt-outs'));
        return out;
    """, list(stages))
    rate = page["contact_rate"]
    return {**{s: int(v or -1) for s, v in page["funnel"].items()},
            "reasons": {k: int(v or -1) for k, v in page["reasons"].items()},
            "reason_labels": dict(page["reason_labels"]),
            "by_source": {k: int(v) for k, v in page["by_source"].items()},
            "contact_rate": round(float(rate), 9) if rate else None,
            "opt_outs": int(page["opt_outs"] or -1),
            "stranded_offers": (int(page["stranded"][0] or -1), page["stranded"][1] or None),
            "stale_leads": (int(page["stale"][0] or -1), page["stale"][1] or None)}

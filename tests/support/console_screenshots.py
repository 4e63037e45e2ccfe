"""Screenshots of the web console's main pages for docs/console/: a secure `atoll up` with its
default simulated fleet, a few workloads, headless Chromium.

Run: python -m tests.support.console_screenshots docs/console
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from tests.support.console_browser import API, ROOT_TOKEN, chromium, console_cluster, until

PAGES = {
    "overview": "#/overview",
    "charts": "#/overview",  # scrolled to the charts
    "nodes": "#/nodes",
    "workloads": "#/workloads",
    "vm": "#/object/virtualmachines/default/db",
    "pending": "#/object/pods/default/huge",
}


def main(out: Path) -> None:
    from selenium.webdriver.common.by import By

    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        console_cluster(Path(tmp), "--chart-interval", "2") as cluster,
        chromium() as browser,
    ):
        for index in range(12):
            if index % 4 == 0:
                time.sleep(4)  # in waves, so the charts have a history
            pod = {"apiVersion": "atoll.dev/v1", "kind": "Pod", "metadata": {"name": f"web-{index}"},
                   "spec": {"containers": [{"name": "web", "image": "nginx",
                                            "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}}]}}
            cluster.call("POST", f"{API}/namespaces/default/pods", pod)
        huge = {"apiVersion": "atoll.dev/v1", "kind": "Pod", "metadata": {"name": "huge"},
                "spec": {"containers": [{"name": "c", "image": "x", "resources": {"requests": {"memory": "64Ti"}}}]}}
        cluster.call("POST", f"{API}/namespaces/default/pods", huge)
        vm = {"apiVersion": "atoll.dev/v1", "kind": "VirtualMachine", "metadata": {"name": "db"},
              "spec": {"vcpus": 2, "memory": "2Gi", "boot": {"kernel": "/var/lib/atoll/images/vmlinux"}}}
        cluster.call("POST", f"{API}/namespaces/default/virtualmachines", vm)
        time.sleep(5)  # let the fleet run them
        browser.get(cluster.url + "/")
        until(lambda: browser.find_element(By.ID, "token"), "the login form").send_keys(ROOT_TOKEN)
        browser.find_element(By.ID, "login-button").click()
        until(lambda: browser.find_element(By.ID, "who").text, "the login")
        for name, fragment in PAGES.items():
            browser.get(cluster.url + "/" + fragment)
            time.sleep(2)
            if name == "charts":
                browser.execute_script("document.getElementById('chart-allocation').scrollIntoView()")
            browser.save_screenshot(str(out / f"{name}.png"))
            print(out / f"{name}.png")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/console"))

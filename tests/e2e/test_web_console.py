"""The web console in a real browser (headless Chromium through Selenium) against a secure `atoll up`
with a simulated fleet: log in with a token, the overview's counts, a pod appearing and running
live, a VM stopped and started, a viewer offered no action and its forged request refused, and
untrusted text shown as text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.console_browser import (
    API,
    ROOT_TOKEN,
    VIEWER_TOKEN,
    ClientCertificate,
    ConsoleCluster,
    chromium,
    console_cluster,
    until,
)

POD = {
    "apiVersion": "atoll.dev/v1",
    "kind": "Pod",
    "metadata": {"name": "live"},
    "spec": {"containers": [{"name": "c", "image": "busybox"}]},
}
VM = {
    "apiVersion": "atoll.dev/v1",
    "kind": "VirtualMachine",
    "metadata": {"name": "db"},
    "spec": {"vcpus": 1, "memory": "512Mi", "boot": {"kernel": "/var/lib/atoll/images/vmlinux"}},
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleCluster]:
    with console_cluster(tmp_path_factory.mktemp("console"), "--chart-interval", "1") as running:
        yield running


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


def log_in(browser: Any, cluster: ConsoleCluster, token: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(cluster.url + "/")
    field = until(lambda: browser.find_element(By.ID, "token"), "the login form")
    field.send_keys(token)
    browser.find_element(By.ID, "login-button").click()
    until(lambda: browser.find_element(By.ID, "who").text.startswith("logged in as"), "the login")


def open_page(browser: Any, cluster: ConsoleCluster, token: str, fragment: str) -> None:
    """A fresh load of the console at ``fragment``, logged in as ``token`` from session storage
    (what a reload does), so no other page's watches share the browser's connections."""
    browser.get(cluster.url + "/openapi/v3")
    browser.execute_script("sessionStorage.setItem('atoll.token', arguments[0])", token)
    browser.get("about:blank")
    browser.get(cluster.url + "/" + fragment)


def text_of(browser: Any, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return str(browser.find_element(By.ID, element_id).text)


def test_a_wrong_token_is_refused_at_login(browser: Any, cluster: ConsoleCluster) -> None:
    from selenium.webdriver.common.by import By

    browser.get(cluster.url + "/")
    until(lambda: browser.find_element(By.ID, "token"), "the login form").send_keys("not-a-token")
    browser.find_element(By.ID, "login-button").click()
    assert "not valid" in until(lambda: text_of(browser, "login-error"), "the login error")
    assert "not-a-token" not in browser.current_url, "no token in URLs"


def test_certificate_login_without_a_certificate_says_so_and_logs_nobody_in(
    browser: Any, cluster: ConsoleCluster
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(cluster.url + "/")
    until(lambda: browser.find_element(By.ID, "certificate-button"), "the login form").click()
    until(lambda: "no client certificate the server accepts" in text_of(browser, "login-error"), "the refusal",
          message=lambda: text_of(browser, "login-error"))  # fmt: skip
    assert browser.find_element(By.ID, "nav").get_attribute("hidden") is not None
    assert browser.execute_script("return sessionStorage.getItem('atoll.certificate')") is None


def test_a_browser_holding_a_client_certificate_logs_in_by_it(cluster: ConsoleCluster) -> None:
    from selenium.webdriver.common.by import By

    pki = cluster.ca.parent
    certificate = ClientCertificate(pki / "admin.pem", pki / "admin-key.pem", cluster.url)
    with chromium(certificate) as browser:
        browser.get(cluster.url + "/")
        until(lambda: browser.execute_script("return document.readyState") == "complete", "the console's script")
        browser.find_element(By.ID, "certificate-button").click()
        until(lambda: text_of(browser, "who") == "logged in as admin (client certificate)", "the login by certificate",
              message=lambda: text_of(browser, "login-error"))  # fmt: skip
        nodes = cluster.call("GET", f"{API}/nodes")[1]["items"]
        until(lambda: text_of(browser, "nodes-count") == str(len(nodes)), "the overview, read with no token")
        assert browser.execute_script("return sessionStorage.getItem('atoll.token')") is None
        browser.refresh()  # the tab stays logged in, by certificate
        until(lambda: text_of(browser, "who") == "logged in as admin (client certificate)", "the login after a reload")


def test_overview_counts_what_the_api_lists(browser: Any, cluster: ConsoleCluster) -> None:
    log_in(browser, cluster, ROOT_TOKEN)
    nodes = until(lambda: cluster.call("GET", f"{API}/nodes")[1]["items"], "the fleet's nodes")
    until(lambda: text_of(browser, "nodes-count") == str(len(nodes)), f"the overview to count {len(nodes)} nodes")
    assert text_of(browser, "allocated-cpu")


def test_a_pod_appears_and_runs_live_in_the_workloads_table(browser: Any, cluster: ConsoleCluster) -> None:
    from selenium.webdriver.common.by import By

    open_page(browser, cluster, ROOT_TOKEN, "#/workloads")
    until(lambda: "shown" in text_of(browser, "workloads-shown"), "the workloads table")
    status, _ = cluster.call("POST", f"{API}/namespaces/default/pods", POD)
    assert status == 201

    def phase() -> str:
        row = browser.find_element(By.CSS_SELECTOR, '[data-key="Pod/default/live"]')
        return str(row.find_elements(By.TAG_NAME, "span")[3].text)

    until(lambda: phase() in ("Pending", "Scheduled", "Running"), "the new pod's row, without a reload")
    until(lambda: phase() == "Running", "the pod to be Running, live", timeout=60)


def test_an_editor_stops_and_starts_a_vm(browser: Any, cluster: ConsoleCluster) -> None:
    from selenium.webdriver.common.by import By

    cluster.call("POST", f"{API}/namespaces/default/virtualmachines", VM)
    open_page(browser, cluster, ROOT_TOKEN, "#/object/virtualmachines/default/db")
    until(lambda: browser.find_element(By.ID, "action-stop"), "the stop button").click()

    def spec() -> dict[str, Any]:
        return dict(cluster.call("GET", f"{API}/namespaces/default/virtualmachines/db")[1]["spec"])

    until(
        lambda: spec().get("runStrategy") == "Halted",
        "the VM to be halted",
        message=lambda: f"page error {text_of(browser, 'action-error')!r}",
    )
    until(lambda: "Halted" in text_of(browser, "yaml"), "the page to show the new spec live")
    browser.find_element(By.ID, "action-start").click()
    until(lambda: spec().get("runStrategy") == "Always", "the VM to be started again")


def test_a_viewer_sees_no_action_and_a_forged_request_is_refused(browser: Any, cluster: ConsoleCluster) -> None:
    from selenium.webdriver.common.by import By

    cluster.call("POST", f"{API}/namespaces/default/virtualmachines", VM)
    open_page(browser, cluster, VIEWER_TOKEN, "#/object/virtualmachines/default/db")
    until(lambda: browser.find_element(By.ID, "action-logs"), "the logs button (a viewer may read)")
    assert not browser.find_elements(By.ID, "action-stop"), "a viewer is offered no VM action"
    assert not browser.find_elements(By.ID, "action-migrate")
    browser.get(cluster.url + "/openapi/v3")  # same origin and tab (the session's token), no live page
    forged = browser.execute_async_script(
        """const done = arguments[arguments.length - 1];
        fetch('/apis/atoll.dev/v1/namespaces/default/virtualmachines/db/stop',
              {method: 'POST', headers: {Authorization: 'Bearer ' + sessionStorage.getItem('atoll.token')}})
          .then(r => done(r.status));"""
    )
    assert forged == 403
    cookieless = browser.execute_async_script(
        """const done = arguments[arguments.length - 1];
        fetch('/apis/atoll.dev/v1/namespaces/default/virtualmachines/db/stop', {method: 'POST', credentials: 'include'})
          .then(r => done(r.status));"""
    )
    assert cookieless == 401, "without the token header nothing is allowed: no cookie a cross-site form could use"


def test_untrusted_text_is_shown_as_text(browser: Any, cluster: ConsoleCluster) -> None:
    from selenium.webdriver.common.by import By

    cluster.call("POST", f"{API}/namespaces/default/pods", {**POD, "metadata": {"name": "quoted"}})
    event = {
        "apiVersion": "atoll.dev/v1",
        "kind": "Event",
        "metadata": {"name": "quoted.1"},
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": "quoted"},
        "reason": "Test",
        "type": "Warning",
        "message": "<img src=x onerror=\"document.title='pwned'\"><b>bold</b>",
    }
    status, body = cluster.call("POST", f"{API}/namespaces/default/events", event)
    assert status == 201, body
    open_page(browser, cluster, ROOT_TOKEN, "#/object/pods/default/quoted")
    cell = until(lambda: browser.find_element(By.CSS_SELECTOR, "#events .event-message"), "the event row")
    assert cell.text == event["message"]
    assert not browser.find_elements(By.CSS_SELECTOR, "#events img, #events b")
    assert browser.title != "pwned"


def test_the_console_is_served_with_a_strict_content_security_policy(cluster: ConsoleCluster, tmp_path: Path) -> None:
    import ssl
    import urllib.request

    context = ssl.create_default_context(cafile=str(cluster.ca))
    with urllib.request.urlopen(cluster.url + "/", context=context, timeout=10) as response:
        policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy


def test_a_pending_workload_shows_the_schedulers_explanation_per_reason(browser: Any, cluster: ConsoleCluster) -> None:
    from selenium.webdriver.common.by import By

    huge = {**POD, "metadata": {"name": "huge"}}
    huge["spec"] = {"containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"memory": "64Ti"}}}]}
    status, body = cluster.call("POST", f"{API}/namespaces/default/pods", huge)
    assert status == 201, body
    open_page(browser, cluster, ROOT_TOKEN, "#/object/pods/default/huge")

    def reasons() -> list[str]:
        rows = browser.find_elements(By.CSS_SELECTOR, "#explanation-table tr")
        return [str(row.text) for row in rows]

    rows = until(reasons, "the explanation table", timeout=60)
    assert any("insufficient memory" in row for row in rows), rows


def test_logs_follow_a_running_pod(browser: Any, cluster: ConsoleCluster) -> None:
    from selenium.webdriver.common.by import By

    cluster.call("POST", f"{API}/namespaces/default/pods", {**POD, "metadata": {"name": "talker"}})
    until(
        lambda: (
            cluster.call("GET", f"{API}/namespaces/default/pods/talker")[1].get("status", {}).get("phase") == "Running"
        ),
        "the pod to run",
        timeout=60,
    )
    open_page(browser, cluster, ROOT_TOKEN, "#/object/pods/default/talker")
    until(lambda: browser.find_element(By.ID, "action-logs"), "the logs button").click()
    until(
        lambda: "running busybox" in text_of(browser, "logs"),
        "the pod's log lines",
        message=lambda: f"logs {text_of(browser, 'logs')!r}, error {text_of(browser, 'action-error')!r}",
    )


def test_a_node_page_lists_its_workloads_live(browser: Any, cluster: ConsoleCluster) -> None:

    cluster.call("POST", f"{API}/namespaces/default/pods", {**POD, "metadata": {"name": "placed"}})
    node = until(
        lambda: cluster.call("GET", f"{API}/namespaces/default/pods/placed")[1]["spec"].get("nodeName"),
        "the pod to be bound",
        timeout=60,
    )
    open_page(browser, cluster, ROOT_TOKEN, f"#/object/nodes//{node}")
    until(lambda: "default/placed" in text_of(browser, "node-workloads"), "the node's workloads")


def test_an_editor_can_ask_for_a_migration(browser: Any, cluster: ConsoleCluster) -> None:
    from selenium.webdriver.common.by import By

    cluster.call("POST", f"{API}/namespaces/default/virtualmachines", VM)
    open_page(browser, cluster, ROOT_TOKEN, "#/object/virtualmachines/default/db")
    until(lambda: browser.find_element(By.ID, "action-migrate"), "the migrate button").click()

    def migrations() -> list[str]:
        listed = cluster.call("GET", f"{API}/namespaces/default/virtualmachinemigrations")[1]
        return [item["spec"]["vmName"] for item in listed.get("items", [])]

    def answered() -> bool:
        return "db" in migrations() or bool(text_of(browser, "action-error"))

    until(answered, "a migration object or a one-line refusal")


def test_the_page_reconnects_after_the_server_restarts_and_resumes(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A lost connection (here: kill -9 of atoll up and a start again on the same state) is
    resumed from the last resource version: a pod created after the restart appears live."""
    from selenium.webdriver.common.by import By

    from tests.support.console_browser import up_arguments
    from tests.support.up_process import start_up

    data_dir = tmp_path_factory.mktemp("restart")
    with console_cluster(data_dir) as cluster:
        open_page(browser, cluster, ROOT_TOKEN, "#/workloads")
        until(lambda: "shown" in text_of(browser, "workloads-shown"), "the workloads table")
        port = int(cluster.url.rsplit(":", 1)[1])
        cluster.up.kill()
        until(lambda: "reconnecting" in text_of(browser, "connection"), "the page to notice")
        cluster.up = start_up(data_dir, *up_arguments(port), secure=True, timeout=60)
        status, body = cluster.call("POST", f"{API}/namespaces/default/pods", {**POD, "metadata": {"name": "after"}})
        assert status == 201, body
        until(
            lambda: browser.find_elements(By.CSS_SELECTOR, '[data-key="Pod/default/after"]'),
            "the pod created after the restart, without a reload",
            timeout=60,
        )
        assert text_of(browser, "connection") == "live"


def test_a_deployment_shows_its_rollout_and_an_editor_undoes_it(browser: Any, cluster: ConsoleCluster) -> None:
    from selenium.webdriver.common.by import By

    deployment = {
        "apiVersion": "atoll.dev/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"pod": {"metadata": {"labels": {"app": "web"}},
                                 "spec": {"containers": [{"name": "web", "image": "nginx:1"}]}}},
        },
    }  # fmt: skip
    path = f"{API}/namespaces/default/deployments"
    assert cluster.call("POST", path, deployment)[0] == 201

    def revision() -> str:
        return str(cluster.call("GET", f"{path}/web")[1]["metadata"].get("annotations", {}).get(
            "deployment.atoll.dev/revision", ""))  # fmt: skip

    until(lambda: revision() == "1", "revision 1 recorded", timeout=60)

    def change_image() -> bool:  # the controller writes it too: a conflict reads again
        current = cluster.call("GET", f"{path}/web")[1]
        current["spec"]["template"]["pod"]["spec"]["containers"][0]["image"] = "nginx:2"
        return cluster.call("PUT", f"{path}/web", current)[0] == 200

    until(change_image, "the template change")
    until(lambda: revision() == "2", "revision 2 recorded", timeout=60)
    open_page(browser, cluster, ROOT_TOKEN, "#/object/deployments/default/web")
    until(lambda: "2 (current)" in text_of(browser, "rollout-history"), "the rollout history")
    assert "nginx:1" in text_of(browser, "rollout-history")
    until(lambda: browser.find_element(By.ID, "action-undo"), "the undo button").click()

    def image() -> str:
        return str(cluster.call("GET", f"{path}/web")[1]["spec"]["template"]["pod"]["spec"]["containers"][0]["image"])

    until(lambda: image() == "nginx:1", "the rollback to nginx:1")


def _group_of(node: dict[str, Any]) -> str:
    """The console's default node group: operating system (Windows with its build) and hypervisor."""
    info = node.get("status", {}).get("nodeInfo", {})
    windows = info.get("os") == "windows" and info.get("osBuild")
    os = f"windows {info['osBuild']}" if windows else info.get("os", "unknown")
    hypervisor = node.get("status", {}).get("hypervisor", {}).get("type", "")
    return f"{os} {hypervisor}" if hypervisor and hypervisor != "none" else os


def _workloads(cluster: ConsoleCluster) -> list[dict[str, Any]]:
    pods: list[dict[str, Any]] = cluster.call("GET", f"{API}/pods")[1]["items"]
    vms: list[dict[str, Any]] = cluster.call("GET", f"{API}/virtualmachines")[1]["items"]
    return pods + vms


def _cores(millis: int) -> str:
    """A CPU figure as the console writes it (integers plain, else two decimals)."""
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis / 1000:.2f}"


def _expected_allocation(cluster: ConsoleCluster) -> dict[str, tuple[str, str]]:
    """Group -> (node count, 'allocated / allocatable' CPU) computed from what the API lists."""
    from atoll.quantity import cpu_millis

    nodes = cluster.call("GET", f"{API}/nodes")[1]["items"]
    workloads = _workloads(cluster)
    group_of_node = {node["metadata"]["name"]: _group_of(node) for node in nodes}
    count: dict[str, int] = {}
    allocatable: dict[str, int] = {}
    allocated: dict[str, int] = {}
    for node in nodes:
        group = group_of_node[node["metadata"]["name"]]
        count[group] = count.get(group, 0) + 1
        allocatable[group] = allocatable.get(group, 0) + cpu_millis(node["status"]["allocatable"].get("cpu", "0"))
    for workload in workloads:
        bound_to = group_of_node.get(workload.get("spec", {}).get("nodeName", ""))
        if bound_to is None or workload.get("status", {}).get("phase") in ("Succeeded", "Failed", "Stopped"):
            continue
        if workload["kind"] == "VirtualMachine":
            millis = workload["spec"].get("vcpus", 0) * 1000
        else:
            millis = sum(cpu_millis(c.get("resources", {}).get("requests", {}).get("cpu", "0"))
                         for c in workload["spec"]["containers"])  # fmt: skip
        allocated[bound_to] = allocated.get(bound_to, 0) + millis
    return {
        group: (str(count[group]), f"{_cores(allocated.get(group, 0))} / {_cores(allocatable[group])}")
        for group in count
    }


def _phases_from_api(cluster: ConsoleCluster) -> str:
    """'N Phase, ...' over pods and VMs, sorted by phase, as the phase chart's summary says it."""
    workloads = _workloads(cluster)
    counts: dict[str, int] = {}
    for workload in workloads:
        phase = workload.get("status", {}).get("phase") or "Pending"
        counts[phase] = counts.get(phase, 0) + 1
    return ", ".join(f"{counts[phase]} {phase}" for phase in sorted(counts))


def _settled_total(browser: Any, quiet_seconds: float = 4.0) -> int:
    """'Scheduled in the last hour' once it has not changed for ``quiet_seconds`` (several samples)."""
    import time

    value, since = text_of(browser, "scheduled-total"), time.monotonic()
    deadline = since + 60
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = text_of(browser, "scheduled-total")
        if now != value:
            value, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_seconds:
            return int(value)
    raise AssertionError(f"the scheduled total never settled (last {value})")


def test_the_overview_charts_show_allocation_phases_and_scheduling_with_the_apis_numbers(
    browser: Any, cluster: ConsoleCluster
) -> None:
    from selenium.webdriver.common.by import By

    open_page(browser, cluster, ROOT_TOKEN, "#/overview")
    until(lambda: browser.find_element(By.ID, "scheduled-total"), "the scheduling charts")
    before = _settled_total(browser)  # other tests' workloads (a rollout's replicas) may still be scheduled
    created = 3
    for index in range(created):
        pod = dict(POD, metadata={"name": f"charted-{index}", "namespace": "default"})
        assert cluster.call("POST", f"{API}/namespaces/default/pods", pod)[0] == 201

    def allocation_rows() -> dict[str, tuple[str, str]]:
        rows = browser.find_elements(By.CSS_SELECTOR, "#chart-allocation tbody tr")
        cells = [[cell.get_attribute("textContent") for cell in row.find_elements(By.CSS_SELECTOR, "th, td")]
                 for row in rows]  # fmt: skip
        return {cell[0]: (cell[1], cell[2]) for cell in cells}

    # At least ours: a workload of an earlier test that the scheduler still retries (a Deployment's
    # replacement, a retried bind) may be counted too after the total looked settled (one full CI run
    # read 12, not exactly before + 3).
    until(lambda: int(text_of(browser, "scheduled-total")) >= before + created,
          f"{created} more workloads counted as scheduled in the throughput chart",
          message=lambda: text_of(browser, "scheduled-total"))  # fmt: skip
    until(lambda: allocation_rows() == _expected_allocation(cluster), "allocation per node group as the API has it",
          message=lambda: f"{allocation_rows()} vs {_expected_allocation(cluster)}")  # fmt: skip

    def phase_summary() -> str:
        title = browser.find_element(By.CSS_SELECTOR, "#chart-phases svg title").get_attribute("textContent")
        return str(title).removeprefix("Workloads by phase, last hour: now ")

    until(lambda: phase_summary() == _phases_from_api(cluster), "the phase chart's counts as the API has them",
          message=lambda: f"{phase_summary()} vs {_phases_from_api(cluster)}")  # fmt: skip

    def latest_sample() -> list[str]:
        rows = browser.find_elements(By.CSS_SELECTOR, "#chart-phases table tbody tr")
        return [str(cell.get_attribute("textContent")) for cell in rows[1].find_elements(By.TAG_NAME, "td")][1:]

    def now_row() -> list[str]:
        rows = browser.find_elements(By.CSS_SELECTOR, "#chart-phases table tbody tr")
        return [str(cell.get_attribute("textContent")) for cell in rows[0].find_elements(By.TAG_NAME, "td")][1:]

    until(lambda: latest_sample() == now_row(), "the server's latest sample to agree with the live count",
          message=lambda: f"{latest_sample()} vs {now_row()}")  # fmt: skip
    for index in range(created):
        cluster.call("DELETE", f"{API}/namespaces/default/pods/charted-{index}")

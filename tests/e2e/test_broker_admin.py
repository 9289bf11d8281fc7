"""The broker runs the office in the admin, in a real browser, from the world `make run` leaves (demo_world):
add an agent, disable one (their login is then refused), offboard one from the form to the result page, retry and
discard failed changes, read the audit log with its filters; and an agent reaches no admin page."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TIMEOUT = 20_000


@pytest.fixture
def second(browser):
    """Another browser context (another person at another computer), sharing nothing with `page`."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    yield page
    context.close()


def admin_login(page, world, username: str = "broker") -> None:
    page.set_default_timeout(TIMEOUT)
    page.goto(world.url + "/admin/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", world.password)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_have_text("FlexCRM")


def reload_until(page, locator, timeout_s: float = 60) -> None:
    """Reload the page (as a broker would) until `locator()` is visible."""
    deadline = time.monotonic() + timeout_s
    while True:
        if locator().count():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not seen after {timeout_s} s of reloading: {locator()}")
        time.sleep(1)
        page.reload()


def row(page, text: str):
    return page.locator("#result_list tbody tr", has_text=text)


def run_action(page, label: str) -> None:
    page.select_option("select[name=action]", label=label)
    page.click("button[name=index]")


def open_agents(page) -> None:
    page.locator("#content-main").get_by_role("link", name="Agents", exact=True).first.click()
    expect(page.locator("#page-help")).to_contain_text("The agents of your office")


def test_broker_adds_disables_and_offboards_agents(demo_world, page, second, screenshot):
    admin_login(page, demo_world)
    screenshot("broker-admin-index", page)
    for section in ("People", "Contacts", "Changes sent to flexmls", "Audit log", "Sync health"):
        expect(page.locator(f"#content-main caption a:text-is('{section}')")).to_be_visible()

    # -- the office's agents, with what a broker needs to see -----------------------------------------------------
    open_agents(page)
    expect(page.locator("h1")).to_contain_text("Red River Realty")
    for name in ("Alice Anderson", "Bob Brooks", "Carol Chen"):
        expect(row(page, name)).to_be_visible()
    expect(row(page, "Dave Dawson")).to_have_count(0)  # another office
    reload_until(page, lambda: row(page, "Carol Chen").locator("td.field-last_sync", has_text="ago"))
    expect(row(page, "Carol Chen").locator("td.field-activity")).to_contain_text("fresh activity:")
    screenshot("broker-agents", page)

    # -- add an agent: a login and a one-time link to set the password --------------------------------------------
    page.get_by_role("link", name=re.compile("Add agent", re.I)).click()
    page.fill("#id_username", "zoe")
    page.fill("#id_first_name", "Zoe")
    page.fill("#id_last_name", "Zimmer")
    page.fill("#id_email", "zoe@example.com")
    screenshot("broker-add-agent", page)
    page.click("input[value='Add the agent']")
    expect(page.locator("#agent-added")).to_contain_text("zoe")
    link = page.locator(".one-time-link").inner_text().strip()
    screenshot("broker-agent-added", page)

    second.goto(link)
    second.fill("input[name=new_password1]", "zoe-sets-her-own-2026")
    second.fill("input[name=new_password2]", "zoe-sets-her-own-2026")
    second.click("button[type=submit]")
    expect(second.locator("h1")).to_have_text("Password set")
    second.goto(demo_world.url + "/login/")
    second.fill("input[name=username]", "zoe")
    second.fill("input[name=password]", "zoe-sets-her-own-2026")
    second.click("button[type=submit]")
    expect(second.locator("#link-flexmls")).to_be_visible()  # in, and asked to link flexmls herself
    second.context.clear_cookies()

    # -- disable bob: his login is refused, with a clear message --------------------------------------------------
    page.goto(demo_world.url + "/admin/")
    open_agents(page)
    expect(row(page, "Zoe Zimmer").locator("td.field-link")).to_have_text("Not linked")
    row(page, "Bob Brooks").locator("input.action-select").check()
    run_action(page, "Disable the selected logins (their queued changes are kept)")
    expect(page.locator(".messagelist")).to_contain_text("Disabled 1 login: bob")
    expect(row(page, "Bob Brooks").locator("td.field-login")).to_contain_text("disabled")
    screenshot("broker-disabled-bob", page)
    second.goto(demo_world.url + "/login/")
    second.fill("input[name=username]", "bob")
    second.fill("input[name=password]", demo_world.password)
    second.click("button[type=submit]")
    expect(second.locator("#login-disabled")).to_contain_text("disabled by your broker")
    screenshot("bob-login-refused", second)

    # -- offboard carol to alice, from the start of the form to the result page -----------------------------------
    reload_until(page, lambda: row(page, "Carol Chen").locator("td.field-contacts_held", has_text=re.compile(r"[1-9]")))
    row(page, "Carol Chen").locator("input.action-select").check()
    run_action(page, "Offboard: move all contacts of the selected agent…")
    expect(page.locator("h1")).to_have_text("Offboard Carol Chen")
    expect(page.locator("#id_disable_login")).to_be_checked()  # on by default
    page.select_option("#id_target", label="Alice Anderson — Red River Realty")
    screenshot("broker-offboard-form", page)
    page.click("input[value='Move all contacts']")
    expect(page.locator("#job-summary")).to_contain_text("finished", timeout=120_000)
    expect(page.locator("#job-login")).to_contain_text("Carol Chen's login is disabled")
    headings = page.locator("#content h2").all_inner_texts()
    assert headings[0] == "Needs attention" and headings[1].startswith("Moved to Alice Anderson"), headings
    assert headings[-1].startswith("News feed schedules recreated"), headings
    screenshot("broker-offboard-result", page)

    second.goto(demo_world.url + "/login/")
    second.fill("input[name=username]", "carol")
    second.fill("input[name=password]", demo_world.password)
    second.click("button[type=submit]")
    expect(second.locator("#login-disabled")).to_be_visible()


def test_broker_retries_and_discards_failed_changes_and_reads_the_audit_log(demo_world, page, second, screenshot):
    sim = demo_world.sim
    # alice, at her desk, tags a contact while flexmls refuses everything
    demo_world.login(second, "alice")
    second.locator("tr.contact-row td.name a").first.click()
    contact_url = second.url

    def failing_tag(tag: str) -> None:
        second.goto(contact_url)
        sim.faults(error_rate=1.0, error_status=400, error_code=1053)
        second.fill("#tag-input", tag)
        second.click(".tag-add button")
        expect(second.locator("#tags .chip", has_text=tag)).to_be_visible()

    failing_tag("Retry Me")
    admin_login(page, demo_world)
    page.get_by_role("link", name="Changes sent to flexmls").first.click()
    expect(page.locator("#page-help")).to_contain_text("Failed changes wait here")
    page.locator("#changelist-filter details[data-filter-title='status'] a:text-is('Failed')").click()
    reload_until(page, lambda: row(page, "Tag"))
    sim.clear_faults()
    screenshot("broker-failed-changes", page)

    row(page, "Tag").first.locator("input.action-select").check()
    run_action(page, "Retry selected failed writes")
    expect(page.locator(".messagelist")).to_contain_text("Sending 1 write again")
    page.goto(re.sub(r"\?.*", "", page.url) + "?status__exact=confirmed&kind__exact=tag_add")
    reload_until(page, lambda: row(page, "Tag"))

    failing_tag("Discard Me")
    page.goto(re.sub(r"\?.*", "", page.url) + "?status__exact=failed")
    reload_until(page, lambda: row(page, "Tag"))
    sim.clear_faults()
    row(page, "Tag").first.locator("input.action-select").check()
    run_action(page, "Discard selected failed writes (with a reason)…")
    page.fill("#id_reason", "Tag agreed with Alice as not needed")
    screenshot("broker-discard-form", page)
    page.click("input[value=Discard]")
    expect(page.locator(".messagelist")).to_contain_text("Discarded 1 write")

    # -- the audit log, read with its filters ---------------------------------------------------------------------
    page.goto(demo_world.url + "/admin/")
    page.locator("#content-main").get_by_role("link", name="Audit log", exact=True).first.click()
    expect(page.locator("#page-help")).to_contain_text("Who changed what")
    page.locator("#changelist-filter details[data-filter-title='source'] a:text-is('Admin')").click()
    expect(row(page, "Retried").first).to_be_visible()
    page.locator("#changelist-filter details[data-filter-title='outcome'] a:text-is('Discarded')").click()
    expect(row(page, "Tag agreed with Alice as not needed")).to_have_count(1)
    expect(row(page, "Brook Broker (broker)")).to_have_count(1)
    screenshot("broker-audit-log", page)

    # -- an agent reaches no admin page ---------------------------------------------------------------------------
    for path in ("/admin/", "/admin/agents/agent/", "/admin/agents/agent/add/",
                 "/admin/outbox/sparkwrite/", "/admin/auth/user/"):
        second.goto(demo_world.url + path)
        expect(second).to_have_url(re.compile(r"/admin/login/\?next="))
        expect(second.locator("#site-name")).to_have_text("FlexCRM")
    second.fill("input[name=username]", "alice")
    second.fill("input[name=password]", demo_world.password)
    second.click("input[type=submit]")
    expect(second.locator(".errornote", has_text="staff account")).to_be_visible()
    screenshot("alice-refused-by-admin", second)

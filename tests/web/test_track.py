"""The customers' status page over a real socket: the progress in plain words with dates and the
tracking number and nothing internal; one answer for a wrong order and a wrong second factor; a rate
limit per client; off unless enabled."""

from __future__ import annotations

import re

import httpx
from web_client import Serve, records

from orderbridge.config.loader import LoadedConfig
from orderbridge.demo.scenario import demo_phone
from orderbridge.storage import discrepancies
from orderbridge.storage.db import Store


def digits(number: int) -> str:
    return demo_phone(number)[-4:]


def other(four: str) -> str:
    return f"{(int(four) + 1) % 10000:04d}"


def look_up(url: str, order: str, factor: str, **headers: str) -> httpx.Response:
    return httpx.post(f"{url}/track", data={"order": order, "factor": factor}, headers=headers)


def answer_text(page: httpx.Response) -> str:
    """What the page says, without its markup."""
    return re.sub(r"<[^>]+>", " ", page.text)


def test_progress_in_plain_words_and_nothing_internal(serve_web: Serve, demo: LoadedConfig) -> None:
    """A delivered order shows its four steps, each with a date, and its tracking number; no system
    name, no system's own status word, no record id, no discrepancy is anywhere on the page."""
    held = records(demo, "SO-000041")
    number = held["erp"].order_ref or ""
    with serve_web(track={"per_minute": 100}) as url:
        page = look_up(url, number, digits(41))
        zh = httpx.post(f"{url}/track?lang=zh-CN", data={"order": number, "factor": "+86 " + digits(41)})
    assert page.status_code == 200
    said = answer_text(page)
    done = re.findall(r'<li class="done"><b>([^<]+)</b>', page.text)
    assert done == ["Ordered", "Being prepared", "Shipped", "Delivered"]
    # The warehouse first reported it delivered: that step has its date, the passed-over ones none.
    assert re.search(r"Delivered\s+—\s+\d{2} \w{3} \d{4} \d{2}:\d{2}", said)
    assert "not yet" not in said
    tracking = {obs.links["tracking_number"] for obs in held.values() if obs.links.get("tracking_number")}
    assert tracking and all(t in said for t in tracking)
    assert "下单" in zh.text and "备货" in zh.text and "发货" in zh.text and "签收" in zh.text
    # The carrier's record is its tracking number, which the customer is meant to see.
    internal = {*demo.config.systems, *(obs.record_id for obs in held.values())} - tracking
    internal |= {w for obs in held.values() for w in obs.native_status.values() if w and len(w) > 1}
    for page_text in (said, answer_text(zh)):
        leaked = sorted(word for word in internal if re.search(rf"\b{re.escape(word)}\b", page_text))
        assert leaked == []
    assert "SO-000041" not in said  # the canonical key is ours; the customer typed the shop's number


def test_an_order_on_its_way_shows_what_is_still_to_come(serve_web: Serve, demo: LoadedConfig) -> None:
    """An order the warehouse (the fulfilment authority) shipped, while the ERP still says preparing,
    is shipped for the customer, and delivery is "not yet"."""
    number = records(demo, "SO-000042")["erp"].order_ref or ""
    with serve_web(track={"per_minute": 100}) as url:
        page = look_up(url, number, digits(42))
    done = re.findall(r'<li class="done"><b>([^<]+)</b>', page.text)
    assert done == ["Ordered", "Being prepared", "Shipped"]
    assert re.search(r'<li class="todo"><b>Delivered</b> — not yet', page.text)


def test_a_wrong_order_and_a_wrong_factor_get_the_same_answer(serve_web: Serve, demo: LoadedConfig) -> None:
    """No such order, a wrong second factor, an order with a discrepancy and a wrong factor, and a
    warehouse record id (no order number) with the right factor all answer alike, telling nothing."""
    number = records(demo, "SO-000041")["erp"].order_ref or ""
    with serve_web(track={"per_minute": 100}) as url:
        store = Store(demo.config.store.url, demo.base_dir)
        with store.engine.connect() as conn:
            troubled = next(d.order_key for d in discrepancies.listing(conn) if d.rule == "status_conflict")
        store.close()
        wms_id = records(demo, troubled)["wms"].record_id
        troubled_number = records(demo, troubled)["erp"].order_ref or ""
        troubled_digits = digits(int(troubled.rsplit("-", 1)[1]))
        answers = {
            "no such order": (look_up(url, "SO-2099-9999", digits(41)), "SO-2099-9999"),
            "wrong factor": (look_up(url, number, other(digits(41))), number),
            "troubled, wrong factor": (
                look_up(url, troubled_number, other(troubled_digits)),
                troubled_number,
            ),
            "record id": (look_up(url, wms_id, troubled_digits), wms_id),
            "no factor": (look_up(url, number, ""), number),
        }
        control = look_up(url, troubled_number, troubled_digits)
    bodies = {name: page.text.replace(typed, "N") for name, (page, typed) in answers.items()}
    assert {page.status_code for page, _ in answers.values()} == {200}
    assert len(set(bodies.values())) == 1, "the answers differ"
    assert "found no order" in next(iter(bodies.values()))
    assert "Ordered" in control.text  # the right factor does open that order


def test_the_rate_limit_holds_per_client(serve_web: Serve, demo: LoadedConfig) -> None:
    """Past `per_minute` look-ups a client gets 429 even with the right details; another client,
    named by a trusted proxy's header, is still answered."""
    number = records(demo, "SO-000041")["erp"].order_ref or ""
    with serve_web(track={"per_minute": 3, "client_header": "X-Forwarded-For"}) as url:
        first = [look_up(url, number, other(digits(41))) for _ in range(3)]
        blocked = look_up(url, number, digits(41))
        elsewhere = look_up(url, number, digits(41), **{"X-Forwarded-For": "203.0.113.9"})
    assert [page.status_code for page in first] == [200, 200, 200]
    assert blocked.status_code == 429 and "Ordered" not in blocked.text
    assert elsewhere.status_code == 200 and "Ordered" in elsewhere.text


def test_off_unless_enabled(serve_web: Serve, demo: LoadedConfig) -> None:
    """With `track.enabled` false the page is not there at all, for a look-up either."""
    number = records(demo, "SO-000041")["erp"].order_ref or ""
    with serve_web(track={"enabled": False}) as url:
        page = httpx.get(f"{url}/track")
        lookup = look_up(url, number, digits(41))
    assert page.status_code == 404 and lookup.status_code == 404
    assert "Ordered" not in lookup.text

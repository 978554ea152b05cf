"""Every push provider's receiver, as pure functions on bodies shaped like the provider's documented
payloads: the signature checked over the raw bytes (the reference's test vectors included), the
dedupe key, the records parsed with their traps, and the statuses mapped by the preset table."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlencode

import push_samples as samples
import pytest
import yaml

from orderbridge.config.loader import parse_config
from orderbridge.connectors import registry
from orderbridge.connectors.push.base import PushRequest, Receiver, StoredEvent
from orderbridge.connectors.push.request import EventError, Malformed, Unauthorized
from orderbridge.connectors.push.signatures import DigestSignature, HmacSignature
from orderbridge.mapping.model import Dimension
from orderbridge.mapping.translate import to_observation

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def receiver_for(sample: samples.Sample) -> Receiver:
    config = parse_config(yaml.safe_dump({"systems": {sample.system: sample.block}}, allow_unicode=True))
    found = registry.receiver(sample.system, config.systems[sample.system])
    assert found is not None
    return found


request_of = samples.request_of


def stored(receiver: Receiver, request: PushRequest) -> StoredEvent:
    delivery = receiver.accept(request)
    return StoredEvent(1, receiver.name, NOW, delivery.headers, request.body)


@pytest.fixture(params=[s.type for s in samples.every_sample()])
def sample(request: pytest.FixtureRequest) -> samples.Sample:
    """Each provider's sample, built when its test runs: signatures that carry a timestamp (Shippo's)
    are fresh however long the run before it took."""
    return next(s for s in samples.every_sample() if s.type == request.param)


def test_every_push_type_has_a_sample() -> None:
    """A push-capable type added to the registry without a sample here fails the build."""
    pushing = {name for name, entry in registry.REGISTRY.items() if entry.receiver is not None}
    assert {s.type for s in samples.every_sample()} == pushing


def test_a_signed_push_is_accepted_and_parsed_into_its_canonical_status(sample: samples.Sample) -> None:
    """Correctly signed: authenticated, given a dedupe key, parsed into the record the provider means,
    with the status its preset table (or the YAML's) maps it to and a status time with a zone."""
    receiver = receiver_for(sample)
    request = request_of(sample)
    receiver.authenticate(request)
    records = receiver.parse(stored(receiver, request))
    latest = records[-1]
    settings = receiver.settings
    observation = to_observation(latest, settings.order_id, settings.status, NOW)
    assert latest.record_id == sample.record_id
    assert observation.status(sample.dimension) == sample.status
    assert latest.status_at == sample.status_at
    assert latest.raw


def test_a_tampered_or_unsigned_push_is_refused_with_a_reason(sample: samples.Sample) -> None:
    """The same push with one byte changed is refused (where the provider signs its body); so is one
    without its signature or path token."""
    receiver = receiver_for(sample)
    tampered = sample.body.replace(b"2026", b"2027", 1) if b"2026" in sample.body else sample.body + b" "
    if receiver.scheme.covers_body:
        with pytest.raises(Unauthorized) as changed:
            receiver.authenticate(request_of(sample, tampered))
        assert changed.value.reason and samples.SECRET not in changed.value.reason
    bare = {k: v for k, v in sample.headers.items() if k.lower() in ("content-type",)}
    unsigned = samples.Sample(**{**sample.__dict__, "headers": bare, "token": None})
    if sample.type not in ("kuaidi100", "cainiao"):  # those sign inside the form body
        with pytest.raises(Unauthorized) as missing:
            receiver.authenticate(request_of(unsigned))
        assert "missing" in missing.value.reason


def test_the_same_delivery_gets_the_same_dedupe_key_and_another_event_another(sample: samples.Sample) -> None:
    """A retried delivery is recognised by its key; the key is the provider's id where it has one."""
    receiver = receiver_for(sample)
    first = receiver.accept(request_of(sample)).dedupe_key
    assert receiver.accept(request_of(sample)).dedupe_key == first
    assert 0 < len(first) <= 255


def test_easypost_reference_vector_nfkd_secret() -> None:
    """EasyPost's test vector: secret "sécret" (precomposed, NFKD-normalised before use) over the
    compact fixture gives hmac-sha256-hex=38f3f5...27db."""
    sample = samples.easypost()
    expected = "hmac-sha256-hex=38f3f53c103713df81616a0a186d77141957323ec21d5fe9363db93840f527db"
    assert sample.headers["X-Hmac-Signature"] == expected
    scheme = HmacSignature(
        "s\u00e9cret", signature_at="header:x-hmac-signature", prefix="hmac-sha256-hex=", nfkd=True
    )
    scheme.verify(request_of(sample))
    plain = HmacSignature("s\u00e9cret", signature_at="header:x-hmac-signature", prefix="hmac-sha256-hex=")
    with pytest.raises(Unauthorized):
        plain.verify(request_of(sample))


def test_cainiao_reference_vector_and_the_plus_sign_trap() -> None:
    """Cainiao's vector: content hello1234, secret key123 -> ufYU7rvXhHY3IDyZgyt6SA==. A digest holding a
    `+` sent unencoded in the form (read as a space) still verifies."""
    assert samples.cainiao_digest("hello1234", "key123") == "ufYU7rvXhHY3IDyZgyt6SA=="
    scheme = DigestSignature(
        "key123",
        signature_at="form:data_digest",
        message="{form:logistics_interface}{secret}",
        algorithm="md5",
        encoding="base64",
    )
    for content in (f"plus{n}" for n in range(200)):
        digest = samples.cainiao_digest(content, "key123")
        if "+" in digest:
            break
    body = f"logistics_interface={content}&data_digest={digest}".encode()  # `+` left unencoded
    scheme.verify(PushRequest(body, {}, media_type="application/x-www-form-urlencoded"))
    with pytest.raises(Unauthorized):
        scheme.verify(
            PushRequest(body.replace(b"plus", b"PLUS"), {}, media_type="application/x-www-form-urlencoded")
        )


def test_kuaidi100_signature_is_md5_of_param_and_salt_in_either_case() -> None:
    """sign = MD5(param + salt) in upper-case hex; lower case is accepted too."""
    sample = samples.kuaidi100()
    receiver = receiver_for(sample)
    fields = dict(pair.split("=", 1) for pair in sample.body.decode().split("&"))
    lowered = sample.body.replace(fields["sign"].encode(), fields["sign"].lower().encode())
    receiver.authenticate(request_of(sample, lowered))


def test_kuaidi100_order_from_the_callback_query_and_china_time() -> None:
    """The order number put in the callback URL's query is the record's order reference; ftime, China
    time without a zone, is read as Asia/Shanghai; the newest node is data[0]."""
    sample = samples.kuaidi100()
    receiver = receiver_for(sample)
    (record,) = receiver.parse(stored(receiver, request_of(sample)))
    assert record.order_ref == "SO-42"
    assert record.status_at == datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
    assert record.links == {"tracking_number": "SF1400000042"}
    assert receiver.acknowledge(request_of(sample)).body == sample.ack


def test_shippo_refuses_a_stale_timestamp() -> None:
    """A Shippo push signed more than five minutes ago (a replay) is refused, saying why."""
    sample = samples.shippo(now=time.time() - 3600)
    with pytest.raises(Unauthorized, match="tolerance"):
        receiver_for(sample).authenticate(request_of(sample))


def test_sf_express_needs_its_path_token_and_answers_each_mode_in_kind() -> None:
    """SF signs nothing: without the path token (or with a wrong one) the push is refused. Two nodes of
    one waybill in one push come out oldest first; the form/XML mode is read and answered in XML."""
    sample = samples.sf_express()
    receiver = receiver_for(sample)
    with pytest.raises(Unauthorized, match="wrong path token"):
        receiver.authenticate(
            samples.Sample(**{**sample.__dict__, "token": "x" * 24})
            and request_of(samples.Sample(**{**sample.__dict__, "token": "x" * 24}))
        )
    records = receiver.parse(stored(receiver, request_of(sample)))
    assert [r.native_status["opCode"] for r in records] == ["50", "80"]
    xml = (
        '<Request service="RoutePushService" lang="zh-CN"><Body>'
        '<WaybillRoute id="r9" mailno="SF1400000088" orderid="SO-2026-0088" acceptTime="2026-11-20 10:00:00" '
        'acceptAddress="上海" remark="派送中" opCode="44"/></Body></Request>'
    )
    form = samples.Sample(
        **{
            **sample.__dict__,
            "body": urlencode({"content": xml}).encode(),
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        }
    )
    request = request_of(form)
    (record,) = receiver.parse(stored(receiver, request))
    assert (record.record_id, record.native_status["opCode"], record.order_ref) == (
        "SF1400000088",
        "44",
        "SO-2026-0088",
    )
    assert receiver.acknowledge(request).media_type == "application/xml"
    with pytest.raises(Malformed, match="DOCTYPE"):
        receiver.accept(
            request_of(
                samples.Sample(
                    **{
                        **form.__dict__,
                        "body": urlencode({"content": '<!DOCTYPE x [<!ENTITY a "b">]><Request/>'}).encode(),
                    }
                )
            )
        )


def test_shopify_order_traps() -> None:
    """Null fulfillment_status with cancelled_at is cancelled; financial voided is billing voided; money
    as a string is an exact Decimal; the order's name is its number; its Shopify id links fulfilments."""
    sample = samples.shopify()
    receiver = receiver_for(sample)
    (record,) = receiver.parse(stored(receiver, request_of(sample)))
    obs = to_observation(record, receiver.settings.order_id, receiver.settings.status, NOW)
    assert obs.order_key == "1042"
    assert obs.status(Dimension.billing) == "voided"
    assert record.amounts.order == Decimal("199.00") and record.amounts.currency == "USD"
    assert record.quantities.ordered == 2
    assert record.links["shopify_order"] == "450789469"
    order = json.loads(sample.body)
    del order["fulfillment_status"], order["cancelled_at"]
    body = samples.compact(order)
    absent = samples.Sample(
        **{
            **sample.__dict__,
            "body": body,
            "headers": {**sample.headers, "X-Shopify-Hmac-Sha256": samples.b64_hmac(samples.SECRET, body)},
        }
    )
    (record,) = receiver.parse(stored(receiver, request_of(absent)))
    assert record.native_status["fulfillment"] is None  # absent says nothing, unlike null


def test_a_malformed_body_is_refused_with_the_reason() -> None:
    """A correctly signed body that is not what the provider sends is Malformed with a reason."""
    sample = samples.aftership()
    receiver = receiver_for(sample)
    body = b'{"event": "tracking_update", "msg": "not an object"}'
    request = request_of(sample, body, **{"aftership-hmac-sha256": samples.b64_hmac(samples.SECRET, body)})
    receiver.authenticate(request)
    with pytest.raises(Malformed, match="event_id"):
        receiver.accept(request)
    with pytest.raises(Malformed, match="not JSON"):
        receiver.accept(request_of(sample, b"{not json"))


def test_an_unknown_status_is_unmapped_and_a_yaml_entry_maps_it() -> None:
    """A code the preset does not know maps to unmapped, never a guess; the system's own `status:` block,
    checked before the preset, maps it."""
    sample = samples.aftership(tag="InTransit", subtag="InTransit_099")
    receiver = receiver_for(samples.Sample(**{**sample.__dict__}))
    (record,) = receiver.parse(stored(receiver, request_of(sample)))
    assert (
        to_observation(record, receiver.settings.order_id, receiver.settings.status, NOW).status(
            Dimension.shipment
        )
        == "in_transit"
    )
    odd = samples.aftership(tag="Lost", subtag="Lost_001")
    (record,) = receiver.parse(stored(receiver, request_of(odd)))
    assert (
        to_observation(record, receiver.settings.order_id, receiver.settings.status, NOW).status(
            Dimension.shipment
        )
        == "unmapped"
    )
    block = {**odd.block, "status": {"dimension": "shipment", "field": "tag", "map": {"Lost": "exception"}}}
    mapped = receiver_for(samples.Sample(**{**odd.__dict__, "block": block}))
    (record,) = mapped.parse(stored(mapped, request_of(odd)))
    assert (
        to_observation(record, mapped.settings.order_id, mapped.settings.status, NOW).status(
            Dimension.shipment
        )
        == "exception"
    )


def test_an_event_about_something_else_yields_no_record() -> None:
    """An EasyPost batch.* event or a Karrio shipment_* event says nothing about a parcel's progress."""
    sample = samples.karrio()
    receiver = receiver_for(sample)
    body = samples.compact({"event": "shipment_purchased", "data": {"id": "shp_1", "status": "purchased"}})
    assert receiver.parse(StoredEvent(1, "karrio", NOW, {}, body)) == []
    with pytest.raises(EventError):
        receiver.parse(
            StoredEvent(1, "karrio", NOW, {}, b'{"event": "tracker_updated", "data": {"status": "x"}}')
        )


def test_settings_refuse_what_would_leave_an_endpoint_open() -> None:
    """A signing provider needs its secret and may not fall back to a token; SF needs a token or an
    allowlist; an unsigned endpoint is allowed only where the provider signs nothing, with a warning."""

    def problems(block: dict[str, object]) -> str:
        try:
            parse_config(yaml.safe_dump({"systems": {"x": block}}))
        except Exception as exc:
            return str(exc)
        return ""

    assert "webhook.secret is required" in problems({"type": "aftership", "webhook": {}})
    assert "sign nothing" in problems(
        {"type": "aftership", "webhook": {"secret": "s", "path_token": "t" * 20}}
    )
    assert "signs nothing" in problems({"type": "sf_express", "webhook": {}})
    assert "needs a `webhook:` block" in problems({"type": "shippo"})
    assert "api_key" in problems(
        {"type": "aftership", "webhook": {"secret": "s"}, "poll": {"silent_after": "12h"}}
    )
    config = parse_config(
        yaml.safe_dump({"systems": {"x": {"type": "kuaidi100", "webhook": {"allow_ips": ["10.0.0.0/8"]}}}})
    )
    assert config.systems["x"].warnings() == [
        "webhook: pushes are not signed; requests are told apart by its IP allowlist only (use HTTPS)"
    ]


def test_digest_of_17track_is_over_the_exact_bytes() -> None:
    """17TRACK signs the raw body, whitespace included: the same JSON re-serialised does not verify."""
    sample = samples.track17()
    receiver = receiver_for(sample)
    receiver.authenticate(request_of(sample))
    with pytest.raises(Unauthorized):
        receiver.authenticate(request_of(sample, samples.compact(json.loads(sample.body))))
    assert hashlib.sha256(sample.body + b"/" + samples.SECRET.encode()).hexdigest() == sample.headers["sign"]
    assert base64

"""The dialer's hopper: priority order, ties in arrival order, withdrawals, expiry."""

from __future__ import annotations

from datetime import datetime, timedelta

from dialer_builders import NOW, ready

from connectors.dialer import Hopper


def drain(hopper: Hopper, now: datetime = NOW) -> list[str]:
    order = []
    while True:
        offer, _ = hopper.pop(now)
        if offer is None:
            return order
        order.append(offer["lead_id"])


def test_highest_priority_first_ties_in_arrival_order() -> None:
    hopper = Hopper()
    for lead_id, priority in (("a", 10), ("b", 70), ("c", 40), ("d", 70), ("e", 10), ("f", 70)):
        hopper.add(ready(f"+1305555{len(lead_id) + ord(lead_id):04d}", lead_id=lead_id, priority=priority))

    assert drain(hopper) == ["b", "d", "f", "c", "a", "e"]
    assert len(hopper) == 0


def test_withdraw_with_a_lead_id_drops_only_that_lead() -> None:
    hopper = Hopper()
    hopper.add(ready("+13055550101", lead_id="keep"))
    hopper.add(ready("+13055550101", lead_id="drop"))
    hopper.add(ready("+13055550102", lead_id="other"))

    assert hopper.withdraw("+13055550101", "drop") == 1
    assert drain(hopper) == ["keep", "other"]


def test_withdraw_without_a_lead_id_drops_every_offer_of_the_number() -> None:
    hopper = Hopper()
    hopper.add(ready("+13055550101", lead_id="one"))
    hopper.add(ready("+13055550101", lead_id="two"))
    hopper.add(ready("+13055550102", lead_id="other"))

    assert hopper.withdraw("+13055550101", None) == 2
    assert hopper.withdraw("+13055550199", None) == 0
    assert len(hopper) == 1
    assert drain(hopper) == ["other"]


def test_a_ready_after_a_withdraw_is_a_new_offer() -> None:
    hopper = Hopper()
    hopper.add(ready("+13055550101", lead_id="L1"))
    hopper.withdraw("+13055550101", "L1")
    hopper.add(ready("+13055550101", lead_id="L1"))  # consent granted again: offered again

    assert drain(hopper) == ["L1"]


def test_a_newer_ready_for_the_same_lead_replaces_the_older_one() -> None:
    hopper = Hopper()
    old = ready("+13055550101", lead_id="L1", priority=90)
    new = ready("+13055550101", lead_id="L1", priority=20, until=NOW + timedelta(hours=1))

    assert hopper.add(old) is False
    assert hopper.add(new) is True
    assert len(hopper) == 1
    offer, _ = hopper.pop(NOW)
    assert offer is new


def test_never_pops_an_offer_past_its_window_and_reports_it_expired() -> None:
    hopper = Hopper()
    closing = ready("+13055550101", lead_id="closing", priority=90, until=NOW + timedelta(minutes=1))
    hopper.add(closing)
    hopper.add(ready("+13055550102", lead_id="open", priority=10))

    offer, expired = hopper.pop(NOW + timedelta(minutes=1))  # the window closed exactly now

    assert offer is not None and offer["lead_id"] == "open"
    assert expired == [closing]
    assert len(hopper) == 0


def test_an_offer_before_its_window_and_a_busy_number_wait_in_place() -> None:
    hopper = Hopper()
    hopper.add(ready("+13055550101", lead_id="later", priority=90, since=NOW + timedelta(minutes=30)))
    hopper.add(ready("+13055550102", lead_id="busy", priority=80))
    hopper.add(ready("+13055550103", lead_id="now", priority=10))

    offer, expired = hopper.pop(NOW, skip_phones={"+13055550102"})

    assert offer is not None and offer["lead_id"] == "now"
    assert expired == []
    assert drain(hopper, NOW + timedelta(hours=1)) == ["later", "busy"]


def test_put_back_returns_an_offer_to_the_front_of_its_priority() -> None:
    hopper = Hopper()
    hopper.add(ready("+13055550101", lead_id="first", priority=50))
    hopper.add(ready("+13055550102", lead_id="second", priority=50))
    offer, _ = hopper.pop(NOW)
    assert offer is not None

    hopper.put_back(offer)

    assert drain(hopper) == ["first", "second"]


def test_next_up_is_what_pop_would_give_left_in_place() -> None:
    hopper = Hopper()
    hopper.add(ready("+13055550101", lead_id="closed", priority=99, until=NOW))
    hopper.add(ready("+13055550102", lead_id="later", priority=90, since=NOW + timedelta(minutes=5)))
    hopper.add(ready("+13055550103", lead_id="best", priority=50))
    hopper.add(ready("+13055550104", lead_id="next", priority=50))

    up = hopper.next_up(NOW)

    assert up is not None and up["lead_id"] == "best"
    assert len(hopper) == 4
    offer, _ = hopper.pop(NOW)
    assert offer is up

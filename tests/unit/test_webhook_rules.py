"""The pure rules of change events: which URLs and addresses a webhook may reach (SSRF),
who hears of a change, and the stored form of signing secrets."""

from __future__ import annotations

import ipaddress

import pytest

from tenancy import policy
from tenancy.webhook_secrets import SecretBox, SecretUnreadable, new_secret
from tenancy.webhooks import URL_MAX, address_refused, url_problem

SECURE_REFUSED = [
    "http://example.com/hook",  # http only when insecure endpoints are allowed
    "https://127.0.0.1/hook",
    "https://localhost/hook",
    "https://10.1.2.3/hook",
    "https://172.16.0.1/hook",
    "https://192.168.1.1/hook",
    "https://169.254.169.254/latest/meta-data",  # the cloud metadata address
    "https://100.64.0.1/hook",  # shared address space
    "https://0.0.0.0/hook",
    "https://224.0.0.1/hook",
    "https://[::1]/hook",
    "https://[fd00:ec2::254]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[fe80::1]/hook",
    "https://user:password@example.com/hook",
    "ftp://example.com/hook",
    "https:///no-host",
    "example.com/hook",
    "https://exa mple.com/hook",
    "https://example.com:99999/hook",
]


@pytest.mark.parametrize("url", SECURE_REFUSED)
def test_refused_urls(url: str) -> None:
    found, problem = url_problem(url, allow_insecure=False)
    assert found is None
    assert problem is not None and problem[0] == "INVALID"


@pytest.mark.parametrize(
    "url",
    ["https://example.com/hook", "https://93.184.216.34:8443/x?y=1", "https://[2606:4700::1]/"],
)
def test_accepted_urls(url: str) -> None:
    assert url_problem(url, allow_insecure=False) == (url, None)


def test_insecure_mode_allows_http_and_loopback_only() -> None:
    for url in ("http://127.0.0.1:8080/hook", "http://localhost/hook", "https://[::1]/"):
        assert url_problem(url, allow_insecure=True) == (url, None)
    for url in ("http://10.0.0.1/hook", "http://169.254.169.254/", "http://[fd00::1]/"):
        assert url_problem(url, allow_insecure=True)[1] is not None


def test_length_and_blank() -> None:
    long_url = "https://example.com/" + "a" * URL_MAX
    assert url_problem(long_url, allow_insecure=False)[1] == (
        "TOO_LONG",
        f"url must be at most {URL_MAX} characters.",
    )
    assert url_problem("  ", allow_insecure=False)[1] == ("REQUIRED", "url is required.")
    assert url_problem(None, allow_insecure=False)[1] == ("REQUIRED", "url is required.")


@pytest.mark.parametrize(
    ("address", "secure", "insecure"),
    [
        ("93.184.216.34", False, False),
        ("127.0.0.1", True, False),
        ("::1", True, False),
        ("::ffff:127.0.0.1", True, False),
        ("10.0.0.1", True, True),
        ("169.254.169.254", True, True),
        ("224.0.0.251", True, True),
        ("ff02::1", True, True),
        ("100.64.1.1", True, True),
    ],
)
def test_address_refused(address: str, secure: bool, insecure: bool) -> None:
    ip = ipaddress.ip_address(address)
    assert address_refused(ip, allow_insecure=False) is secure
    assert address_refused(ip, allow_insecure=True) is insecure


def test_who_receives_a_change() -> None:
    reseller, other = 7, 8
    # The administrator's subscription: everything.
    assert policy.receives_event(None, reseller, shared_class=False)
    assert policy.receives_event(None, None, shared_class=False)
    # A reseller's: its own tenant's changes and shared administrator classes only.
    assert policy.receives_event(reseller, reseller, shared_class=False)
    assert not policy.receives_event(reseller, other, shared_class=False)
    assert not policy.receives_event(reseller, None, shared_class=False)
    assert policy.receives_event(reseller, None, shared_class=True)


def test_secrets_are_sealed_per_subscription() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    box = SecretBox(b"k" * 32)
    sealed = box.seal(secret, 1)
    assert sealed.startswith("v1:") and secret not in sealed
    assert box.open(sealed, 1) == secret
    assert box.seal(secret, 1) != sealed  # a fresh nonce each time
    with pytest.raises(SecretUnreadable, match="does not decrypt"):
        box.open(sealed, 2)  # copied onto another subscription
    with pytest.raises(SecretUnreadable, match="does not decrypt"):
        SecretBox(b"x" * 32).open(sealed, 1)
    with pytest.raises(SecretUnreadable, match="BILLCLASS_WEBHOOK_SECRET_KEY is not set"):
        SecretBox().open(sealed, 1)
    # Without a key: stored as it is, still readable once a key is set.
    plain = SecretBox().seal(secret, 1)
    assert plain == "plain:" + secret
    assert box.open(plain, 1) == secret

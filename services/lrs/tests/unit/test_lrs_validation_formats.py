"""Special data types of xAPI (Data 4.0; 2.0 4.2.7): language tags, IRIs, UUIDs, durations,
timestamps — checked directly on the validator's building blocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from learnproof_lrs.domain.validation import (
    is_iri,
    is_uuid,
    parse_timestamp,
    validate_duration,
    validate_language_tag,
)
from learnproof_lrs.domain.versions import V103, V200

# ---------------------------------------------------------------------------------------------
# RFC 5646 language tags (Data 4.2 Language Maps)
# ---------------------------------------------------------------------------------------------
VALID_TAGS = [
    "en",
    "de",
    "tlh",  # 3-letter language
    "cmn",
    "ase",
    "qaa",  # private-use range language
    "english",  # 5-8 letters is a (registrable) language subtag
    "en-US",
    "fr-CA",
    "es-419",  # UN M.49 numeric region
    "zh-Hant",  # script
    "zh-Hant-TW",
    "sr-Latn-RS",
    "sr-Cyrl",
    "zh-Hans-CN",
    "zh-yue",  # extlang
    "zh-yue-HK",
    "ar-afb-Arab-EG",
    "zh-cmn-Hans-CN",
    "de-DE-1901",  # variant starting with a digit
    "de-CH-1996",
    "en-1234",  # DIGIT 3alphanum is a variant
    "sl-rozaj",  # 5-letter variant
    "sl-rozaj-biske",  # two variants
    "hy-Latn-IT-arevela",
    "en-US-u-islamcal",  # extension
    "en-a-bbb-x-a-ccc",  # extension then private use (x may repeat the singleton)
    "de-DE-u-co-phonebk",
    "en-US-x-twain",
    "x-whatever",  # private use only
    "x-a-b-c-12345678",
    "i-klingon",  # irregular grandfathered
    "i-default",
    "en-GB-oed",
    "sgn-BE-FR",
    "zh-min-nan",  # regular grandfathered
    "art-lojban",
    "EN-us",  # case-insensitive
    "ZH-hANT-tw",
]
INVALID_TAGS = [
    "",
    "e",
    "a12345678",
    "abcdefghi",  # 9 letters
    "en_US",
    "en US",
    " en",
    "en ",
    "en-",
    "-en",
    "en--US",
    "en-US-",
    "123",
    "1en",
    "en-12",  # region is 2 letters or 3 digits
    "de-419-DE",  # two regions
    "en-Latn-Latn",  # two scripts
    "zh-a-b-c-d",  # singletons need 2-8 character subtags
    "en-a",  # singleton without subtag
    "en-a-x",  # extension subtags are 2-8 characters
    "en-x",  # private use needs a subtag
    "x",
    "x-",
    "en-x-abcdefghi",  # private-use subtag longer than 8
    "de-DE-1901-1901",  # repeated variant
    "zh-z-aaa-z-bbb-c-ccc",  # repeated extension singleton
    "ça",  # not ASCII
    "en-US\n",
    "en-Latn-US-Latn",
]


@pytest.mark.parametrize("tag", VALID_TAGS)
def test_valid_language_tags(tag: str) -> None:
    assert validate_language_tag(tag) is True


@pytest.mark.parametrize("tag", INVALID_TAGS)
def test_invalid_language_tags(tag: str) -> None:
    assert validate_language_tag(tag) is False


@pytest.mark.parametrize("value", [None, 1, ["en"], {"en": "x"}])
def test_language_tag_must_be_a_string(value: object) -> None:
    assert validate_language_tag(value) is False


# ---------------------------------------------------------------------------------------------
# IRIs / IRLs (Data 2.2 Formatting, RFC 3987)
# ---------------------------------------------------------------------------------------------
VALID_IRIS = [
    "http://example.com",
    "https://example.com/path/to/thing?x=1&y=2#frag",
    "http://adlnet.gov/expapi/verbs/completed",
    "http://example.com/path/../lesson",
    "urn:uuid:3c9b1f0e-7a52-4d86-9a3e-5b1d2f4c6a70",
    "urn:example:a:b",
    "mailto:ada@example.com",
    "tag:example.com,2024:thing",
    "ftp://files.example.com/a.txt",
    "http://user:secret@example.com:8080/x",
    "http://[::1]:8080/x",
    "http://[2001:db8::7]/",
    "http://127.0.0.1/",
    "http://example.com:/empty-port",
    "https://例え.テスト/パス?キー=値#断片",
    "https://example.com/%E2%9C%93",
    "https://example.com/a;b=c/d@e:f/!$&'()*+,",
    "a+b.c-d:rest",
    "x:",
    "file:///etc/hosts",
]
INVALID_IRIS = [
    "",
    "example.com",
    "example.com/path",
    "/relative/path",
    "relative",
    "://no-scheme",
    ":",
    "1http://example.com",
    "ab=c://should.fail.com",
    "http ://example.com",
    " http://example.com",
    "http://example.com/with space",
    "http://example.com/<tag>",
    'http://example.com/"quoted"',
    "http://example.com/{x}",
    "http://example.com/a|b",
    "http://example.com/a\\b",
    "http://example.com/^",
    "http://example.com/`",
    "http://example.com/%zz",
    "http://example.com/%4",
    "http://example.com/a#b#c",
    "http://example.com:port/",
    "http://exa[mple.com/",
    "http://example.com/[x]",
    "http://example.com/\u202eevil",
    "http://example.com/\x00",
    "http://example.com/\t",
    "http://example.com/\u0085",
    "not a uri",
    "open.id.com/testUser",
]


@pytest.mark.parametrize("iri", VALID_IRIS)
def test_valid_iris(iri: str) -> None:
    assert is_iri(iri) is True


@pytest.mark.parametrize("iri", INVALID_IRIS)
def test_invalid_iris(iri: str) -> None:
    assert is_iri(iri) is False


@pytest.mark.parametrize("value", [None, 1, b"http://example.com", ["http://example.com"]])
def test_iri_must_be_a_string(value: object) -> None:
    assert is_iri(value) is False


def test_iri_answers_stay_right_when_the_cache_is_full() -> None:
    for i in range(25_000):
        assert is_iri(f"https://example.com/a/{i}")
    assert is_iri("no scheme") is False
    assert is_iri("https://example.com/a/1") is True


# ---------------------------------------------------------------------------------------------
# UUIDs (Data 4.3? "UUID": RFC 4122 textual form, any version, any case)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("3c9b1f0e-7a52-4d86-9a3e-5b1d2f4c6a70", True),
        ("3C9B1F0E-7A52-4D86-9A3E-5B1D2F4C6A70", True),
        ("3c9B1f0E-7a52-4D86-9a3e-5B1d2F4c6A70", True),
        ("00000000-0000-0000-0000-000000000000", True),
        ("c232ab00-9414-11ec-b3c8-9f6bdeced846", True),  # version 1
        ("AA97B177-9383-4934-8543-0F91A7A02836", True),
        ("AA97B177-9383-4934-8543-0F91A7A028368", False),  # too many digits
        ("MA97B177-9383-4934-8543-0F91A7A02836", False),  # non-hex
        ("3c9b1f0e7a524d869a3e5b1d2f4c6a70", False),
        ("{3c9b1f0e-7a52-4d86-9a3e-5b1d2f4c6a70}", False),
        ("urn:uuid:3c9b1f0e-7a52-4d86-9a3e-5b1d2f4c6a70", False),
        ("3c9b1f0e-7a52-4d86-9a3e-5b1d2f4c6a7", False),
        ("3c9b1f0e_7a52_4d86_9a3e_5b1d2f4c6a70", False),
        (" 3c9b1f0e-7a52-4d86-9a3e-5b1d2f4c6a70", False),
        ("3c9b1f0e-7a52-4d86-9a3e-5b1d2f4c6a70\n", False),
        ("", False),
        (12345, False),
        (None, False),
    ],
)
def test_uuids(value: object, ok: bool) -> None:
    assert is_uuid(value) is ok


# ---------------------------------------------------------------------------------------------
# ISO 8601 durations (Data 4.6; 2.0 4.2.7)
# ---------------------------------------------------------------------------------------------
VALID_DURATIONS = [
    "PT1H0M0S",
    "PT1H0M0.1S",
    "P3Y",
    "P4W",
    "P0D",
    "PT0S",
    "PT16559.14S",
    "PT4H35M59.14S",
    "P3Y1M29DT4H35M59.14S",
    "P1DT12H36M0.12567S",  # more than 0.01 s precision must not be rejected (2.0)
    "PT1,5S",  # comma decimal sign
    "P1Y2M",
    "PT1M",
    "P1.5Y",  # a fraction on the smallest (only) component
    "PT36H",  # values above the carry-over point are allowed
    "P0.5W",
]
INVALID_DURATIONS = [
    "",
    "P",
    "PT",
    "P1DT",
    "T1H",
    "1H",
    "PT1H30",
    "PA1H0M0S",
    "P4W1D",  # weeks cannot be combined
    "P1.5Y2M",  # only the last component may be fractional
    "PT1.5H30M",
    "-PT1H",
    "+PT1H",
    "P0003-06-04T12:30:05",  # the alternative format is not allowed
    "pt1h",
    "P1H",  # hours need the T
    "PT1S1M",  # out of order
    "P1M1Y",
    " PT1H",
    "PT1H ",
    "PT.5S",
    "PT1.S",
    "should fail",
]


@pytest.mark.parametrize("value", VALID_DURATIONS)
def test_valid_durations(value: str) -> None:
    assert validate_duration(value) is True


@pytest.mark.parametrize("value", INVALID_DURATIONS)
def test_invalid_durations(value: str) -> None:
    assert validate_duration(value) is False


@pytest.mark.parametrize("value", [3600, None, {"hours": 1}])
def test_duration_must_be_a_string(value: object) -> None:
    assert validate_duration(value) is False


# ---------------------------------------------------------------------------------------------
# Timestamps: 1.0.3 ISO 8601 (Data 4.5), 2.0.0 RFC 3339 converted to UTC (4.2.7)
# ---------------------------------------------------------------------------------------------
def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2013-05-18T05:32:34.804Z", utc(2013, 5, 18, 5, 32, 34, 804000)),
        ("2013-05-18T05:32:34Z", utc(2013, 5, 18, 5, 32, 34)),
        ("2013-05-18T05:32:34.123456789Z", utc(2013, 5, 18, 5, 32, 34, 123456)),  # truncated
        ("2023-05-04T12:00:00-05:00", utc(2023, 5, 4, 17, 0, 0)),
        ("2023-05-04T12:00:00.5+05:30", utc(2023, 5, 4, 6, 30, 0, 500000)),
        ("2008-09-15T15:53:00.601+00:00", utc(2008, 9, 15, 15, 53, 0, 601000)),
        ("2013-05-18t05:32:34z", utc(2013, 5, 18, 5, 32, 34)),  # RFC 3339 5.6: case-insensitive
        ("2016-12-31T23:59:60Z", utc(2017, 1, 1, 0, 0, 0)),  # leap second
    ],
)
def test_rfc3339_timestamps_are_converted_to_utc(value: str, expected: datetime) -> None:
    parsed = parse_timestamp(value, V200)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "expected", "offset"),
    [
        ("2013-05-18T05:32:34.804Z", utc(2013, 5, 18, 5, 32, 34, 804000), 0),
        ("2013-05-18T05:32:34+02:00", utc(2013, 5, 18, 3, 32, 34), 120),
        ("2013-05-18T05:32:34+0200", utc(2013, 5, 18, 3, 32, 34), 120),
        ("2013-05-18T05:32:34+02", utc(2013, 5, 18, 3, 32, 34), 120),
        ("2013-05-18T05:32:34-05:00", utc(2013, 5, 18, 10, 32, 34), -300),
        ("2013-05-18T05:32:34", utc(2013, 5, 18, 5, 32, 34), 0),  # no zone: read as UTC
        ("2013-05-18T05:32Z", utc(2013, 5, 18, 5, 32), 0),  # reduced precision
        ("2013-05-18T05:32:34,5Z", utc(2013, 5, 18, 5, 32, 34, 500000), 0),  # comma fraction
        ("20130518T053234Z", utc(2013, 5, 18, 5, 32, 34), 0),  # basic format
        ("20130518T053234.25+0100", utc(2013, 5, 18, 4, 32, 34, 250000), 60),
        ("20130518T0532Z", utc(2013, 5, 18, 5, 32), 0),
    ],
)
def test_iso8601_timestamps_keep_their_offset(value: str, expected: datetime, offset: int) -> None:
    parsed = parse_timestamp(value, V103)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(minutes=offset)


INVALID_BOTH = [
    "should fail",
    "01/011/2015",
    "2013-05-18",
    "2013-05-18 05:32:34Z",
    "2013-05-18T05:32:34.804-00",
    "2013-05-18T05:32:34.804-0000",
    "2013-05-18T05:32:34.804-00:00",
    "2013-13-18T05:32:34Z",
    "2013-02-30T05:32:34Z",
    "2013-05-18T24:00:00Z",
    "2013-05-18T05:60:00Z",
    "2013-05-18T05:32:34+24:00",
    "2013-05-18T05:32:34+05:60",
    "2013-05-18T05:32:34.Z",
    "13-05-18T05:32:34Z",
    "2013-5-18T05:32:34Z",
    "0000-01-01T00:00:00Z",
    "2013-05-18T05:32:34ZZ",
    "2013-05-18T05:32:34Z ",
    "2013-05-18T05:32:34EST",
]


@pytest.mark.parametrize("version", [V103, V200])
@pytest.mark.parametrize("value", INVALID_BOTH)
def test_invalid_timestamps(value: str, version: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(value, version)


@pytest.mark.parametrize(
    "value",
    [
        "2013-05-18T05:32:34",  # RFC 3339 requires an offset
        "2013-05-18T05:32Z",  # and seconds
        "20130518T053234Z",  # and the extended format
        "2013-05-18T05:32:34+0200",
        "2013-05-18T05:32:34+02",
        "2013-05-18T05:32:34,5Z",
    ],
)
def test_iso8601_only_forms_are_rejected_in_2_0(value: str) -> None:
    parse_timestamp(value, V103)
    with pytest.raises(ValueError):
        parse_timestamp(value, V200)


@pytest.mark.parametrize(
    "value",
    ["2013-05-18T05:32:34.804Z", "2013-05-18T05:32:34.804+0530", "2013-05-18T05:32:34.804-1200"],
)
def test_iso8601_offsets_in_basic_or_extended_form(value: str) -> None:
    parsed = parse_timestamp(value, V103)
    assert isinstance(parsed.tzinfo, timezone)


def test_mixed_date_and_time_formats_are_rejected() -> None:
    with pytest.raises(ValueError):
        parse_timestamp("2013-05-18T053234Z", V103)
    with pytest.raises(ValueError):
        parse_timestamp("20130518T05:32:34Z", V103)


def test_parse_timestamp_rejects_non_strings() -> None:
    with pytest.raises(ValueError):
        parse_timestamp(1368855154, V103)  # type: ignore[arg-type]

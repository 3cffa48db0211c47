"""The ACRCloud client against a fake identify server that checks the real protocol."""

from __future__ import annotations

import io
import math
import struct
import time
import wave

import pytest

from tests.fake_acrcloud import ACCESS_SECRET, FakeAcrCloud, expected_signature
from zamio.recognition.acrcloud import (
    MAX_SAMPLE_BYTES,
    AcrCloudAuthError,
    AcrCloudBadResponse,
    AcrCloudBadSample,
    AcrCloudClient,
    AcrCloudConfig,
    AcrCloudLimitExceeded,
    AcrCloudRejected,
    AcrCloudUnavailable,
    sign,
)
from zamio.runtime.errors import ConfigError, ServiceUnavailable, TemporaryFailure

RATE_HZ = 8000


def tone_pcm(seconds: float, rate_hz: int = RATE_HZ) -> bytes:
    """Mono 16-bit PCM of a 440 Hz tone."""
    return b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate_hz)))
                    for n in range(int(seconds * rate_hz)))


@pytest.fixture(scope="module")
def pcm() -> bytes:
    return tone_pcm(15.0)


@pytest.fixture
def fake():
    with FakeAcrCloud() as server:
        yield server


class Sleeps(list):
    """An injectable sleep that records the waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(fake: FakeAcrCloud, sleeps: Sleeps | None = None, **config) -> AcrCloudClient:
    return AcrCloudClient(fake.config(**config), sleep=sleeps if sleeps is not None else Sleeps())


def test_request_follows_the_documented_protocol(fake, pcm):
    before = int(time.time())
    client_for(fake).identify_pcm(pcm, RATE_HZ)
    (request,) = fake.requests
    fields = request.fields
    assert request.path == "/v1/identify" and request.answered == 200
    assert request.content_type.startswith("multipart/form-data; boundary=")
    assert (fields["access_key"], fields["data_type"], fields["signature_version"]) == (
        fake.access_key, "audio", "1")
    assert before <= int(fields["timestamp"]) <= int(time.time())
    assert fields["signature"] == expected_signature(fake.access_key, ACCESS_SECRET, "audio",
                                                     "1", fields["timestamp"])
    assert int(fields["sample_bytes"]) == len(request.sample)


def test_sample_is_a_wav_cut_to_twelve_seconds(fake, pcm):
    client_for(fake).identify_pcm(pcm, RATE_HZ)
    with wave.open(io.BytesIO(fake.requests[0].sample)) as sample:
        shape = (sample.getnchannels(), sample.getsampwidth(), sample.getframerate())
        assert shape == (1, 2, RATE_HZ)
        assert sample.getnframes() == 12 * RATE_HZ
        assert sample.readframes(sample.getnframes()) == pcm[:12 * RATE_HZ * 2]


def test_signature_matches_a_known_value():
    # From openssl: printf 'POST\n/v1/identify\nkey\naudio\n1\n1700000000' |
    #               openssl dgst -sha1 -hmac secret -binary | base64
    assert sign("key", "secret", "1700000000") == "tWbqxXkbyadGeaHIJS/OzfF+KdU="


def test_match_picks_the_best_candidate_and_normalises_identifiers(fake, pcm):
    result = client_for(fake).identify_pcm(pcm, RATE_HZ)
    assert (result.status_code, result.matched, result.no_fingerprint) == (0, True, False)
    assert len(result.candidates) == 2
    best = result.best
    assert (best.title, best.artists, best.album) == ("Mpempem", ("Daddy Lumba", "Ofori Amponsah"),
                                                      "Aben Wo Ha")
    assert (best.acrid, best.label, best.score) == ("6049f11da7095e8bb8266871d4a70873",
                                                    "Lumba Productions", 100.0)
    assert [(v.normalised, v.valid) for v in best.isrcs] == [("GHA129800012", True),
                                                            ("BADISRC", False)]
    assert best.isrc == "GHA129800012"
    assert (best.iswc, best.upc) == ("T0345246801", "0602537351381")
    assert (best.duration_ms, best.play_offset_ms) == (254000, 64740)
    assert (best.db_begin_time_offset_ms, best.db_end_time_offset_ms) == (52480, 64740)
    assert (best.sample_begin_time_offset_ms, best.sample_end_time_offset_ms) == (240, 12500)
    assert best.offset_seconds == pytest.approx(52.24)
    assert result.raw["metadata"]["music"][1]["result_from"] == 3
    assert result.candidates[0].isrc == "GHA121500007"


def test_no_match_is_a_normal_result(fake, pcm):
    fake.respond("no_match")
    result = client_for(fake).identify_pcm(pcm, RATE_HZ)
    assert (result.status_code, result.matched, result.best, result.no_fingerprint) == (
        1001, False, None, False)


def test_no_fingerprint_is_flagged(fake, pcm):
    fake.respond("no_fingerprint")
    result = client_for(fake).identify_pcm(pcm, RATE_HZ)
    assert (result.status_code, result.matched, result.no_fingerprint) == (2004, False, True)


@pytest.mark.parametrize("scenario", ["invalid_key", "invalid_signature"])
def test_auth_statuses_are_config_errors_naming_the_variables(fake, pcm, scenario):
    fake.respond(scenario)
    sleeps = Sleeps()
    with pytest.raises(AcrCloudAuthError) as caught:
        client_for(fake, sleeps).identify_pcm(pcm, RATE_HZ)
    assert isinstance(caught.value, ConfigError)
    message = str(caught.value)
    assert "ACRCLOUD_ACCESS_KEY" in message and "ACRCLOUD_ACCESS_SECRET" in message
    assert ACCESS_SECRET not in message and fake.access_key not in message
    assert len(fake.requests) == 1 and sleeps == []  # never retried


def test_wrong_secret_is_refused_by_the_signature_check(fake, pcm):
    with pytest.raises(AcrCloudAuthError, match="3014"):
        client_for(fake, access_secret="not-the-secret").identify_pcm(pcm, RATE_HZ)


def test_wrong_key_is_refused(fake, pcm):
    with pytest.raises(AcrCloudAuthError, match="3001"):
        client_for(fake, access_key="someone-else").identify_pcm(pcm, RATE_HZ)


def test_skewed_clock_is_refused(fake, pcm):
    client = AcrCloudClient(fake.config(), sleep=Sleeps(), clock=lambda: time.time() - 3600)
    with pytest.raises(AcrCloudAuthError, match="clock"):
        client.identify_pcm(pcm, RATE_HZ)


@pytest.mark.parametrize("scenario", ["limit", "qps_limit"])
def test_limit_exceeded_is_a_temporary_failure(fake, pcm, scenario):
    fake.respond(scenario)
    with pytest.raises(AcrCloudLimitExceeded) as caught:
        client_for(fake).identify_pcm(pcm, RATE_HZ)
    assert isinstance(caught.value, TemporaryFailure) and len(fake.requests) == 1


def test_malformed_json_is_a_bad_response(fake, pcm):
    fake.respond("malformed_json")
    with pytest.raises(AcrCloudBadResponse) as caught:
        client_for(fake).identify_pcm(pcm, RATE_HZ)
    assert caught.value.reason == "acrcloud_bad_response" and len(fake.requests) == 1


def test_other_statuses_are_rejections_without_retry(fake, pcm):
    fake.respond("rejected")
    with pytest.raises(AcrCloudRejected) as caught:
        client_for(fake).identify_pcm(pcm, RATE_HZ)
    assert caught.value.reason == "acrcloud_3006" and len(fake.requests) == 1


@pytest.mark.parametrize("scenario", ["http_500", "service_error"])
def test_transient_failure_then_success_is_retried_with_back_off(fake, pcm, scenario):
    fake.respond(scenario, scenario, "match")
    sleeps = Sleeps()
    client = client_for(fake, sleeps)
    result = client.identify_pcm(pcm, RATE_HZ)
    assert result.matched
    assert sleeps == [0.5, 1.0] and client.requests_sent == 3
    assert [r.answered for r in fake.requests] == ([500, 500, 200] if scenario == "http_500"
                                                   else [200, 200, 200])


def test_persistent_failure_gives_up_after_the_attempts(fake, pcm):
    fake.respond("http_500", "http_500", "http_500", "http_500")
    sleeps = Sleeps()
    with pytest.raises(AcrCloudUnavailable) as caught:
        client_for(fake, sleeps).identify_pcm(pcm, RATE_HZ)
    assert isinstance(caught.value, ServiceUnavailable)
    assert len(fake.requests) == 3 and sum(sleeps) <= 4.0
    assert ACCESS_SECRET not in str(caught.value)


def test_slow_answer_times_out_and_is_retried_within_bounds(fake, pcm):
    fake.slow_seconds = 1.5
    fake.respond("slow", "slow")
    client = client_for(fake, timeout_seconds=0.3, attempts=2)
    started = time.monotonic()
    with pytest.raises(AcrCloudUnavailable, match="no answer within 0.3 s"):
        client.identify_pcm(pcm, RATE_HZ)
    assert time.monotonic() - started < 2 * 0.3 + 1.0
    assert client.requests_sent == 2


def test_unreachable_service_is_unavailable(pcm):
    with FakeAcrCloud() as gone:
        config = gone.config(attempts=2)
    with pytest.raises(AcrCloudUnavailable):
        AcrCloudClient(config, sleep=Sleeps()).identify_pcm(pcm, RATE_HZ)


def test_before_request_hook_runs_before_every_request_and_can_refuse(fake, pcm):
    calls = []
    client = AcrCloudClient(fake.config(), before_request=lambda: calls.append(1),
                            sleep=Sleeps())
    fake.respond("http_500", "match")
    client.identify_pcm(pcm, RATE_HZ)
    assert len(calls) == 2 == client.requests_sent

    class BudgetSpent(TemporaryFailure):
        pass

    def refuse() -> None:
        raise BudgetSpent("daily ACRCloud budget spent")

    refusing = AcrCloudClient(fake.config(), before_request=refuse, sleep=Sleeps())
    with pytest.raises(BudgetSpent):
        refusing.identify_pcm(pcm, RATE_HZ)
    assert len(fake.requests) == 2 and refusing.requests_sent == 0


def test_samples_outside_the_size_bounds_are_refused_locally(fake):
    client = client_for(fake)
    with pytest.raises(AcrCloudBadSample) as short:
        client.identify_pcm(tone_pcm(0.5), RATE_HZ)
    assert short.value.reason == "sample_too_short"
    with pytest.raises(AcrCloudBadSample) as large:
        client.identify_sample(b"\x00" * (MAX_SAMPLE_BYTES + 1))
    assert large.value.reason == "sample_too_large"
    assert fake.requests == []


def test_encoded_sample_is_sent_as_is(fake):
    sample = b"ID3" + bytes(40_000)
    client_for(fake).identify_sample(sample, "audio/mpeg")
    assert fake.requests[0].sample == sample
    assert fake.requests[0].sample_content_type == "audio/mpeg"


def test_secret_stays_out_of_reprs():
    config = AcrCloudConfig("identify-eu-west-1.acrcloud.com", "key", "top-secret-value")
    assert "top-secret-value" not in repr(config)
    assert "top-secret-value" not in repr(AcrCloudClient(config))

"""EPC decode throughput on the same 1,000,000 mixed EPCs: numpy path vs scalar path vs epcpy."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from benchmarks.report import Result, emit
from rfid.epc import decode_epc, decode_many
from rfid.epc.synthetic import mixed_epcs

COUNT = 1_000_000
JUNK_SHARE = 0.1  # factory TIDs, zeros, short, dirty and invalid GS1 values among valid SGTIN/SSCC
EPCPY_SAMPLE = 100_000  # epcpy runs ~25 µs per EPC: measured on the first 100,000 and extrapolated
TARGET_RATIO = 30.0


def _seconds(work: Callable[[], object], repeats: int = 1) -> float:
    """Best wall time of `repeats` runs."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def _epcpy_decode(values: Sequence[str]) -> Callable[[], None]:
    """epcpy doing the same job: pure URI and GS1 key per EPC, junk caught and classified."""
    import epcpy  # test/benchmark-only dependency, never imported by rfid/

    def work() -> None:
        for value in values:
            try:
                decoded = epcpy.hex_to_tag_encodable(value)
                decoded.epc_uri
                decoded.gs1_key()
            except Exception:  # noqa: BLE001 - epcpy raises many types on junk; that is its "unknown"
                pass

    return work


def main() -> None:
    """Measure and print the three throughputs and their ratios."""
    values = mixed_epcs(COUNT, seed=4, junk_share=JUNK_SHARE)
    numpy_s = _seconds(lambda: decode_many(values), repeats=3)
    scalar_s = _seconds(lambda: [decode_epc(v) for v in values])
    sample = values[:EPCPY_SAMPLE]
    epcpy_s = _seconds(_epcpy_decode(sample)) * (COUNT / len(sample))
    numpy_rate, scalar_rate, epcpy_rate = COUNT / numpy_s, COUNT / scalar_s, COUNT / epcpy_s
    print(
        f"{COUNT:,} mixed EPCs ({JUNK_SHARE:.0%} junk): numpy {numpy_s:.3f} s (best of 3), scalar {scalar_s:.2f} s, "
        f"epcpy {epcpy_s:.1f} s (extrapolated from the first {EPCPY_SAMPLE:,})"
    )
    ratio = numpy_rate / epcpy_rate
    emit(Result("EPC decode, numpy path", numpy_rate, "EPC/s", "epcpy", epcpy_rate, f">= {TARGET_RATIO:g}x epcpy", ratio >= TARGET_RATIO))
    emit(Result("EPC decode, scalar path", scalar_rate, "EPC/s", "epcpy", epcpy_rate, "none (reference)", True))
    emit(Result("EPC decode, numpy vs scalar", numpy_rate, "EPC/s", "scalar path", scalar_rate, "none (reference)", True))


if __name__ == "__main__":
    main()

"""EPC Tag Data Standard codec: SGTIN-96, SGTIN-198 and SSCC-96, scalar and vectorised."""

from rfid.epc.decode import decode_epc
from rfid.epc.gs1 import gtin_check_digit
from rfid.epc.model import SCHEME_NAMES, SGTIN_96, SGTIN_198, SSCC_96, UNKNOWN, Epc, EpcError, Problem
from rfid.epc.sgtin import encode_sgtin96, encode_sgtin198
from rfid.epc.sscc import encode_sscc96
from rfid.epc.uri import encode_uri
from rfid.epc.vectorised import decode_many
from rfid.epc.batch import EpcBatch

__all__ = [
    "SCHEME_NAMES",
    "SGTIN_96",
    "SGTIN_198",
    "SSCC_96",
    "UNKNOWN",
    "Epc",
    "EpcBatch",
    "EpcError",
    "Problem",
    "decode_epc",
    "decode_many",
    "encode_sgtin96",
    "encode_sgtin198",
    "encode_sscc96",
    "encode_uri",
    "gtin_check_digit",
]

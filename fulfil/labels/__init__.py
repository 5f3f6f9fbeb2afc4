"""Parcel labels: the SSCC as a GS1-128 barcode (fulfil.labels.gs1_128) for the store app's label page."""

"""Tessera's HTTP service: Mistral's OCR API and Bifrost's async jobs over the OCR core."""

"""QR codes as SVG data URIs (segno), for the device-setup page and 2FA enrollment.

A data URI keeps secrets (the otpauth:// URI carries the TOTP secret) out of
any URL, log or cache: the picture travels inside the JSON answer.
"""

from __future__ import annotations


def svg_data_uri(text: str) -> str:
    """``text`` as a QR code; segno loads with the first one (few servers draw many)."""
    import segno

    return segno.make(text, error="m").svg_data_uri(scale=5, border=2)

"""Helpers the handlers use that are not handlers themselves (captcha images, dialogue steps).
The SMTP sender is `receipts.mail`: the receipts push needs it too, and receipts import no
handlers."""

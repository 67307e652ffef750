"""Receipt PDFs, the payment QR code, the monthly push. Rendering imports no aiogram."""

"""One export's control totals and the lines the email and the page show for them, in English and French:
the sample both delivery and page tests check (exports.summary_words says them)."""

SUMMARY = [{"currency": "EUR", "orders": 1500, "items": 1, "total": "46291.80", "by_status": [
    {"status": "cancelled", "orders": 1, "items": 0, "total": "0.00"},
    {"status": "payment-completed", "orders": 1499, "items": 1, "total": "46291.80"}]}]
SUMMARY_LINES = {
    "en": ["Control totals", "1,500 orders, 1 item, orders' total 46,291.80\u00a0EUR",
           "cancelled: 1 order, 0 items, orders' total 0.00\u00a0EUR",
           "payment completed: 1,499 orders, 1 item, orders' total 46,291.80\u00a0EUR"],
    "fr": ["Totaux de contrôle", "1\u202f500 commandes, 1 article, total des commandes 46\u202f291,80\u00a0EUR",
           "annulée\u202f: 1 commande, 0 article, total des commandes 0,00\u00a0EUR",
           "paiement terminé\u202f: 1\u202f499 commandes, 1 article, total des commandes 46\u202f291,80\u00a0EUR"],
}

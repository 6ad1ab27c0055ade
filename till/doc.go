// Package till is posagent's local HTTP API: the till program posts sales to it,
// technicians open its status page, and Prometheus scrapes its metrics. It
// parses and checks HTTP input and leaves every invoice decision to a [Core]
// (the agent).
//
// # Concepts
//
// [New] builds a [Server] from a Core and [Options]; [Server.Serve] or
// [Server.ListenAndServe] run it until the context ends, then shut down
// gracefully within [ShutdownTimeout]. Routes (Go 1.22 ServeMux patterns; the
// contract is docs/openapi-till.json):
//
//	POST /v1/sales                      issue (Idempotency-Key required) → 201 + Location, replay → 200
//	GET  /v1/invoices/{id}              one invoice
//	GET  /v1/invoices/{id}/xml          its stored FA(3) XML, byte for byte (application/xml)
//	GET  /v1/invoices/{id}/upo          its UPO as KSeF sent it (application/xml); 404 upo_not_available before
//	GET  /v1/invoices?state=&limit=&after=   a page of invoices in id order
//	POST /v1/invoices/{id}/reprint      print a duplicate → 202
//	POST /v1/invoices/{id}/corrections  issue a KOR (Idempotency-Key required) → 201; 202 while
//	                                    the original has no KSeF number (kept pending, issued later)
//	GET  /v1/status                     link, KSeF, mode, printer, backlog, certificates, KSeF login, errors
//	POST /v1/mode                       {"mode":"offline24"} sets the operator override, "auto" clears it;
//	                                    {"mode":"emergency","reference":"…"} records the MF announcement
//	GET  /v1/journal                    announced KSeF outages and failed probes, for the tax office
//	GET  /metrics                       Prometheus text format
//	GET  /                              the status page (HTML, no external assets)
//
// Binding: the server listens on loopback (127.0.0.1, ::1, localhost) by
// default. Any other address needs a bearer token, or New fails with
// [ErrTokenRequired]. With a token every /v1 request needs
// "Authorization: Bearer <token>" (compared in constant time); off loopback /
// and /metrics need it too.
//
// A [MetricsServer] ([NewMetricsServer]) serves the same registry on another
// address, GET /metrics only, for a fleet's Prometheus: its token reads counts
// and can neither issue nor read invoices. Off loopback it needs a token
// ([ErrTokenRequired]); with one, every request needs it; without one, the
// Host check below applies to it too.
//
// Without a token, every request must name the machine itself in its Host
// header — localhost or a loopback address (127.0.0.1, [::1]), any port —
// or it gets 403 host_not_allowed: a web page opened in a browser on the
// till could otherwise reach the API by making its own host name resolve to
// 127.0.0.1 (DNS rebinding). With a token the token is the guard.
//
// Paths are taken as given: one with "." or ".." segments or doubled
// slashes is no endpoint (404 route_not_found, problem+json; ServeMux's
// redirect is not used).
//
// The till owns its wire types ([View], [Status] …) so that the HTTP contract
// stays put when the agent changes; package tillagent implements Core on top of
// *agent.Agent, and package tilltest is an in-memory Core for tests.
// [OptionsFromConfig] reads the [till] table of the configuration.
//
// Input is strict: one JSON object of type application/json, at most
// [Options.MaxBody] bytes, field names exactly as documented, no unknown or
// repeated fields, no trailing data, amounts and quantities as exact decimals. [DecodeSale] does
// the decoding and the invoice-rule validation (ksef.Sale.Validate) before the
// Core sees anything, so rejected input never reaches the store.
//
// # Errors
//
// Every error is application/problem+json (RFC 9457): type, title, status,
// detail, a stable machine code, and for body problems errors[] with the JSON
// path, a reason and a code per field. For rule violations the top-level code is
// that of the first field error. Codes never change meaning:
//
//	code                       status  meaning
//	malformed_json             400     The body is not well-formed JSON.
//	empty_body                 400     The body is empty.
//	trailing_data              400     Data follows the JSON value.
//	unknown_field              400     A field the schema does not declare (names are case-sensitive).
//	duplicate_field            400     An object key given twice.
//	wrong_type                 400     A value of the wrong JSON type.
//	invalid_amount             400     An amount that is not a decimal such as "12.34".
//	invalid_quantity           400     A quantity that is not a decimal such as "1.5".
//	too_many_decimals          400     An amount with more than 2, or a quantity with more than 6, decimals.
//	invalid_date               400     A date that is not YYYY-MM-DD or no such day.
//	idempotency_key_missing    400     POST without the Idempotency-Key header.
//	idempotency_key_invalid    400     An Idempotency-Key that is not 1-128 printable ASCII characters, or repeated.
//	invalid_query              400     An unknown, repeated or malformed query parameter.
//	invalid_state              400     An unknown state filter.
//	unauthorized               401     Missing or wrong bearer token.
//	host_not_allowed           403     No token is configured and the Host header is not localhost or a loopback address.
//	not_found                  404     No invoice with this id.
//	route_not_found            404     No such endpoint.
//	upo_not_available          404     The invoice has no UPO yet (not accepted, or its UPO still to be downloaded).
//	method_not_allowed         405     The endpoint does not take this method (see Allow).
//	idempotency_key_reused     409     The Idempotency-Key was used with a different request (compared decoded, in canonical form, not byte for byte).
//	not_correctable            409     The invoice cannot be corrected.
//	body_too_large             413     The body exceeds the limit (1 MiB by default).
//	unsupported_media_type     415     The body is not application/json.
//	invalid_mode               422     An unknown mode override.
//	invalid_correction_type    422     A correction type other than 0-3.
//	invalid_request            422     A request field the agent cannot accept (see errors[].field).
//	invalid_sale               422     A sale rule violation without a more specific code.
//	field_required             422     A required field is missing or empty.
//	field_not_allowed          422     A field not allowed here (e.g. a NIP for a consumer).
//	invalid_text               422     Text too long, blank, or with forbidden characters.
//	invalid_nip                422     A NIP with a wrong check digit or format.
//	invalid_vat_id             422     A malformed EU VAT number.
//	unknown_buyer_kind         422     A buyer kind other than consumer, nip, eu, foreign.
//	unknown_country            422     An unknown country or EU code.
//	unknown_currency           422     An unknown ISO 4217 currency.
//	exchange_rate_required     422     A foreign currency without a positive exchange_rate.
//	exchange_rate_not_allowed  422     An exchange_rate for PLN.
//	unknown_price_mode         422     A price_mode other than gross or net.
//	unknown_kind               422     A kind other than VAT or UPR.
//	kind_not_allowed           422     UPR for a buyer without a NIP.
//	upr_over_limit             422     UPR over 450 PLN or 100 EUR gross (art. 106e ust. 5 pkt 3 ustawy o VAT).
//	date_out_of_range          422     A date outside the range FA(3) allows.
//	issue_date_not_today       422     An issue_date other than today (Warsaw): the agent sets P_1; send the sale's day as sale_date.
//	sale_date_out_of_range     422     A sale_date the VAT Act does not allow for today's P_1 (art. 106i ust. 6 and 7).
//	no_lines                   422     No lines.
//	too_many_lines             422     More lines than FA(3) allows (10000).
//	total_out_of_range         422     Totals beyond FA(3)'s 16 integer digits.
//	quantity_zero              422     A zero quantity.
//	quantity_negative          422     A negative quantity.
//	quantity_out_of_range      422     A quantity beyond 10^9.
//	price_negative             422     A negative unit price.
//	price_out_of_range         422     A unit price beyond 10^13.
//	unknown_vat_rate           422     A VAT rate not in 23, 8, 5, 0 KR, 0 WDT, 0 EX, zw, np I, np II, oo, marza.
//	vat_rate_not_allowed       422     A rate the buyer kind does not allow (0 WDT, oo), or marza without seller.margin_scheme.
//	unknown_gtu                422     A GTU code outside GTU_01..GTU_13.
//	discount_negative          422     A negative discount.
//	discount_exceeds_line      422     A discount above the line value.
//	unknown_payment_form       422     An unknown payment form.
//	split_payment_not_allowed  422     split_payment for a buyer without a NIP.
//	offline_certificate_invalid 422    The sale would be issued offline but the KSeF Offline certificate is expired, revoked or suspended: nothing issued; hand over a receipt (online sales still work).
//	invoice_too_large          422     The invoice's XML would exceed KSeF's size limit (size and limit in bytes are given).
//	internal                   500     An internal error; details are in the agent's log.
//	unavailable                503     The agent cannot take requests now (closing); retry after Retry-After.
//	store_full                 503     The invoice store is at its cap or the disk is full: no new sale until the queue drains; retry after Retry-After.
//
// # Caveats
//
// Internal errors are logged, and the client only sees the code
// internal, so that paths or key material never leave the process.
package till
